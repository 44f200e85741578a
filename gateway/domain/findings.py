"""A finding is one broken rule: what every check returns and every NACK lists.

Codes are stable (cities' systems match on them); messages are written for a city clerk and never carry
personal data (names, ID numbers), because they travel to another city and into logs.

A message is a template and its values, not a finished sentence, so that it can be said in the receiving city's
language (docs/documents.md, "Writing a finding"): the template is English with str.format fields
("{where}: TotalCost {total} should equal ..."), it is the msgid of the "findings" message catalog
(gateway/locales/zh_CN/LC_MESSAGES/findings.po), and `message` is the English text built from it. A value that is
itself words (where in the document, a label) is a `Phrase`, translated the same way; other values (amounts,
codes, dates) are kept as text.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any

Translate = Callable[[str], str]  # a gettext: msgid -> text in the reader's language
_FORMATTER = string.Formatter()


def _identity(text: str) -> str:
    return text


def fields(template: str) -> set[str]:
    """The names of the fields of a str.format template ("{a} and {b}" -> {"a", "b"})."""
    return {name for _, name, _, _ in _FORMATTER.parse(template) if name}


def _literal(template: str, params: Mapping[str, Any]) -> str:
    """A finished text given without values (a finding written before templates, an f-string) is kept as it is:
    its braces are escaped, so that a value quoted in it (a parser message, "{'01','02'}") cannot break it.
    tests/test_i18n.py keeps such texts out of the gateway's own code: they cannot be translated."""
    if params:
        return template
    try:
        if not fields(template):
            return template
    except ValueError:  # unbalanced braces
        pass
    return template.replace("{", "{{").replace("}", "}}")


def _values(template: str, params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The values as kept (a Phrase stays a Phrase, anything else becomes its text), checked against the
    template: a missing or extra value is a programming error found when the finding is made, not when a NACK
    is written."""
    names = fields(template)
    if names != set(params):
        raise ValueError(f"template {template!r} has fields {sorted(names)}, given {sorted(params)}")
    return tuple(sorted((k, v if isinstance(v, Phrase) else str(v)) for k, v in params.items()))


def _render(template: str, params: tuple[tuple[str, Any], ...], translate: Translate) -> str:
    values = {k: v.render(translate) if isinstance(v, Phrase) else v for k, v in params}
    translated = translate(template)
    try:
        return translated.format(**values)
    except (KeyError, IndexError, ValueError):  # a bad translation must not lose the message: say it in English
        return template.format(**values)


def _masked(params: tuple[tuple[str, Any], ...], mask: Callable[[str], str]) -> tuple[tuple[str, Any], ...]:
    return tuple((k, v.masked(mask) if isinstance(v, Phrase) else mask(v)) for k, v in params)


def _params_dict(params: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return {k: v.as_dict() if isinstance(v, Phrase) else v for k, v in params}


def _params_from(data: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: Phrase.from_dict(v) if isinstance(v, Mapping) else v for k, v in (data or {}).items()}


class Phrase:
    """Words with their values, translated as one: `phrase("statement {n} (serial {serial})", n=3, serial="X")`."""

    __slots__ = ("template", "params")

    def __init__(self, template: str, /, **params: Any) -> None:
        template = _literal(template, params)
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "params", _values(template, params))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Phrase cannot be changed")

    def render(self, translate: Translate = _identity) -> str:
        return _render(self.template, self.params, translate)

    def masked(self, mask: Callable[[str], str]) -> Phrase:
        out = Phrase.__new__(Phrase)
        object.__setattr__(out, "template", self.template)
        object.__setattr__(out, "params", _masked(self.params, mask))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"template": self.template, "params": _params_dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Phrase:
        return cls(str(data["template"]), **_params_from(data.get("params")))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Phrase) and (self.template, self.params) == (other.template, other.params)

    def __hash__(self) -> int:
        return hash((self.template, self.params))

    def __reduce__(self):
        return (_phrase_from_state, (self.template, self.params))

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Phrase({self.template!r}, {dict(self.params)!r})"


def _phrase_from_state(template: str, params: tuple[tuple[str, Any], ...]) -> Phrase:
    out = Phrase.__new__(Phrase)
    object.__setattr__(out, "template", template)
    object.__setattr__(out, "params", params)
    return out


def phrase(template: str, /, **params: Any) -> Phrase:
    """A translatable piece of a message (the extractor's keyword for templates that are not a finding's own)."""
    return Phrase(template, **params)


class Finding:
    """`Finding(code, template, line, path, **values)`: what is wrong and what to do, in words a clerk can act on.

    `message` is the English text; `text(lang)` the text in "zh-CN" or "en"."""

    __slots__ = ("code", "template", "params", "line", "path")

    def __init__(self, code: str, template: str, /, line: int | None = None, path: str | None = None,
                 **params: Any) -> None:
        template = _literal(template, params)
        object.__setattr__(self, "code", code)  # stable, dotted: "amount.total_split", "xsd.pattern", ...
        object.__setattr__(self, "template", template)  # English, str.format fields: the catalog's msgid
        object.__setattr__(self, "params", _values(template, params))
        object.__setattr__(self, "line", line)  # line in the file as received, where known
        object.__setattr__(self, "path", path)  # element path inside the document, where known

    @classmethod
    def said(cls, code: str, words: Phrase, line: int | None = None, path: str | None = None) -> Finding:
        """A finding whose whole message is a phrase made elsewhere (e.g. an XSD error's)."""
        return cls(code, words.template, line, path, **dict(words.params))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Finding cannot be changed")

    @property
    def message(self) -> str:
        """The English text (logs, the CLI, tests)."""
        return _render(self.template, self.params, _identity)

    def render(self, translate: Translate) -> str:
        return _render(self.template, self.params, translate)

    def text(self, lang: str) -> str:
        """The message in `lang` ("zh-CN", "en"), from the "findings" catalog."""
        from gateway.i18n import translations

        return self.render(translations(lang, "findings").gettext)

    def masked(self, mask: Callable[[str], str]) -> Finding:
        """The same finding with every value (and the path) passed through `mask`: the template is ours and
        carries no one's data, the values may quote a document."""
        return _finding(self.code, self.template, _masked(self.params, mask), self.line,
                        mask(self.path) if self.path else self.path)

    def as_dict(self) -> dict[str, object]:
        """As the ledger keeps it: the code, the English message, and the template and values to say it again
        in another language (`from_dict`)."""
        return {"code": self.code, "message": self.message, "line": self.line, "path": self.path,
                "template": self.template, "params": _params_dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """A finding as `as_dict` wrote it; one recorded before templates existed says its English message."""
        template = data.get("template")
        if template is None:
            return cls(str(data.get("code", "")), str(data.get("message", "")), data.get("line"), data.get("path"))
        params = _params_from(data.get("params"))
        return cls(str(data.get("code", "")), str(template), data.get("line"), data.get("path"), **params)

    def _key(self) -> tuple:
        return (self.code, self.template, self.params, self.line, self.path)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Finding) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self):
        return (_finding, (self.code, self.template, self.params, self.line, self.path))

    def __repr__(self) -> str:
        return f"Finding({self.code!r}, {self.message!r}, line={self.line!r}, path={self.path!r})"


def _finding(code: str, template: str, params: tuple, line: int | None, path: str | None) -> Finding:
    out = Finding.__new__(Finding)
    for name, value in (("code", code), ("template", template), ("params", params), ("line", line),
                        ("path", path)):
        object.__setattr__(out, name, value)
    return out


def finding_text(data: Mapping[str, Any], lang: str, mask: Callable[[str], str] | None = None) -> str:
    """The message of a finding as the ledger keeps it (`Finding.as_dict`), in `lang`: for `ltcgw trace` and the
    console, which show a finding in their reader's language. `mask` masks its values, not our words (a run of
    our Chinese words may look like a name to a masker); a finding recorded before templates is masked whole."""
    finding = Finding.from_dict(data)
    if mask is None:
        return finding.text(lang)
    if data.get("template") is None:
        return mask(finding.message)
    return finding.masked(mask).text(lang)


class Refused(Exception):
    """Raised by a check that cannot go on (unparseable XML, bad signature): carries its findings."""

    def __init__(self, *findings: Finding) -> None:
        super().__init__("; ".join(f"{f.code}: {f.message}" for f in findings))
        self.findings: tuple[Finding, ...] = findings
