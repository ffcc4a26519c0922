"""Custom metadata: what a row may hold, and the 16 KB limit."""

from __future__ import annotations

import pytest

from tenantry.lib.forms import InvalidInput
from tenantry.metadata.rules import (
    MAX_BYTES,
    MetadataRow,
    metadata_from_rows,
    parse_number,
    parse_search,
    rows_for_editor,
    rows_from_form,
    rows_from_mapping,
    size_of,
)


def row(index: int, key: str, kind: str, value: str, *, remove: bool = False) -> MetadataRow:
    return MetadataRow(index=index, key=key, type=kind, value=value, remove=remove)


def refused(rows: list[MetadataRow]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        metadata_from_rows(rows)
    return caught.value.errors


def test_each_type_is_stored_as_itself():
    meta = metadata_from_rows(
        [
            row(0, "Industry", "string", "  food "),
            row(1, "employees", "number", "50"),
            row(2, "rate", "number", "3.50"),
            row(3, "trial", "boolean", "TRUE"),
            row(4, "churned", "boolean", "false"),
        ]
    )
    assert meta == {"churned": False, "employees": 50, "industry": "food", "rate": 3.5, "trial": True}
    assert isinstance(meta["employees"], int) and meta["trial"] is True and meta["churned"] is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("-7", -7),
        ("+3", 3),
        ("3.5", 3.5),
        ("50.0", 50),
        (".5", 0.5),
        ("0", 0),
        ("9007199254740991", 2**53 - 1),
    ],
)
def test_numbers_people_type(text, expected):
    value = parse_number(text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    "text", ["", "abc", "1,000", "1e5", "nan", "inf", "0x10", "1.2.3", "9007199254740992", "3.14159265358979323"]
)
def test_what_is_not_a_number(text):
    errors = refused([row(0, "n", "number", text)])
    assert set(errors) == {"value-0"}


def test_true_false_accepts_only_true_or_false():
    assert refused([row(2, "trial", "boolean", "yes")]) == {"value-2": "Enter true or false."}


@pytest.mark.parametrize("key", ["1st", "_x", "with space", "ünï", "a" * 65, "a/b", "a=b", '"q"'])
def test_bad_keys(key):
    assert set(refused([row(0, key, "string", "v")])) == {"key-0"}


def test_keys_are_lowered_and_may_use_dots_and_dashes():
    assert metadata_from_rows([row(0, "CRM.Account-ID_2", "string", "x")]) == {"crm.account-id_2": "x"}


def test_a_value_without_a_key_is_refused():
    assert refused([row(0, "", "string", "orphan")]) == {"key-0": "Enter a key, or clear this row."}


def test_a_duplicate_key_names_the_row_that_has_it():
    errors = refused([row(0, "plan", "string", "a"), row(1, "x", "string", "b"), row(5, "PLAN", "string", "c")])
    assert errors == {"key-5": "“plan” is already used in row 1: each key once."}


def test_every_bad_row_is_reported_at_once_and_nothing_is_returned():
    errors = refused([row(0, "ok", "string", "fine"), row(1, "9", "number", "x"), row(2, "b", "weird", "1")])
    assert set(errors) == {"key-1", "value-1", "type-2"}


def test_blank_and_removed_rows_are_skipped():
    rows = [row(0, "", "string", ""), row(1, "gone", "number", "not a number", remove=True), row(2, "k", "string", "")]
    assert metadata_from_rows(rows) == {"k": ""}


def test_control_characters_are_refused_in_text():
    assert set(refused([row(0, "k", "string", "a\x00b")])) == {"value-0"}


def _of_size(size: int) -> list[MetadataRow]:
    overhead = size_of({"k": ""})  # {"k":""}
    return [row(0, "k", "string", "x" * (size - overhead))]


def test_exactly_16_kb_is_accepted():
    meta = metadata_from_rows(_of_size(MAX_BYTES))
    assert size_of(meta) == MAX_BYTES == 16384


def test_one_byte_over_16_kb_is_refused_with_the_size():
    errors = refused(_of_size(MAX_BYTES + 1))
    assert list(errors) == ["__all__"]
    assert "16 KB" in errors["__all__"] and "16,385 bytes" in errors["__all__"]


def test_the_limit_counts_bytes_not_characters():
    overhead = size_of({"k": ""})
    characters = (MAX_BYTES - overhead) // 2 + 1  # "é" is two bytes in UTF-8
    assert "__all__" in refused([row(0, "k", "string", "é" * characters)])


def test_the_form_gives_rows_in_index_order_whatever_the_field_order():
    form = {"value-10": "b", "key-10": "second", "key-2": "first", "value-2": "a", "type-2": "number", "nonsense": "x"}
    rows = rows_from_form(form)
    assert [(r.index, r.key, r.type, r.value) for r in rows] == [
        (2, "first", "number", "a"),
        (10, "second", "string", "b"),
    ]


def test_the_editor_shows_stored_values_so_saving_them_again_changes_nothing():
    stored = {"employees": 50, "rate": 0.1, "trial": False, "industry": "food"}
    rows = rows_for_editor(stored)
    assert rows[-1].is_blank
    assert metadata_from_rows(rows) == stored


def test_json_from_the_api_meets_the_same_checks():
    assert metadata_from_rows(rows_from_mapping({"Plan": "gold", "seats": 5, "vip": True})) == {
        "plan": "gold",
        "seats": 5,
        "vip": True,
    }
    assert set(refused(rows_from_mapping({"nested": {"a": 1}, "list": [1]}))) == {"type-0", "type-1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("industry=food", ("industry", "food")),
        ("employees=50", ("employees", 50)),
        ("Trial = TRUE", ("trial", True)),
        ('code="50"', ("code", "50")),
        ("note=a=b", ("note", "a=b")),
        ("industry", None),
        ("9x=1", None),
    ],
)
def test_search_values_are_typed(text, expected):
    assert parse_search(text) == expected
