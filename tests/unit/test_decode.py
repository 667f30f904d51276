"""Decoding and validation of feed messages: pure, no broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.decode import FeedDecoder, Rules
from schemas.feeds import FEEDS
from streams.rows import rows_of

FEED_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "feeds"
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
SITES = {"air": {"a1", "a2"}, "water": {"w1"}, "energy": {"e1"}}


def decoder(feed: str, **rules) -> FeedDecoder:
    return FeedDecoder(FEEDS[feed], Rules(known_sites=SITES[feed], **rules))


def air(**fields) -> dict:
    return {"station_id": "a1", "ts": "2026-11-28T08:00:00+08:00", "pm25": 42.0} | fields


def test_single_reading_and_batch():
    one = decoder("air").decode(orjson.dumps(air()), NOW)
    assert [r.pm25 for r in one.readings] == [42.0] and one.rejects == []
    batch = [air(ts=f"2026-11-28T0{h}:00:00+08:00") for h in range(5)]
    many = decoder("air").decode(orjson.dumps(batch), NOW)
    assert len(many.readings) == 5 and many.rejects == []


def test_one_bad_element_rejects_only_itself_with_its_own_bytes():
    batch = [air(), air(pm25=-1), air(station_id="zz"), air(ts="2026-11-28T09:00:00+08:00")]
    out = decoder("air").decode(orjson.dumps(batch), NOW)
    assert len(out.readings) == 2
    assert [r.code for r in out.rejects] == ["out_of_range", "unknown_site"]
    assert orjson.loads(out.rejects[0].raw) == air(pm25=-1)
    assert out.rejects[0].reason == "Expected `float` >= 0.0 - at `$.pm25` (batch element 1)"
    assert "unknown air site id 'zz'" in out.rejects[1].reason
    assert out.rejects[1].reason.endswith("(batch element 2)")


def test_each_reading_knows_its_element_so_it_can_be_refused_later_with_its_own_bytes():
    batch = [air(), air(pm25=-1), air(ts="2026-11-28T09:00:00+08:00", status="audited")]
    raw = b"[" + b",  ".join(map(orjson.dumps, batch)) + b"]"
    for message, elements in ((raw, [0, 2]), (orjson.dumps(batch[2]), [None])):
        out = decoder("air").decode(message, NOW)
        assert out.elements == elements
        last = decoder("air").element(message, elements[-1])
        assert last == orjson.dumps(batch[2]) and out.readings[-1].status == "audited"


VALID = {  # one valid reading of each feed
    "air": air(),
    "water": {"section_id": "w1", "ts": "2026-11-28T08:00:00+08:00", "ph": 7.0},
    "energy": {
        "unit_id": "e1",
        "period_start": "2026-11-27T00:00:00+08:00",
        "period_end": "2026-11-28T00:00:00+08:00",
        "electricity_kwh": 10.0,
    },
}


@pytest.mark.parametrize("feed", sorted(VALID))
@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("final", "invalid_value"),
        ("Audited", "invalid_value"),  # the values are lower case
        ("", "invalid_value"),
        (1, "wrong_type"),
        (None, "wrong_type"),  # absent means preliminary; null is not absent
        (["audited"], "wrong_type"),
    ],
)
def test_an_unknown_status_is_rejected_with_the_known_ones(feed, status, code):
    """On every feed: the reading is rejected (the engine dead-letters it), and the reason
    names the field and both statuses, so the agency knows what to send."""
    out = decoder(feed).decode(orjson.dumps(VALID[feed] | {"status": status}), NOW)
    assert out.readings == [] and len(out.rejects) == 1
    (reject,) = out.rejects
    assert reject.code == code
    assert reject.reason.endswith("at `$.status`; expected one of 'audited', 'preliminary'")


@pytest.mark.parametrize("feed", sorted(VALID))
@pytest.mark.parametrize("status", ["preliminary", "audited", None])
def test_a_known_status_is_kept_and_an_absent_one_is_preliminary(feed, status):
    sent = VALID[feed] if status is None else VALID[feed] | {"status": status}
    (reading,) = decoder(feed).decode(orjson.dumps(sent), NOW).readings
    assert reading.status == (status or "preliminary")


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        (b"", "malformed_json", "not valid JSON"),
        (b"[1, 2", "malformed_json", "not valid JSON"),
        (orjson.dumps(air(pm25="high")), "wrong_type", "Expected `float | null`, got `str`"),
        (orjson.dumps(air(pm25=6000)), "out_of_range", "<= 5000.0"),
        (
            b'{"station_id":"a1","ts":"2026-11-28T08:00:00+08:00","pm25":1e999}',
            "out_of_range",
            "Number out of range",
        ),
        (orjson.dumps(air(ts="2026-11-28T08:00:00")), "timestamp_without_offset", "timezone"),
        (orjson.dumps(air(ts="2027-01-01T00:00:00+08:00")), "future_timestamp", "in the future"),
        (orjson.dumps(air(ts="1970-01-01T00:00:00Z")), "ancient_timestamp", "before 2000-01-01"),
        (orjson.dumps(air(colour="red")), "unknown_field", "unknown field `colour`"),
        (orjson.dumps({"station_id": "a1", "pm25": 3}), "missing_field", "`ts`"),
        (
            orjson.dumps({"station_id": "a1", "ts": "2026-11-28T08:00:00+08:00"}),
            "empty_reading",
            "at least one of pm25",
        ),
        (
            orjson.dumps(air(period="5min")),
            "invalid_value",
            "Invalid enum value '5min' - at `$.period`; expected one of '1h', '24h'",
        ),
    ],
)
def test_rejects_say_what_is_wrong(raw, code, words):
    out = decoder("air").decode(raw, NOW)
    assert out.readings == []
    assert [r.code for r in out.rejects] == [code]
    assert words in out.rejects[0].reason
    assert out.rejects[0].raw == raw


@pytest.mark.parametrize(
    "reading",
    [
        air(station_id="zz"),  # judged after a clean decode: unknown site
        air(ts="2027-01-01T00:00:00+08:00"),  # future timestamp
        {"station_id": "a1", "ts": "2026-11-28T08:00:00+08:00"},  # nothing measured
        air(pm25=-1),  # refused by the decoder itself: the message is taken apart
        air(colour="red"),
    ],
)
def test_a_single_message_is_not_called_a_batch_element(reading):
    (reject,) = decoder("air").decode(orjson.dumps(reading), NOW).rejects
    assert "batch element" not in reject.reason, reject.reason
    (in_batch,) = decoder("air").decode(orjson.dumps([air(), reading]), NOW).rejects
    assert in_batch.reason == f"{reject.reason} (batch element 1)"


@pytest.mark.parametrize(
    ("feed", "site"),
    [
        ("air", {"station_id": "a1", "ts": "2026-11-28T08:00:00+08:00"}),
        ("water", {"section_id": "w1", "ts": "2026-11-28T08:00:00+08:00"}),
        (
            "energy",
            {
                "unit_id": "e1",
                "period_start": "2026-11-27T00:00:00+08:00",
                "period_end": "2026-11-28T00:00:00+08:00",
            },
        ),
    ],
)
def test_an_empty_reading_lists_the_names_on_the_wire(feed, site):
    """The list is what the published schema calls the measured quantities, `as` not `arsenic`."""
    (reject,) = decoder(feed).decode(orjson.dumps(site), NOW).rejects
    listed = reject.reason.split("expected at least one of ")[1].split(", ")
    schema = json.loads((FEED_SCHEMAS / f"{feed}.schema.json").read_text())
    (definition,) = schema["$defs"].values()
    numbers = {
        name
        for name, prop in definition["properties"].items()
        if any(t.get("type") == "number" for t in prop.get("anyOf", [prop]))
    }
    assert set(listed) == numbers and len(listed) == len(numbers)
    if feed == "water":
        assert "as" in listed and "arsenic" not in reject.reason


def test_empty_batch_is_rejected():
    out = decoder("air").decode(b" [] ", NOW)
    assert out.readings == [] and [r.code for r in out.rejects] == ["empty_batch"]


def test_oversized_message_is_rejected_whole():
    raw = orjson.dumps([air()] * 100)
    out = decoder("air", max_bytes=len(raw) - 1).decode(raw, NOW)
    assert out.readings == [] and out.rejects[0].code == "oversized"
    assert "split the batch" in out.rejects[0].reason


def test_energy_period_must_run_forward():
    good = {
        "unit_id": "e1",
        "period_start": "2026-11-27T00:00:00+08:00",
        "period_end": "2026-11-28T00:00:00+08:00",
        "electricity_kwh": 1200.0,
    }
    assert decoder("energy").decode(orjson.dumps(good), NOW).readings
    backwards = good | {"period_end": good["period_start"]}
    assert decoder("energy").decode(orjson.dumps(backwards), NOW).rejects[0].code == "bad_period"


def test_water_arsenic_travels_as_as():
    raw = orjson.dumps(
        {"section_id": "w1", "ts": "2026-11-28T08:00:00+08:00", "as": 0.02, "do": 6.1}
    )
    (reading,) = decoder("water").decode(raw, NOW).readings
    assert reading.arsenic == 0.02
    assert sorted((r[3], r[4]) for r in rows_of("water", reading)) == [("as", 0.02), ("do", 6.1)]


def test_air_rows_carry_the_averaging_period():
    (reading,) = decoder("air").decode(orjson.dumps(air(period="24h", co=0.9)), NOW).readings
    assert sorted(r[3] for r in rows_of("air", reading)) == ["co_24h", "pm25_24h"]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(10**6), 10**6)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
element = st.one_of(
    st.builds(
        lambda pm25, hours: air(pm25=pm25, ts=(NOW - timedelta(hours=hours)).isoformat()),
        st.floats(-100, 6000, allow_nan=False),
        st.integers(-5, 10**6),
    ),
    json_values,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(element, min_size=1, max_size=20))
def test_every_element_is_either_accepted_or_rejected_once(batch):
    out = decoder("air").decode(orjson.dumps(batch), NOW)
    assert len(out.readings) + len(out.rejects) == len(batch)
    assert all(r.reason and r.code for r in out.rejects)
    for reading in out.readings:
        assert 0 <= reading.pm25 <= 5000


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(raw):
    out = decoder("air").decode(raw, NOW)
    assert out.readings or out.rejects


def test_models_generate_a_json_schema():
    schema = msgspec.json.schema(
        list[type(decoder("air").decode(orjson.dumps(air()), NOW).readings[0])]
    )
    assert "AirReading" in schema["$defs"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "station_id": st.sampled_from(["a1", "a2", "zz"]),
                "ts": st.sampled_from(
                    ["1999-12-31T23:00:00+00:00", "2026-11-28T08:00:00+08:00",
                     "2026-11-28T04:09:00+00:00", "2026-11-28T04:11:00+00:00"]
                ),
            },
            optional={"pm25": st.floats(0, 5000), "co": st.floats(0, 200)},
        ),
        min_size=1,
        max_size=6,
    )
)  # fmt: skip
def test_a_batch_is_judged_as_its_readings_would_be_one_by_one(batch):
    """The batch's quick test and the reasons of the one-by-one path agree on every reading."""
    alone = [decoder("air").decode(orjson.dumps(r), NOW) for r in batch]
    raw = orjson.dumps(batch)
    together = decoder("air").decode(raw, NOW)
    assert len(together.readings) == sum(len(d.readings) for d in alone)
    assert [r.code for r in together.rejects] == [x.code for d in alone for x in d.rejects]
    # Either path names each reading's element, so a reading refused later keeps its bytes.
    assert together.elements == [i for i, d in enumerate(alone) if d.readings]
    for i in together.elements:
        assert orjson.loads(decoder("air").element(raw, i)) == batch[i]
