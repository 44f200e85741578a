"""Hostile XML is refused with the right code, quickly, and without memory blowing up.

Each case runs in a fresh interpreter so that its peak RSS growth can be measured on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.documents.safe_xml import DEFAULT_MAX, parse
from gateway.domain.findings import Refused

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Message>&lol9;</Message>
"""

HOSTILE = {
    "xxe-file": (b'<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<m>&x;</m>',
                 "xml.doctype", 2),
    "xxe-parameter-entity": (b'<!DOCTYPE m [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><m/>',
                             "xml.doctype", 1),
    "billion-laughs": (BILLION_LAUGHS, "xml.doctype", 2),
    "internal-dtd": (b"<!-- a comment first -->\n<!DOCTYPE m [<!ELEMENT m ANY>]>\n<m/>", "xml.doctype", 2),
    "external-dtd": (b'<?xml version="1.0"?><!DOCTYPE m SYSTEM "http://127.0.0.1:9/m.dtd"><m/>', "xml.doctype", 1),
    "huge-text-node": (b"<m>" + b"x" * (10_000_000 + 1_000) + b"</m>", "xml.too_large", 1),
    "deep-nesting": (b"<m>" * 5_000 + b"</m>" * 5_000, "xml.too_large", 1),
    "too-large": (b"<m>" + b" " * DEFAULT_MAX + b"</m>", "xml.too_large", None),
    "utf-16-bom": ('<?xml version="1.0" encoding="UTF-16"?><m>淄博</m>'.encode("utf-16"), "xml.encoding", None),
    "utf-16-no-bom": ("<m>淄博</m>".encode("utf-16-le"), "xml.encoding", None),
    "utf-32-no-bom": ("<m>淄博</m>".encode("utf-32-be"), "xml.encoding", None),
    "ebcdic": ('<?xml version="1.0" encoding="ebcdic-cp-us"?><m/>'.encode("cp500"), "xml.encoding", 1),
    "latin-1-declared": (b'<?xml version="1.0" encoding="ISO-8859-1"?><m>caf\xe9</m>', "xml.encoding", 1),
    "gbk-declared": ('<?xml version="1.0" encoding="GBK"?><m>淄博</m>'.encode("gbk"), "xml.encoding", 1),
    "invalid-utf-8": (b"<m>\n<n>caf\xe9</n></m>", "xml.encoding", 2),
    "truncated": (b'<?xml version="1.0"?>\n<m>\n  <n>1</n>\n  <n>', "xml.syntax", 4),
    "garbage": (b"\x89PNG\r\n\x1a\n\x00\x00", "xml.syntax", 1),
    "empty": (b"", "xml.syntax", 1),
    "stylesheet-instruction": (b'<?xml-stylesheet href="http://127.0.0.1:9/x.xsl"?>\n<m/>', "xml.instruction", 1),
    "instruction-inside": (b"<m>\n<?php echo 1; ?></m>", "xml.instruction", 2),
}

PROBE = """
import json, sys, time
from gateway.documents.safe_xml import parse
from gateway.domain.findings import Refused
data = open(sys.argv[1], "rb").read()
def peak_kb():
    # VmHWM is this process's own peak: ru_maxrss would include the parent's peak, inherited across exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
before = peak_kb()
started = time.perf_counter()
try:
    parse(data)
    finding = None
except Refused as refused:
    finding = refused.findings[0].as_dict()
elapsed = time.perf_counter() - started
growth_kb = peak_kb() - before
print(json.dumps({"finding": finding, "seconds": elapsed, "growth_mb": growth_kb / 1024}))
"""


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_xml_is_refused_quickly_with_bounded_memory(case, tmp_path):
    data, code, line = HOSTILE[case]
    path = tmp_path / "hostile.xml"
    path.write_bytes(data)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    outcome = json.loads(probe.stdout)
    print(f"\n{case}: {outcome['seconds'] * 1000:.1f} ms, peak RSS +{outcome['growth_mb']:.1f} MB")
    assert outcome["finding"] is not None, f"{case} was accepted"
    assert (outcome["finding"]["code"], outcome["finding"]["line"]) == (code, line)
    assert outcome["seconds"] < 2.0  # generous for a noisy shared machine; typical is well under 0.1 s
    assert outcome["growth_mb"] < 50  # the huge text node costs ~10 MB (what libxml2 read before refusing)


def test_refused_findings_say_what_to_do():
    with pytest.raises(Refused) as caught:
        parse(HOSTILE["latin-1-declared"][0])
    assert "UTF-8" in caught.value.findings[0].message
    with pytest.raises(Refused) as caught:
        parse(HOSTILE["truncated"][0])
    assert "line 4" in caught.value.findings[0].message


def test_size_is_refused_before_parsing():
    started = time.perf_counter()
    with pytest.raises(Refused) as caught:
        parse(b"<m>" + b"<" * 2_000, max_bytes=1_000)  # not even well-formed: size wins
    assert caught.value.findings[0].code == "xml.too_large"
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    "data",
    [
        b"<m>ok</m>",
        b"\xef\xbb\xbf<m>UTF-8 byte-order mark</m>",
        "<?xml version='1.0' encoding='utf-8'?>\n<!-- 注释 -->\n<m>淄博市</m>\n".encode(),
        b'<?xml version="1.0" encoding="UTF8" standalone="yes"?><m/>',
    ],
)
def test_plain_utf8_is_accepted(data):
    assert parse(data).getroot().tag == "m"


def test_comments_are_dropped_and_text_around_them_joined():
    root = parse(b"<m><n>12<!-- not content -->34.56</n></m>").getroot()
    assert root[0].text == "1234.56"
    assert len(root[0]) == 0


def test_lines_are_those_of_the_file():
    root = parse(b'<?xml version="1.0"?>\n<m>\n\n  <n/>\n</m>').getroot()
    assert (root.sourceline, root[0].sourceline) == (2, 4)
