"""Offsets: what a batch adds, what it lacks, and a frontier that never passes an unstored
record, whatever order, loss and repetition the delivery brings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.offsets import Frontier, arrange

TP = ("air", 0)


def same(x: int) -> int:
    return x


def test_in_order_batch_is_all_fresh():
    got = arrange(10, [10, 11, 12], same)
    assert got.fresh == [10, 11, 12]
    assert got.missing == []
    assert got.redelivered == 0


def test_stored_records_and_second_copies_are_dropped_and_counted():
    got = arrange(10, [8, 9, 10, 10, 11, 9], same)
    assert got.fresh == [10, 11]
    assert got.missing == []
    assert got.redelivered == 4


def test_a_skipped_record_is_missing():
    # The observed case: 254 cleared from the stream queue, 255 delivered.
    got = arrange(244, [244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 255, 256], same)
    assert got.missing == [range(254, 255)]
    assert got.fresh[-2:] == [255, 256]


def test_missing_at_the_start_and_in_several_places():
    got = arrange(100, [103, 101, 107], same)
    assert got.fresh == [101, 103, 107]
    assert got.missing == [range(100, 101), range(102, 103), range(104, 107)]


def test_nothing_fresh_means_nothing_missing():
    got = arrange(50, [40, 41], same)
    assert got.fresh == [] and got.missing == [] and got.redelivered == 2


def test_records_are_kept_whole_not_just_their_offsets():
    records = [("b", 6), ("a", 5)]
    got = arrange(5, records, lambda r: r[1])
    assert got.fresh == [("a", 5), ("b", 6)]


@given(
    start=st.integers(0, 1000),
    delivered=st.lists(st.integers(0, 1200), max_size=60),
)
def test_fresh_and_missing_cover_next_to_last_exactly_once(start, delivered):
    got = arrange(start, delivered, same)
    assert got.fresh == sorted(set(o for o in delivered if o >= start))
    covered = sorted([*got.fresh, *(o for gap in got.missing for o in gap)])
    if got.fresh:
        assert covered == list(range(start, got.fresh[-1] + 1))
    else:
        assert covered == []
    assert got.redelivered == len(delivered) - len(got.fresh)


def test_frontier_starts_at_the_committed_offset():
    f = Frontier()
    assert not f.knows(TP)
    f.start(TP, 240)
    assert f.knows(TP) and f.next(TP) == 240
    assert f.uncommitted() == {}
    assert f.committed_offset(TP) == 240


def test_frontier_moves_over_stored_records_and_offers_them_for_commit():
    f = Frontier()
    f.start(TP, 240)
    f.stored(TP, [240, 241, 242])
    assert f.next(TP) == 243
    assert f.uncommitted() == {TP: 243}
    f.committed({TP: 243})
    assert f.uncommitted() == {}
    assert f.committed_offset(TP) == 243


def test_frontier_ignores_a_batch_that_starts_past_it():
    # Stored 250-260 while 243-249 were never stored: committing 261 would lose them.
    f = Frontier()
    f.start(TP, 243)
    f.stored(TP, [250, 251, 260])
    assert f.next(TP) == 243


def test_frontier_ignores_a_batch_wholly_behind_it():
    f = Frontier()
    f.start(TP, 300)
    f.stored(TP, [200, 201])
    assert f.next(TP) == 300


def test_frontier_takes_a_batch_that_overlaps_it():
    # A batch begun before a revoke, ended after the partition came back at 245: 240-250 are
    # stored and so (by the commit at 245) is everything before.
    f = Frontier()
    f.start(TP, 245)
    f.stored(TP, list(range(240, 251)))
    assert f.next(TP) == 251


def test_forgotten_partitions_are_neither_moved_nor_committed():
    f = Frontier()
    f.start(TP, 10)
    f.forget([TP])
    f.stored(TP, [10, 11])
    f.committed({TP: 12})
    assert not f.knows(TP)
    assert f.uncommitted() == {}
    assert f.committed_offset(TP) is None


@given(
    log_size=st.integers(1, 80),
    committed=st.integers(0, 40),
    steps=st.lists(
        st.tuples(
            st.integers(0, 100), st.integers(0, 30), st.sampled_from(["arranged", "raw", "lost"])
        ),
        max_size=40,
    ),
)
def test_the_frontier_never_passes_an_unstored_offset(log_size, committed, steps):
    """Model: batches of arbitrary slices of the log (repeated, out of order, with holes).
    "arranged": sorted out and filled as the delivery does, then stored; "raw": stored as
    handed over, as a batch arranged before a revoke would be; "lost": never stored."""
    committed = min(committed, log_size)
    stored: set[int] = set(range(committed))  # all below the committed offset are stored
    f = Frontier()
    f.start(TP, committed)
    for first, length, kind in steps:
        batch = [o for o in range(first, first + length) if o < log_size]
        if kind == "arranged":
            got = arrange(f.next(TP), batch, same)
            batch = sorted([*got.fresh, *(o for gap in got.missing for o in gap)])
        if kind == "lost" or not batch:
            continue
        stored.update(batch)
        f.stored(TP, batch)
        assert set(range(f.next(TP))) <= stored
    assert f.next(TP) >= committed
