"""`envwatch push` with real files in the encodings agencies' spreadsheets write, to the
embedded broker, read back from the feed topic."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from schemas.reference import DEFAULT_DIR
from streams.settings import Settings
from tests.support.services import read_topic

STATION = "空气站-金华-测试-01"  # a Chinese site id: it survives only a right decoding
HEADER = ("station_id", "ts", "pm25", "pm10")


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("register")
    shutil.copytree(DEFAULT_DIR, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.py"))
    path = folder / "stations.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rows.append(rows[0] | {"id": STATION, "name_zh": "金华测试站", "mn": "", "pw": ""})
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def _rows(hours: int, site: str = STATION) -> list[tuple[str, ...]]:
    start = datetime(2016, 5, 1, tzinfo=UTC)
    return [
        (site, (start + timedelta(hours=h)).isoformat(), f"{30 + h % 40}.5", str(60 + h % 30))
        for h in range(hours)
    ]


def _write_csv(path: Path, rows: list[tuple[str, ...]], encoding: str, header=HEADER) -> Path:
    text = "\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def push(settings: Settings, register: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ENVWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "envwatch.cli", "push", *args, "--feed", "air"],
        env=clean
        | {
            "ENVWATCH_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "ENVWATCH_TOPIC_PREFIX": settings.topic_prefix,
            "ENVWATCH_REFERENCE_DIR": str(register),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


def _sent(settings: Settings, expected: int) -> list[dict]:
    records = read_topic(settings, settings.topic("air"), expected, timeout_s=30)
    readings = []
    for record in records:
        value = orjson.loads(record.value)
        readings += value if isinstance(value, list) else [value]
    return readings


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_a_csv_in_each_encoding_is_read_as_written(
    settings, register, tmp_path, encoding, detected
):
    path = _write_csv(tmp_path / "readings.csv", _rows(5), encoding)
    done = push(settings, register, str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"read as {detected} (detected)" in done.stdout
    assert "5 lines, 5 readings in 1 messages sent, 0 rejected" in done.stdout
    readings = _sent(settings, 1)
    assert [r["station_id"] for r in readings] == [STATION] * 5
    assert [r["pm25"] for r in readings] == [30.5, 31.5, 32.5, 33.5, 34.5]


def test_the_encoding_can_be_given(settings, register, tmp_path):
    path = _write_csv(tmp_path / "readings.csv", _rows(3), "gbk")
    done = push(settings, register, str(path), "--encoding", "gbk")
    assert done.returncode == 0, done.stderr
    assert "detected" not in done.stdout
    assert [r["station_id"] for r in _sent(settings, 1)] == [STATION] * 3


def test_json_lines_with_a_bom_are_read(settings, register, tmp_path):
    lines = [
        orjson.dumps({"station_id": STATION, "ts": ts, "pm25": float(pm25)}).decode()
        for _, ts, pm25, _ in _rows(4)
    ]
    path = tmp_path / "readings.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8-sig"))
    done = push(settings, register, str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 lines, 4 readings" in done.stdout


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.strip().splitlines()
    return line


def test_an_unknown_column_refuses_the_file_and_names_the_known_ones(settings, register, tmp_path):
    path = _write_csv(
        tmp_path / "readings.csv",
        [(name, *row) for name, row in zip(["金华测试站"] * 3, _rows(3), strict=True)],
        "gbk",
        header=("站点名称", *HEADER),
    )
    line = _one_line(push(settings, register, str(path)))
    assert "unknown column '站点名称'" in line
    assert "the air feed's columns are station_id, ts, period, pm25, pm10" in line
    assert read_topic(settings, settings.topic("air"), 1, timeout_s=3) == [], "nothing is sent"


def test_a_wrong_encoding_names_the_line(settings, register, tmp_path):
    path = _write_csv(tmp_path / "readings.csv", _rows(3), "gbk")
    line = _one_line(push(settings, register, str(path), "--encoding", "utf-8"))
    assert f"{path}:2: not utf-8 (as given)" in line and "--encoding" in line


def test_a_long_file_shows_a_progress_bar_and_a_short_one_none(settings, register, tmp_path):
    # 60,000 lines: several seconds here (about 5,000 lines a second, checked and sent)
    stations = [r["id"] for r in csv.DictReader((DEFAULT_DIR / "stations.csv").open())][:20]
    rows = [row for site in stations for row in _rows(3_000, site)]
    path = _write_csv(tmp_path / "long.csv", rows, "utf-8")
    done = push(settings, register, str(path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{len(rows)}/{len(rows)} lines" in done.stderr, done.stderr[-2000:]
    assert "pushing long.csv" in done.stderr
    short = push(settings, register, str(_write_csv(tmp_path / "short.csv", _rows(3), "utf-8")))
    assert short.returncode == 0 and "pushing" not in short.stderr, short.stderr
