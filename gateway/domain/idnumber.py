"""Citizen identity numbers (公民身份号码, GB 11643-1999): 6-digit area code, 8-digit birth date, 3-digit
sequence (odd for men, even for women), and a check character over the first 17 digits.
"""

from __future__ import annotations

from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    """The check character (0–9 or X) of the 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("17 digits expected")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def is_valid(number: str) -> bool:
    """Whether `number` is an 18-character identity number: digits, a real birth date, the right check
    character (a lower-case x is accepted as X, as card readers produce both)."""
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit():
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return check_character(number[:17]) == number[17].upper()


def make_id_number(area: str, birth: date, sequence: int) -> str:
    """A valid identity number (for samples and tests): `sequence` 0–999, odd for a man, even for a woman."""
    if len(area) != 6 or not area.isdigit() or not 0 <= sequence <= 999:
        raise ValueError("a six-digit area and a sequence of 0–999 expected")
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def sex_of(number: str) -> str | None:
    """The sex (GB/T 2261.1: "1" 男, "2" 女) the 17th digit of a valid identity number states (odd for a man),
    or None when `number` is not valid."""
    if not is_valid(number):
        return None
    return "1" if int(number[16]) % 2 else "2"
