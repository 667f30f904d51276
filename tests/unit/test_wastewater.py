"""The wastewater judgement: a plant's local day of samples, closed into daily means and judged
against GB 18918-2002 Table 1 at every limit and on both sides of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.feeds import wastewater
from alerts.judge import Context, Outcome, Timing, firing
from alerts.standards.discharge import judge_discharge
from alerts.standards.editions import CST
from schemas.feeds.wastewater import Plant, WastewaterReading

T0 = datetime(2025, 12, 1, tzinfo=CST)  # a local midnight
NEW, OLD = date(2006, 1, 1), date(2005, 12, 31)  # TP's cutoff: built from 2006-01-01, or before
WARM, COLD = 18.0, 12.0  # NH3-N's cold limit applies at or below 12 °C
CONTEXT = Context(Timing(3600, 3600, service_s=3 * 3600), 0.0)
CLEAN = {"cod": 30.0, "bod5": 6.0, "ss": 8.0, "tn": 12.0, "nh3n": 2.0, "tp": 0.3, "ph": 7.2,
         "fecal_coliform": 500.0, "temp": WARM, "flow": 2000.0}  # fmt: skip


def plant(grade: str = "1A", built: date = NEW) -> Plant:
    return Plant("ww-x", "测试污水处理厂", "yiwu", 29.3, 120.1, 50000.0, built, grade, 3600, True)  # type: ignore[arg-type]


def sample(hours: float, flags: dict[str, str] | None = None, **values: float) -> WastewaterReading:
    return WastewaterReading(plant_id="ww-x", ts=T0 + timedelta(hours=hours), flags=flags, **values)


def run(
    readings: list[WastewaterReading], site: Plant | None = None, state=None
) -> tuple[wastewater.WastewaterState, list[Outcome]]:
    state = state or wastewater.WastewaterState()
    outcomes = []
    for reading in readings:
        state, out = wastewater.judge(state, site or plant(), [reading], CONTEXT)
        outcomes.append(out)
    return state, outcomes


def day(n: int, **values: float) -> list[WastewaterReading]:
    """Day ``n``'s samples at 08:00, 16:00 and 24:00 (the last one ends the day), all alike."""
    return [sample(24 * n + h, **(CLEAN | values)) for h in (8, 16, 24)]


def closed(site: Plant, **values: float) -> Outcome:
    """The outcome of the sample that closes a day of these values (the next day's first)."""
    _, outcomes = run([*day(0, **values), sample(25, **CLEAN)], site)
    return outcomes[-1]


def events(out: Outcome) -> set[tuple[str, str, str, str]]:
    """The plant's grade alerts (not its analysers' data-quality checks)."""
    return {
        (e.condition, e.parameter, e.severity, e.transition)
        for e in out.events
        if e.condition.startswith("wastewater_")
    }


# (item, daily mean, water temperature, build date, required grade, grade met, items over the
# required grade); per standards.md section 11, at each limit and just above it.
TABLE_1 = [
    ("cod", 50, WARM, NEW, "1A", 1, []), ("cod", 50.001, WARM, NEW, "1A", 2, ["cod"]),
    ("cod", 60, WARM, NEW, "1A", 2, ["cod"]), ("cod", 60.001, WARM, NEW, "1A", 3, ["cod"]),
    ("bod5", 10, WARM, NEW, "1A", 1, []), ("bod5", 10.001, WARM, NEW, "1A", 2, ["bod5"]),
    ("bod5", 20, WARM, NEW, "1A", 2, ["bod5"]), ("bod5", 20.001, WARM, NEW, "1A", 3, ["bod5"]),
    ("ss", 10, WARM, NEW, "1A", 1, []), ("ss", 10.001, WARM, NEW, "1A", 2, ["ss"]),
    ("ss", 20, WARM, NEW, "1A", 2, ["ss"]), ("ss", 20.001, WARM, NEW, "1A", 3, ["ss"]),
    ("tn", 15, WARM, NEW, "1A", 1, []), ("tn", 15.001, WARM, NEW, "1A", 2, ["tn"]),
    ("tn", 20, WARM, NEW, "1A", 2, ["tn"]), ("tn", 20.001, WARM, NEW, "1A", 3, ["tn"]),
    ("nh3n", 5, WARM, NEW, "1A", 1, []), ("nh3n", 5.001, WARM, NEW, "1A", 2, ["nh3n"]),
    ("nh3n", 8, WARM, NEW, "1A", 2, ["nh3n"]), ("nh3n", 8.001, WARM, NEW, "1A", 3, ["nh3n"]),
    ("nh3n", 8, COLD, NEW, "1A", 1, []), ("nh3n", 8.001, COLD, NEW, "1A", 2, ["nh3n"]),
    ("nh3n", 15, COLD, NEW, "1A", 2, ["nh3n"]), ("nh3n", 15.001, COLD, NEW, "1A", 3, ["nh3n"]),
    ("nh3n", 8, 12.1, NEW, "1A", 2, ["nh3n"]),  # just above 12 °C: the ordinary limit
    ("nh3n", 8, 11.9, NEW, "1A", 1, []), ("nh3n", 8.001, 11.9, NEW, "1A", 2, ["nh3n"]),
    ("tp", 0.5, WARM, NEW, "1A", 1, []), ("tp", 0.501, WARM, NEW, "1A", 2, ["tp"]),
    ("tp", 1, WARM, NEW, "1A", 2, ["tp"]), ("tp", 1.001, WARM, NEW, "1A", 3, ["tp"]),
    ("tp", 1, WARM, OLD, "1A", 1, []), ("tp", 1.001, WARM, OLD, "1A", 2, ["tp"]),
    ("tp", 1.5, WARM, OLD, "1A", 2, ["tp"]), ("tp", 1.501, WARM, OLD, "1A", 3, ["tp"]),
    ("ph", 6, WARM, NEW, "1A", 1, []), ("ph", 5.99, WARM, NEW, "1A", 3, ["ph"]),
    ("ph", 9, WARM, NEW, "1A", 1, []), ("ph", 9.01, WARM, NEW, "1A", 3, ["ph"]),
    ("fecal_coliform", 1000, WARM, NEW, "1A", 1, []),
    ("fecal_coliform", 1001, WARM, NEW, "1A", 2, ["fecal_coliform"]),
    ("fecal_coliform", 10000, WARM, NEW, "1A", 2, ["fecal_coliform"]),
    ("fecal_coliform", 10001, WARM, NEW, "1A", 3, ["fecal_coliform"]),
    # A plant required to meet 1B: over 1A is no exceedance of its own grade.
    ("cod", 60, WARM, NEW, "1B", 2, []), ("cod", 60.001, WARM, NEW, "1B", 3, ["cod"]),
    ("tp", 1.5, WARM, OLD, "1B", 2, []), ("tp", 1.501, WARM, OLD, "1B", 3, ["tp"]),
]  # fmt: skip


# Just inside each Grade 1A limit (item, daily mean, water temperature, build date): the day
# meets 1A, so each limit is held from both sides with TABLE_1's values on it and above it.
INSIDE_1A = [
    ("cod", 49.999, WARM, NEW), ("bod5", 9.999, WARM, NEW), ("ss", 9.999, WARM, NEW),
    ("tn", 14.999, WARM, NEW), ("nh3n", 4.999, WARM, NEW), ("nh3n", 7.999, COLD, NEW),
    ("nh3n", 7.999, 11.9, NEW), ("tp", 0.499, WARM, NEW), ("tp", 0.999, WARM, OLD),
    ("ph", 6.01, WARM, NEW), ("ph", 8.99, WARM, NEW), ("fecal_coliform", 999, WARM, NEW),
]  # fmt: skip


@pytest.mark.parametrize(("item", "mean", "temp", "built"), INSIDE_1A)
def test_just_inside_a_grade_1a_limit_the_day_meets_1a(item, mean, temp, built):
    out = closed(plant("1A", built), **{item: float(mean), "temp": temp})
    assert out.figures == {"grade": 1, "items_over": 0}
    assert events(out) == set()


@pytest.mark.parametrize(("item", "mean", "temp", "built", "required", "grade", "over"), TABLE_1)
def test_a_closed_day_is_judged_against_table_1(item, mean, temp, built, required, grade, over):
    out = closed(plant(required, built), **{item: float(mean), "temp": temp})
    assert out.figures == {"grade": grade, "items_over": len(over)}
    required_number = {"1A": 1, "1B": 2}[required]
    expected = set()
    if grade > required_number:
        expected.add(("wastewater_over_grade", over[0], "warning", "firing"))
    if grade > 2:
        expected.add(("wastewater_over_1b", item, "critical", "firing"))
    assert events(out) == expected
    assert out.edition == "gb18918-2002"
    assert all(e.at == T0 + timedelta(days=1) for e in out.events)  # at the end of the day


def test_the_day_closes_only_when_a_sample_of_a_later_day_arrives():
    state, outcomes = run(day(0, cod=75.0))
    assert all(out.figures == {} and out.events == [] for out in outcomes)
    assert state.day == (T0.date() - date(1970, 1, 1)).days
    assert state.today["cod"].n == 3  # the sample ending at midnight is the day's last
    assert "cod_24h" not in state.values
    state, (out,) = run([sample(24.25, cod=20.0)], state=state)
    assert out.figures == {"grade": 3, "items_over": 1}
    assert state.values["cod_24h"] == 75.0 and state.values["cod"] == 20.0
    assert state.today["cod"].n == 1  # the new day holds the closing sample


@pytest.mark.parametrize(
    ("ts", "day_index"),
    [
        (datetime(2025, 12, 1, 0, 0, tzinfo=CST), -1),  # ends the day before
        (datetime(2025, 12, 1, 0, 0, 1, tzinfo=CST), 0),
        (datetime(2025, 12, 1, 0, 10, tzinfo=CST), 0),  # a 10-minute sample of the new day
        (datetime(2025, 12, 1, 23, 59, 59, tzinfo=CST), 0),
        (datetime(2025, 12, 2, 0, 0, tzinfo=CST), 0),  # 23:00-24:00
        (datetime(2025, 11, 30, 16, 0, tzinfo=UTC), -1),  # local midnight, given in UTC
        (datetime(2025, 11, 30, 16, 0, 1, tzinfo=UTC), 0),
        (datetime(2025, 12, 1, 16, 0, 1, tzinfo=UTC), 1),
    ],
)
def test_a_sample_belongs_to_the_local_day_its_period_ends_in(ts, day_index):
    first = (T0.date() - date(1970, 1, 1)).days
    assert wastewater.local_day(ts.timestamp()) == first + day_index


def test_daily_means_are_exact():
    # 0.1 + 0.2 + 1.2 in floats is 1.5000000000000002: a mean just over TP's 0.5. Exactly it
    # is 0.5, on the limit; values with more than three decimals are kept exactly too.
    for values in ([0.1, 0.2, 1.2], [0.4999, 0.5001], [0.123456, 0.876544]):
        readings = [sample(1 + h, **(CLEAN | {"tp": v})) for h, v in enumerate(values)]
        state, outcomes = run([*readings, sample(25, **CLEAN)])
        assert outcomes[-1].figures["grade"] == 1, values
        assert state.values["tp_24h"] == 0.5


def test_the_day_mean_water_temperature_sets_the_nh3n_limit():
    # NH3-N 7 (over 5, within the cold 8): cold by the mean of 11 and 13 (12), not by 13.2.
    for temps, grade in (([11.0, 13.0], 1), ([11.0, 13.2], 2)):
        readings = [
            sample(1 + h, **(CLEAN | {"nh3n": 7.0, "temp": t})) for h, t in enumerate(temps)
        ]
        _, outcomes = run([*readings, sample(25, **CLEAN)])
        assert outcomes[-1].figures["grade"] == grade, temps


def test_values_flagged_invalid_enter_no_daily_mean():
    # COD over 1B in the hours the analyser was in maintenance (M) or faulty (D): not counted.
    readings = [
        sample(1, **(CLEAN | {"cod": 30.0})),
        sample(2, {"cod": "M"}, **(CLEAN | {"cod": 400.0})),
        sample(3, {"cod": "D", "tp": "N"}, **(CLEAN | {"cod": 400.0})),
        sample(4, {"cod": "S"}, **(CLEAN | {"cod": 40.0})),  # set by hand: valid
    ]
    state, outcomes = run([*readings, sample(25, **CLEAN)])
    assert state.values["cod_24h"] == 35.0
    assert outcomes[-1].figures["grade"] == 1 and outcomes[-1].events == []


def test_a_day_with_only_flagged_values_is_not_judged():
    readings = [sample(h, dict.fromkeys(CLEAN, "F"), **CLEAN) for h in (1, 2)]
    state, outcomes = run([*readings, sample(25, **CLEAN)])
    assert outcomes[-1].figures == {} and "cod_24h" not in state.values


def test_an_analyser_in_service_longer_than_allowed_raises_the_service_alert():
    readings = [sample(h, {"nh3n": "C"}, **CLEAN) for h in range(1, 6)] + [sample(6, **CLEAN)]
    _, outcomes = run(readings)
    service = [
        (e.parameter, e.transition, e.at)
        for o in outcomes
        for e in o.events
        if e.condition == "dq_service"
    ]
    assert service == [
        ("nh3n", "firing", T0 + timedelta(hours=4)),  # three hours after the first C
        ("nh3n", "resolved", T0 + timedelta(hours=6)),  # the first valid NH3-N value
    ]


def test_a_plant_over_its_grade_is_one_alert_until_it_meets_it_again():
    days = [
        *day(0, cod=75.0),  # over 1B by COD: both alerts, named by COD
        *day(1, ss=15.0),  # over 1A by SS only: the same alerts, one still firing
        *day(2),  # clean: both end
        *day(3, nh3n=6.0),  # over again, by NH3-N
        sample(24 * 4 + 1, **CLEAN),
    ]
    state, outcomes = run(days)
    closes = [outcomes[i] for i in (3, 6, 9, 12)]
    assert events(closes[0]) == {
        ("wastewater_over_grade", "cod", "warning", "firing"),
        ("wastewater_over_1b", "cod", "critical", "firing"),
    }
    assert events(closes[1]) == {("wastewater_over_1b", "cod", "critical", "resolved")}
    assert closes[1].figures == {"grade": 2, "items_over": 1}
    assert events(closes[2]) == {("wastewater_over_grade", "cod", "warning", "resolved")}
    assert events(closes[3]) == {("wastewater_over_grade", "nh3n", "warning", "firing")}
    (alert,) = [a for a in firing(state) if a.condition.startswith("wastewater_")]
    assert (alert.condition, alert.value, alert.limit) == ("wastewater_over_grade", 2, 1)


def test_the_alert_names_the_item_furthest_over_its_limit():
    # COD 55 is 10% over 50, SS 14 is 40% over 10, pH 5 is 1/6 below 6.
    out = closed(plant(), cod=55.0, ss=14.0, ph=5.0)
    assert ("wastewater_over_grade", "ss", "warning", "firing") in events(out)
    assert ("wastewater_over_1b", "ph", "critical", "firing") in events(out)  # SS 14 meets 1B


def test_a_late_sample_is_stored_but_never_reopens_a_closed_day():
    state, _ = run([*day(0, cod=75.0), sample(25, **CLEAN)])
    state, (late,) = run([sample(12, **CLEAN)], state=state)
    assert late.judged == 0 and late.events == [] and state.values["cod_24h"] == 75.0


def test_a_day_before_the_standard_took_effect_is_not_judged():
    early = datetime(2003, 6, 29, tzinfo=CST)
    readings = [
        WastewaterReading(plant_id="ww-x", ts=early + timedelta(hours=h), **(CLEAN | {"cod": 90.0}))
        for h in (12, 36)
    ]
    state, outcomes = run(readings)
    assert outcomes[-1].figures == {} and outcomes[-1].events == []
    assert state.values["cod_24h"] == 90.0  # its means are still exported


def test_an_online_analyser_repeating_one_value_is_a_flat_line():
    readings = [sample(h, **(CLEAN | {"tp": 0.21 + 0.01 * h})) for h in range(6)]
    _, outcomes = run(readings)  # the clean values repeat: COD 30, NH3-N 2, ...
    flat = {e.parameter for o in outcomes for e in o.events if e.condition == "dq_flatline"}
    assert flat == {"cod", "nh3n", "tn", "ph"}


def test_exports_name_the_plant_and_its_grade():
    assert wastewater.figure_labels(plant("1B")) == ("1B",)
    assert set(wastewater.VALUE_NAMES) >= {"cod", "flow", "cod_24h", "temp_24h"}
    assert set(wastewater.FIGURES) == {"grade", "items_over"}


DECIMAL = st.decimals(min_value=0, max_value=80, places=3).map(lambda d: float(d))


@settings(max_examples=200, deadline=None)
@given(
    cod=st.lists(DECIMAL, min_size=1, max_size=6),
    tp=st.lists(st.decimals(min_value=0, max_value=2, places=4).map(float), min_size=1, max_size=6),
    temp=st.lists(st.sampled_from([10.5, 11.9, 12.0, 12.1, 13.0]), min_size=1, max_size=6),
    required=st.sampled_from(["1A", "1B"]),
    built=st.sampled_from([NEW, OLD]),
)
def test_a_closed_day_agrees_with_the_standard_on_the_exact_means(cod, tp, temp, required, built):
    n = max(len(cod), len(tp), len(temp))
    columns = {"cod": cod, "tp": tp, "temp": temp}
    readings = [
        sample(1 + h, **{k: v[h] for k, v in columns.items() if h < len(v)}) for h in range(n)
    ]
    _, outcomes = run([*readings, sample(25, cod=1.0)], plant(required, built))

    def mean(values: list[float]) -> Fraction:
        return sum((Fraction(Decimal(repr(v))) for v in values), Fraction(0)) / len(values)

    verdict = judge_discharge(
        {"cod": mean(cod), "tp": mean(tp)}, water_temp=mean(temp), built=built, required=required
    )
    got = outcomes[-1].figures
    assert got["items_over"] == len(verdict.exceeding)
    assert got["grade"] == {"1A": 1, "1B": 2, None: 3}[verdict.grade_met]
