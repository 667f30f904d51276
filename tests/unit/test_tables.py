"""The feed tables' SQL, generated from the registry, and the old layout's parameter names."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from schemas import legacy, tables
from schemas.feeds import FEEDS
from schemas.feeds.water import WaterReading
from streams.rows import row_of, rows_of

AIR, WATER, ENERGY = FEEDS["air"], FEEDS["water"], FEEDS["energy"]


@pytest.mark.parametrize("feed", FEEDS.values(), ids=FEEDS.keys())
def test_a_table_has_a_column_per_feed_column_and_a_row_type_to_match(feed):
    assert tables.table_columns(feed) == [c.name for c in feed.columns] + ["received_at"]
    assert tables.table_columns(feed)[0] == "site_id"
    assert len(tables.copy_types(feed)) == len(feed.columns)
    assert tables.unique_key(feed) == ("site_id", *feed.key)


def test_aggregates_are_per_site_and_period_with_four_figures_a_quantity():
    assert tables.group_columns(AIR) == ("site_id", "period")
    assert tables.group_columns(WATER) == tables.group_columns(ENERGY) == ("site_id",)
    columns = tables.aggregate_columns(AIR)
    assert columns[:7] == [
        "bucket",
        "site_id",
        "period",
        "pm25_avg",
        "pm25_min",
        "pm25_max",
        "pm25_n",
    ]
    assert len(columns) == 3 + 4 * len(AIR.quantities)
    assert "arsenic_n" in tables.aggregate_columns(WATER)


def test_a_key_without_the_time_cannot_make_a_table():
    timeless = dataclasses.replace(AIR, key=("period",))
    with pytest.raises(ValueError, match="must hold 'ts'"):
        tables.readings_table(timeless)


def test_names_are_identifiers_and_flags_are_read_by_wire_name():
    ddl = tables.create_table(tables.readings_table(WATER)).as_string()
    assert '"do" float8' in ddl and '"arsenic" float8' in ddl  # "do" is a reserved word
    assert '"site_id" text NOT NULL, "ts" timestamptz NOT NULL' in ddl
    validity = tables.valid(next(q for q in WATER.quantities if q.attr == "arsenic")).as_string()
    assert validity == '"valid_value"("arsenic", "flags" ->> \'as\')'
    function = tables.valid_function().as_string()
    assert "flag IN ('N', 'S')" in function


def test_a_reading_is_one_row_in_column_order():
    ts = datetime(2026, 11, 28, tzinfo=UTC)
    row = row_of("water", WaterReading(section_id="w1", ts=ts, arsenic=0.02, flags={"as": "N"}))
    columns = [c.name for c in WATER.columns]
    assert row[columns.index("arsenic")] == 0.02
    assert row[columns.index("flags")] == {"as": "N"}
    assert row[:2] == ("w1", ts) and len(row) == len(columns)


@pytest.mark.parametrize(
    ("feed", "names", "unknown"),
    [
        (AIR, ["pm25_1h", "co_24h", "o3_8h"], []),
        (AIR, ["pm25", "pm1_1h", "pm25_"], ["pm1_1h", "pm25", "pm25_"]),
        (WATER, ["as", "do", "fecal_coliform"], []),
        (WATER, ["arsenic", "do_1h"], ["arsenic", "do_1h"]),
        (ENERGY, ["electricity_kwh", "output_10k_yuan"], []),
        (ENERGY, ["electricity"], ["electricity"]),
    ],
)
def test_old_parameter_names_are_placed_by_wire_name_and_suffix(feed, names, unknown):
    assert legacy.unknown_parameters(feed, names) == unknown


@pytest.mark.parametrize("feed", FEEDS.values(), ids=FEEDS.keys())
def test_every_name_the_old_layout_wrote_can_be_placed(feed):
    """The old writer (``rows_of``) and the move agree on every quantity of every feed."""
    ts = datetime(2026, 11, 28, tzinfo=UTC)
    times = {
        c.attr: ts + timedelta(hours=i) for i, c in enumerate(feed.columns) if c.kind == "time"
    }
    values = {q.attr: 1.0 for q in feed.quantities}
    reading = feed.reading(**{feed.site_field: "s1"}, **times, **values)
    names = [row[3] for row in rows_of(feed.name, reading)]
    assert len(names) == len(feed.quantities)
    assert legacy.unknown_parameters(feed, names) == []
