"""The compose stack as far as it can be checked without a Docker engine.

`docker-compose config` parses and validates the file offline; the rest checks that what it
mounts exists and that the Prometheus, Kafka and database pieces agree with each other.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def stack() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_parses(tmp_path: Path) -> None:
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose (Debian package) is needed to validate the compose file"
    (tmp_path / "deploy").mkdir()
    shutil.copy(ROOT / "deploy/env.example", tmp_path / "deploy/.env")
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    done = subprocess.run(
        [tool, "-f", "docker-compose.yml", "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_every_mounted_file_exists(stack: dict) -> None:
    mounts = [
        v.split(":")[0]
        for service in stack["services"].values()
        for v in service.get("volumes", [])
        if v.startswith("./")
    ]
    assert len(mounts) >= 10
    for source in mounts:
        assert (ROOT / source).exists(), source
    for service in stack["services"].values():
        for env_file in [service["env_file"]] if "env_file" in service else []:
            assert env_file == "deploy/.env"
    assert (ROOT / stack["x-envwatch"]["build"]["dockerfile"]).is_file()


def test_every_secret_the_stack_reads_is_in_the_example(stack: dict) -> None:
    example = (ROOT / "deploy/env.example").read_text()
    defined = set(re.findall(r"^([A-Z_0-9]+)=", example, re.M))
    used = set(re.findall(r"\$\$\{(\w+)\}", COMPOSE.read_text()))
    for script in (
        "deploy/kafka/start.sh",
        "deploy/kafka/agencies.sh",
        "deploy/timescaledb/010-roles.sh",
    ):
        used |= set(re.findall(r"\$\{([A-Z][A-Z_0-9]+)[:}]", (ROOT / script).read_text()))
    used |= {"AGENCY_AIR_PASSWORD", "AGENCY_WATER_PASSWORD", "AGENCY_ENERGY_PASSWORD"}
    used -= {"POSTGRES_USER", "POSTGRES_DB"}  # set by compose, not secrets
    assert used <= defined, used - defined


def test_prometheus_scrapes_both_workers_and_loads_the_mounted_rules(stack: dict) -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "envwatch-worker")
    hosts = {t.split(":")[0] for c in job["static_configs"] for t in c["targets"]}
    workers = {name for name in stack["services"] if name.startswith("worker-")}
    assert hosts == workers and len(workers) == 2
    mounted = {v.split(":")[1] for v in stack["services"]["prometheus"]["volumes"]}
    assert "/etc/prometheus/rules" in mounted
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert list((ROOT / "alerts/rules").glob("*.yml")), "no rule files to mount"
    done = subprocess.run(
        [
            "promtool",
            "check",
            "config",
            "--syntax-only",
            str(ROOT / "deploy/prometheus/prometheus.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_each_agency_may_write_only_its_own_topic() -> None:
    script = (ROOT / "deploy/kafka/agencies.sh").read_text()
    assert (
        'acl --allow-principal "User:agency-$feed" --operation Write --operation Describe' in script
    )
    assert '--topic "envwatch.$feed"' in script
    assert (
        "allow.everyone.if.no.acl.found=false"
        in (ROOT / "deploy/kafka/server.properties").read_text()
    )
    done = subprocess.run(
        ["bash", "-n", str(ROOT / "deploy/kafka/agencies.sh")], capture_output=True
    )
    assert done.returncode == 0, done.stderr
