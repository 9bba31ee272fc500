"""Plate syntax and candidates: pure and fast, no models."""

from __future__ import annotations

import pytest

from platekeeper.recognition import syntax
from platekeeper.recognition.syntax import normalise, plate_candidates, region_guess


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("7abc123", "7ABC123"), ("7-ABC 123", "7ABC123"), ("ÀBC·123", "ABC123"), ("  ", ""), ("Ø1", "01")],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("plate", "region"),
    [
        ("7ABC123", "us-ca"),
        ("1A23456", "us-ca"),
        ("123ABC4", "us-ca"),  # California's passenger series since 2026
        ("A12BCD", "us-nj"),
        ("ABC1D23", "br"),
        ("T683465C", "us-ny"),  # a New York TLC (for-hire) plate
        ("ABC1234", None),  # many states share this series
        ("HELLO", None),
    ],
)
def test_region_guess(plate: str, region: str | None) -> None:
    assert region_guess(plate) == region


def test_format_prior_prefers_california_but_accepts_others() -> None:
    assert syntax.format_prior("7ABC123") == 1.0
    assert 0.8 < syntax.format_prior("ABC1234") < 1.0
    assert 0.5 < syntax.format_prior("AB12C3") < syntax.format_prior("ABC1234")  # generic, not rejected
    assert syntax.format_prior("X") < 0.5


def test_confident_read_stays_first() -> None:
    cands = plate_candidates("7ABC123", 0.99, (0.99,) * 7)
    assert cands[0].plate == "7ABC123"
    assert cands[0].confidence > 0.9
    assert [c.confidence for c in cands] == sorted((c.confidence for c in cands), reverse=True)


def test_doubtful_digit_in_letter_position_is_swapped_by_format() -> None:
    cands = plate_candidates("7A8C123", 0.9, (0.99, 0.99, 0.55, 0.99, 0.99, 0.99, 0.99))
    assert cands[0].plate == "7ABC123"
    assert "7A8C123" in [c.plate for c in cands]


def test_confident_non_format_read_is_kept() -> None:
    cands = plate_candidates("7A8C123", 0.99, (0.999,) * 7, [[("B", 0.0005)]] * 7)
    assert cands[0].plate == "7A8C123"


def test_same_glyph_letter_o_follows_the_format() -> None:
    # California 1ABC234: position 4 is a letter, so a zero there is an O.
    cands = plate_candidates("5A0G200", 0.99, (0.99,) * 7)
    assert cands[0].plate == "5AOG200"


def test_reader_alternatives_are_used() -> None:
    alts = [(), (), (("H", 0.4),), (), (), (), ()]
    cands = plate_candidates("4ZNK935", 0.9, (0.99, 0.99, 0.55, 0.99, 0.99, 0.99, 0.99), alts)
    assert "4ZHK935" in [c.plate for c in cands]


def test_candidates_are_normalised_unique_and_capped() -> None:
    cands = plate_candidates("7abc-123", 0.8, top=3)
    plates = [c.plate for c in cands]
    assert len(plates) == len(set(plates)) <= 3
    assert all(p.isalnum() and p == p.upper() for p in plates)
    assert plate_candidates("", 0.9) == []
    assert plate_candidates("7ABC123", 0.9, top=0) == []


def test_confidences_are_probabilities() -> None:
    for c in plate_candidates("8O0I1", 0.3, top=10):
        assert 0.0 <= c.confidence <= 1.0


@pytest.mark.parametrize("word", ["CALIFORNIA", "california", "BMW", "TOYOTA", "DMV.CA.GOV", "WWWCALIFORNIACOM"])
def test_stopwords(word: str) -> None:
    assert syntax.is_stopword(word)


@pytest.mark.parametrize("plate", ["7ABC123", "ABC1234", "BMW123", "LOVE"])
def test_plates_are_not_stopwords(plate: str) -> None:
    assert not syntax.is_stopword(plate)


@pytest.mark.req("CAP-1")
def test_free_form_word_keeps_its_letters_i_and_o() -> None:
    # A vanity word read confidently as letters stays letters: 0 and 1 in free-form text earn no bonus.
    assert syntax.format_prior("F1LMRN") == syntax.format_prior("FILMRN")
    assert plate_candidates("FILMRN", 0.9, (0.9,) * 6)[0].plate == "FILMRN"
    assert plate_candidates("ROCKERS", 0.9, (0.9,) * 7)[0].plate == "ROCKERS"
    # Other digits still mark mixed text as more plate-like than a word, and formats still decide.
    assert syntax.format_prior("AB12C3") > syntax.format_prior("ABCDEF")
    assert plate_candidates("7ABCI23", 0.9, (0.9,) * 7)[0].plate == "7ABC123"


@pytest.mark.req("CAP-1")
def test_california_2026_series_pulls_a_doubtful_digit_to_a_letter() -> None:
    # 123ABC4: positions 4-6 are letters, so a doubtful 8 there is the B it looks like.
    cands = plate_candidates("123A8C4", 0.9, (0.99, 0.99, 0.99, 0.99, 0.55, 0.99, 0.99))
    assert cands[0].plate == "123ABC4"
    assert syntax.format_prior("123ABC4") == 1.0
