"""Assessment-grade judgement: HJ 212 data flags, the service alert, and moving means over
the hours present in their window (GB 3095), with the SO2 24-hour mean of HJ 633 note 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from alerts.feeds import air, water
from alerts.judge import Context, Timing, firing
from alerts.validity import invalid, valid_values
from schemas.decode import FeedDecoder, Rules
from schemas.feeds import FEEDS
from schemas.feeds.air import AirReading, Station
from schemas.feeds.water import Section, WaterReading

T0 = datetime(2025, 12, 1, tzinfo=UTC)
CONTEXT = Context(Timing(3600, 3600, service_s=3 * 3600), 0.0)
STATION = Station("air-x", "测试站", "yiwu", 29.3, 120.1, 2, 3600, True)


def hour(h: int, flags: dict[str, str] | None = None, **values: float) -> AirReading:
    return AirReading(station_id="air-x", ts=T0 + timedelta(hours=h), flags=flags, **values)


def run(readings: list[AirReading]) -> tuple[air.AirState, list]:
    state, events = air.AirState(), []
    outcomes = []
    for r in readings:
        state, out = air.judge(state, STATION, [r], CONTEXT)
        events += out.events
        outcomes.append(out)
    return state, [events, outcomes]


def test_calibration_hours_leave_the_24h_mean_invalid_and_raise_no_breach():
    # 24 hours of PM2.5 at 120 (IAQI 158): 5 of them flagged C (calibration), 19 valid hours.
    readings = [
        hour(h, {"pm25": "C"} if h in range(6, 11) else None, pm25=120.0, no2=30.0)
        for h in range(24)
    ]
    state, (events, outcomes) = run(readings)
    assert all("pm25_24h" not in out.figures for out in outcomes), "19 valid hours: no mean"
    for h in range(6, 11):  # the calibration hours: no AQI from PM2.5, so no pollution breach
        assert outcomes[h].figures["aqi"] < 100
    assert not [e for e in events if e.condition == "air_pm25_24h"]
    assert len(state.windows["pm25"].values) == 19


def test_an_analyser_in_calibration_longer_than_the_service_time_raises_an_alert():
    calibrating = [hour(h, {"o3": "C"}, pm25=20.0 + h, o3=80.0) for h in range(5)]
    state, (events, _) = run([*calibrating, hour(5, pm25=26.0, o3=80.0)])
    service = [(e.parameter, e.transition, e.at) for e in events if e.condition == "dq_service"]
    assert service == [
        ("o3", "firing", T0 + timedelta(hours=3)),  # three hours after the first C
        ("o3", "resolved", T0 + timedelta(hours=5)),  # the first valid O3 value
    ]
    fired = next(e for e in events if e.condition == "dq_service")
    assert (fired.severity, fired.value, fired.limit) == ("warning", 3.0, 3.0)
    assert firing(state) == []


def test_the_o3_8h_mean_does_not_need_this_hours_o3():
    # 7 hours of O3 at 300 and PM2.5 at 20, then an hour without O3: the 8-hour mean of the 7
    # hours present still counts (6 of 8 are needed).
    readings = [hour(h, pm25=20.0, o3=300.0) for h in range(7)] + [hour(7, pm25=20.0)]
    _, (_, outcomes) = run(readings)
    # O3 8-hour 300: band 265-800 maps 200-300, 200 + 100 x 35/535 = 206.5 -> 207.
    assert outcomes[-1].figures["aqi"] == 207
    assert outcomes[-1].figures["aqi"] == outcomes[-2].figures["aqi"]


def test_so2_above_800_is_reported_by_its_24_hour_mean():
    base = [hour(h, so2=100.0) for h in range(20)]  # 20 hours: the 24-hour mean is valid
    spike = hour(20, so2=900.0)  # SO2 1 h above 800: no 1-hour sub-index (note 2)
    _, (_, outcomes) = run([*base, spike])
    # SO2 24-hour mean (20 x 100 + 900) / 21 = 138.1: IAQI 50 + 50 x 88.1/100 = 94.05 -> 95.
    assert outcomes[-1].figures["aqi"] == 95
    _, (_, early) = run([hour(0, so2=100.0), hour(1, so2=900.0)])  # no valid 24-hour mean yet
    assert early[-1].figures["aqi"] == 500


def test_flagged_water_items_do_not_class_the_sample():
    section = Section(
        "wq-x", "测试断面", "义乌江", "yiwu", 29.3, 120.1, "river", "provincial", 3,
        None, None, False, 14400, True,
    )  # fmt: skip
    sample = WaterReading(section_id="wq-x", ts=T0, do=7.0, nh3n=1.8, tp=0.1, flags={"nh3n": "D"})
    state, out = water.judge(water.WaterState(), section, [sample], CONTEXT)
    assert out.figures["class"] == 2 and out.events == []  # NH3-N (class V) was a fault
    assert "nh3n" not in state.values


@pytest.mark.parametrize(
    ("flags", "code", "words"),
    [
        (
            {"pm25": "X"},
            "unknown_flag",
            "'X' of pm25 is not an HJ 212 data flag; expected one of N",
        ),
        ({"benzene": "N"}, "unknown_flag_parameter", "'benzene', which the air feed does not"),
    ],
)
def test_unknown_flags_are_dead_lettered_with_the_known_ones(flags, code, words):
    decoder = FeedDecoder(FEEDS["air"], Rules(known_sites={"air-x"}))
    message = {"station_id": "air-x", "ts": T0.isoformat(), "pm25": 40.0, "flags": flags}
    (reject,) = decoder.decode(orjson.dumps(message), T0 + timedelta(hours=1)).rejects
    assert reject.code == code and words in reject.reason
    assert "C (calibration)" in reject.reason or code == "unknown_flag_parameter"


def test_valid_values_leave_out_the_missing_and_the_flagged_invalid():
    bad = invalid({"cod": "M", "tp": "N", "ph": "D"})
    values = valid_values(("cod", "tp", "ph", "tn"), (60.0, 0.3, 7.1, None), bad)
    assert values == {"tp": 0.3}
    assert valid_values(("cod",), (0.0,), invalid(None)) == {"cod": 0.0}  # zero is a value
