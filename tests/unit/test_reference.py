"""The shipped register loads, is consistent, and a bad row is reported where staff can find it."""

from __future__ import annotations

import csv
import dataclasses
import math
import shutil
from datetime import date
from pathlib import Path

import pytest

from schemas.feeds import FEEDS
from schemas.reference import DEFAULT_DIR, County, Reference, load_reference

FILES = ("counties.csv", *(feed.register for feed in FEEDS.values()))


@pytest.fixture(scope="module")
def ref() -> Reference:
    return load_reference()


@pytest.fixture
def ref_dir(tmp_path: Path) -> Path:
    """A writable copy of the shipped register."""
    for name in FILES:
        shutil.copy(DEFAULT_DIR / name, tmp_path / name)
    return tmp_path


def _km(a: County, lat: float, lon: float) -> float:
    return math.hypot((a.lat - lat) * 111.0, (a.lon - lon) * 111.0 * math.cos(math.radians(29)))


def test_nine_counties(ref: Reference) -> None:
    assert set(ref.counties) == {
        "wucheng", "jindong", "lanxi", "dongyang", "yiwu", "yongkang", "pujiang", "wuyi", "panan"
    }  # fmt: skip


@pytest.mark.parametrize("name", FILES)
def test_ids_unique_in_each_file(name: str) -> None:
    with (DEFAULT_DIR / name).open(encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    ids = [r[0] for r in rows]
    assert ids and len(ids) == len(set(ids))


def test_every_shipped_site_is_sample_data(ref: Reference) -> None:
    assert set(ref.by_feed) == set(FEEDS)
    for sites in ref.by_feed.values():
        assert sites
        assert all(site.sample for site in sites.values())


def test_sites_lie_near_their_county_seat(ref: Reference) -> None:
    for sites in ref.by_feed.values():
        for site in sites.values():
            assert _km(ref.counties[site.county], site.lat, site.lon) < 35, site.id


def test_lookups(ref: Reference) -> None:
    assert ref.site("air", "air-yiwu-01").county == "yiwu"
    assert ref.county_of("energy", "eu-lanxi-cement-01").name_zh == "兰溪市"
    with pytest.raises(KeyError):
        ref.site("air", "no-such-station")
    with pytest.raises(KeyError):
        ref.sites("noise")


def test_sections_are_consistent(ref: Reference) -> None:
    sections = ref.sites("water").values()
    boundary = [s for s in sections if s.control_level == "county_boundary"]
    assert len(boundary) >= 5
    assert all(s.upstream_county != s.downstream_county for s in boundary)
    drinking = [s for s in sections if s.drinking_source]
    assert drinking and all(s.waterbody == "lake" and s.target_class == 2 for s in drinking)


def _rewrite(path: Path, line: int, column: str, value: str) -> None:
    """Set one cell of a CSV file, addressed by file line number (header is line 1)."""
    with path.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[line - 1][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


@pytest.mark.parametrize(
    ("name", "line", "column", "value"),
    [
        ("stations.csv", 5, "lat", "north"),
        ("stations.csv", 7, "county", "hangzhou"),
        ("stations.csv", 4, "zone_class", "3"),
        ("sections.csv", 5, "downstream_county", ""),
        ("sections.csv", 8, "upstream_county", "yiwu"),
        ("sections.csv", 9, "target_class", "6"),
        ("energy_units.csv", 3, "id", "eu-lanxi-power-01"),
        ("energy_units.csv", 10, "annual_cap_tce", "-5"),
        ("counties.csv", 2, "sample", "yes"),
        ("stations.csv", 3, "mn", "3307-01"),
        ("sections.csv", 4, "pw", ""),
        ("plants.csv", 2, "built", "2006-13-01"),
        ("plants.csv", 3, "required_grade", "2"),
        ("plants.csv", 4, "capacity_m3_d", "-1"),
        ("plants.csv", 5, "interval_s", "7000"),  # a day is no whole number of its periods
    ],
)
def test_bad_cell_names_file_line_and_column(
    ref_dir: Path, name: str, line: int, column: str, value: str
) -> None:
    _rewrite(ref_dir / name, line, column, value)
    with pytest.raises(ValueError, match=rf"^{name}, line {line}, column '{column}': "):
        load_reference(ref_dir)


def test_missing_column_is_reported(ref_dir: Path) -> None:
    text = (ref_dir / "sections.csv").read_text(encoding="utf-8")
    (ref_dir / "sections.csv").write_text(text.replace("target_class", "class", 1), "utf-8")
    with pytest.raises(ValueError, match=r"sections.csv, line 1, column 'target_class'"):
        load_reference(ref_dir)


def test_spreadsheet_bom_is_accepted(ref_dir: Path) -> None:
    path = ref_dir / "counties.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(load_reference(ref_dir).counties) == 9


def test_every_sample_site_of_a_feed_with_data_loggers_has_one(ref: Reference) -> None:
    loggers = ref.loggers()
    logged = [n for n, f in FEEDS.items() if "mn" in {x.name for x in dataclasses.fields(f.site)}]
    assert {"air", "water", "wastewater"} <= set(logged)  # stations, sections and plants
    for feed in logged:
        for site in ref.sites(feed).values():
            assert site.mn and site.pw, site.id
            assert loggers[site.mn] == (feed, site)
    assert len(loggers) == sum(len(ref.sites(f)) for f in logged)


def test_plants_carry_build_date_and_grade(ref: Reference) -> None:
    plants = ref.sites("wastewater").values()
    assert {p.required_grade for p in plants} == {"1A", "1B"}
    cutoff = date(2006, 1, 1)
    assert any(p.built < cutoff for p in plants) and any(p.built >= cutoff for p in plants)


def test_an_mn_used_twice_across_files_is_reported(ref_dir: Path, ref: Reference) -> None:
    station_mn = next(iter(ref.sites("air").values())).mn
    assert station_mn
    _rewrite(ref_dir / "plants.csv", 2, "mn", station_mn)
    with pytest.raises(ValueError, match=r"plants.csv, site 'ww-wucheng-01', column 'mn': MN "):
        load_reference(ref_dir)


def test_the_readme_lists_each_feeds_register_file_and_its_columns():
    """The README's register table is the registry's: a feed's file and its site type's fields."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name, feed in FEEDS.items():
        columns = ", ".join(f.name for f in dataclasses.fields(feed.site))
        assert f"| {name} | `{feed.register}` | `{columns}` |" in readme, name
