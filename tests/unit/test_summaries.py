"""The days a ``Revised`` summary names: those the replaced readings fall on, in China Standard
Time, under both readings of a timestamp at local midnight."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from alerts.standards.editions import CST
from alerts.summaries import Revised, decode, encode, revised

D = datetime(2026, 3, 1, tzinfo=CST)  # local midnight


@pytest.mark.parametrize(
    ("spans", "days"),
    [
        ([(D + timedelta(hours=5),) * 2], ["2026-03-01"]),
        # The hour ending at 24:00: the day before's (judgement), its own (daily aggregates).
        ([(D,) * 2], ["2026-02-28", "2026-03-01"]),
        # A whole local day of hourly readings, 01:00 to 24:00.
        ([(D + timedelta(hours=h),) * 2 for h in range(1, 25)], ["2026-03-01", "2026-03-02"]),
        # 16:00 UTC is local midnight; readings in UTC name the same days.
        ([(datetime.fromisoformat("2026-03-01T03:00:00+00:00"),) * 2], ["2026-03-01"]),
        # An energy period of three days, from a midnight to a midnight.
        ([(D, D + timedelta(days=3))], ["2026-02-28", *(f"2026-03-0{d}" for d in (1, 2, 3, 4))]),
        ([], []),
    ],
)
def test_the_days_of_revised_readings(spans, days):
    summary = revised("air", "air-yiwu-01", spans)
    assert summary == Revised(feed="air", site="air-yiwu-01", days=days)
    assert decode(encode(summary)) == summary
