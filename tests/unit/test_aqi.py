"""HJ 633 AQI: every breakpoint on both sides, the worked vectors, notes 2 and 3, bad input."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.standards import ReadingError
from alerts.standards.aqi import (
    COLUMN,
    category,
    daily_aqi,
    evaluate,
    hourly_aqi,
    iaqi,
)
from alerts.standards.editions import by_name

IAQI = [0, 50, 100, 150, 200, 300, 400, 500]
# HJ 633-2012 Table 1, copied by hand from standards.md section 1.1 (not from the data file).
TABLE_2012 = {
    "so2_24h": [0, 50, 150, 475, 800, 1600, 2100, 2620],
    "so2_1h": [0, 150, 500, 650, 800],
    "no2_24h": [0, 40, 80, 180, 280, 565, 750, 940],
    "no2_1h": [0, 100, 200, 700, 1200, 2340, 3090, 3840],
    "pm10_24h": [0, 50, 150, 250, 350, 420, 500, 600],
    "co_24h": [0, 2, 4, 14, 24, 36, 48, 60],
    "co_1h": [0, 5, 10, 35, 60, 90, 120, 150],
    "o3_1h": [0, 160, 200, 300, 400, 800, 1000, 1200],
    "o3_8h": [0, 100, 160, 215, 265, 800],
    "pm25_24h": [0, 35, 75, 115, 150, 250, 350, 500],
}
TABLE_2026 = {
    **TABLE_2012,
    "pm10_24h": [0, 50, 120, 250, 350, 420, 500, 600],
    "pm25_24h": [0, 35, 60, 115, 150, 250, 350, 500],
}
DELTA = Decimal("0.001")


CELLS = [
    (edition, key, bp, IAQI[i], i == len(column) - 1)
    for edition, table in (("2012", TABLE_2012), ("2026", TABLE_2026))
    for key, column in table.items()
    for i, bp in enumerate(column)
]


@pytest.mark.parametrize(("edition", "table"), [("2012", TABLE_2012), ("2026", TABLE_2026)])
def test_data_file_matches_the_published_table(edition: str, table: dict[str, list[int]]) -> None:
    data = by_name("aqi", edition).data["breakpoints"]
    assert data["iaqi"] == IAQI
    assert {k: [Fraction(v) for v in vs] for k, vs in data.items() if k != "iaqi"} == table


@pytest.mark.parametrize(("edition", "key", "bp", "index", "top"), CELLS)
def test_every_breakpoint_on_both_sides(
    edition: str, key: str, bp: int, index: int, top: bool
) -> None:
    at = iaqi(key, Decimal(bp), edition)
    assert (at.exact, at.value, at.flag) == (index, index, None)
    if bp > 0:
        below = iaqi(key, bp - DELTA, edition)
        assert below.exact < index and below.value == index
    above = iaqi(key, bp + DELTA, edition)
    if top:
        assert (above.value, above.flag) == (500, "above_top_breakpoint")
    else:
        assert index < above.exact and above.value == index + 1


@pytest.mark.parametrize("key", sorted(COLUMN))
def test_pm_1h_keys_use_the_24h_breakpoints(key: str) -> None:
    assert iaqi(key, 75, "2012").value == iaqi(COLUMN[key], 75, "2012").value


def test_iaqi_is_rounded_up() -> None:
    value = iaqi("pm25_24h", 35.1, "2012")  # 50 + 50/40 * 0.1 = 50.125
    assert value.exact == Fraction(401, 8) and value.value == 51
    assert category(value.value, "2012").zh == "良"


CATEGORIES = [
    (0, 1, "一级", "优", "Excellent", "#00E400"),
    (50, 1, "一级", "优", "Excellent", "#00E400"),
    (51, 2, "二级", "良", "Good", "#FFFF00"),
    (100, 2, "二级", "良", "Good", "#FFFF00"),
    (101, 3, "三级", "轻度污染", "Lightly polluted", "#FF7E00"),
    (150, 3, "三级", "轻度污染", "Lightly polluted", "#FF7E00"),
    (151, 4, "四级", "中度污染", "Moderately polluted", "#FF0000"),
    (200, 4, "四级", "中度污染", "Moderately polluted", "#FF0000"),
    (201, 5, "五级", "重度污染", "Heavily polluted", "#99004C"),
    (300, 5, "五级", "重度污染", "Heavily polluted", "#99004C"),
    (301, 6, "六级", "严重污染", "Severely polluted", "#7E0023"),
    (500, 6, "六级", "严重污染", "Severely polluted", "#7E0023"),
]


@pytest.mark.parametrize("edition", ["2012", "2026"])
@pytest.mark.parametrize(("aqi", "number", "level", "zh", "en", "color"), CATEGORIES)
def test_category_bands(
    edition: str, aqi: int, number: int, level: str, zh: str, en: str, color: str
) -> None:
    got = category(aqi, edition)
    assert (got.number, got.level, got.zh, got.en, got.color) == (number, level, zh, en, color)


def _daily(pm25: float, pm10: float, so2: float, no2: float, co: float, o3: float) -> dict:
    return {
        "pm25_24h": pm25,
        "pm10_24h": pm10,
        "so2_24h": so2,
        "no2_24h": no2,
        "co_24h": co,
        "o3_8h": o3,
    }


# standards.md section 6: inputs, exact deciding IAQI, AQI, primary, over-standard, category.
VECTORS = [
    ("V1", _daily(20, 40, 10, 30, 0.8, 80), Fraction(40), 40, (), (), "优"),
    ("V2", _daily(55, 100, 20, 50, 1.0, 120), Fraction(75), 75, ("pm25_24h", "pm10_24h"), (), "良"),
    ("V3", _daily(95, 130, 15, 60, 1.2, 90), Fraction(125), 125, ("pm25_24h",), ("pm25_24h",),
     "轻度污染"),
    ("V4", _daily(130, 200, 40, 85, 1.6, 60), Fraction(1200, 7), 172, ("pm25_24h",),
     ("pm25_24h", "pm10_24h", "no2_24h"), "中度污染"),
    ("V5", _daily(30, 60, 8, 25, 0.6, 240), Fraction(175), 175, ("o3_8h",), ("o3_8h",), "中度污染"),
    ("V6", _daily(200, 300, 100, 120, 3, 50), Fraction(250), 250, ("pm25_24h",),
     ("pm25_24h", "pm10_24h", "no2_24h"), "重度污染"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "conc", "exact", "aqi", "primary", "over", "zh"), VECTORS)
def test_worked_vectors(
    name: str, conc: dict, exact: Fraction, aqi: int, primary: tuple, over: tuple, zh: str
) -> None:
    result = daily_aqi(conc, edition="2012")
    assert max(v.exact for v in result.iaqi.values()) == exact, name
    assert result.aqi == aqi == math.ceil(exact)
    assert set(result.primary_pollutants) == set(primary)
    assert set(result.over_standard) == set(over)
    assert result.category.zh == zh
    assert result.edition == "hj633-2012"


def test_v1_to_v6_sub_indices_exactly() -> None:
    v4 = daily_aqi(VECTORS[3][1], edition="2012").iaqi
    expected = {"pm25_24h": Fraction(1200, 7), "pm10_24h": 125, "no2_24h": Fraction(205, 2)}
    assert {k: v4[k].exact for k in expected} == expected
    v2 = daily_aqi(VECTORS[1][1], edition="2012").iaqi
    assert v2["o3_8h"].exact == Fraction(200, 3) and v2["o3_8h"].value == 67


def test_so2_1h_above_800_is_reported_from_24h() -> None:
    got = iaqi("so2_1h", 801, "2012", others={"so2_24h": 150})
    assert (got.value, got.flag) == (100, "reported_from_so2_24h")
    alone = iaqi("so2_1h", 801, "2012")
    assert (alone.value, alone.flag) == (500, "above_top_breakpoint")


def test_o3_8h_above_800_is_reported_from_1h() -> None:
    result = evaluate({"o3_8h": 801, "o3_1h": 300}, edition="2012")
    assert result.iaqi["o3_8h"].value == 150 and result.iaqi["o3_8h"].flag == "reported_from_o3_1h"


def test_above_top_breakpoint_is_500_and_flagged() -> None:
    got = iaqi("pm25_24h", 600, "2012")
    assert (got.value, got.flag) == (500, "above_top_breakpoint")
    assert category(got.value).number == 6


def test_hourly_uses_pm_1h_by_default_and_24h_on_request() -> None:
    conc = {"pm25_1h": 150, "pm25_24h": 35, "so2_1h": 150, "so2_24h": 800, "o3_8h": 100}
    assert hourly_aqi(conc, edition="2012").aqi == 200
    by_24h = hourly_aqi(conc, pm_from_24h=True, edition="2012")
    assert by_24h.aqi == 50 and set(by_24h.iaqi) == {"pm25_24h", "so2_1h", "o3_8h"}


def test_daily_ignores_hourly_keys() -> None:
    result = daily_aqi({"pm25_24h": 35, "so2_1h": 800}, edition="2012")
    assert set(result.iaqi) == {"pm25_24h"} and result.aqi == 50


def test_primary_pollutants_only_above_50_and_ties_are_all_listed() -> None:
    assert evaluate({"pm25_24h": 35, "pm10_24h": 50}, edition="2012").primary_pollutants == ()
    tie = evaluate({"pm25_24h": 75, "pm10_24h": 150, "o3_8h": 100}, edition="2012")
    assert tie.primary_pollutants == ("pm25_24h", "pm10_24h")


def test_edition_follows_the_reading_time() -> None:
    conc = {"pm25_24h": 60}
    assert daily_aqi(conc, at=datetime.fromisoformat("2018-06-01T12:00+08:00")).aqi == 82
    later = daily_aqi(conc, at=datetime.fromisoformat("2026-03-01T00:00+08:00"))
    assert (later.aqi, later.edition) == (100, "hj633-2026")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("pm25_24h", -1),
        ("pm25_24h", "80"),
        ("pm25_24h", None),
        ("pm25_24h", True),
        ("pm25_24h", float("nan")),
        ("pm25_24h", float("inf")),
        ("pm25_24h", 1e6),
        ("o3_24h", 10),
        ("pm2.5", 10),
    ],
)
def test_bad_input_is_refused(key: str, value: object) -> None:
    with pytest.raises(ReadingError):
        evaluate({key: value}, edition="2012")  # type: ignore[dict-item]


def test_nothing_to_evaluate_is_refused() -> None:
    with pytest.raises(ReadingError):
        evaluate({}, edition="2012")


shares = st.decimals(min_value=0, max_value=2, places=5, allow_nan=False)


@given(key=st.sampled_from(sorted(COLUMN)), a=shares, b=shares)
def test_iaqi_never_decreases_as_concentration_rises(key: str, a: Decimal, b: Decimal) -> None:
    top = TABLE_2012[COLUMN[key]][-1]  # up to twice the top breakpoint
    low, high = sorted((a * top, b * top))
    for edition in ("2012", "2026"):
        first, second = iaqi(key, low, edition), iaqi(key, high, edition)
        assert first.exact <= second.exact and first.value <= second.value
        assert 0 <= first.value <= 500
