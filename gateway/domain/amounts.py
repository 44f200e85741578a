"""RMB amounts in capitals (大写), per the accounting rules (会计基础工作规范, 支付结算办法).

`amount_in_words` writes the one canonical form; `words_match` accepts every form the rules allow, by
parsing the capitals into a value with a strict grammar (so a misplaced or missing 零 is caught, not
guessed) and comparing. Our own code: cn2an truncates extra decimals instead of refusing them.

Rules applied (positions: 0 = 元, 1 = 拾, ..., 4 = 万, 8 = 亿, 12 = 万亿):
- a run of 0 digits between two non-zero digits is written as one 零;
- that 零 may be left out where the run holds the 万 (亿, 万亿) digit and the next lower digit is the 仟
  one (107000.53 → 壹拾万柒仟元伍角叁分 or 壹拾万零柒仟元伍角叁分);
- between 元 and 角: 零 may be written when the 元 digit is 0 (1680.32 → 壹仟陆佰捌拾元[零]叁角贰分);
  角 = 0 with 分 ≠ 0 requires 零 after 元 (100100.01 → 壹拾万零壹佰元零壹分);
- ending at 元: 整 or 正 is required; after 角 it is optional; after 分 it is not allowed;
- a leading 1 in the tens place is written 壹拾; an optional 人民币 prefix is accepted.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = {"拾": 1, "佰": 2, "仟": 3}
_SMALL_NAMES = ("", "拾", "佰", "仟")
MAX_INTEGER_DIGITS = 16  # as the schema's Amount: \d{1,16}\.\d{2}
_CENT = Decimal("0.01")


class AmountError(ValueError):
    """The amount cannot be written in capitals (negative, fractions of a 分, too large)."""


def amount_in_words(amount: Decimal) -> str:
    """The canonical capitals of `amount` (optional 零 left out, 整 after 元)."""
    fen_total = _fen(amount)
    integer, fraction = divmod(fen_total, 100)
    jiao, fen = divmod(fraction, 10)
    if fen_total == 0:
        return "零元整"
    parts: list[str] = []
    if integer:
        parts.append(_integer_words(integer))
        parts.append("元")
    if jiao:
        parts.append(DIGITS[jiao] + "角")
    elif fen and integer:
        parts.append("零")
    if fen:
        parts.append(DIGITS[fen] + "分")
    if not jiao and not fen:
        parts.append("整")
    return "".join(parts)


def _fen(amount: Decimal) -> int:
    """The amount in 分, refusing what the capitals cannot express."""
    if not isinstance(amount, Decimal):
        raise AmountError("an amount must be a Decimal")
    if not amount.is_finite():
        raise AmountError("an amount must be finite")
    if amount < 0:
        raise AmountError("an amount in capitals cannot be negative")
    if amount != amount.quantize(_CENT, rounding="ROUND_DOWN"):
        raise AmountError("an amount has at most two decimals (分)")
    fen_total = int(amount * 100)
    if fen_total >= 10 ** (MAX_INTEGER_DIGITS + 2):
        raise AmountError(f"an amount has at most {MAX_INTEGER_DIGITS} digits before the decimal point")
    return fen_total


def _integer_words(value: int) -> str:
    digits = [(int(d), pos) for pos, d in enumerate(reversed(str(value))) if d != "0"]
    digits.reverse()  # highest position first
    out: list[str] = []
    for i, (digit, pos) in enumerate(digits):
        if i and _zero_run(digits[i - 1][1], pos) == "required":
            out.append("零")
        out.append(DIGITS[digit] + _SMALL_NAMES[pos % 4])
        next_pos = digits[i + 1][1] if i + 1 < len(digits) else -1
        if pos // 4 != next_pos // 4 and pos >= 4:  # last non-zero digit of its 万/亿 group
            group = pos // 4
            out.append({1: "万", 2: "亿"}.get(group, "万"))
            if group == 3 and next_pos < 8:  # 万亿 with an empty 亿 group
                out.append("亿")
    return "".join(out)


def _zero_run(higher: int, lower: int) -> str:
    """Whether a 零 is 'none' (adjacent digits), 'optional' or 'required' between two non-zero digits."""
    if higher - lower == 1:
        return "none"
    if (lower + 1) % 4 == 0 and lower + 1 >= 4:  # the run holds the 万/亿 digit and ends at the 仟 digit
        return "optional"
    return "required"


def parse_words(text: str) -> Decimal:
    """The value of capitals written by the rules; ValueError naming the first thing out of place."""
    s = text.strip()
    if s.startswith("人民币"):
        s = s[3:]
    if not s:
        raise ValueError("empty")
    if s in ("零元整", "零元正"):
        return Decimal("0.00")
    i, integer, last_pos = _parse_integer(s)
    yuan_digit_zero = integer > 0 and last_pos > 0
    jiao = fen = 0
    ending = None
    if integer:
        if i >= len(s) or s[i] != "元":
            raise ValueError("元 expected after the integer part")
        i += 1
    zero = False
    if i < len(s) and s[i] == "零":
        if not integer:
            raise ValueError("零 before 角/分 without 元")
        zero, i = True, i + 1
    if i + 1 < len(s) and s[i] in DIGITS[1:] and s[i + 1] == "角":
        if zero and not yuan_digit_zero:
            raise ValueError("零 between a non-zero 元 digit and 角")
        jiao, i, zero = DIGITS.index(s[i]), i + 2, False
    if i + 1 < len(s) and s[i] in DIGITS[1:] and s[i + 1] == "分":
        if integer and not jiao and not zero:
            raise ValueError("零 required after 元 when 角 is 0")
        if zero and jiao:
            raise ValueError("零 between 角 and 分")
        fen, i, zero = DIGITS.index(s[i]), i + 2, False
    if zero:
        raise ValueError("零 not followed by 角 or 分")
    if i < len(s) and s[i] in "整正":
        ending, i = s[i], i + 1
    if i != len(s):
        raise ValueError(f"unexpected character at position {i + 1}")
    if not integer and not jiao and not fen:
        raise ValueError("no amount")
    if fen and ending:
        raise ValueError("整 is not written after 分")
    if integer and not jiao and not fen and not ending:
        raise ValueError("整 (or 正) required after 元")
    return Decimal(integer) + Decimal(jiao) / 10 + Decimal(fen) / 100


def _parse_integer(s: str) -> tuple[int, int, int]:
    """The integer part: (index after it, value, position of its last non-zero digit)."""
    terms: list[list[int]] = []  # [digit, position, zero_before]
    since_wan = 0  # index of the first term not yet scaled by 万
    since_yi = 0  # index of the first term not yet scaled by 亿
    zero = False
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in DIGITS[1:]:
            if i + 1 < len(s) and s[i + 1] in "角分":
                break  # the fraction's digit
            pos = 0
            if i + 1 < len(s) and s[i + 1] in _SMALL_UNITS:
                pos = _SMALL_UNITS[s[i + 1]]
                i += 1
            if terms[since_wan:] and terms[-1][1] <= pos:
                raise ValueError("digits out of order")
            terms.append([DIGITS.index(ch), pos, zero])
            zero = False
        elif ch == "零":
            if zero or not terms:
                raise ValueError("零 misplaced")
            zero = True
        elif ch in "万亿":
            if zero or len(terms) == (since_wan if ch == "万" else since_yi):
                raise ValueError(f"{ch} without digits before it")
            shift = 4 if ch == "万" else 8
            for term in terms[since_wan if ch == "万" else since_yi :]:
                term[1] += shift
            since_wan = len(terms)
            if ch == "亿":
                since_yi = len(terms)
        elif ch in _SMALL_UNITS:
            raise ValueError(f"{ch} without a digit before it")
        else:
            break
        i += 1
    if zero:
        raise ValueError("零 not followed by a digit")
    value = 0
    for n, (digit, pos, zero_before) in enumerate(terms):
        if n:
            higher = terms[n - 1][1]
            if pos >= higher:
                raise ValueError("digits out of order")
            need = _zero_run(higher, pos)
            if zero_before and need == "none" or not zero_before and need == "required":
                raise ValueError("零 missing or misplaced")
        value += digit * 10**pos
    return i, value, terms[-1][1] if terms else 0


def words_match(amount: Decimal, text: str | None) -> bool:
    """Whether `text` writes `amount` in capitals in any form the rules allow."""
    if text is None:
        return False
    try:
        return parse_words(text) == Decimal(amount) and amount == amount.quantize(_CENT)
    except (ValueError, InvalidOperation):
        return False
