"""A pushed file becomes stored rows; bad lines become dead letters with their reasons; an
audited file replaces the stored readings, and a conflicting real-time line is dead-lettered."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
import orjson
import psycopg

from alerts.standards.editions import CST
from schemas.feeds.air import AirReading
from streams.deadletter import decode_headers
from streams.settings import Settings
from streams.topics import DEAD_LETTER
from tests.support.services import read_topic, wait_until

STATIONS = ("air-wucheng-01", "air-yiwu-01")


def good_air(window: datetime, hours: int) -> list[dict]:
    return [
        {
            "station_id": station,
            "ts": (window + timedelta(hours=h)).isoformat(),
            "pm25": 30.0 + h % 50,
            "pm10": 60.0,
            "no2": 25.5,
            "co": 0.7,
        }
        for station in STATIONS
        for h in range(hours)
    ]


def bad_lines(window: datetime) -> list[tuple[bytes, str]]:
    """(raw line, expected dead-letter code)."""
    ts = window.isoformat()
    return [
        (b"{not json", "malformed_json"),
        (orjson.dumps({"station_id": STATIONS[0], "ts": ts, "pm25": -3}), "out_of_range"),
        (orjson.dumps({"station_id": STATIONS[0], "pm25": 3}), "missing_field"),
        (orjson.dumps({"station_id": "air-nowhere-99", "ts": ts, "pm25": 3}), "unknown_site"),
        (
            orjson.dumps({"station_id": STATIONS[0], "ts": "2024-01-01T00:00:00", "pm25": 3}),
            "timestamp_without_offset",
        ),
        (
            orjson.dumps({"station_id": STATIONS[0], "ts": "2099-01-01T00:00:00+08:00", "pm25": 3}),
            "future_timestamp",
        ),
        (
            b'{"station_id": "air-wucheng-01", "ts": "' + ts.encode() + b'", "pm25": NaN}',
            "malformed_json",
        ),
        (orjson.dumps({"station_id": STATIONS[0], "ts": ts, "pm25": "high"}), "wrong_type"),
        (orjson.dumps({"station_id": STATIONS[0], "ts": ts}), "empty_reading"),
    ]


def push(
    settings: Settings, path: Path, *extra: str, feed: str = "air"
) -> subprocess.CompletedProcess[str]:
    env = {
        "ENVWATCH_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "ENVWATCH_TOPIC_PREFIX": settings.topic_prefix,
        "PATH": "",
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "envwatch.cli",
            "push",
            str(path),
            "--feed",
            feed,
            "--quiet",
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def stored_rows(db: psycopg.Connection, window: datetime) -> int:
    row = db.execute(
        "SELECT count(*) FROM air_readings WHERE ts >= %s AND ts < %s",
        (window, window + timedelta(days=10)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_good_readings_stored_bad_ones_dead_lettered_and_resend_adds_nothing(
    settings, start_worker, admin_db, window, tmp_path
):
    good = good_air(window, 100)
    bad = bad_lines(window)
    lines = (
        [orjson.dumps(r) for r in good[:50]]
        + [raw for raw, _ in bad]
        + [orjson.dumps(r) for r in good[50:]]
    )
    path = tmp_path / "air.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    worker = start_worker(settings)

    result = push(settings, path, "--no-validate")
    assert result.returncode == 0, result.stderr
    expected_rows = len(good)  # one row per reading
    wait_until(lambda: stored_rows(admin_db, window) == expected_rows, 60, "all good rows")

    letters = read_topic(settings, settings.topic(DEAD_LETTER), len(bad))
    assert len(letters) == len(bad)
    by_value = {letter.value: decode_headers(letter.headers) for letter in letters}
    for raw, code in bad:
        assert raw in by_value, f"missing dead letter for {raw!r}"
        assert by_value[raw]["code"] == code, by_value[raw]["reason"]
        assert by_value[raw]["reason"]
        assert by_value[raw]["topic"] == settings.topic("air")

    # The same file again: every message is consumed, no row is added.
    consumed = worker.metric("envwatch_messages_consumed_total")
    assert push(settings, path, "--no-validate").returncode == 0
    wait_until(
        lambda: worker.metric("envwatch_messages_consumed_total") >= 2 * consumed,
        60,
        "the second push to be consumed",
    )
    wait_until(
        lambda: worker.metric("envwatch_rows_duplicate_total") >= expected_rows,
        30,
        "the re-sent rows to be recognised as duplicates",
    )
    assert stored_rows(admin_db, window) == expected_rows


def test_push_checks_each_line_and_sends_batches(
    settings, start_worker, admin_db, window, tmp_path
):
    good = good_air(window, 120)
    bad = bad_lines(window)
    path = tmp_path / "air.jsonl"
    path.write_bytes(b"\n".join([orjson.dumps(r) for r in good] + [raw for raw, _ in bad]))
    start_worker(settings)

    result = push(settings, path, "--batch", "60")
    assert result.returncode == 1  # some lines were rejected
    rejected = [line for line in result.stdout.splitlines() if ": rejected: " in line]
    assert len(rejected) == len(bad)
    first_bad_line = len(good) + 1
    assert rejected[0].startswith(f"{path}:{first_bad_line}: rejected: not valid JSON")
    assert f"240 readings in 4 messages sent, {len(bad)} rejected" in result.stdout
    wait_until(lambda: stored_rows(admin_db, window) == len(good), 60, "all good rows")


PLANT = "ww-jindong-01"  # required to meet 1A; built 2009, so TP's 1A limit is 0.5


def test_csv_files_checked_and_unchecked(settings, start_worker, admin_db, window, tmp_path):
    """An air file checked line by line; and a plant's file sent unchecked (--no-validate),
    each line keyed by its plant: two samples of a day with TP at 0.8 (within 1B, over the
    plant's 1A) and the next day's first, which closes the day over the plant's grade."""
    path = tmp_path / "air.csv"
    rows = ["station_id,ts,period,pm25,pm10,so2,no2,o3,co"]
    for h in range(24):
        ts = (window + timedelta(hours=h)).isoformat()
        rows.append(f"{STATIONS[1]},{ts},1h,{40 + h},80,,30,{60 + h},0.8")
    rows.append(f"{STATIONS[1]},{window.isoformat()},1h,-1,80,,30,60,0.8")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    midnight = window.astimezone(CST).replace(hour=0)
    plant = tmp_path / "plant.csv"
    rows = ["plant_id,ts,cod,nh3n,tp,ss,ph,temp,flow"]
    for h in (12, 24, 25):
        rows.append(
            f"{PLANT},{(midnight + timedelta(hours=h)).isoformat()},28.5,1.2,0.8,7,7.1,17.5,1800"
        )
    plant.write_text("\n".join(rows) + "\n", encoding="utf-8")
    worker = start_worker(settings)
    result = push(settings, path)
    assert f"{path}:26: rejected: Expected `float` >= 0.0 - at `$.pm25`" in result.stdout
    result = push(settings, plant, "--no-validate", feed="wastewater")
    assert result.returncode == 0, result.stderr
    wait_until(lambda: stored_rows(admin_db, window) == 24, 60, "24 readings")

    query = "SELECT count(*), min(tp), max(flow) FROM wastewater_readings"
    query += " WHERE site_id = %s AND ts > %s AND ts < %s + interval '10 days'"  # the window's
    stored = wait_until(
        lambda: (
            (r := admin_db.execute(query, (PLANT, midnight, midnight)).fetchone())
            and r[0] == 3
            and r
        ),
        60,
        "the plant's 3 samples",
    )
    assert stored == (3, 0.8, 1800.0)
    records = read_topic(settings, settings.topic("wastewater"), 3)
    assert [r.key for r in records] == [PLANT.encode()] * 3
    wait_until(lambda: worker.metric("envwatch_wastewater_grade", site=PLANT) == 2, 60, "grade")
    assert worker.metric("envwatch_wastewater_items_over", site=PLANT, required_grade="1A") == 1
    over = {"condition": "wastewater_over_grade", "site": PLANT, "parameter": "tp"}
    assert worker.metric("envwatch_alert_value", **over) == 2
    assert worker.metric("envwatch_alert_limit", **over) == 1


def test_an_audited_file_replaces_the_day_and_a_conflicting_line_is_dead_lettered(
    settings, start_worker, admin_db, window, tmp_path
):
    """An agency's real-time day, then its audited day with a re-sent real-time line that
    differs: the worker stores the audited values, keeps each replaced hour as a revision,
    and dead-letters the conflicting line with its origin and the value it conflicts with."""
    station = STATIONS[0]
    hours = [window + timedelta(hours=h) for h in range(1, 25)]

    def line(at: datetime, pm25: float, **more: str) -> dict:
        return {"station_id": station, "ts": at.isoformat(), "pm25": pm25, **more}

    realtime, audit = tmp_path / "realtime.jsonl", tmp_path / "audited.jsonl"
    realtime.write_bytes(b"\n".join(orjson.dumps(line(at, 120.0)) for at in hours))
    conflicting = line(hours[5], 121.0)
    audited = [line(at, 70.0, status="audited") for at in hours]
    audit.write_bytes(b"\n".join(orjson.dumps(r) for r in [conflicting, *audited]))
    worker = start_worker(settings)

    assert push(settings, realtime).returncode == 0
    wait_until(lambda: stored_rows(admin_db, window) == 24, 60, "the real-time day")
    received = admin_db.execute(
        "SELECT received_at FROM air_readings WHERE site_id = %s AND ts = %s",
        (station, hours[5]),
    ).fetchone()[0]
    assert push(settings, audit).returncode == 0
    wait_until(
        lambda: worker.metric("envwatch_readings_revised_total") == 24, 60, "the audited day"
    )

    (letter,) = read_topic(settings, settings.topic(DEAD_LETTER), 1)
    headers = decode_headers(letter.headers)
    # The line as the push tool sent it: the reading with every field of the struct.
    decode = msgspec.json.Decoder(AirReading).decode
    assert decode(letter.value) == decode(orjson.dumps(conflicting))
    assert headers["code"] == "conflicting_duplicate"
    assert headers["topic"] == settings.topic("air") and headers["feed"] == "air"
    assert {"partition", "offset", "rejected_at"} <= headers.keys()
    assert "pm25 stored 120.0, this reading 121.0" in headers["reason"]
    assert f"stored at {received.isoformat()}" in headers["reason"]
    assert worker.metric("envwatch_dead_letters_total", reason="conflicting_duplicate") == 1
    stored = admin_db.execute(
        "SELECT count(*) FILTER (WHERE pm25 = 70 AND status = 'audited'), count(*)"
        " FROM air_readings WHERE site_id = %s AND ts >= %s AND ts < %s",
        (station, window, window + timedelta(days=10)),
    ).fetchone()
    revisions = admin_db.execute(
        "SELECT count(*) FILTER (WHERE pm25_old = 120 AND pm25_new = 70), count(*)"
        " FROM air_revisions WHERE site_id = %s AND ts >= %s AND ts < %s",
        (station, window, window + timedelta(days=10)),
    ).fetchone()
    assert stored == (24, 24) and revisions == (24, 24)
