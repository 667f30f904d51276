"""The plan targets' storage on a real PostgreSQL: a year read back from the feed tables as the
writer role (validity by the database's rule, exact sums, the audited basis once a status
column exists), what changed since a moment, and the results written where the reader reads.
Each test has a database of its own, so the year it reads is its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from alerts.assessment.year import Assessed, Year, assess
from alerts.city import Reads
from alerts.standards.editions import CST
from alerts.targets import load_targets
from envwatch.embedded import READER_ROLE, WRITER_ROLE
from schemas.feeds import FEEDS
from schemas.feeds.air import AirReading
from schemas.feeds.energy import EnergyReading
from schemas.feeds.water import WaterReading
from schemas.migrate import migrate
from schemas.reference import load_reference
from schemas.register_sync import sync_register
from streams.assessment_rows import rows_of
from streams.target_storage import TargetStorage
from streams.worker import target_register
from tests.support.database import store

YEAR = 2025
START = datetime(YEAR, 3, 1, tzinfo=CST)


@pytest.fixture
def year_db(scratch_url: str) -> Iterator[str]:
    """A migrated database of this test's own, with the register; yields the owner's URL."""
    migrate(scratch_url)
    sync_register(scratch_url)
    yield scratch_url


def as_writer(url: str) -> TargetStorage:
    return TargetStorage(make_conninfo(url, user=WRITER_ROLE), FEEDS)


def read(url: str, basis: str = "realtime", year: int = YEAR) -> Year:
    async def run() -> Year:
        storage = as_writer(url)
        try:
            found = Year(year)
            await storage.read(found, basis, Reads(year=True))  # type: ignore[arg-type]
            return found
        finally:
            await storage.close()

    return asyncio.run(run())


def air_day(station: str, day: datetime, pm25: float, **more: float) -> list[AirReading]:
    """24 hourly readings of one station's day (the first ends at 01:00)."""
    return [
        AirReading(station_id=station, ts=day + timedelta(hours=h), pm25=pm25, **more)
        for h in range(1, 25)
    ]


def test_a_year_is_read_back_with_the_databases_validity_rule(year_db: str) -> None:
    ref = load_reference()
    a, b = list(ref.sites("air"))[:2]
    flagged = air_day(a, START + timedelta(days=1), 200.0)
    for r in flagged[:5]:  # five hours in calibration: 19 valid hours, no valid mean
        r.flags = {"pm25": "C"}
    store(
        year_db,
        "air",
        air_day(a, START, 40.0, no2=30.0) + air_day(b, START, 60.0) + flagged,
        # The hour ending at midnight on 1 January is the year before's: not this year's.
        [AirReading(station_id=a, ts=datetime(YEAR, 1, 1, tzinfo=CST), pm25=999.0)],
    )
    section = next(iter(ref.sites("water")))
    store(
        year_db,
        "water",
        [
            WaterReading(section_id=section, ts=START + timedelta(hours=h), tp=tp, do=6.5)
            for h, tp in ((4, 0.18), (8, 0.22), (12, 0.17), (16, 0.23))
        ]
        + [WaterReading(section_id=section, ts=START, tp=5.0, flags={"tp": "M"})],
    )
    unit = next(iter(ref.sites("energy")))
    store(
        year_db,
        "energy",
        [EnergyReading(unit_id=unit, period_start=START, period_end=START + timedelta(days=1),
                       raw_coal_t=100.0)],
    )  # fmt: skip

    year = read(year_db)
    assert year.air == {
        "2025-03-01": {a: {"pm25_24h": 40.0, "no2_24h": 30.0}, b: {"pm25_24h": 60.0}}
    }
    # Sums exact in numeric: 0.18 + 0.22 + 0.17 + 0.23 = 0.80 over 4 (the flagged TP not in).
    assert year.sections == {section: {3: {"tp": (Decimal("0.80"), 4), "do": (Decimal("26.0"), 4)}}}
    assert year.energy.tce == pytest.approx({unit: 71.43})
    assert year.energy.until == START + timedelta(days=1)
    assert year.newest == START.date() + timedelta(days=1)
    assert year.plants == {}  # registered, nothing of a plant stored
    assert read(year_db, year=YEAR - 1).air == {}  # the midnight hour is December's
    assert read(year_db, year=YEAR - 1).newest == datetime(YEAR - 1, 12, 31).date()


def test_the_audited_basis_is_the_rows_whose_status_is_audited(year_db: str) -> None:
    station = next(iter(load_reference().sites("air")))
    store(
        year_db,
        "air",
        air_day(station, START, 40.0) + air_day(station, START + timedelta(1), 120.0),
    )
    assert read(year_db, "audited").air == {}  # all preliminary: nothing is audited
    with psycopg.connect(year_db, autocommit=True) as db:
        db.execute(
            "UPDATE air_readings SET status = 'audited', pm25 = 35 WHERE ts > %s AND ts <= %s",
            (START + timedelta(days=1), START + timedelta(days=2)),
        )
    assert read(year_db, "audited").air == {"2025-03-02": {station: {"pm25_24h": 35.0}}}
    assert read(year_db, "realtime").air == {
        "2025-03-01": {station: {"pm25_24h": 40.0}},
        "2025-03-02": {station: {"pm25_24h": 35.0}},
    }


def test_a_revised_station_day_and_the_days_stored_since(year_db: str) -> None:
    a, b = list(load_reference().sites("air"))[:2]
    store(year_db, "air", air_day(a, START, 40.0) + air_day(b, START, 50.0))

    async def run() -> tuple[Year, dict[str, set[str]]]:
        storage = as_writer(year_db)
        try:
            year = Year(YEAR)
            await storage.read(year, "realtime", Reads(year=True))
            since = await storage.now()
            await asyncio.to_thread(store, year_db, "air", air_day(a, START + timedelta(3), 20.0))
            late = await storage.received_since(YEAR, since)
            with psycopg.connect(year_db, autocommit=True) as db:
                db.execute("UPDATE air_readings SET pm25 = 10 WHERE site_id = %s", (b,))
            await storage.read(year, "realtime", Reads(air={**late, b: {"2025-03-01"}}))
            return year, late
        finally:
            await storage.close()

    year, late = asyncio.run(run())
    assert late == {a: {"2025-03-04"}}
    assert year.air == {
        "2025-03-01": {a: {"pm25_24h": 40.0}, b: {"pm25_24h": 10.0}},
        "2025-03-04": {a: {"pm25_24h": 20.0}},
    }


def test_results_replace_the_years_rows_and_the_reader_reads_them(year_db: str) -> None:
    station = next(iter(load_reference().sites("air")))
    store(
        year_db, "air", [r for d in range(3) for r in air_day(station, START + timedelta(d), 40.0)]
    )
    year = read(year_db)
    register, targets = target_register(load_reference()), load_targets()
    assessed = assess(year, register, targets, 10)

    def write(result: Assessed) -> None:
        async def run() -> None:
            storage = as_writer(year_db)
            try:
                await storage.write(rows_of(result), YEAR, "realtime")
            finally:
                await storage.close()

        asyncio.run(run())

    write(assessed)
    reader = make_conninfo(year_db, user=READER_ROLE)
    with psycopg.connect(reader) as db:
        months = db.execute(
            "SELECT starts, mean, days, required, valid FROM air_period_means"
            " WHERE basis = 'realtime' AND site_id = 'city' AND pollutant = 'pm25'"
            " ORDER BY period, starts"
        ).fetchall()
        targets_ = dict(
            db.execute(
                "SELECT target, value FROM target_progress WHERE basis = 'realtime' AND year = %s",
                (YEAR,),
            ).fetchall()
        )
    # March, then the year: sites without a day in a month have no row for it.
    assert [m[1:] for m in months] == [(40.0, 3, 27, False), (40.0, 3, 324, False)]
    assert targets_["aqi_good_day_ratio"] == 1.0
    assert targets_["pm25_reduction"] != targets_["pm25_reduction"]  # NaN: baseline not set
    # A revision took the days away: the year's rows go with them.
    write(assess(Year(YEAR), register, targets, 10))
    with psycopg.connect(reader) as db:
        assert db.execute("SELECT count(*) FROM air_period_means").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM target_progress").fetchone() == (1,)
