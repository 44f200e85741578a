"""The message catalogs keep step with the code: every finding template is translated into zh-CN, with the same
fields, and the catalog holds nothing the code no longer says (gateway/i18n.py, docs/documents.md)."""

from __future__ import annotations

import ast
from decimal import Decimal

import pytest

from gateway import i18n
from gateway.domain.findings import Finding, fields, phrase
from gateway.observability.masking import mask_text

FINDINGS_PO = i18n.catalog_path("zh-CN", "findings")


def test_every_finding_template_has_its_translation() -> None:
    assert i18n.untranslated("findings") == [], "run `python -m gateway.i18n update` and translate the new msgids"


def test_the_catalog_holds_nothing_the_code_no_longer_says() -> None:
    written = set(i18n.extract("findings"))
    assert sorted(set(i18n.read_catalog(FINDINGS_PO)) - written) == []


def test_each_translation_fills_the_fields_of_its_template() -> None:
    catalog = i18n.read_catalog(FINDINGS_PO)
    assert len(catalog) > 200
    assert {m: fields(t) for m, t in catalog.items() if fields(m) != fields(t)} == {}


def test_the_extractor_sees_a_new_template(tmp_path) -> None:
    """The check above can fail: a finding written today and not yet translated is reported."""
    source = tmp_path / "new_rule.py"
    source.write_text('from gateway.domain.findings import Finding\n'
                      'def check(out, n):\n'
                      '    out.add("new.rule", "{n} things are wrong in a brand-new way", None, None, n=n)\n'
                      '    return Finding("new.other", "another new template", 3)\n', encoding="utf-8")
    found = i18n.extract("findings", [source])
    assert set(found) == {"{n} things are wrong in a brand-new way", "another new template"}
    assert not set(found) & set(i18n.read_catalog(FINDINGS_PO))


def _template_arguments(tree: ast.AST):
    keywords = i18n.SOURCES["findings"]["keywords"]
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in keywords and len(node.args) >= keywords[name][0]:
            yield node, node.args[keywords[name][0] - 1]


def test_no_finding_template_is_built_at_run_time() -> None:
    """An f-string, a concatenation or a .format() where a template belongs cannot be translated (its values
    go in as keyword arguments)."""
    built = []
    for path in i18n.source_files("findings"):
        for node, argument in _template_arguments(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(argument, (ast.JoinedStr, ast.BinOp)) or (
                isinstance(argument, ast.Call) and getattr(argument.func, "attr", None) == "format"
            ):
                built.append(f"{path.relative_to(i18n.ROOT)}:{node.lineno}")
    assert built == []
    # ... and the scan sees one
    assert list(_template_arguments(ast.parse('out.add("c", f"{x} wrong", line)')))[0][1].__class__ is ast.JoinedStr


def test_a_finding_is_said_in_each_language() -> None:
    where = phrase("statement {n} (serial {serial})", n=2, serial="S-1")
    finding = Finding("period.order", "{who}: EndDate {end} is before StartDate {start}", 7, "/PersonStatement",
                      who=where, end="2026-10-01", start="2026-10-05")
    assert finding.message == "statement 2 (serial S-1): EndDate 2026-10-01 is before StartDate 2026-10-05"
    assert finding.text("en") == finding.message
    assert finding.text("zh-CN") == "第 2 张结算单（流水号 S-1）：结束日期 EndDate 2026-10-01 早于开始日期 StartDate 2026-10-05"
    # as the ledger keeps it, said again in the reader's language
    again = Finding.from_dict(finding.as_dict())
    assert again == finding and again.text("zh-CN") == finding.text("zh-CN")


def test_a_finding_recorded_before_templates_says_its_english_message() -> None:
    old = Finding.from_dict({"code": "sum.rows", "message": "Total {odd} braces 3 != 4", "line": 2, "path": None})
    assert old.text("zh-CN") == old.message == "Total {odd} braces 3 != 4"


def test_a_finished_text_without_values_is_kept_as_it_is() -> None:
    """A finding made the old way (an f-string quoting a value with braces) neither raises nor loses text."""
    finding = Finding("xsd.enumeration", "IdType is not one of {'01', '02'} or {", 3)
    assert finding.message == finding.text("zh-CN") == "IdType is not one of {'01', '02'} or {"
    assert Finding.from_dict(finding.as_dict()) == finding


def test_a_template_and_its_values_must_agree() -> None:
    with pytest.raises(ValueError, match="fields"):
        Finding("amount.words", "{where}: {label} in capitals does not state {amount}", where="x", label="y")


def test_masking_reaches_the_values_not_our_words() -> None:
    finding = Finding("xml.syntax", "the file is not well-formed XML: {error}; fix it at line {at}", 4,
                      error="bad <IdNumber>370302195003041234</IdNumber>", at=4)
    masked = finding.masked(mask_text)
    assert "370302195003041234" not in masked.text("zh-CN") and "370302195003041234" not in masked.message
    assert masked.text("zh-CN").startswith("文件不是格式正确的 XML")


def test_a_broken_translation_falls_back_to_english() -> None:
    finding = Finding("amount.burden", "{who} burden {sum}", who="A", sum=Decimal("1.00"))
    assert finding.render(lambda template: "{nobody} 负担") == "A burden 1.00"


def test_translations_api() -> None:
    zh = i18n.translations("zh-CN", "findings")
    assert zh is i18n.translations("zh_CN", "findings")  # read once, cached
    assert zh.gettext("the message has no Header") == "报文缺少 Header（报文头）"
    assert i18n.translations("en", "findings").gettext("the message has no Header") == "the message has no Header"
    assert zh.gettext("a text nobody wrote") == "a text nobody wrote"
    with pytest.raises(ValueError):
        i18n.translations("fr", "findings")
    with pytest.raises(ValueError):
        i18n.translations("zh-CN", "nowhere")


def test_every_alert_meaning_has_its_translation() -> None:
    assert i18n.untranslated("alerts") == [], "run `python -m gateway.i18n update alerts` and translate"
    assert sorted(set(i18n.read_catalog(i18n.catalog_path("zh-CN", "alerts"))) - set(i18n.extract("alerts"))) == []


def test_plural_entries_are_read(tmp_path) -> None:
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
                  'msgid "one file"\nmsgid_plural "{n} files"\nmsgstr[0] "{n} 个文件"\n\n'
                  'msgid "a page"\nmsgstr "一页"\n', encoding="utf-8")
    texts = i18n.CatalogTranslations(i18n.read_catalog(po), i18n.read_catalog(po, plurals=True))
    assert texts.gettext("a page") == "一页" and texts.ngettext("one file", "{n} files", 3) == "{n} 个文件"
    assert texts.ngettext("other", "others", 1) == "other" and texts.ngettext("other", "others", 2) == "others"


# --- notes (gateway.domain.notes): deadline and reconciliation notes, audit outcomes, the ACK's warning note ------

NOTES_PO = i18n.catalog_path("zh-CN", "notes")


def test_every_note_template_has_its_translation() -> None:
    assert i18n.untranslated("notes") == [], "run `python -m gateway.i18n update notes` and translate the new msgids"
    assert sorted(set(i18n.read_catalog(NOTES_PO)) - set(i18n.extract("notes"))) == []


def test_each_note_translation_fills_the_fields_of_its_template() -> None:
    catalog = i18n.read_catalog(NOTES_PO)
    assert len(catalog) > 60
    assert {m: fields(t) for m, t in catalog.items() if fields(m) != fields(t)} == {}


def test_the_notes_extractor_sees_a_new_note(tmp_path) -> None:
    source = tmp_path / "new_note.py"
    source.write_text('from gateway.domain.notes import Note, words\n'
                      'def said(n):\n'
                      '    return Note("new.note", "{n} brand-new things", n=n), words("somewhere new")\n',
                      encoding="utf-8")
    assert set(i18n.extract("notes", [source])) == {"{n} brand-new things", "somewhere new"}
    assert not {"{n} brand-new things", "somewhere new"} & set(i18n.read_catalog(NOTES_PO))


def test_no_note_template_is_built_at_run_time() -> None:
    keywords = i18n.SOURCES["notes"]["keywords"]
    built = []
    for path in i18n.source_files("notes"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in keywords and len(node.args) >= keywords[name][0]:
                argument = node.args[keywords[name][0] - 1]
                if isinstance(argument, ast.Attribute) and argument.attr == "template":
                    continue  # a note made of words written (and extracted) where they were said
                if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                    built.append(f"{path.relative_to(i18n.ROOT)}:{node.lineno}")
    assert built == []
    assert any(p.name == "deadlines.py" for p in i18n.source_files("notes"))


def test_a_note_is_said_in_each_language_and_kept_as_code_and_values() -> None:
    from gateway.domain.notes import Note, joined, words

    note = Note("dispute.application", "{applicant} applied {day} at {residence} about {kind} {serial} (dispute "
                "{dispute}); {review}; {residence} answers the applicant",
                applicant=Note("dispute.facility", "facility {code}", code="F1"), day="2027-07-01",
                residence="370100", kind="A3", serial="C-1", dispute="D-1",
                review=words("{city}'s review pending", city="370200"))
    assert note.message == ("facility F1 applied 2027-07-01 at 370100 about A3 C-1 (dispute D-1); 370200's review "
                            "pending; 370100 answers the applicant")
    assert note.text("en") == note.message
    assert note.text("zh-CN") == ("机构 F1 于 2027-07-01 向 370100 就 A3 C-1 提出申请（争议 D-1）；370200 尚未复核；"
                                  "由 370100 答复申请人")
    again = Note.from_dict(note.as_dict())
    assert again == note and again.text("zh-CN") == note.text("zh-CN")
    late = Note("deadline.late", "{days} calendar day(s) late", days=3)
    assert joined([note, late], "zh-CN").endswith("；逾期 3 个自然日")
    assert joined([late]) == "3 calendar day(s) late"
