"""Shared by every test directory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _cli_reads_english(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ltcgw` speaks zh-CN by default (issue 14); the tests that read its output were written against its English
    msgids, so they ask for English as an operator would (LANGUAGE, which a subprocess inherits). The tests of the
    Chinese default (tests/test_cli_i18n.py) take it away again."""
    monkeypatch.setenv("LANGUAGE", "en")
