"""The live summary line of `envwatch run`, as the README shows it."""

from __future__ import annotations

from pathlib import Path

from envwatch.summary import render

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_shows_the_line_run_prints():
    line = render(812.4, 15240, 15240, 0, 2, {})  # a row per reading
    assert f"\n{line}\n" in README.read_text(), line


def test_dead_letters_are_counted_by_reason_in_order():
    line = render(0.0, 3, 12, 1, 0, {"unknown_site": 2.0, "empty_batch": 1.0})
    assert line.endswith("| dead-lettered: empty_batch 1, unknown_site 2")
    assert line.startswith("      0 readings/s | 3 readings | 12 rows stored, 1 already there")
