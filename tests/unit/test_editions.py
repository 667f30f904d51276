"""Edition registry: the edition in force at a reading's time, by name, and the shipped files."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from alerts.standards.editions import (
    NoEditionError,
    all_editions,
    by_name,
    in_force,
    resolve,
)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize("family", ["aqi", "air"])
def test_switch_to_2026_at_local_midnight(family: str) -> None:
    assert in_force(family, ts("2026-02-28T23:59+08:00")).id.endswith("-2012")
    assert in_force(family, ts("2026-03-01T00:00+08:00")).id.endswith("-2026")


def test_utc_timestamps_are_placed_on_the_china_calendar() -> None:
    assert in_force("aqi", ts("2026-02-28T15:59+00:00")).id == "hj633-2012"
    assert in_force("aqi", ts("2026-02-28T16:00+00:00")).id == "hj633-2026"


def test_naive_datetimes_are_local_time() -> None:
    assert in_force("aqi", datetime(2026, 2, 28, 23, 59)).id == "hj633-2012"


@pytest.mark.parametrize("year", range(2016, 2021))
def test_plan_years_are_judged_by_the_2012_editions(year: int) -> None:
    for day in (date(year, 1, 1), date(year, 12, 31)):
        assert in_force("aqi", day).id == "hj633-2012"
        assert in_force("air", day).id == "gb3095-2012"
        assert in_force("water", day).id == "gb3838-2002"
        assert in_force("energy", day).id == "gbt2589-2008"


def test_no_air_edition_before_2016_or_after_phase_1() -> None:
    with pytest.raises(NoEditionError):
        in_force("aqi", date(2015, 12, 31))
    assert in_force("air", date(2030, 12, 31)).id == "gb3095-2026"
    with pytest.raises(NoEditionError):
        in_force("air", date(2031, 1, 1))


def test_editions_of_a_family_never_overlap() -> None:
    editions = all_editions()
    for a in editions:
        for b in editions:
            if a is not b and a.family == b.family:
                assert a.effective_to is not None or b.effective_to is not None
                first, second = sorted((a, b), key=lambda e: e.effective_from)
                assert first.effective_to is not None
                assert first.effective_to < second.effective_from


# Drafts of 2026, and GB 18918 (read from one secondary copy only; standards.md section 11).
UNCONFIRMED = {"hj633-2026", "gb3095-2026", "gb18918-2002"}


def test_unconfirmed_editions_are_marked_so_with_provenance() -> None:
    for edition in all_editions():
        assert edition.provenance.strip()
        assert edition.confirmed == (edition.id not in UNCONFIRMED)


def test_files_are_read_once() -> None:
    assert all_editions() is all_editions()


@pytest.mark.parametrize(
    ("family", "name", "expected"),
    [
        ("aqi", "2012", "hj633-2012"),
        ("aqi", "hj633-2026", "hj633-2026"),
        ("air", "2026", "gb3095-2026"),
        ("water", "2002", "gb3838-2002"),
        ("water", "2012", "gb3838-2002"),  # the water standard in force in 2012
        ("energy", "2012", "gbt2589-2008"),
    ],
)
def test_by_name(family: str, name: str, expected: str) -> None:
    assert by_name(family, name).id == expected


@pytest.mark.parametrize("name", ["2013", "hj633-1999", "latest"])
def test_unknown_names_are_refused(name: str) -> None:
    with pytest.raises(NoEditionError):
        by_name("aqi", name)


def test_resolve_refuses_an_edition_of_another_family() -> None:
    with pytest.raises(NoEditionError):
        resolve("aqi", by_name("water", "2002"), None)
    assert resolve("aqi", None, date(2019, 5, 1)).id == "hj633-2012"
