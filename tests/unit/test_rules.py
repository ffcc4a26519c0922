"""Pure rules, no database."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.accounts.passwords import password_problem
from tenantry.accounts.schemas import SignUpForm
from tenantry.config import ConfigError, Settings
from tenantry.lib.colors import contrast_ratio, normalize_hex_color, readable_text_color
from tenantry.lib.forms import parse_form
from tenantry.lib.pagination import decode_cursor, encode_cursor
from tenantry.lib.ratelimit import RateLimited
from tenantry.orgs.slugs import MAX_SLUG_LENGTH, slug_from_name, slug_problem
from tenantry.web.templating import device, time_ago


@given(st.text(max_size=200))
def test_a_slug_derived_from_any_name_is_always_usable(name):
    slug = slug_from_name(name)
    assert slug_problem(slug) is None, slug
    assert len(slug) <= MAX_SLUG_LENGTH


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Acme", "acme"),
        ("Acme Corp.", "acme-corp"),
        ("Müller & Söhne", "muller-sohne"),
        ("A", "a-org"),
        ("Admin", "admin-org"),
        ("😀", "my-org"),
        ("  ", "my-org"),
    ],
)
def test_slug_from_name(name, slug):
    assert slug_from_name(name) == slug


@pytest.mark.parametrize("password", ["", "1234567", "password", "Password1", "qwertyuiop", "iloveyou"])
def test_weak_passwords_are_refused(password):
    assert password_problem(password) is not None


def test_password_policy_edges():
    assert password_problem("x" * 64) is None, "64 characters are allowed"
    assert password_problem("x" * 128) is None
    assert password_problem("x" * 129) == "Use at most 128 characters."
    assert password_problem("olivia@acme.example", email="olivia@acme.example") is not None
    assert password_problem("olivia42", email="olivia42@acme.example") is not None
    assert password_problem("  spaces are fine too  ") is None


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("#1F6FEB", "#1f6feb"),
        ("1f6feb", "#1f6feb"),
        ("#abc", "#aabbcc"),
        (" #ABC ", "#aabbcc"),
        ("blue", None),
        ("#12345", None),
        ("#1234567", None),
        ("", None),
    ],
)
def test_colour_parsing(raw, normal):
    assert normalize_hex_color(raw) == normal


@given(st.from_regex(r"#[0-9a-f]{6}", fullmatch=True))
def test_text_on_any_brand_colour_meets_wcag_aa(color):
    # The worse of black or white still gives at least 4.58:1, whatever the colour.
    assert contrast_ratio(color, readable_text_color(color)) >= 4.5


def test_readable_text_colour():
    assert readable_text_color("#ffffff") == "#000000"
    assert readable_text_color("#000000") == "#ffffff"
    assert readable_text_color("#4f46e5") == "#ffffff"
    assert readable_text_color("#fde047") == "#000000"


@given(st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs")), max_size=50), st.uuids())
def test_cursor_round_trip(name, member_id):
    # Names never hold control characters or lone surrogates: the forms refuse them.
    token = encode_cursor("after", [name, member_id])
    assert decode_cursor(token, (str, uuid.UUID)) == ("after", (name, member_id))


def _b64(payload: str) -> str:
    import base64

    return base64.urlsafe_b64encode(payload.encode("utf-8", "surrogatepass")).decode()


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "!!!",
        "e30",
        "W10",
        "WyJzaWRld2F5cyIsW11d",
        "x" * 2000,
        _b64('["after",["a",5]]'),
        _b64('["after",["a",{}]]'),
        _b64('["after",["\\ud800","00000000-0000-0000-0000-000000000000"]]'),
        _b64('["after",["a\\u0000b","00000000-0000-0000-0000-000000000000"]]'),
        _b64('["after",["a","not-a-uuid"]]'),
        _b64('["after","ab"]'),
        _b64('"after"'),
    ],
)
def test_bad_cursors_mean_first_page(token):
    assert decode_cursor(token, (str, uuid.UUID)) is None


def test_form_errors_read_as_sentences():
    form, errors = parse_form(SignUpForm, {"name": "", "email": "nope", "password": ""})
    assert form is None
    assert errors["name"] == "This field is required."
    assert errors["email"].startswith("Enter a valid email address.")
    assert errors["password"] == "This field is required."
    _, errors = parse_form(SignUpForm, {"name": "A\x00", "email": "a@b.example", "password": "x"})
    assert errors == {"name": "Remove the invisible control characters from this field."}


def test_form_trims_text_but_never_passwords():
    form, _ = parse_form(SignUpForm, {"name": "  Ann  ", "email": " ANN@X.Example ", "password": "  pw  pw  "})
    assert (form.name, form.email, form.password) == ("Ann", "ann@x.example", "  pw  pw  ")


def test_secret_key_is_required_outside_development():
    with pytest.raises(ConfigError, match="TENANTRY_SECRET_KEY is not set"):
        Settings(env="production", secret_key="").check()
    with pytest.raises(ConfigError, match="TENANTRY_SECRET_KEY is too short"):
        Settings(env="production", secret_key="short").check()
    Settings(env="production", secret_key="k" * 32).check()
    Settings(env="development", secret_key="").check()


def test_argon2_below_owasp_minimum_is_refused():
    with pytest.raises(ConfigError, match="OWASP"):
        Settings(env="development", argon2_memory_kib=8192).check()


def test_rate_limit_wait_is_said_in_whole_minutes():
    assert RateLimited(retry_after_seconds=1).retry_after_minutes == 1
    assert RateLimited(retry_after_seconds=61).retry_after_minutes == 2


def test_device_names():
    assert device("") == "Unknown device"
    assert device("curl/8.0") == "curl"
    assert (
        device(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Safari/537.36"
        )
        == "Chrome on Windows"
    )


def test_time_ago():
    from datetime import timedelta

    from tenantry.lib.clock import utcnow

    assert time_ago(utcnow()) == "just now"
    assert time_ago(utcnow() - timedelta(minutes=5)) == "5 minutes ago"
    assert time_ago(utcnow() - timedelta(days=1, hours=2)) == "1 day ago"


def test_suggestions_for_long_slugs_cut_between_words():
    from tenantry.orgs.slugs import _shorten

    long_slug = "the-international-association-of-extremely-long"
    assert _shorten(long_slug, 45) == "the-international-association-of-extremely"
    assert _shorten("a" * 48, 45) == "a" * 45
    assert _shorten("acme", 45) == "acme"


def test_invisible_only_input_is_refused():
    from tenantry.groups.schemas import GroupForm

    _, errors = parse_form(GroupForm, {"name": "\u200b", "description": ""})
    assert errors == {"name": "Type visible characters, or leave this field empty."}
    form, errors = parse_form(GroupForm, {"name": "👨\u200d👩\u200d👧 Family", "description": ""})
    assert not errors and form.name.startswith("👨"), "a joiner inside visible text is fine"


def test_emoji_group_names_are_distinct():
    from tenantry.groups.services import name_key_of

    assert name_key_of("🚀") != name_key_of("🎉")
    assert name_key_of(" Engineering ") == name_key_of("ENGINEERING") == "engineering"


def test_addresses_are_read_from_pasted_text_and_csv_deduplicated_with_reasons():
    from tenantry.invitations.services import read_addresses

    read = read_addresses(
        "not an address\nAnn Smith ann@x.example\na@b.example c@d.example; Bob <BOB@x.example>, (carl@x.example)",
        "Name,Email\nBob,bob@x.example\nDee,dee@x.example\n,\n",
    )
    assert read.valid == [
        "ann@x.example",
        "a@b.example",
        "c@d.example",
        "bob@x.example",
        "carl@x.example",
        "dee@x.example",
    ]
    assert read.invalid == [("not an address", "An email address must have an @-sign.")]
    assert read_addresses("", "first@x.example\nsecond@x.example").valid == ["first@x.example", "second@x.example"]


def test_a_retention_of_zero_days_is_refused_not_taken_as_delete_everything():
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Settings(env="test", secret_key="s" * 40, audit_retention_days=0)
