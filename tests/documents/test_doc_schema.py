"""XSD validation: every constraint kind gives its stable xsd.<kind> code, the line, a named path, and a
message that does not repeat the offending value."""

from __future__ import annotations

import threading

import pytest
from lxml import etree

from docs_support import received
from gateway.documents import schema
from gateway.documents.schema import compiled, schema_path, validate
from gateway.documents.writer import to_bytes

NS = {"s": "urn:ltcgw:settlement:1"}


def _parsed(kind: str, persons: int = 4):
    doc, root = received(kind, persons=persons)
    return root


def _set(root, xpath: str, text: str):
    element = root.xpath(xpath, namespaces=NS)[0]
    element.text = text
    return element


def _only(findings, code):
    matching = [f for f in findings if f.code == code]
    assert matching, f"no {code} in {findings}"
    return matching[0]


@pytest.mark.parametrize("kind", ["A1", "A2", "A3", "A4", "A5"])
def test_samples_are_valid(kind):
    assert validate(_parsed(kind)) == []


@pytest.mark.parametrize(
    "name", ["settlement", "common", "a1", "a2", "a3", "a4", "a5", "replies"]
)
def test_every_schema_file_compiles_offline(name):
    assert isinstance(compiled(name), etree.XMLSchema)


def test_schema_names_are_confined_to_the_folder():
    with pytest.raises(ValueError):
        schema_path("../pyproject")
    with pytest.raises(FileNotFoundError):
        schema_path("nonexistent")


@pytest.mark.parametrize(
    "kind,xpath,value,code,words",
    [
        ("A2", "/s:PersonStatement/s:IdNumber", "1101 0519", "xsd.pattern", "IdNumber does not match its pattern"),
        ("A2", "/s:PersonStatement/s:Period", "2026-13", "xsd.pattern", "Period does not match"),
        ("A2", "/s:PersonStatement/s:InsuredCity", "37020", "xsd.pattern", "InsuredCity does not match"),
        ("A2", "/s:PersonStatement/s:ServiceType", "1", "xsd.pattern", "ServiceType"),
        ("A2", "/s:PersonStatement/s:Serial", "S 1", "xsd.pattern", "Serial"),
        ("A2", "/s:PersonStatement/s:SelfPaid", "1.5", "xsd.pattern", "SelfPaid"),
        ("A2", "/s:PersonStatement/s:IdType", "00", "xsd.enumeration", "IdType is not one of the allowed codes"),
        ("A2", "/s:PersonStatement/s:Sex", "3", "xsd.enumeration", "{0, 1, 2, 9}"),
        ("A2", "/s:PersonStatement/s:DisabilityLevel", "6", "xsd.enumeration", "DisabilityLevel"),
        ("A2", "/s:PersonStatement/s:PersonCategory", "3", "xsd.enumeration", "PersonCategory"),
        ("A2", "/s:PersonStatement/s:StartDate", "2026-02-30", "xsd.datatype", "StartDate is not a valid date"),
        ("A1", "//s:Line[1]/s:Visits", "many", "xsd.datatype", "Visits is not a valid"),
        ("A2", "/s:PersonStatement/s:FundPaid", "abc", "xsd.datatype", "FundPaid is not a valid amount"),
        ("A2", "/s:PersonStatement/s:Name", "", "xsd.length", "Name is too short"),
        ("A2", "/s:PersonStatement/s:FacilityName", "院" * 201, "xsd.length", "at most 200"),
        ("A2", "/s:PersonStatement/s:TotalCost", "-1.00", "xsd.minInclusive", "TotalCost is below the minimum 0"),
        ("A2", "/s:PersonStatement/s:BenefitDays", "32", "xsd.maxInclusive", "above the maximum 31"),
        ("A2", "/s:PersonStatement/s:Covered", "1.001", "xsd.fractionDigits", "more decimals than 2"),
        ("A4", "/s:CitySettlement/s:Totals/s:PaidInWords", "", "xsd.length", "PaidInWords is too short"),
    ],
)
def test_facet_and_datatype_failures(kind, xpath, value, code, words):
    root = _parsed(kind)
    element = _set(root, xpath, value)
    finding = _only(validate(root), code)
    assert words in finding.message
    assert finding.line == element.sourceline
    assert finding.path.endswith("/" + etree.QName(element).localname)
    if len(value) > 2:
        assert value not in finding.message


def test_an_unexpected_element_is_named_with_what_was_expected():
    root = _parsed("A2")
    bogus = etree.Element("{urn:ltcgw:settlement:1}Nickname")
    root.find("s:Name", NS).addnext(bogus)
    finding = _only(validate(root), "xsd.unexpected")
    assert finding.message.startswith("Nickname is not expected here")
    assert "expected Sex" in finding.message
    assert finding.path == "/PersonStatement/Nickname"


def test_a_missing_last_element_is_reported_on_its_parent():
    root = _parsed("A2")
    root.remove(root.find("s:PreparedAt", NS))
    finding = _only(validate(root), "xsd.missing")
    assert finding.message == "PersonStatement lacks a required element: expected PreparedAt"
    assert finding.path == "/PersonStatement"


def test_a_missing_middle_element_shows_as_the_next_one_unexpected():
    root = _parsed("A1")
    root.remove(root.find("s:Serial", NS))
    finding = _only(validate(root), "xsd.unexpected")
    assert "expected Serial" in finding.message


def test_text_in_an_element_only_type_is_content():
    root = _parsed("A1")
    root.find("s:Scheme", NS).text = "stray text"
    finding = _only(validate(root), "xsd.content")
    assert "Scheme" in finding.message and "stray" not in finding.message


def test_unknown_root_and_wrong_namespace():
    assert _only(validate(etree.fromstring(b'<Claim xmlns="urn:ltcgw:settlement:1"/>')), "xsd.root")
    wrong_ns = etree.fromstring(to_bytes(received("A2")[0]).replace(b"urn:ltcgw:settlement:1", b"urn:other"))
    assert _only(validate(wrong_ns), "xsd.root")


def test_attributes_not_allowed_and_required():
    root = _parsed("A2")
    root.set("version", "2")
    finding = _only(validate(root), "xsd.unexpected")
    assert finding.message == "PersonStatement has attribute version, which is not allowed"
    nack = etree.fromstring(b'<Nack xmlns="urn:ltcgw:settlement:1"><Error>no code</Error></Nack>')
    finding = _only(validate(nack), "xsd.missing")
    assert finding.message == "Error lacks its required attribute code"


def test_statement_paths_inside_a_claim_carry_their_position():
    root = _parsed("A3", persons=6)
    element = _set(root, "//s:PersonStatement[3]/s:IdNumber", "bad value!")
    finding = _only(validate(root), "xsd.pattern")
    assert finding.path == "/CityClaim/PersonStatements/PersonStatement[3]/IdNumber"
    assert finding.line == element.sourceline


def test_every_error_is_reported_not_only_the_first():
    root = _parsed("A3", persons=6)
    for element in root.xpath("//s:PersonStatement/s:Sex", namespaces=NS):
        element.text = "7"
    findings = validate(root)
    assert [f.code for f in findings] == ["xsd.enumeration"] * 6
    assert len({f.line for f in findings}) == 6


def test_many_errors_keep_positional_paths(monkeypatch):
    monkeypatch.setattr(schema, "_NAMED_PATHS_LIMIT", 2)
    root = _parsed("A3", persons=6)
    for element in root.xpath("//s:PersonStatement/s:Sex", namespaces=NS):
        element.text = "7"
    findings = validate(root)
    assert len(findings) == 6 and all(f.path.startswith("/*") for f in findings)


def test_validates_an_element_tree_and_an_element_inside_another_document():
    root = _parsed("A2")
    assert validate(etree.ElementTree(root)) == []
    wrapper = etree.Element("{urn:example}Body")
    wrapper.append(root)
    assert validate(root) == []


def test_replies_validate():
    ok = b"""<Nack xmlns="urn:ltcgw:settlement:1"><OriginalName>a3.xml</OriginalName>
        <Error code="amount.words" line="12" path="/CityClaim/Totals">x</Error></Nack>"""
    assert validate(etree.fromstring(ok)) == []
    bad = etree.fromstring(b'<Receipt xmlns="urn:ltcgw:settlement:1"><Status>maybe</Status></Receipt>')
    assert _only(validate(bad), "xsd.enumeration")


def test_threads_validating_at_once_each_get_their_own_findings():
    valid = _parsed("A3", persons=30)
    broken = _parsed("A3", persons=30)
    for element in broken.xpath("//s:PersonStatement/s:Sex", namespaces=NS):
        element.text = "7"
    results: dict[tuple[int, int], int] = {}

    def work(n: int) -> None:
        for i in range(20):
            results[(n, i)] = len(validate(broken if n % 2 else valid))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {count for (n, _), count in results.items() if n % 2} == {30}
    assert {count for (n, _), count in results.items() if not n % 2} == {0}


def test_schema_messages_never_repeat_names_or_id_numbers():
    doc, root = received("A3", persons=5)
    secrets = set()
    for n, element in enumerate(root.xpath("//s:PersonStatement", namespaces=NS)):
        name, number = element.find("s:Name", NS), element.find("s:IdNumber", NS)
        name.text = name.text * 30  # too long
        number.text = number.text + "?"  # off pattern
        secrets |= {name.text, number.text, doc.statements[n].name, doc.statements[n].id_number}
    findings = validate(root)
    assert {f.code for f in findings} == {"xsd.length", "xsd.pattern"} and len(findings) == 10
    for finding in findings:
        assert not [s for s in secrets if s in finding.message or s in (finding.path or "")]
