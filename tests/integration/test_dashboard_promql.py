"""Every PromQL expression of every panel, asked of a real Prometheus scraping a real worker.

Two days of every site are stored before the worker starts, so it reads the plan targets from
storage; then it is fed a few readings of each feed and one bad message, so the pipeline
metrics, latest values and dead letters exist. Each expression must be accepted and return
series: every figure a panel shows has one, unless listed below with the reason it is empty
here (and each reason must still excuse a panel).
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from psycopg.conninfo import make_conninfo
from pydantic import SecretStr

from alerts.standards.editions import CST
from dashboards.build import MODULES, as_dict
from dashboards.command_centre import alert_states
from envwatch.embedded import WRITER_ROLE, free_port
from schemas.feeds import FEEDS
from schemas.migrate import migrate
from schemas.reference import load_reference
from schemas.register_sync import sync_register
from streams.relay.metrics import ACKNOWLEDGED as ACKNOWLEDGED_SERIES
from streams.relay.metrics import ESCALATED as ESCALATED_SERIES
from streams.settings import Settings
from tests.support.database import store
from tests.support.grafana_macros import expand_variables, targets
from tests.support.readings import two_days
from tests.support.services import WorkerProcess, producer, wait_until

# Empty is a right answer for these while nothing is wrong; they are still checked for syntax.
SENT_HOURS = 20  # through the broker: enough for a 24-hour mean (GB 3095: 20 valid hours)
MAY_BE_EMPTY = {
    "ALERTS": "no alert rules are loaded in this test; nothing fires",
    "> 7200": "no site has been silent for two hours",
    "envwatch_consumer_lag": "the worker reports lag only once it owns partitions with a backlog",
}


def _feed(settings: Settings) -> str:
    ref = load_reference()
    station, section, unit = (next(iter(ref.sites(f))) for f in ("air", "water", "energy"))
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    send = producer(settings)
    for h in range(SENT_HOURS, 0, -1):
        ts = (now - timedelta(hours=h)).isoformat()
        air = {"station_id": station, "ts": ts, "pm25": 40.0 + h, "pm10": 70.0, "no2": 30.0}
        air |= {"so2": 8.0, "co": 0.7, "o3": 90.0}
        send.send(settings.topic("air"), orjson.dumps(air), key=station.encode())
        water = {"section_id": section, "ts": ts, "ph": 7.3, "do": 6.4, "nh3n": 0.4, "tp": 0.1}
        water |= {"codmn": 3.5}
        send.send(settings.topic("water"), orjson.dumps(water), key=section.encode())
    start, end = now - timedelta(days=1), now
    energy = {"unit_id": unit, "period_start": start.isoformat(), "period_end": end.isoformat()}
    energy |= {"electricity_kwh": 2.0e6, "raw_coal_t": 300.0, "output_10k_yuan": 1500.0}
    send.send(settings.topic("energy"), orjson.dumps(energy), key=unit.encode())
    # Two samples of a plant's yesterday and one of today, which closes yesterday into its
    # grade (local days, Beijing time).
    plant = next(iter(ref.sites("wastewater")))
    midnight = datetime.now(CST).replace(hour=0, minute=0, second=0, microsecond=0)
    today = max(datetime.now(CST).replace(microsecond=0), midnight + timedelta(seconds=1))
    for ts in (midnight - timedelta(hours=2), midnight - timedelta(hours=1), today):
        sample = {"plant_id": plant, "ts": ts.isoformat(), "cod": 32.0, "nh3n": 1.5, "tp": 0.3}
        sample |= {"ph": 7.1, "temp": 16.0, "flow": 3500.0}
        send.send(settings.topic("wastewater"), orjson.dumps(sample), key=plant.encode())
    send.send(settings.topic("air"), b"{not json", key=station.encode())
    send.flush()
    send.close()
    return station


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Starts Prometheus on a free loopback port; call with the worker's host:port."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(target: str) -> str:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            json.dumps(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "scrape_configs": [
                        {"job_name": "envwatch-worker", "static_configs": [{"targets": [target]}]}
                    ],
                }
            )
        )
        log = (tmp_path / "prometheus.log").open("ab")
        processes.append(
            subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _ready(url), 30, "Prometheus to be ready")
        return url

    yield start
    for process in processes:
        process.terminate()
        process.wait(20)


def _ready(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/-/ready", timeout=1).close()
    except OSError:
        return False
    return True


def query(url: str, expr: str) -> dict[str, Any]:
    params = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=5) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:  # 400 with the parser's message
        return json.load(error)


def test_every_panel_expression_runs_on_prometheus(
    settings: Settings,
    scratch_url: str,
    start_worker: Callable[..., WorkerProcess],
    prometheus: Callable[[str], str],
) -> None:
    settings = stored_days(settings, scratch_url)
    worker = start_worker(settings)
    station = _feed(settings)
    wait_until(lambda: worker.metric("envwatch_dead_letters_total") >= 1, 60, "a dead letter")
    for feed in FEEDS:
        wait_until(
            lambda f=feed: worker.metric("envwatch_readings_consumed_total", feed=f), 60, feed
        )
    wait_until(lambda: worker.metric("envwatch_target_reads_total", result="ok"), 60, "targets")
    url = prometheus(f"127.0.0.1:{settings.metrics_port}")
    wait_until(
        lambda: (
            len(_series(url, "envwatch_readings_consumed_total[10s]"))
            and len(_series(url, "envwatch_readings_consumed_total[10s]")[0]["values"]) >= 3
        ),
        30,
        "three scrapes",
    )

    checked, live, used = 0, [], set()
    for board in (as_dict(m) for m in MODULES):
        for target in targets(board, "prometheus"):
            expr = expand_variables(target.query["expr"], {"station": station})
            answer = query(url, expr)
            assert answer["status"] == "success", f"{target.where}: {expr}: {answer}"
            checked += 1
            excused = {key for key in MAY_BE_EMPTY if key in expr}
            used |= excused
            if not excused:
                assert answer["data"]["result"], f"{target.where}: {expr} returned nothing"
                live.append(expr)
    print(f"{checked} expressions accepted, {len(live)} returned series")
    assert used == set(MAY_BE_EMPTY), f"no panel needs these any more: {set(MAY_BE_EMPTY) - used}"
    assert checked >= 40 and len(live) >= 30, (checked, live)


def stored_days(settings: Settings, url: str) -> Settings:
    """Settings on a database of the test's own holding two days of every site, ending before
    the readings the test sends (so none of them is a duplicate)."""
    migrate(url)
    sync_register(url)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=SENT_HOURS + 1
    )
    for feed, readings in two_days(end).items():
        store(url, feed, readings)
    writer = make_conninfo(url, user=WRITER_ROLE)
    return settings.model_copy(
        update={"database_url": SecretStr(writer), "database_admin_url": SecretStr(url)}
    )


def _series(url: str, expr: str) -> list[dict[str, Any]]:
    return query(url, expr)["data"]["result"]


def labelled(metric: str, labels: dict[str, str]) -> str:
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def test_the_alert_panel_gives_each_alert_its_state(tmp_path: Path) -> None:
    """The command centre's alert panel, on Prometheus's engine (promtool): one row per firing
    alert, unacknowledged (0), escalated and to whom (1), acknowledged and by whom (2); an
    escalation is no row of its own, nor is an acknowledgement of an alert that has ended."""
    heavy = {"alertname": "AirAqiHeavy", "severity": "critical", "county": "yiwu", "feed": "air",
             "parameter": "aqi"}  # fmt: skip
    down = {"alertname": "WorkerDown", "severity": "critical", "county": "all"}
    relay = {"job": "envwatch-notify", "instance": "notify:9095"}
    to_supervisor = {"level": "1", "escalated_to": "duty-supervisor"}

    def at(n: int) -> dict[str, str]:
        return heavy | {"site": f"air-yiwu-0{n}"}

    firing = {"alertstate": "firing"}
    series = {
        **{labelled("ALERTS", firing | at(n) | {"condition": "air_aqi_heavy"}): "1x5"
           for n in (1, 2, 3)},
        labelled("ALERTS", firing | down | {"component": "pipeline"}): "1x5",
        # The escalation of air-yiwu-02, as the rules raise it.
        labelled("ALERTS", firing | at(2) | {"alertname": "AlertEscalated",
                                             "escalated": "AirAqiHeavy", "level": "1"}): "1x5",
        # The relay's: air-yiwu-02 escalated; air-yiwu-03 escalated, then acknowledged;
        # air-yiwu-04 acknowledged, no longer firing (the relay has yet to notice).
        labelled(ESCALATED_SERIES, relay | at(2) | to_supervisor): "100x5",
        labelled(ESCALATED_SERIES, relay | at(3) | to_supervisor): "100x5",
        labelled(ACKNOWLEDGED_SERIES, relay | at(3) | {"acknowledged_by": "张三"}): "200x5",
        labelled(ACKNOWLEDGED_SERIES, relay | at(4) | {"acknowledged_by": "李四"}): "200x5",
    }  # fmt: skip
    expected = [
        (at(1), 0),
        (at(2) | to_supervisor, 1),
        (at(3) | {"acknowledged_by": "张三"}, 2),
        (down, 0),
    ]
    test = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "promql_expr_test": [
                    {
                        "expr": alert_states(),
                        "eval_time": "2m",
                        "exp_samples": [
                            {"labels": labelled("", labels), "value": value}
                            for labels, value in expected
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "alert_panel_test.yml"
    path.write_text(json.dumps(test, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run(
        ["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
