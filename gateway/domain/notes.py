"""A note is a text the service writes for a person beside a finding: a deadline line's remark, a reconciliation
difference, an audit outcome, the ACK's warning note. Like a finding (gateway/domain/findings.py) it is a stable
code, an English template with str.format fields and its values, so that it is said in its reader's language
when shown (the "notes" message catalog, gateway/locales/zh_CN/LC_MESSAGES/notes.po) and kept as code and values
where it is recorded or written as JSON.

`Note(code, template, **values)` is what the catalog's extractor looks for (`words(template, **values)` for a
piece of a note that is itself words, e.g. where in a document); a value that is a `Note` or words is said in
the same language as the note that holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gateway.domain.findings import Phrase, Translate, _identity, _literal, _masked, _params_from, _values

DOMAIN = "notes"


def words(template: str, /, **values: Any) -> Phrase:
    """Words with their values, said in the note's language (a place in a document, a who-did-what)."""
    return Phrase(template, **values)


class Note:
    """`Note(code, template, **values)`: `message` is the English text, `text(lang)` the text in "zh-CN"/"en"."""

    __slots__ = ("code", "template", "params")

    def __init__(self, code: str, template: str, /, **values: Any) -> None:
        template = _literal(template, values)
        values = {k: _as_phrase(v) for k, v in values.items()}
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "params", _values(template, values))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Note cannot be changed")

    @property
    def message(self) -> str:
        return self.render(_identity)

    def render(self, translate: Translate) -> str:
        values = {k: v.render(translate) if isinstance(v, Phrase) else v for k, v in self.params}
        try:
            return translate(self.template).format(**values)
        except (KeyError, IndexError, ValueError):  # a broken translation must not lose the note: English
            return self.template.format(**values)

    def text(self, lang: str) -> str:
        return self.render(gettext(lang))

    def masked(self, mask: Callable[[str], str]) -> Note:
        """The same note with every value passed through `mask` (our words carry no one's data; a value quoting
        a document or an error might)."""
        out = Note.__new__(Note)
        object.__setattr__(out, "code", self.code)
        object.__setattr__(out, "template", self.template)
        object.__setattr__(out, "params", _masked(self.params, mask))
        return out

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        """Code, template and values (to say it again), and its text in `lang` (English without one)."""
        return {"code": self.code, "template": self.template,
                "params": {k: v.as_dict() if isinstance(v, Phrase) else v for k, v in self.params},
                "text": self.text(lang) if lang else self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Note:
        return cls(str(data.get("code", "")), str(data.get("template", "")), **_params_from(data.get("params")))

    def _key(self) -> tuple:
        return (self.code, self.template, self.params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Note) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"Note({self.code!r}, {self.message!r})"


def _as_phrase(value: Any) -> Any:
    """A note inside a note is words of the same language."""
    if isinstance(value, Note):
        out = Phrase.__new__(Phrase)
        object.__setattr__(out, "template", value.template)
        object.__setattr__(out, "params", value.params)
        return out
    return value


def gettext(lang: str) -> Translate:
    from gateway.i18n import translations

    return translations(lang, DOMAIN).gettext


def separator(lang: str | None) -> str:
    """Between two notes: a full-width semicolon in Chinese."""
    return "；" if lang == "zh-CN" else "; "


def joined(notes: Iterable[Note], lang: str | None = None, mask: Callable[[str], str] | None = None) -> str:
    """Notes one after the other, in `lang` (English without one), their values passed through `mask` if given."""
    if mask is not None:
        notes = [n.masked(mask) for n in notes]
    if not lang:
        return "; ".join(n.message for n in notes)
    return separator(lang).join(n.text(lang) for n in notes)
