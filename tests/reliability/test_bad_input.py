"""Bad input: every reading is stored once or dead-lettered with its reason, and nothing else.

The decoder is checked with hypothesis over mutated readings (fast, thousands of cases); the
worker is then fed a catalogue of named faults and a seeded sample of the same mutations, and
the books must balance: readings sent = stored (as new rows, fills or revisions) + duplicates +
dead-lettered, exactly; the
worker keeps going; no alert fires on a rejected value; a late reading is stored but does not
re-open a closed alert.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from psycopg import sql

from schemas import tables
from schemas.decode import FeedDecoder, Rules
from schemas.feeds import FEEDS
from schemas.reference import load_reference
from streams.deadletter import decode_headers
from streams.topics import DEAD_LETTER
from tests.support.faults import era
from tests.support.services import read_topic, wait_until

NOW = datetime.now(UTC)
REGISTER = load_reference()
AIR_SITES = set(REGISTER.sites("air"))
POLLUTANTS = ("pm25", "pm10", "so2", "no2", "o3", "co")
CODES = {
    "malformed_json",
    "wrong_type",
    "missing_field",
    "unknown_field",
    "out_of_range",
    "invalid_value",
    "timestamp_without_offset",
    "unknown_site",
    "future_timestamp",
    "ancient_timestamp",
    "empty_reading",
    "empty_batch",
    "oversized",
    "conflicting_duplicate",
}
STORED = ("stored", "duplicate", "filled", "revised")  # what a reading that is not refused does
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)
ODD_TIMES = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),  # no UTC offset
    st.sampled_from(["1970-01-01T00:00:00Z", "2999-01-01T00:00:00+08:00", "yesterday", ""]),
)


def valid_reading(site: str, at: datetime, value: float) -> dict[str, Any]:
    return {"station_id": site, "ts": at.isoformat(), "pm25": value, "no2": 30.0 + value % 9}


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid air reading with zero to three things wrong with it."""
    site = draw(st.sampled_from([*sorted(AIR_SITES)[:3], "air-nowhere-99", "", "站点'; --"]))
    reading = valid_reading(site, NOW - timedelta(days=draw(st.integers(0, 3000))), 55.0)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["value", "drop", "extra", "time", "period"]))
        if kind == "value":
            reading[draw(st.sampled_from(POLLUTANTS))] = draw(ODD_VALUES)
        elif kind == "drop":
            reading.pop(draw(st.sampled_from(sorted(reading))), None)
        elif kind == "extra":
            reading[draw(st.sampled_from(["unit", "pm25_mg", "PM25", "flags"]))] = draw(ODD_VALUES)
        elif kind == "time":
            reading["ts"] = draw(ODD_TIMES)
        else:
            reading["period"] = draw(st.sampled_from(["1h", "24h", "8h", 1]))
    return reading


def encode(readings: list[dict[str, Any]], batch: bool) -> bytes:
    """As a careless producer would: NaN and Infinity written as bare words."""
    return json.dumps(readings if batch else readings[0], ensure_ascii=False).encode()


def units(raw: bytes, max_bytes: int = 1_000_000) -> int:
    """Readings a message holds if it is JSON at all; a message that is not, that is over the
    size limit (refused whole) or that is an empty batch, counts as one."""
    if len(raw) > max_bytes:
        return 1

    def refuse(word: str) -> None:
        raise ValueError(word)

    try:
        parsed = json.loads(raw, parse_constant=refuse)
    except ValueError:
        return 1
    return max(len(parsed), 1) if isinstance(parsed, list) else 1


def accepted_is_sane(reading: Any) -> bool:
    values = [getattr(reading, p) for p in POLLUTANTS if getattr(reading, p) is not None]
    return (
        reading.station_id in AIR_SITES
        and bool(values)
        and all(math.isfinite(v) and 0 <= v <= 5000 for v in values)
        and datetime(2000, 1, 1, tzinfo=UTC) <= reading.ts <= NOW + timedelta(minutes=10)
    )


@given(st.lists(mutated(), min_size=1, max_size=5), st.booleans())
@hsettings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_reading_is_accepted_sane_or_rejected_with_a_reason(readings, batch):
    decoder = FeedDecoder(FEEDS["air"], Rules(known_sites=AIR_SITES))
    raw = encode(readings, batch or len(readings) > 1)
    decoded = decoder.decode(raw, NOW)
    assert len(decoded.readings) + len(decoded.rejects) == units(raw), (raw, decoded)
    assert all(accepted_is_sane(r) for r in decoded.readings), decoded.readings
    for reject in decoded.rejects:
        assert reject.code in CODES and reject.reason, reject
        assert reject.raw in raw


# --- end to end -----------------------------------------------------------------------------

VICTIM = "air-wuyi-01"  # receives only rejected values: no alert may fire for it
LATE = "air-panan-01"  # an alert that fires, resolves, then gets a late breaching reading
SITE = "air-dongyang-01"


def catalogue(t: datetime) -> list[tuple[str, bytes, dict[str, int]]]:
    """(name, message, expected {code or one of ``STORED``: count})."""

    def one(site: str = SITE, h: int = 0, **fields: Any) -> dict[str, Any]:
        return {"station_id": site, "ts": (t + timedelta(hours=h)).isoformat()} | fields

    ts = t.isoformat()
    big = [one(SITE, 1000 + h, pm25=30.0 + h % 7, no2=40.0, o3=60.0) for h in range(400)]
    return [
        ("not JSON", b"{not json", {"malformed_json": 1}),
        ("empty bytes", b"", {"malformed_json": 1}),
        ("invalid UTF-8", b"\xff\xfe\x00garbage", {"malformed_json": 1}),
        ("JSON null", b"null", {"wrong_type": 1}),
        ("a bare number", b"42", {"wrong_type": 1}),
        ("pm25 as text", orjson.dumps(one(pm25="high")), {"wrong_type": 1}),
        (
            "station id as number",
            orjson.dumps(one(pm25=3.0) | {"station_id": 42}),
            {"wrong_type": 1},
        ),
        ("ts as epoch number", orjson.dumps(one(pm25=3.0) | {"ts": 1700000000}), {"wrong_type": 1}),
        ("missing ts", orjson.dumps({"station_id": SITE, "pm25": 3.0}), {"missing_field": 1}),
        ("missing station", orjson.dumps({"ts": ts, "pm25": 3.0}), {"missing_field": 1}),
        ("no pollutant", orjson.dumps(one()), {"empty_reading": 1}),
        (
            "NaN literal",
            f'{{"station_id":"{VICTIM}","ts":"{ts}","pm25":NaN}}'.encode(),
            {"malformed_json": 1},
        ),
        (
            "Infinity literal",
            f'{{"station_id":"{VICTIM}","ts":"{ts}","pm25":Infinity}}'.encode(),
            {"malformed_json": 1},
        ),
        ("NaN as text", orjson.dumps(one(VICTIM, pm25="NaN")), {"wrong_type": 1}),
        (
            "1e999",
            f'{{"station_id":"{VICTIM}","ts":"{ts}","pm25":1e999}}'.encode(),
            {"out_of_range": 1},
        ),
        ("negative pm25", orjson.dumps(one(VICTIM, 1, pm25=-3.0)), {"out_of_range": 1}),
        ("absurd pm25", orjson.dumps(one(VICTIM, 2, pm25=99999.0)), {"out_of_range": 1}),
        ("CO in µg/m³", orjson.dumps(one(VICTIM, 3, co=800.0)), {"out_of_range": 1}),
        ("a unit field", orjson.dumps(one(pm25=3.0, unit="ppm")), {"unknown_field": 1}),
        (
            "pm25 in mg/m³ under its own name",
            orjson.dumps(one(pm25_mg=0.035)),
            {"unknown_field": 1},
        ),
        ("period 8h", orjson.dumps(one(pm25=3.0, period="8h")), {"invalid_value": 1}),
        (
            "no UTC offset",
            orjson.dumps(one(pm25=3.0) | {"ts": "2020-01-01T00:00:00"}),
            {"timestamp_without_offset": 1},
        ),
        (
            "far future",
            orjson.dumps(one(pm25=3.0) | {"ts": "2999-01-01T00:00:00+08:00"}),
            {"future_timestamp": 1},
        ),
        (
            "1970",
            orjson.dumps(one(pm25=3.0) | {"ts": "1970-01-01T00:00:00+00:00"}),
            {"ancient_timestamp": 1},
        ),
        ("unknown site", orjson.dumps(one("air-nowhere-99", pm25=3.0)), {"unknown_site": 1}),
        ("oversized batch (limit 20,000 bytes)", orjson.dumps(big), {"oversized": 1}),
        ("empty batch", b"[]", {"empty_batch": 1}),
        (
            "batch with one bad element",
            orjson.dumps([one(h=10, pm25=31.0), one(h=11, pm25=-1.0), one(h=12, pm25=33.0)]),
            {"stored": 2, "out_of_range": 1},
        ),
        ("a reading", orjson.dumps(one(h=20, pm25=40.0)), {"stored": 1}),
        ("the same reading again", orjson.dumps(one(h=20, pm25=40.0)), {"duplicate": 1}),
        (
            "the same hour with another value",
            orjson.dumps(one(h=20, pm25=41.0)),
            {"conflicting_duplicate": 1},
        ),
        ("the same hour with O3 too", orjson.dumps(one(h=20, pm25=40.0, o3=50.0)), {"filled": 1}),
        (
            "the same hour audited",
            orjson.dumps(one(h=20, pm25=39.0, status="audited")),
            {"revised": 1},
        ),
        ("status final", orjson.dumps(one(pm25=3.0, status="final")), {"invalid_value": 1}),
        (
            "out of order in a batch",
            orjson.dumps([one(h=32, pm25=42.0), one(h=30, pm25=40.0), one(h=31, pm25=41.0)]),
            {"stored": 3},
        ),
        ("out of order across messages", orjson.dumps(one(h=25, pm25=40.0)), {"stored": 1}),
    ]


def random_messages(t: datetime, count: int, seed: int = 7) -> list[bytes]:
    """The decoder test's mutations, drawn with a fixed seed, on this test's own hours."""
    rng = random.Random(seed)
    odd: list[Any] = [None, True, -1, 0, 1e308, float("nan"), float("inf"), "x", [], 5001, 1e-9]
    out = []
    for n in range(count):
        readings = []
        for k in range(rng.randint(1, 4)):
            site = rng.choice([SITE, SITE, SITE, "air-nowhere-99"])
            r = valid_reading(site, t + timedelta(hours=2000 + 5 * n + k), 50.0 + n % 7)
            for _ in range(rng.randint(0, 2)):
                r[rng.choice([*POLLUTANTS, "unit", "ts", "station_id"])] = rng.choice(odd)
            readings.append(r)
        out.append(encode(readings, len(readings) > 1 or rng.random() < 0.5))
    return out


def late_window(t: datetime) -> list[bytes]:
    """AQI about 250 for four hours (fires), clean for four (resolves)."""
    return [
        orjson.dumps(
            {
                "station_id": LATE,
                "ts": (t + timedelta(hours=h)).isoformat(),
                "pm25": (200.0 if h < 4 else 20.0) + h,
            }
        )
        for h in range(8)
    ]


def test_bad_input_is_stored_once_or_dead_lettered(settings, start_worker, postgres, figures):
    t = era()
    sites = [SITE, VICTIM, LATE, "air-nowhere-99"]
    worker = start_worker(settings, ENVWATCH_MAX_MESSAGE_BYTES="20000")
    named = catalogue(t)
    noise = random_messages(t, 200)
    messages = [raw for _, raw, _ in named] + noise + late_window(t)
    sent_units = sum(units(raw, 20000) for raw in messages)

    from tests.support.services import producer

    out = producer(settings)
    for raw in messages:
        out.send(settings.topic("air"), key=SITE.encode(), value=raw)
    out.flush()
    wait_until(
        lambda: worker.metric("envwatch_messages_consumed_total") == len(messages),
        60,
        "every message consumed",
    )
    # The late reading: hour 2 of the closed incident, breaching again.
    late = orjson.dumps(
        {"station_id": LATE, "ts": (t + timedelta(hours=2, minutes=30)).isoformat(), "pm25": 260.0}
    )
    out.send(settings.topic("air"), key=LATE.encode(), value=late)
    out.flush()
    out.close()
    sent_units += 1
    wait_until(
        lambda: worker.metric("envwatch_messages_consumed_total") == len(messages) + 1,
        30,
        "the late reading consumed",
    )
    dead_expected = int(worker.metric("envwatch_dead_letters_total"))
    letters = read_topic(settings, settings.topic(DEAD_LETTER), dead_expected)
    with psycopg.connect(postgres.url(), autocommit=True) as db:
        stored = distinct_readings_all(db, sites, t)
        history = db.execute(
            "SELECT site_id, condition, transition, at FROM alert_history "
            "WHERE site_id = ANY(%s) AND at >= %s AND at < %s ORDER BY at",
            (sites, t, t + timedelta(days=300)),
        ).fetchall()
        late_rows = db.execute(
            "SELECT count(*) FROM air_readings WHERE site_id = %s AND ts = %s",
            (LATE, t + timedelta(hours=2, minutes=30)),
        ).fetchone()[0]
    consumed_readings = int(worker.metric("envwatch_readings_consumed_total"))
    duplicates = int(worker.metric("envwatch_rows_duplicate_total"))
    filled = int(worker.metric("envwatch_readings_filled_total"))
    revised = int(worker.metric("envwatch_readings_revised_total"))
    conflicts = int(worker.metric("envwatch_dead_letters_total", reason="conflicting_duplicate"))
    by_raw: dict[bytes, list[dict[str, str]]] = {}
    for letter in letters:
        by_raw.setdefault(letter.value, []).append(decode_headers(letter.headers))

    figures(
        sent=sent_units,
        messages=len(messages) + 1,
        stored=stored,
        duplicates=duplicates,
        filled=filled,
        revised=revised,
        dead_lettered=len(letters),
        notifications=0,
        alert_transitions=len(history),
    )
    assert worker.process.poll() is None, "the worker must never stop"
    assert len(letters) == dead_expected
    assert consumed_readings == stored + duplicates + filled + revised + conflicts
    assert sent_units == stored + duplicates + filled + revised + len(letters)
    assert all(h["reason"] and h["code"] in CODES for hs in by_raw.values() for h in hs)
    for name, raw, expected in named:
        # A batch's rejected element is dead-lettered with its own bytes.
        parts = [raw] + ([orjson.dumps(e) for e in orjson.loads(raw)] if raw[:2] == b"[{" else [])
        codes = sorted(h["code"] for part in parts for h in by_raw.get(part, []))
        want = sorted(c for c, n in expected.items() if c not in STORED for _ in range(n))
        assert codes == want, f"{name}: dead letters {codes}, expected {want}"
    assert duplicates == 1, "the reading sent twice is stored once"
    assert (filled, revised, conflicts) == (1, 1, 1), "one each of the hour sent again"
    assert late_rows == 1, "the late reading is stored"
    assert not [h for h in history if h[0] == VICTIM], "no alert on a rejected value"
    transitions: dict[str, list[str]] = {}
    for site, condition, transition, _at in history:
        if site == LATE:
            transitions.setdefault(condition, []).append(transition)
    assert transitions.get("air_aqi_heavy") == ["firing", "resolved"], transitions
    assert all(t == ["firing", "resolved"] for t in transitions.values()), (
        "the late reading must not re-open a closed alert"
    )


def distinct_readings_all(db: psycopg.Connection, sites: list[str], t: datetime) -> int:
    """Readings of these sites of every feed table, by time, in the test's window."""
    every = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT site_id, {} AS ts FROM {}").format(
            sql.Identifier(f.time_column), sql.Identifier(tables.table(f))
        )
        for f in FEEDS.values()
    )
    row = db.execute(
        sql.SQL(
            "SELECT count(DISTINCT (site_id, ts)) FROM ({}) AS r"
            " WHERE site_id = ANY(%s) AND ts >= %s AND ts < %s"
        ).format(every),
        (sites, t, t + timedelta(days=300)),
    ).fetchone()
    return int(row[0])
