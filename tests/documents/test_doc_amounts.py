"""RMB capitals (大写): the canonical writing and every variant the accounting rules allow."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest

from gateway.domain.amounts import AmountError, amount_in_words, parse_words, words_match

CANONICAL = [
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
    ("107000.53", "壹拾万柒仟元伍角叁分"),
    ("10005.00", "壹万零伍元整"),
    ("100100.01", "壹拾万零壹佰元零壹分"),
    ("0.05", "伍分"),
    ("0.50", "伍角"),
    ("0.00", "零元整"),
    ("16.00", "壹拾陆元整"),
    ("100000000.10", "壹亿元壹角"),
    ("1409.50", "壹仟肆佰零玖元伍角"),
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("1.01", "壹元零壹分"),
    ("100000001.00", "壹亿零壹元整"),
    ("101000000.00", "壹亿零壹佰万元整"),
    ("1000000000000.00", "壹万亿元整"),
    ("1200000000000.00", "壹万贰仟亿元整"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("9999999999999999.99", "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
]


@pytest.mark.parametrize("amount,words", CANONICAL)
def test_canonical_writing(amount, words):
    assert amount_in_words(Decimal(amount)) == words
    assert words_match(Decimal(amount), words)


@pytest.mark.parametrize(
    "amount,words",
    [
        ("100000000.10", "壹亿元零壹角"),  # 元 digit 0, 角 not: 零 optional
        ("107000.53", "壹拾万零柒仟元伍角叁分"),  # 万 digit 0, 仟 not: 零 optional
        ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
        ("10005.00", "壹万零伍元正"),  # 正 for 整
        ("1680.30", "壹仟陆佰捌拾元叁角整"),  # 整 after 角 allowed
        ("1680.30", "壹仟陆佰捌拾元叁角"),  # ... or left out
        ("100000000.10", "人民币壹亿元壹角"),
        ("100001000.00", "壹亿壹仟元整"),  # zeros hold the 万 digit and end at 仟: 零 optional
        ("100001000.00", "壹亿零壹仟元整"),
    ],
)
def test_variants_allowed(amount, words):
    assert words_match(Decimal(amount), words)


@pytest.mark.parametrize(
    "amount,words",
    [
        ("10005.00", "壹万伍元整"),  # 零 required between 万 and 伍
        ("100100.01", "壹拾万壹佰元零壹分"),  # zeros at 万 and 仟: 零 required
        ("100100.01", "壹拾万零壹佰元壹分"),  # 角 = 0 with 分: 零 required after 元
        ("16.00", "拾陆元整"),  # leading 1 in the tens is 壹拾
        ("1.00", "壹元"),  # 整 required after 元
        ("1.01", "壹元零壹分整"),  # never 整 after 分
        ("1.10", "壹元零壹角"),  # 元 digit not 0: no 零
        ("10005.00", "壹万零零伍元整"),  # one 零 for a run
        ("1680.32", "壹仟陆佰捌拾元叁角贰"),
        ("1680.32", "壹仟陆佰捌拾圆叁角贰分整"),
        ("16.00", "壹拾陆元整整"),
        ("1.00", ""),
        ("1.00", "零壹元整"),
        ("0.05", "零伍分"),
        ("20.00", "贰拾零元整"),
        ("12.00", "壹贰元整"),
        ("10000.00", "壹万万元整"),
        ("100000000.00", "壹亿亿元整"),
        ("1680.32", "1680.32"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"[:-1] + "叁分"),  # a different value
    ],
)
def test_variants_refused(amount, words):
    assert not words_match(Decimal(amount), words)


def test_words_match_refuses_missing_text():
    assert not words_match(Decimal("1.00"), None)


@pytest.mark.parametrize("bad", ["-1.00", "1.001", "0.005", "NaN", "Infinity", "10000000000000000.00"])
def test_amount_in_words_refuses(bad):
    with pytest.raises(AmountError):
        amount_in_words(Decimal(bad))


def test_extra_zero_decimals_are_the_same_amount():
    assert amount_in_words(Decimal("1.230")) == "壹元贰角叁分"


def _variants(words: str) -> set[str]:
    """Every writing derived from the canonical one by the optional 零 and 整/正 choices of the rules."""
    value = parse_words(words)
    results = {words}
    if words.endswith("整"):
        results.add(words[:-1] + "正")
    # Insert an optional 零 at each boundary where parse_words must accept it, and check none else.
    for i in range(1, len(words)):
        candidate = words[:i] + "零" + words[i:]
        try:
            if parse_words(candidate) == value:
                results.add(candidate)
        except ValueError:
            pass
    return results


def test_random_amounts_round_trip_through_the_parser():
    rng = random.Random(7)
    for _ in range(5000):
        fen = rng.randrange(0, 10 ** rng.randrange(1, 19))
        amount = Decimal(fen).scaleb(-2)
        words = amount_in_words(amount)
        assert parse_words(words) == amount
        for variant in _variants(words):
            assert words_match(amount, variant)
            assert not words_match(amount + Decimal("0.01"), variant)


def test_only_optional_zeros_are_accepted_as_insertions():
    # 107000.53: a 零 may be added after 万 (万 digit 0, 仟 not) and after 元 (元 digit 0, 角 not).
    assert _variants("壹拾万柒仟元伍角叁分") == {
        "壹拾万柒仟元伍角叁分",
        "壹拾万零柒仟元伍角叁分",
        "壹拾万柒仟元零伍角叁分",
    }
    assert words_match(Decimal("107000.53"), "壹拾万零柒仟元零伍角叁分")
    assert _variants("壹仟陆佰捌拾元叁角贰分") == {"壹仟陆佰捌拾元叁角贰分", "壹仟陆佰捌拾元零叁角贰分"}
    assert _variants("壹仟陆佰捌拾叁元贰角") == {"壹仟陆佰捌拾叁元贰角"}


def test_all_small_amounts_write_and_read_back():
    for yuan, fen in itertools.product(range(0, 2100, 7), (0, 5, 30, 99)):
        amount = Decimal(yuan * 100 + fen).scaleb(-2)
        assert parse_words(amount_in_words(amount)) == amount
