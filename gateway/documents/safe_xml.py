"""Parsing bytes that come from outside: refuse anything but plain UTF-8 XML, before it can cost us.

Every file a city drops is hostile until its signature is checked, and the signature check itself parses the
file several times (see MEASURED.md), so this module is the gate in front of everything else. Choices:

- Size first (xml.too_large): a parsed tree and its verification cost ~12x the file, so the bound is checked on
  the byte count before any parsing (larger messages are checked as they stream: gateway.documents.check_stream).
- No DOCTYPE at all (xml.doctype): not a DTD, not an internal subset, not an entity declaration. A hardened
  parser keeps an unexpanded entity as a node that later crashes schema validation (MEASURED.md), and no
  settlement document needs one. The prolog is scanned before libxml2 sees the document, so a billion-laughs
  file is refused without building anything; the parsed tree is checked again as a second line of defence.
- UTF-8 only (xml.encoding): a declared encoding other than UTF-8, a UTF-16/UTF-32 byte-order mark or
  invalid UTF-8 bytes. One encoding means one canonical form to sign and one way to read amounts and names.
- Syntax errors, truncation (xml.syntax) carry the line libxml2 reports, so a clerk can find the spot.
- Resource limits stay libxml2's defaults (no huge_tree): a text node over 10 MB, nesting deeper than 256 or a
  name over 50,000 characters is refused as xml.too_large.
- Processing instructions other than the XML declaration (xml.instruction): they mean nothing to a settlement
  and only invite other tools to act on the file (stylesheets and the like).
- Comments are dropped while parsing: they are not covered by the signature (c14n without comments), so no
  check may read them; dropping them also joins text split around a comment, as canonical form does.
- Parser: resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False.
"""

from __future__ import annotations

import re

from lxml import etree

from gateway.domain.findings import Finding, Phrase, Refused, phrase

DEFAULT_MAX = 16 * 1024 * 1024  # 16 MiB (~14,000 person statements) parsed whole: ~12x the file in memory
# (the gateway checks larger messages as they stream: gateway.documents.check_stream)

# libxml2 error codes (xmlParserErrors) that mean "over a resource limit" or "not UTF-8".
_E = etree.ErrorTypes
_LIMIT_ERRORS = {_E.ERR_NO_MEMORY, _E.ERR_ENTITY_LOOP, _E.ERR_RESOURCE_LIMIT, _E.ERR_NAME_TOO_LONG}
_ENCODING_ERRORS = {_E.ERR_UNKNOWN_ENCODING, _E.ERR_UNSUPPORTED_ENCODING, _E.ERR_INVALID_ENCODING}

_BOMS = {
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\xfe\xff": "UTF-16",
    b"\xff\xfe": "UTF-16",
}
_UTF8_BOM = b"\xef\xbb\xbf"
_DECLARATION = re.compile(rb"<\?xml\s[^>]*?\?>")
_ENCODING_DECL = re.compile(rb"""\sencoding\s*=\s*(["'])([^"']*)\1""")
_UTF8_NAMES = {"utf-8", "utf8"}


def parse(data: bytes, *, max_bytes: int = DEFAULT_MAX) -> etree._ElementTree:
    """Parse untrusted bytes into a tree, or raise Refused with one xml.* finding saying why not."""
    check_before_parsing(data, max_bytes=max_bytes)
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as error:
        raise Refused(syntax_finding(error)) from None
    tree = root.getroottree()
    check_parsed(tree)
    return tree


PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
                      remove_comments=True)


def check_before_parsing(data: bytes, *, max_bytes: int = DEFAULT_MAX) -> None:
    """What is refused before libxml2 sees a byte: size, encoding, a DOCTYPE (Refused(xml.*))."""
    if len(data) > max_bytes:
        raise Refused(
            Finding(
                "xml.too_large",
                "the file has {size} bytes, more than the {limit} accepted; split the claim by month "
                "or by insured city, or ask the gateway operator to raise the limit",
                size=f"{len(data):,}", limit=f"{max_bytes:,}",
            )
        )
    _check_prolog(_check_encoding(data))


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers keep state and must not be shared between threads.
    return etree.XMLParser(**PARSER_OPTIONS)


def _check_encoding(data: bytes) -> bytes:
    """The bytes after a UTF-8 byte-order mark, or Refused(xml.encoding) for any other encoding."""
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            raise Refused(_encoding_finding(phrase("the file starts with a {name} byte-order mark", name=name)))
    if b"\x00" in data[:4]:
        raise Refused(_encoding_finding(phrase("the file looks like UTF-16 or UTF-32 (zero bytes between characters)")))
    body = data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data
    declaration = _DECLARATION.match(body)
    if declaration:
        encoding = _ENCODING_DECL.search(declaration.group(0))
        if encoding and encoding.group(2).decode("ascii", "replace").lower() not in _UTF8_NAMES:
            name = encoding.group(2).decode("ascii", "replace")
            raise Refused(_encoding_finding(phrase("the XML declaration names encoding {name}", name=repr(name)), line=1))
    return body


def _encoding_finding(what: Phrase, line: int | None = None) -> Finding:
    return Finding("xml.encoding", "{what}; the gateway accepts UTF-8 only: save the file as UTF-8", line=line, what=what)


def _check_prolog(body: bytes) -> None:
    """Refuse a DOCTYPE before libxml2 reads it: it can only stand before the root element."""
    position, line = 0, 1
    size = len(body)
    while position < size:
        while position < size and body[position] in b" \t\r\n":
            if body[position] == 0x0A:
                line += 1
            position += 1
        if body.startswith(b"<!--", position):
            terminator = b"-->"
        elif body.startswith(b"<?", position):
            terminator = b"?>"
        elif body[position : position + 9].upper() == b"<!DOCTYPE":
            raise Refused(_doctype_finding(line))
        else:
            return  # the root element (or garbage, which the parser reports with its line)
        close = body.find(terminator, position + 2)
        if close < 0:
            return  # unterminated: the parser reports it as a syntax error
        line += body.count(b"\n", position, close)
        position = close + len(terminator)


def _doctype_finding(line: int | None) -> Finding:
    return Finding(
        "xml.doctype",
        "the file has a DOCTYPE (DTD or entity declarations); the gateway refuses them outright: remove it",
        line=line,
    )


def check_parsed(tree: etree._ElementTree) -> None:
    """Second line of defence after parsing: no DTD, no entity nodes, no processing instructions."""
    docinfo = tree.docinfo
    if (docinfo.encoding or "UTF-8").lower() not in _UTF8_NAMES:  # libxml2 guessed another one from the bytes
        raise Refused(_encoding_finding(phrase("the file is encoded as {encoding}", encoding=docinfo.encoding)))
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise Refused(_doctype_finding(None))
    root = tree.getroot()
    for node in _prolog_and_epilog(root):
        if isinstance(node, etree._ProcessingInstruction):
            raise Refused(instruction_finding(node))
    for node in root.iter(etree.Entity, etree.ProcessingInstruction):
        if isinstance(node, etree._ProcessingInstruction):
            raise Refused(instruction_finding(node))
        raise Refused(_doctype_finding(node.sourceline))


def _prolog_and_epilog(root: etree._Element):
    node = root.getprevious()
    while node is not None:
        yield node
        node = node.getprevious()
    node = root.getnext()
    while node is not None:
        yield node
        node = node.getnext()


def instruction_finding(node: etree._Element) -> Finding:
    return Finding(
        "xml.instruction",
        "the file has a processing instruction <?{target} …?>; only the XML declaration is allowed: remove it",
        line=node.sourceline,
        target=node.target,
    )


def syntax_finding(error: etree.XMLSyntaxError) -> Finding:
    code = error.code
    line = error.lineno or None
    message = " ".join((error.msg or "").split(", line ")[0].split())
    if code in _ENCODING_ERRORS:
        return _encoding_finding(phrase("the file is not valid UTF-8 ({error})", error=message), line=line)
    if code in _LIMIT_ERRORS or "limit" in message.lower() or "amplification" in message.lower():
        return Finding("xml.too_large", "the XML goes over a parser limit: {error}", line=line, error=message)
    return Finding("xml.syntax", "the file is not well-formed XML: {error}; fix it at line {at}", line=line,
                   error=message, at=line)
