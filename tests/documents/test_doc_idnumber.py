"""GB 11643 identity numbers: the check character and the sample generator's helper."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.domain.idnumber import check_character, is_valid, make_id_number


@pytest.mark.parametrize(
    "number",
    ["11010519491231002X", "440524188001010014", "370302195001010012"],
)
def test_known_valid_numbers(number):
    # Two widely published examples, and one computed by hand below.
    assert is_valid(number)


def test_check_character_by_hand():
    # 370302195001010011: Σ digit × weight = 3·7+7·9+0·10+3·5+0·8+2·4+1·2+9·1+5·6+0·3+0·7+1·9+0·10+1·5+0·8+0·4+1·2
    #                                      = 21+63+15+8+2+9+30+9+5+2 = 164; 164 mod 11 = 10 → "10X98765432"[10] = "2"
    assert check_character("37030219500101001") == "2"
    assert is_valid("370302195001010012")
    assert not is_valid("370302195001010011")


def test_remainder_two_gives_x():
    assert check_character("11010519491231002") == "X"
    assert is_valid("11010519491231002x")  # a reader's lower-case x


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002Y",  # wrong check character
        "110105194912310021",
        "11010519491331002X",  # month 13
        "11010519490230002X",  # 30 February
        "1101051949123100",  # too short
        "11010519491231002X1",  # too long
        "1101051949A231002X",  # a letter among the digits
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits
        "",
    ],
)
def test_invalid_numbers(number):
    assert not is_valid(number)


def test_make_id_number_is_valid_and_encodes_sex_and_birth():
    number = make_id_number("370302", date(1941, 3, 9), 123)
    assert is_valid(number)
    assert number.startswith("37030219410309123")
    assert int(number[16]) % 2 == 1  # odd sequence: a man


@pytest.mark.parametrize("area,sequence", [("37030", 1), ("370302", 1000), ("37030x", 1), ("370302", -1)])
def test_make_id_number_refuses_bad_parts(area, sequence):
    with pytest.raises(ValueError):
        make_id_number(area, date(1950, 1, 1), sequence)


def test_check_character_refuses_bad_input():
    with pytest.raises(ValueError):
        check_character("1234")
