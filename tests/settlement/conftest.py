"""Shared fixtures of the settlement tests: the test-only 2027 holiday file."""

from __future__ import annotations

from pathlib import Path

import pytest

HOLIDAYS_DIR = Path(__file__).parent / "holidays"


@pytest.fixture
def holidays_dir() -> Path:
    return HOLIDAYS_DIR


@pytest.fixture
def text_2027() -> str:
    return (HOLIDAYS_DIR / "2027.toml").read_text(encoding="utf-8")
