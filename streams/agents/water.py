"""The water feed: GB 3838 class of each sample against the section's target class."""

from __future__ import annotations

from alerts.judge import judge_water
from streams.judging import FeedSpec

SPEC = FeedSpec("water", judge_water, extra_labels=lambda section: (section.control_level,))
