"""The password policy: length, the common-password list, the person's own names."""

from __future__ import annotations

import pytest

from shared.identity import password_policy as policy
from shared.identity.password_policy import (
    HAS_NAME,
    HAS_USERNAME,
    MIN_LENGTH,
    TOO_COMMON,
    TOO_LONG,
    TOO_SHORT,
    WeakPassword,
    common_passwords,
    password_problems,
    require_strong,
)


def test_a_long_uncommon_password_passes() -> None:
    assert password_problems("kuda-terbang-di-atas-monas") == []
    assert password_problems("kata-sandi-uji-coba", username="dinas-a.kepala",
                             full_name="Dinas A kepala") == []  # the test suites' password


def test_minimum_length_is_twelve() -> None:
    assert MIN_LENGTH == 12
    assert password_problems("Gajah-Biru7") == [TOO_SHORT]
    assert password_problems("Gajah-Biru7x") == []


def test_an_absurdly_long_password_is_refused() -> None:
    assert TOO_LONG in password_problems("gajah-biru-" * 30)


@pytest.mark.parametrize("password", [
    "bismillah", "indonesia", "sayangku", "rahasia123", "password", "12345678",
    "qwertyuiop", "1qaz2wsx3edc", "asdfghjkl", "alhamdulillah", "passwordpassword",
])
def test_common_passwords_are_refused(password: str) -> None:
    assert TOO_COMMON in password_problems(password)


def test_the_comparison_ignores_case() -> None:
    assert TOO_COMMON in password_problems("BISMILLAH123")
    assert TOO_COMMON in password_problems("IndonesiaRaya")


def test_a_listed_word_with_digits_and_symbols_around_it_is_still_common() -> None:
    assert password_problems("Bismillah2026!") == [TOO_COMMON]
    assert password_problems("2026#sayangku##") == [TOO_COMMON]


def test_too_few_different_characters_is_common() -> None:
    assert password_problems("abababababab") == [TOO_COMMON]


def test_the_bundled_list_holds_a_few_thousand_entries_in_lower_case() -> None:
    listed = common_passwords()
    assert 2000 <= len(listed) <= 10000
    assert all(entry == entry.lower() and entry.strip() == entry for entry in listed)
    assert not any(entry.startswith("#") for entry in listed)


def test_the_username_may_not_appear() -> None:
    assert password_problems("saya-dinas-a.kepala-2026", username="dinas-a.kepala") == [
        HAS_USERNAME]
    assert password_problems("saya-DINAS-A.KEPALA-2026", username="dinas-a.kepala") == [
        HAS_USERNAME]


def test_a_part_of_the_full_name_may_not_appear() -> None:
    assert password_problems("siti-rahmawati-hebat", full_name="Dra. Siti Rahmawati, M.Si") == [
        HAS_NAME]
    # short parts (titles, short names) are not held against a password
    assert password_problems("kuda-terbang-dra-si", full_name="Dra. Siti Rahmawati, M.Si") == []


def test_every_problem_is_reported_at_once() -> None:
    problems = password_problems("budi", username="budi", full_name="Budi Santoso")
    assert TOO_SHORT in problems
    assert HAS_USERNAME in problems
    assert HAS_NAME in problems


def test_require_strong_raises_with_the_problems() -> None:
    with pytest.raises(WeakPassword) as raised:
        require_strong("password", username="andi")
    assert raised.value.problems == [TOO_SHORT, TOO_COMMON]
    assert isinstance(raised.value, ValueError)
    assert TOO_SHORT in str(raised.value)
    require_strong("kuda-terbang-di-atas-monas", username="andi", full_name="Andi")


def test_messages_are_indonesian() -> None:
    assert "Kata sandi" in policy.TOO_SHORT
    assert "12 karakter" in policy.TOO_SHORT
