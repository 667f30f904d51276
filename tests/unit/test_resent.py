"""What a reading sent again for a stored key does: every kind, for the air and energy layouts,
a key twice in one batch, replays after a revision, and the books balancing for any batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.feeds import FEEDS
from schemas.feeds.air import AirReading
from schemas.feeds.energy import EnergyReading
from schemas.resent import Layout, Resolution, Source, Stored, resolve
from streams.rows import row_of

AIR, ENERGY = Layout(FEEDS["air"]), Layout(FEEDS["energy"])
T = datetime(2026, 3, 1, 1, tzinfo=UTC)
RECEIVED = datetime(2026, 3, 1, 1, 5, tzinfo=UTC)
SITE = "air-yiwu-01"


def air(hour: int = 0, **fields: Any) -> tuple[Any, ...]:
    return row_of("air", AirReading(station_id=SITE, ts=T + timedelta(hours=hour), **fields))


def stored(*rows: tuple[Any, ...], layout: Layout = AIR) -> dict[Any, Stored]:
    return {layout.key_of(r): Stored(r, RECEIVED) for r in rows}


def decide(
    held: dict[Any, Stored], *rows: tuple[Any, ...], layout: Layout = AIR, applied=None, at=100
) -> Resolution:
    origins = [Source("envwatch.air", 0, at + n) for n in range(len(rows))]
    return resolve(layout, held, rows, origins, applied or {})


def kinds(r: Resolution) -> tuple[int, int, int, int, int]:
    return len(r.new), r.filled, len(r.revisions), len(r.conflicts), r.duplicates


def test_a_key_not_stored_is_new():
    assert kinds(decide({}, air(pm25=30.0))) == (1, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("held", "again"),
    [
        (air(pm25=30.0, o3=80.0), air(pm25=30.0, o3=80.0)),
        (air(pm25=30.0, flags={}), air(pm25=30.0)),  # no flags and empty flags alike
        (air(pm25=30.0, o3=80.0), air(pm25=30.0)),  # less than is stored, the rest agreeing
        (air(pm25=30.0, flags={"pm25": "N"}), air(pm25=30.0, flags={"pm25": "N", "o3": "M"})),
        (air(pm25=30.0, status="audited"), air(pm25=30.0)),  # what the audit kept
        (air(pm25=30.0, status="audited"), air(pm25=30.0, status="audited")),
    ],
)
def test_a_reading_that_brings_nothing_new_is_a_silent_duplicate(held, again):
    decided = decide(stored(held), again)
    assert kinds(decided) == (0, 0, 0, 0, 1) and not decided.changed


def test_a_preliminary_reading_with_another_value_is_a_conflict_naming_the_stored_one():
    decided = decide(stored(air(pm25=80.0, o3=60.0)), air(pm25=35.0, o3=60.0))
    assert kinds(decided) == (0, 0, 0, 1, 0) and not decided.changed
    (conflict,) = decided.conflicts
    assert conflict.index == 0
    assert conflict.reason == (
        f"conflicts with the preliminary reading of {SITE} at ts {T.isoformat()}, period 1h "
        f"stored at {RECEIVED.isoformat()}: pm25 stored 80.0, this reading 35.0; a preliminary "
        'reading never replaces a stored value (send a correction with "status": "audited")'
    )


def test_another_flag_on_the_same_value_is_a_conflict():
    decided = decide(stored(air(pm25=80.0)), air(pm25=80.0, flags={"pm25": "M"}))
    (conflict,) = decided.conflicts
    assert "pm25 stored 80.0, this reading 80.0 (flag M)" in conflict.reason


def test_a_complementary_reading_fills_the_missing_columns_with_their_flags():
    first = air(pm25=30.0, flags={"pm25": "N"})
    decided = decide(stored(first), air(pm25=30.0, o3=90.0, flags={"pm25": "N", "o3": "C"}))
    assert kinds(decided) == (0, 1, 0, 0, 0)
    (filled,) = decided.changed.values()
    assert filled == Stored(air(pm25=30.0, o3=90.0, flags={"pm25": "N", "o3": "C"}), RECEIVED)


def test_a_filled_value_takes_its_own_flag_not_one_the_row_held_without_a_value():
    held = stored(air(o3=60.0, flags={"pm25": "M"}))
    (filled,) = decide(held, air(pm25=30.0)).changed.values()
    assert filled.row == air(pm25=30.0, o3=60.0)


def test_an_audited_row_is_changed_by_no_preliminary_reading():
    held = stored(air(pm25=30.0, status="audited"))
    for again in (air(pm25=31.0), air(pm25=30.0, o3=5.0)):
        (conflict,) = decide(held, again).conflicts
        assert conflict.reason.startswith("conflicts with the audited reading")
        assert "changed only by another audited one" in conflict.reason
    assert (
        "o3 stored none, this reading 5.0"
        in decide(held, air(pm25=30.0, o3=5.0)).conflicts[0].reason
    )


def test_an_audited_reading_replaces_the_stored_row_and_keeps_it_as_a_revision():
    old = air(pm25=80.0, o3=60.0, flags={"o3": "M"})
    audited = air(pm25=35.0, status="audited")
    decided = decide(stored(old), audited)
    assert kinds(decided) == (0, 0, 1, 0, 0)
    (revision,) = decided.revisions
    assert revision.old == Stored(old, RECEIVED) and revision.index == 0
    # Replaced whole: the o3 the audit left out and the flag go with the preliminary row.
    assert decided.changed == {AIR.key_of(old): Stored(audited, None)}


def test_an_audit_confirming_the_stored_values_still_makes_the_row_audited():
    decided = decide(stored(air(pm25=35.0)), air(pm25=35.0, status="audited"))
    assert kinds(decided) == (0, 0, 1, 0, 0)


def test_a_key_twice_in_one_batch_is_decided_as_if_sent_twice():
    first, other = air(pm25=30.0), air(pm25=31.0)
    decided = decide({}, first, other, air(o3=5.0), air(pm25=30.0, status="audited"))
    assert kinds(decided) == (1, 1, 1, 1, 0)
    (conflict,) = decided.conflicts
    assert conflict.index == 1 and "stored earlier in the same batch" in conflict.reason
    (revision,) = decided.revisions
    assert revision.old == Stored(air(pm25=30.0, o3=5.0), None) and revision.index == 3
    assert decided.changed == {AIR.key_of(first): Stored(air(pm25=30.0, status="audited"), None)}


def test_the_same_audited_reading_twice_makes_one_revision():
    audited = air(pm25=35.0, status="audited")
    assert kinds(decide(stored(air(pm25=80.0)), audited, audited)) == (0, 0, 1, 0, 1)


def test_a_replay_from_before_the_revision_is_a_duplicate_not_a_conflict():
    """A worker killed after storing a revision and before committing its offsets reads the
    offsets since its last commit again: the preliminary reading (offset 100) and two audited
    versions (101, 102) that revised the row. None of them changes anything again."""
    held = stored(air(pm25=36.0, status="audited"))
    key = AIR.key_of(air())
    replay = (air(pm25=80.0), air(pm25=35.0, status="audited"), air(pm25=36.0, status="audited"))
    applied = {key: {("envwatch.air", 0): 102}}
    assert kinds(decide(held, *replay, applied=applied)) == (0, 0, 0, 0, 3)
    # Without the revision's offset it would revise twice and dead-letter the first.
    assert kinds(decide(held, *replay)) == (0, 0, 2, 1, 0)
    # Later offsets, or another partition, are new readings.
    assert kinds(decide(held, replay[0], applied=applied, at=103)) == (0, 0, 0, 1, 0)
    other = {key: {("envwatch.air", 1): 102}}
    assert kinds(decide(held, replay[0], applied=other)) == (0, 0, 0, 1, 0)


def energy(**fields: Any) -> tuple[Any, ...]:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    reading = EnergyReading(
        unit_id="eu-01", period_start=start, period_end=start + timedelta(days=1), **fields
    )
    return row_of("energy", reading)


def test_an_energy_period_of_another_length_is_a_conflict_naming_it():
    held = stored(energy(electricity_kwh=10.0), layout=ENERGY)
    longer = energy(electricity_kwh=10.0)
    longer = (*longer[:2], longer[2] + timedelta(days=1), *longer[3:])
    (conflict,) = decide(held, longer, layout=ENERGY).conflicts
    assert "period_end stored 2026-03-02T00:00:00+00:00, this reading 2026-03-03" in (
        conflict.reason
    )
    assert "of eu-01 at period_start 2026-03-01T00:00:00+00:00 stored" in conflict.reason


values = st.one_of(st.none(), st.sampled_from([1.0, 2.0]))
readings = st.builds(
    lambda hour, pm25, o3, flag, audited: air(
        hour,
        pm25=pm25,
        o3=o3,
        flags={"pm25": flag} if flag else None,
        status="audited" if audited else "preliminary",
    ),
    st.integers(0, 2),
    values,
    values,
    st.sampled_from([None, "N", "M"]),
    st.booleans(),
)


def applied_to(held: dict[Any, Stored], decided: Resolution, rows: list[Any]) -> dict:
    out = dict(held)
    for i in decided.new:
        out[AIR.key_of(rows[i])] = Stored(rows[i], RECEIVED)
    for key, s in decided.changed.items():
        out[key] = Stored(s.row, s.received_at or RECEIVED)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(readings, max_size=4), st.lists(readings, min_size=1, max_size=8))
def test_every_reading_is_accounted_for_once_and_a_second_delivery_changes_nothing(before, batch):
    held = applied_to({}, decide({}, *before), before)
    decided = decide(held, *batch)
    assert sum(kinds(decided)) == len(batch)
    assert len({AIR.key_of(batch[i]) for i in decided.new}) == len(decided.new)
    assert set(decided.changed) <= {AIR.key_of(r) for r in batch}
    # Delivered again from the same offsets, after the first delivery's revisions are kept:
    # no row new, filled or revised, and no revision kept twice.
    after = applied_to(held, decided, batch)
    applied = {
        AIR.key_of(batch[r.index]): {("envwatch.air", 0): 100 + r.index} for r in decided.revisions
    }
    again = decide(after, *batch, applied=applied)
    assert (again.new, again.filled, again.revisions, again.changed) == ([], 0, [], {})
