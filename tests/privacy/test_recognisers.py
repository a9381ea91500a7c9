"""The UK finder functions on their own: no spaCy, no Presidio analyzer."""

from __future__ import annotations

import pytest

from coproduce.privacy.recognisers import (
    find_addresses,
    find_dates_of_birth,
    find_names_in_context,
    find_nhs_numbers,
    find_postcodes,
    find_schools,
    find_uk_phone_numbers,
    nhs_number_is_valid,
)


def found(finder, text: str) -> list[str]:
    return [text[m.start : m.end] for m in finder(text)]


@pytest.mark.parametrize("code", ["SW1A 1AA", "M1 1AE", "B33 8TH", "LS6 2AB", "sw1a 1aa", "LS62AB", "CR2 6XH"])
def test_postcodes_in_every_shape(code: str) -> None:
    assert found(find_postcodes, f"We live in {code} now.") == [code]


@pytest.mark.parametrize(
    "text",
    [
        "He is working at KS2 3RD level",  # Key Stage is not a postcode area
        "Y6 2ND set",  # nor is Y
        "B2 1st floor",  # mixed case is prose
        "ls6 2nd",  # a lower-case ordinal
        "in 2019 and 2020",
    ],
)
def test_postcode_lookalikes_are_not_postcodes(text: str) -> None:
    assert found(find_postcodes, text) == []


@pytest.mark.parametrize(
    "number",
    [
        "07700 900123",
        "07700-900-345",
        "+44 7700 900456",
        "+447700900456",
        "+44 (0)20 7946 0123",
        "(0161) 496 0789",
        "0113 496 0123",
        "01632 960123",
        "020 7946 0321",
    ],
)
def test_uk_phone_numbers(number: str) -> None:
    assert found(find_uk_phone_numbers, f"Ring {number} after 3pm.") == [number]


@pytest.mark.parametrize("text", ["born 2014-10-08", "on 01/09/2016", "£8,000", "0-25 system", "about 40 weeks"])
def test_dates_and_money_are_not_phone_numbers(text: str) -> None:
    assert found(find_uk_phone_numbers, text) == []


def test_nhs_modulus_11_check() -> None:
    assert nhs_number_is_valid("943 476 5919")  # the NHS's own published example
    assert nhs_number_is_valid("9995260182")
    assert not nhs_number_is_valid("943 476 5918")  # wrong check digit
    assert not nhs_number_is_valid("000 000 0000")  # passes the sum but is not a number anyone has
    assert not nhs_number_is_valid("12345")


def test_nhs_numbers_spaced_dashed_or_plain() -> None:
    text = "NHS 999 526 0182, also 999-186-0916 and 9991590838 but not 999 526 0183."
    assert found(find_nhs_numbers, text) == ["999 526 0182", "999-186-0916", "9991590838"]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("He was born on 5 November 2015.", "5 November 2015"),
        ("DOB 3rd June 2012", "3rd June 2012"),
        ("D.O.B. 12/03/2014", "12/03/2014"),
        ("Date of birth: 01/09/2016.", "01/09/2016"),
        ("my birthday is on 9th december", "9th december"),
        ("born on the 5th of May 2013", "5th of May 2013"),
        ("(born July 2011)", "July 2011"),
        ("born 2014-10-08 at 29 weeks", "2014-10-08"),
        ("12/03/2014 (DOB)", "12/03/2014"),
    ],
)
def test_dates_of_birth_need_a_birth_cue(text: str, date: str) -> None:
    assert found(find_dates_of_birth, text) == [date]


@pytest.mark.parametrize(
    "text",
    [
        "We got the EHCP in March 2022.",
        "Since 2019 nothing has changed.",
        "The review was on 12 June 2023.",
        "He was born in Leeds. We moved in March 2019.",  # the cue is in another sentence
        "Our twins were born prematurely in 2015.",  # a year is an age, not a date of birth
    ],
)
def test_plain_dates_are_not_personal_data(text: str) -> None:
    assert found(find_dates_of_birth, text) == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Our address is 14 Willow Crescent, Bradford.", "14 Willow Crescent"),
        ("We moved to Flat 3, 27 Mill Lane in June.", "Flat 3, 27 Mill Lane"),
        ("Send it to Flat 12, Elm Court please", "Flat 12, Elm Court"),
        ("We are at 21b High Street, Keighley.", "21b High Street"),
        ("Write to The Old Barn, 2 Church Lane, Otley.", "The Old Barn, 2 Church Lane"),
        ("We live on Maple Avenue and the bus stops there.", "Maple Avenue"),
        ("at 12 St Mary's Road", "12 St Mary's Road"),
    ],
)
def test_street_addresses(text: str, address: str) -> None:
    assert found(find_addresses, text) == [address]


def test_numbers_before_ordinary_words_are_not_addresses() -> None:
    assert found(find_addresses, "He has 5 hours of tuition and 3 Special Needs Assistants.") == []


@pytest.mark.parametrize(
    ("text", "school"),
    [
        ("He goes to St Mary's Primary School now.", "St Mary's Primary School"),
        ("We chose Oakwood Academy.", "Oakwood Academy"),
        ("She loves Riverside Nursery.", "Riverside Nursery"),
        ("I go to Greenfield Sixth Form College.", "Greenfield Sixth Form College"),
        ("Hillside Special School has a sensory room.", "Hillside Special School"),
        ("Little Acorns Pre-school is lovely.", "Little Acorns Pre-school"),
        ("i went to Meadowbank Primary school", "Meadowbank Primary school"),
        ("St Peter's CE Primary School", "St Peter's CE Primary School"),
        ("Northfield Primary was good", "Northfield Primary"),
    ],
)
def test_school_names(text: str, school: str) -> None:
    assert found(find_schools, text) == [school]


@pytest.mark.parametrize(
    "text",
    [
        "The special school had no places.",
        "Mainstream schools need more funding.",
        "Mainstream Schools need more funding.",
        "The school said no.",
        "A Sixth Form College alone cannot fix this.",
        "The Sixth Form College offered an internship.",
        "He is in a primary school in our area.",
        "A Primary School in our area was rated Good.",
        "Special School places are scarce.",
        "We live on Maple Avenue and the school is close.",
        "SEND School provision is patchy.",
    ],
)
def test_generic_school_phrases_are_not_names(text: str) -> None:
    assert found(find_schools, text) == []


def test_school_names_next_to_each_other_stay_apart() -> None:
    text = "We visited Parkside High School and Elmwood Grammar School."
    assert found(find_schools, text) == ["Parkside High School", "Elmwood Grammar School"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My son Jack has autism.", "Jack"),
        ("My daughter, Amelia, was born early.", "Amelia"),
        ("The SENDIASS worker called Ms Patel helped.", "Ms Patel"),
        ("Miss Hughes is the best teacher", "Miss Hughes"),
        ("Contact Mrs Aisha Begum today", "Mrs Aisha Begum"),
        ("i hate it when mrs bennett shouts", "mrs bennett"),
        ("a boy called Kian bullied me", "Kian"),
        ("my name is priya and I am 15", "priya"),
        ("our eldest son Noah Smith started college", "Noah Smith"),
    ],
)
def test_names_given_away_by_context(text: str, name: str) -> None:
    assert name in found(find_names_in_context, text)


@pytest.mark.parametrize(
    "text",
    [
        "My son has autism.",
        "My son's EHCP is late.",
        "We called Social Services.",
        "I called CAMHS twice.",
        "My daughter SENCo meeting is today.",
        "Dear Sir or Madam,",
    ],
)
def test_context_patterns_do_not_take_ordinary_words_for_names(text: str) -> None:
    assert found(find_names_in_context, text) == []
