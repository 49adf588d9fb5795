"""Pure rules: dates, money, normalisation, stages, clocks, ids."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sfa.domain import ids, normalize
from sfa.domain.dates import parse_date, parse_datetime
from sfa.domain.errors import ValidationError
from sfa.domain.hlc import Clock, Hlc
from sfa.domain.money import format_money, parse_amount, round_money
from sfa.domain.stages import DEFAULT_STAGES, find_stage, format_stages, parse_stages

MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", MONDAY),
        ("tomorrow", date(2026, 11, 24)),
        ("yesterday", date(2026, 11, 22)),
        ("fri", date(2026, 11, 27)),
        ("Friday", date(2026, 11, 27)),
        ("mon", date(2026, 11, 30)),  # a weekday name is the next such day, never today
        ("+3d", date(2026, 11, 26)),
        ("+2w", date(2026, 12, 7)),
        ("+1m", date(2026, 12, 23)),
        ("-1d", date(2026, 11, 22)),
        ("2027-01-15", date(2027, 1, 15)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text, today=MONDAY) == expected


def test_month_offset_clamps_to_month_end() -> None:
    assert parse_date("+1m", today=date(2026, 1, 31)) == date(2026, 2, 28)


@pytest.mark.parametrize("text", ["", "someday", "2026-13-01", "+3x", "31.12.2026"])
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(ValidationError, match="close_date"):
        parse_date(text, "close_date", today=MONDAY)


def test_parse_datetime_is_local_then_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sfa.domain.dates.local_zone", lambda: ZoneInfo("Europe/Berlin"))
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert parse_datetime("tomorrow 10:00", now=now) == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert parse_datetime("fri 14:30", now=now) == datetime(2026, 11, 27, 13, 30, tzinfo=UTC)
    assert parse_datetime("2026-07-01 10:00", now=now) == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(ValidationError, match="needs a time"):
        parse_datetime("tomorrow", now=now)
    with pytest.raises(ValidationError, match="not a time"):
        parse_datetime("tomorrow 25:00", now=now)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12000", Decimal("12000")),
        ("12,000.50", Decimal("12000.50")),
        ("12k", Decimal("12000")),
        ("1.5m", Decimal("1500000")),
        ("2.5K", Decimal("2500")),
        ("1,234,567", Decimal("1234567")),
        ("0.10", Decimal("0.10")),
    ],
)
def test_parse_amount(text: str, expected: Decimal) -> None:
    value = parse_amount(text)
    assert value == expected
    assert isinstance(value, Decimal)


@pytest.mark.parametrize("text", ["", "abc", "12,5", "1,23,456", "-5", "12..5", "1e5"])
def test_parse_amount_rejects(text: str) -> None:
    with pytest.raises(ValidationError, match="amount"):
        parse_amount(text)


def test_round_money_half_up_by_currency() -> None:
    assert round_money(Decimal("2.345"), "EUR") == Decimal("2.35")
    assert round_money(Decimal("2.5"), "JPY") == Decimal("3")
    assert round_money(Decimal("1.0005"), "KWD") == Decimal("1.001")
    assert format_money(Decimal("12000"), "EUR") == "12,000.00 EUR"


def test_phone_and_email_normalisation() -> None:
    assert normalize.phone_key("+49 (89) 123-456") == "+4989123456"
    assert normalize.phone_key("0049 89 123456") == "+4989123456"
    assert normalize.email_key(" Hans@Acme.DE ") == "hans@acme.de"
    with pytest.raises(ValidationError, match="email"):
        normalize.email("not-an-email")
    with pytest.raises(ValidationError, match="phone"):
        normalize.phone("call me maybe")
    # What address books and other CRMs write around an address or a number.
    assert normalize.email("mailto:g7@x.de") == "g7@x.de"
    assert normalize.email("Frank Six <f6@x.de>") == "f6@x.de"
    assert normalize.phone("tel:+49-89-1234567;ext=12") == "+49-89-1234567 ext. 12"
    assert normalize.phone("+49 89 1234567 x12") == "+49 89 1234567 ext. 12"
    assert normalize.phone("+1 (555) 010-0199 extension 7") == "+1 (555) 010-0199 ext. 7"
    assert normalize.phone_key("+49 89 1234567 ext. 12") == "+49891234567x12"
    assert normalize.phone_key("+49 89 1234567 ext. 12") != normalize.phone_key("+49 89 123456712")


def test_near_identical_names_share_a_key() -> None:
    key = normalize.name_company_key("Hans Müller", "Acme GmbH")
    assert normalize.name_company_key("müller, hans", "ACME") == key
    assert normalize.name_company_key("Hans  Muller", "Acme Inc.") == key
    assert normalize.name_company_key("Hans Müller", "Globex") != key


def test_stages_parse_and_lookup() -> None:
    assert parse_stages(format_stages(DEFAULT_STAGES)) == DEFAULT_STAGES
    assert find_stage(DEFAULT_STAGES, "RFP-received").probability == 50
    assert find_stage(DEFAULT_STAGES, "quotation_sent").probability == 70
    with pytest.raises(ValidationError, match="won"):
        parse_stages("a:10, b:20")
    with pytest.raises(ValidationError, match="outside"):
        parse_stages("a:150, won:100, lost:0")
    with pytest.raises(ValidationError, match="accepted: initiation"):
        find_stage(DEFAULT_STAGES, "negotiation")


def test_hlc_orders_by_time_then_counter_then_replica() -> None:
    clock = Clock("aa")
    first = clock.tick(now_ms=1000)
    second = clock.tick(now_ms=1000)  # same millisecond: the counter moves
    third = clock.tick(now_ms=999)  # the wall clock went back: still later
    assert first < second < third
    assert first.encode() < second.encode() < third.encode()
    assert Hlc.decode(third.encode()) == third
    clock.observe(Hlc(5000, 7, "bb"), now_ms=1000)
    after = clock.tick(now_ms=1000)
    assert after > Hlc(5000, 7, "bb")
    assert after.replica == "aa"


def test_uuid7_layout_and_handles() -> None:
    one = ids.uuid7(now_ms=1_795_000_000_000)
    two = ids.uuid7(now_ms=1_795_000_000_001)
    assert one[14] == "7" and one[19] in "89ab"
    assert ids.timestamp_ms_of(one) == 1_795_000_000_000
    assert one < two  # time-ordered
    assert ids.handle_of(one) == one[-12:]
    import uuid

    many = ids.uuid7_many(1000, now_ms=1_795_000_000_000)
    parsed = [uuid.UUID(i) for i in many]
    assert len(set(many)) == 1000 and [str(u) for u in parsed] == many
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert {ids.timestamp_ms_of(i) for i in many} == {1_795_000_000_000}
    assert {i[19] for i in many} == set("89ab")  # the variant digit still carries two random bits
    assert ids.shortest_unique("abcdef123456", ["abcdef999999"]) == "abcdef9"[:6] + "1"
    assert ids.shortest_unique("abcdef123456", ["000000000000"]) == "abcdef"


def test_local_zone_keeps_daylight_saving_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from sfa.domain import dates

    monkeypatch.setenv("TZ", "Europe/Berlin")
    dates.local_zone.cache_clear()
    try:
        winter = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
        # planned in November for a July morning: summer time applies, not November's offset
        assert parse_datetime("2027-07-01 10:00", now=winter) == datetime(2027, 7, 1, 8, 0, tzinfo=UTC)
        assert parse_datetime("2026-12-01 10:00", now=winter) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    finally:
        dates.local_zone.cache_clear()


def test_fold_matches_the_reference_definition() -> None:
    """The fast paths of fold() give what the plain definition gives, for any text."""
    import re
    import unicodedata

    from hypothesis import given, settings
    from hypothesis import strategies as st

    def reference(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
        plain = "".join(c for c in decomposed if not unicodedata.combining(c))
        return " ".join(re.sub(r"[^\w\s]", " ", plain.lower()).split())

    @settings(max_examples=300, deadline=None)
    @given(st.text())
    def check(text: str) -> None:
        assert normalize.fold(text) == reference(text)

    check()
    for sample in ("Hans Müller", "Crème brûlée", "Đặng Thị", "Ελληνικά", "日本語 テスト", "Straße"):
        assert normalize.fold(sample) == reference(sample)
