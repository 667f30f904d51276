"""The ``envwatch aqi`` and ``envwatch water-class`` commands, driven as staff would use them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from alerts.standards.editions import in_force
from envwatch.cli import main

ISSUE_EXAMPLE = {
    "pm25_24h": 80,
    "pm10_24h": 120,
    "so2_24h": 10,
    "no2_24h": 40,
    "co_24h": 1.0,
    "o3_8h": 100,
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_aqi_2012(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "aqi", "--edition", "2012", "--json", json.dumps(ISSUE_EXAMPLE))
    assert code == 0
    assert json.loads(out) == {
        "aqi": 107,  # PM2.5 100 + 50/40 x 5 = 106.25, rounded up
        "iaqi": {
            "pm25_24h": 107,
            "pm10_24h": 85,
            "so2_24h": 10,
            "no2_24h": 50,
            "co_24h": 25,
            "o3_8h": 50,
        },
        "primary_pollutants": ["pm25_24h"],
        "category": 3,
        "level": "轻度污染",
        "color": "#FF7E00",
        "edition": "hj633-2012",
    }


def test_aqi_defaults_to_the_edition_in_force_today(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "aqi", "--json", '{"pm25_24h": 60}')
    result = json.loads(out)
    assert result["edition"] == in_force("aqi").id
    assert result["aqi"] == {"hj633-2012": 82, "hj633-2026": 100}[result["edition"]]


def test_no_primary_pollutant_at_50_or_below(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "aqi", "--edition", "2012", "--json", '{"pm10_24h": 50, "co_1h": 5}')
    assert json.loads(out)["primary_pollutants"] == [] and json.loads(out)["aqi"] == 50


def test_flags_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "aqi", "--edition", "2012", "--json", '{"pm25_24h": 520}')
    assert json.loads(out)["flags"] == {"pm25_24h": "above_top_breakpoint"}


@pytest.mark.parametrize(
    "payload",
    ['{"pm25_24h": -5}', '{"pm25_24h": "high"}', '{"pm25_24h": 1e9}', '{"o3_24h": 1}', "[1]", "{"],
)
def test_bad_aqi_input_exits_2(capsys: pytest.CaptureFixture[str], payload: str) -> None:
    code, out, err = run(capsys, "aqi", "--json", payload)
    assert code == 2 and out == "" and err.startswith("envwatch aqi: ")


def test_unknown_edition_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "aqi", "--edition", "1999", "--json", '{"pm25_24h": 1}')
    assert code == 2 and "edition" in err


def test_aqi_lines_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = '{"pm25_24h": 35}\n{"pm25_24h": -1}\nnot json\n\n{"co_24h": 4}\n'
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    code, out, _ = run(capsys, "aqi", "--edition", "2012", "--json", "-")
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(results) == 4
    assert results[0]["aqi"] == 50 and results[3]["aqi"] == 100
    assert "negative" in results[1]["error"] and "not JSON" in results[2]["error"]


def test_water_class_issue_example(capsys: pytest.CaptureFixture[str]) -> None:
    payload = '{"do": 5.5, "codmn": 6.2, "nh3n": 0.8, "tp": 0.15}'
    code, out, _ = run(capsys, "water-class", "--json", payload)
    result = json.loads(out)
    assert code == 0
    assert (result["class"], result["label"], result["edition"]) == (4, "IV", "gb3838-2002")
    assert result["by_parameter"] == {"do": 3, "codmn": 4, "nh3n": 3, "tp": 3}
    assert result["exceeding"] == {"codmn": {"class": 4, "limit": 6.0, "multiple": 0.0333}}


def test_water_class_lake_target_and_worse_than_v(capsys: pytest.CaptureFixture[str]) -> None:
    payload = '{"tp": 0.5, "tn": 0.9, "do": 5.5, "fecal_coliform": 30000}'
    _, out, _ = run(
        capsys, "water-class", "--waterbody", "lake", "--target", "2", "--json", payload
    )
    result = json.loads(out)
    assert (result["class"], result["label"]) == (6, "劣V")
    assert result["excluded"] == ["fecal_coliform"] and result["target"] == 2
    assert result["exceeding"]["tp"] == {"class": 6, "limit": 0.025, "multiple": 19.0}
    assert result["exceeding"]["tn"]["multiple"] == 0.8
    assert result["exceeding"]["do"] == {
        "class": 3,
        "limit": 6.0,
        "multiple": None,
        "shortfall": 0.5,
    }


def test_water_class_2012_edition(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "water-class", "--edition", "2012", "--json", '{"ph": 5.5}')
    assert json.loads(out)["label"] == "劣V" and json.loads(out)["edition"] == "gb3838-2002"


def test_bad_water_input_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "water-class", "--json", '{"do": -1}')
    assert code == 2 and out == "" and "do" in err


def test_real_command_over_stdin() -> None:
    exe = Path(sys.executable).with_name("envwatch")
    done = subprocess.run(
        [str(exe), "water-class", "--json", "-"],
        input='{"cod": 16}\n{"cod": "x"}\n{"cod": 41}\n',
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0
    assert [r.get("label") for r in results] == ["III", None, "劣V"] and "error" in results[1]
