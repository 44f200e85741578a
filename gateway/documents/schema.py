"""XSD validation of parsed documents, as Findings a city clerk can act on.

Every libxml2 error becomes a stable code `xsd.<kind>` and a message (a template of the findings catalog, said
in English or zh-CN) written from the error's structure (element, facet, limit), never from the offending value:
the value may be a name or an ID number, and findings travel to another city inside a NACK and into logs.

Parsing (and refusing DTDs, entities, network) is `safe_xml`'s job; this module receives parsed trees.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from lxml import etree

from gateway.domain.findings import Finding, Phrase, phrase
from xsd import SCHEMA_DIR

SETTLEMENT = "settlement"
_NAME = re.compile(r"[a-z0-9_]+")
# lxml keeps a validator's error log on the schema object, so two threads validating with one object would
# mix their errors: each thread compiles (a few ms) and keeps its own.
_local = threading.local()

# Positional paths are resolved to element names for at most this many errors: naming a statement's
# position scans its siblings, and a badly broken 100,000-statement file must not make reporting quadratic.
_NAMED_PATHS_LIMIT = 200


def schema_path(name: str = SETTLEMENT) -> Path:
    """The file of schema `name` (its stem in xsd/, e.g. "settlement", "envelope")."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a schema name: {name!r}")
    path = SCHEMA_DIR / f"{name}.xsd"
    if not path.is_file():
        raise FileNotFoundError(f"no schema {name!r} in {SCHEMA_DIR}")
    return path


def compiled(name: str = SETTLEMENT) -> etree.XMLSchema:
    """The compiled schema `name`, compiled once per thread (see `_local`)."""
    cache: dict[str, etree.XMLSchema] | None = getattr(_local, "schemas", None)
    if cache is None:
        cache = _local.schemas = {}
    schema = cache.get(name)
    if schema is None:
        # The schemas only include/import each other by relative file names: no network is ever needed.
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        schema = cache[name] = etree.XMLSchema(etree.parse(str(schema_path(name)), parser))
    return schema


def validate(tree_or_element: etree._ElementTree | etree._Element, schema: str = SETTLEMENT) -> list[Finding]:
    """Every schema violation of the document (an empty list when it is valid)."""
    validator = compiled(schema)
    if validator.validate(tree_or_element):
        return []
    root = tree_or_element.getroot() if isinstance(tree_or_element, etree._ElementTree) else tree_or_element
    errors = list(validator.error_log)
    named = len(errors) <= _NAMED_PATHS_LIMIT
    children: dict[etree._Element, list[etree._Element]] = {}
    return [_finding(error, root if named else None, children) for error in errors]


def finding_of(error: etree._LogEntry) -> Finding:
    """The finding of one libxml2 schema error, its path left positional (a streamed validation has no tree)."""
    return _finding(error, None, {})


def _finding(error: etree._LogEntry, root: etree._Element | None, children: dict) -> Finding:
    kind = _kind(error)
    element, attribute = _subject(error.message)
    words = _MESSAGES.get(kind, _invalid)(element, attribute, error.message)
    path = _named_path(root, error.path, children) if root is not None else error.path
    return Finding.said(f"xsd.{kind}", words, line=error.line or None, path=path or None)


_FACETS = {
    "PATTERN": "pattern",
    "ENUMERATION": "enumeration",
    "LENGTH": "length",
    "MINLENGTH": "length",
    "MAXLENGTH": "length",
    "MININCLUSIVE": "minInclusive",
    "MAXINCLUSIVE": "maxInclusive",
    "MINEXCLUSIVE": "minExclusive",
    "MAXEXCLUSIVE": "maxExclusive",
    "FRACTIONDIGITS": "fractionDigits",
    "TOTALDIGITS": "totalDigits",
}


def _kind(error: etree._LogEntry) -> str:
    """The stable kind of a libxml2 schema error, from its type name (and, where one type covers two
    situations, the fixed English wording libxml2 uses for each)."""
    name = error.type_name
    facet = re.fullmatch(r"SCHEMAV_CVC_([A-Z]+)_VALID", name)
    if facet and facet.group(1) in _FACETS:
        return _FACETS[facet.group(1)]
    if name.startswith("SCHEMAV_CVC_DATATYPE_VALID"):
        return "datatype"
    if name == "SCHEMAV_ELEMENT_CONTENT":
        if "Missing child element" in error.message:
            return "missing"
        if "not expected" in error.message:
            return "unexpected"
        return "content"
    if name == "SCHEMAV_CVC_COMPLEX_TYPE_4":
        return "missing"  # a required attribute
    if name.startswith("SCHEMAV_CVC_COMPLEX_TYPE_3"):
        return "unexpected"  # an attribute not declared
    if name.startswith(("SCHEMAV_CVC_COMPLEX_TYPE_2", "SCHEMAV_CVC_TYPE_3", "SCHEMAV_CVC_ELT_3")):
        return "content"
    if name == "SCHEMAV_CVC_ELT_1":
        return "root"
    if "IDC" in name:
        return "unique"
    return "invalid"


_SUBJECT = re.compile(r"Element '(?:\{[^}]*\})?([^']+)'(?:, attribute '([^']+)')?")


def _subject(message: str) -> tuple[str, str | None]:
    match = _SUBJECT.match(message)
    return (match.group(1), match.group(2)) if match else ("An element", None)  # not expected from libxml2


def _quoted_after(message: str, marker: str) -> str | None:
    """The value libxml2 quotes after `marker` (a limit or a pattern: part of the schema, never of the data)."""
    at = message.rfind(marker)
    if at < 0:
        return None
    match = re.search(r"'([^']*)'", message[at + len(marker) :])
    return match.group(1) if match else None


def _expected(message: str) -> str:
    match = re.search(r"Expected is (?:one of )?\( ([^)]*) \)", message)
    if not match:
        return ""
    names = [re.sub(r"\{[^}]*\}", "", n.strip()) for n in match.group(1).split(",")]
    return ", ".join(n for n in names if n)


def _pattern(element, attribute, message) -> Phrase:
    pattern = _quoted_after(message, "by the pattern")
    if pattern:
        return phrase("{element} does not match its pattern {pattern}", element=element, pattern=pattern)
    return phrase("{element} does not match its pattern", element=element)


def _enumeration(element, attribute, message) -> Phrase:
    allowed = re.search(r"the set (\{[^}]*\})", message)
    codes = allowed.group(1).replace("'", "") if allowed else ""
    if codes:
        return phrase("{element} is not one of the allowed codes {codes}", element=element, codes=codes)
    return phrase("{element} is not one of the allowed codes", element=element)


def _length(element, attribute, message) -> Phrase:
    limit = _quoted_after(message, "length of")
    if "minimum" in message:
        if limit:
            return phrase("{element} is too short (at least {limit} character(s))", element=element, limit=limit)
        return phrase("{element} is too short", element=element)
    if limit:
        return phrase("{element} is too long (at most {limit} characters)", element=element, limit=limit)
    return phrase("{element} has the wrong length", element=element)


def _bound(words: Phrase):
    def message(element, attribute, text) -> Phrase:
        limit = _quoted_after(text, "allowed (") or _quoted_after(text, "allowed")
        if limit is not None:
            return phrase("{element} is {bound} {limit}", element=element, bound=words, limit=limit)
        return phrase("{element} is {bound}", element=element, bound=words)

    return message


_TYPE_WORDS = {
    "xs:date": phrase("date (YYYY-MM-DD)"),
    "xs:dateTime": phrase("date and time (ISO 8601)"),
    "xs:nonNegativeInteger": phrase("whole number of zero or more"),
    "xs:positiveInteger": phrase("whole number of one or more"),
    "xs:decimal": phrase("decimal number"),
    "Amount": phrase("amount with two decimals (e.g. 1680.32)"),
    "Count": phrase("whole number of zero or more"),
    "DayCount": phrase("number of days (0 to 31)"),
}


def _datatype(element, attribute, message) -> Phrase:
    type_name = _quoted_after(message, "atomic type")
    words = _TYPE_WORDS.get(re.sub(r"\{[^}]*\}", "", type_name or ""), phrase("value of its type"))
    return phrase("{element} is not a valid {kind}", element=element, kind=words)


def _missing(element, attribute, message) -> Phrase:
    if "attribute" in message and "required but missing" in message:
        required = _quoted_after(message, "The attribute")
        return phrase("{element} lacks its required attribute {attribute}", element=element, attribute=required)
    expected = _expected(message)
    if expected:
        return phrase("{element} lacks a required element: expected {expected}", element=element, expected=expected)
    return phrase("{element} lacks a required element", element=element)


def _unexpected(element, attribute, message) -> Phrase:
    if attribute:
        return phrase("{element} has attribute {attribute}, which is not allowed", element=element,
                      attribute=attribute)
    expected = _expected(message)
    if expected:
        return phrase("{element} is not expected here; expected {expected}", element=element, expected=expected)
    return phrase("{element} is not expected here", element=element)


def _content(element, attribute, message) -> Phrase:
    return phrase("{element} has content its type does not allow (text or child elements misplaced)",
                  element=element)


def _root(element, attribute, message) -> Phrase:
    return phrase("{element} is not a document of this schema (wrong root element or namespace)", element=element)


def _unique(element, attribute, message) -> Phrase:
    return phrase("{element} repeats a value that must be unique", element=element)


def _invalid(element, attribute, message) -> Phrase:
    return phrase("{element} is not valid against the schema", element=element)


_MESSAGES = {
    "pattern": _pattern,
    "enumeration": _enumeration,
    "length": _length,
    "minInclusive": _bound(phrase("below the minimum")),
    "maxInclusive": _bound(phrase("above the maximum")),
    "minExclusive": _bound(phrase("not above")),
    "maxExclusive": _bound(phrase("not below")),
    "fractionDigits": _bound(phrase("written with more decimals than")),
    "totalDigits": _bound(phrase("written with more digits than")),
    "datatype": _datatype,
    "missing": _missing,
    "unexpected": _unexpected,
    "content": _content,
    "root": _root,
    "unique": _unique,
}

_STEP = re.compile(r"\*(?:\[(\d+)\])?")


def _named_path(root: etree._Element, positional: str | None, children: dict) -> str | None:
    """libxml2's positional path (/*/*[3]) with element names: /PersonStatement/FacilityLevel.

    `children` caches, per parent, its element children and each child's position among its same-named
    siblings, so that naming many findings under one large parent stays linear."""
    if not positional:
        return None
    node = root
    names = [etree.QName(root).localname]
    for step in positional.strip("/").split("/")[1:]:
        match = _STEP.fullmatch(step)
        known = children.get(node)
        if known is None:
            known = children[node] = _positions(node)
        kids, position, repeated = known
        if match is None or int(match.group(1) or 1) > len(kids):
            return positional
        node = kids[int(match.group(1) or 1) - 1]
        local = etree.QName(node).localname
        names.append(f"{local}[{position[node]}]" if node.tag in repeated else local)
    return "/" + "/".join(names)


def _positions(parent: etree._Element) -> tuple[list, dict, set]:
    kids = list(parent.iterchildren(etree.Element))
    counts: dict[str, int] = {}
    position = {}
    for kid in kids:
        counts[kid.tag] = position[kid] = counts.get(kid.tag, 0) + 1
    return kids, position, {tag for tag, count in counts.items() if count > 1}
