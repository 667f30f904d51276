"""The compose stack as far as it can be checked without a Docker engine.

No Docker engine runs on the build machines, so the stack has never been started here. What
can be checked is checked for real: `docker-compose config` validates the file; the Kafka
scripts run with stand-ins for the Kafka tools, and what they write is read back as Kafka
reads it (the broker's listeners and logins, the SCRAM credential files); each service's
settings and secrets are held against the code and scripts that read them; the relay's settings
as compose resolves them are loaded as the relay loads them, and a real Prometheus on the
shipped configuration scrapes a real relay with the stack's token file.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import pytest
import yaml
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr

from envwatch.embedded import free_port, stop_process, wait_until
from streams.relay.config import config_from_settings
from streams.settings import PREFIX, Settings, load_settings
from tests.support.java_formats import jaas_options, load_properties
from tests.support.kafka_scripts import SECRETS, run_script

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCRAM_PATTERN = re.compile(r"(?:iterations=(-?[0-9]*),)?password=(.*)")  # ConfigCommand.scala
# Who each published port is for; nothing else is published.
PUBLISHED = {
    "kafka": {"9094:9094"},  # agencies push their feeds
    "grafana": {"3000:3000"},  # wall displays and staff
    "prometheus": {"127.0.0.1:9090:9090"},  # staff on the host only: no login
    "alertmanager": {"127.0.0.1:9093:9093"},  # staff on the host only: silences, no login
    "notify": {"127.0.0.1:9095:9095"},  # the bureau's HTTPS proxy on the host: /ack/ only
}
# Variables that an image defines for itself (its documented inputs), not read by our files.
IMAGE_INPUTS = {
    "timescale/timescaledb": {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD_FILE"},
    "grafana/grafana": {"GF_SECURITY_ADMIN_PASSWORD__FILE", "GF_SERVER_ROOT_URL"},
}
PROJECT = ("envwatch", "schemas", "streams", "alerts", "dashboards")
SECRET_PATH = re.compile(r"/run/secrets/(\w+)")
# What .env must set (compose refuses to start without each), from the example.
EXAMPLE = dict(
    line.split("=", 1)
    for line in (ROOT / "deploy/env.example").read_text().splitlines()
    if line and not line.startswith("#")
)


@pytest.fixture(scope="module")
def stack() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _relay_port(stack: dict) -> int:
    """The port the relay listens on in the stack: its setting, or the setting's default."""
    given = stack["services"]["notify"]["environment"].get(f"{PREFIX}NOTIFY_PORT")
    return int(given or Settings.model_fields["notify_port"].default)


def _copy_stack(tmp_path: Path, env: bool = True) -> Path:
    (tmp_path / "deploy").mkdir()
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / "deploy/secrets.sh", tmp_path / "deploy/secrets.sh")
    if env:
        shutil.copy(ROOT / "deploy/env.example", tmp_path / ".env")
    return tmp_path


def _config(folder: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose (Debian package) is needed to validate the compose file"
    return subprocess.run(
        [tool, "-f", "docker-compose.yml", "config", "-q"],
        cwd=folder,
        capture_output=True,
        text=True,
    )


def _made_secrets(folder: Path) -> Path:
    made = subprocess.run(["sh", "deploy/secrets.sh"], cwd=folder, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return folder / "deploy/secrets"


def test_compose_file_is_valid_with_the_example_settings_and_made_secrets(tmp_path):
    folder = _copy_stack(tmp_path)
    _made_secrets(folder)
    done = _config(folder)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("setting", sorted(EXAMPLE))
def test_compose_refuses_to_start_without_each_setting(tmp_path, setting):
    folder = _copy_stack(tmp_path)
    _made_secrets(folder)
    env = folder / ".env"
    env.write_text("".join(f"{k}={v}\n" for k, v in EXAMPLE.items() if k != setting))
    done = _config(folder)
    assert done.returncode != 0
    assert f"set {setting} in .env" in done.stderr, done.stderr


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> tuple[dict, Path]:
    """The stack as compose resolves it (the example settings filled in, `docker-compose
    config`), and the folder of the secret files deploy/secrets.sh made for it."""
    folder = _copy_stack(tmp_path_factory.mktemp("stack"))
    secrets = _made_secrets(folder)
    done = subprocess.run(
        [shutil.which("docker-compose") or "docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout), secrets


def _relay_environment(resolved: tuple[dict, Path]) -> dict[str, str]:
    """The relay's environment in the stack, its secret files those deploy/secrets.sh made."""
    stack, secrets = resolved
    return {
        variable: SECRET_PATH.sub(lambda m: str(secrets / m[1]), str(value))
        for variable, value in stack["services"]["notify"]["environment"].items()
    }


def test_secrets_sh_makes_every_declared_secret_once(stack, tmp_path):
    folder = _copy_stack(tmp_path)
    subprocess.run(["sh", "deploy/secrets.sh"], cwd=folder, check=True, capture_output=True)
    made = {p.name: p for p in (folder / "deploy/secrets").iterdir()}
    assert set(made) == set(stack["secrets"])
    for name, path in made.items():
        assert path.stat().st_mode & 0o777 == 0o644, name
        filled = path.read_text()
        assert (len(filled) >= 24) == name.endswith(("_password", "_token")), name
    assert (folder / "deploy/secrets").stat().st_mode & 0o777 == 0o700
    (folder / "deploy/secrets/db_owner_password").write_text("mine")
    subprocess.run(["sh", "deploy/secrets.sh"], cwd=folder, check=True, capture_output=True)
    assert (folder / "deploy/secrets/db_owner_password").read_text() == "mine"


def test_every_mounted_file_exists(stack):
    mounts = [
        v.split(":")[0]
        for service in stack["services"].values()
        for v in service.get("volumes", [])
        if v.startswith("./")
    ]
    assert len(mounts) >= 10
    for source in mounts:
        assert (ROOT / source).exists(), source
    assert (ROOT / stack["x-envwatch"]["build"]["dockerfile"]).is_file()


def test_no_service_is_handed_a_whole_env_file_or_a_secret_in_its_environment(stack):
    for name, service in stack["services"].items():
        assert "env_file" not in service, name
        for variable, value in (service.get("environment") or {}).items():
            assert not re.search(r"PASSWORD$|SECRET$|TOKEN$", variable), (name, variable)
            assert "$" not in str(value) or str(value).startswith("${"), (name, variable)


def test_every_image_is_pinned(stack):
    for name, service in stack["services"].items():
        if "build" in service:
            continue
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+(-[\w.]+)?", service["image"]), name
    dockerfile = (ROOT / "deploy/docker/Dockerfile").read_text()
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.M)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base), base
    assert set(re.findall(r"^FROM (\S+)", dockerfile, re.M)) == {"${PYTHON_IMAGE}"}


def test_the_image_builds_without_buildkit_and_without_secrets(stack):
    dockerfile = (ROOT / "deploy/docker/Dockerfile").read_text()
    assert "# syntax=" not in dockerfile and "--mount" not in dockerfile
    assert not re.search(r"^(COPY|ADD) .*--(chmod|link|parents)", dockerfile, re.M)
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    (home,) = re.findall(r"^WORKDIR (\S+)$", final, re.M)
    user_made = re.search(rf"useradd .*--create-home --home-dir {home} (\w+)", final)
    assert user_made, "the working folder must exist, owned by its user, before USER"
    assert final.index("useradd") < final.index(f"USER {user_made[1]}")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", "deploy/secrets/", ".git/", ".venv/"} <= set(ignored)


def test_every_published_port_is_one_a_user_needs(stack):
    published = {
        name: set(service["ports"])
        for name, service in stack["services"].items()
        if "ports" in service
    }
    assert published == PUBLISHED


# --- Kafka: what the broker reads ---------------------------------------------------------


@pytest.fixture(scope="module")
def broker_config(tmp_path_factory) -> tuple[dict[str, str], Path]:
    calls, run = run_script(
        "start.sh",
        tmp_path_factory.mktemp("kafka"),
        KAFKA_CLUSTER_ID="MkU3OEVBNTcwNTJENDM2Qk",
        KAFKA_AGENCY_HOST="kafka.example.gov.cn",
    )
    assert [c.tool for c in calls] == ["kafka-storage.sh", "kafka-server-start.sh"]
    (config,) = calls[0].files.values()
    assert config == (run / "server.properties").read_text()
    return load_properties(config), run


def _listeners(props: dict[str, str]) -> dict[str, str]:
    """Listener name -> security protocol."""
    protocols = dict(p.split(":") for p in props["listener.security.protocol.map"].split(","))
    names = [item.split("://")[0] for item in props["listeners"].split(",")]
    return {name: protocols[name] for name in names}


def _mechanisms(props: dict[str, str], listener: str) -> list[str]:
    default = props.get("sasl.enabled.mechanisms", "GSSAPI")
    return props.get(f"listener.name.{listener.lower()}.sasl.enabled.mechanisms", default).split(
        ","
    )


def _login(props: dict[str, str], listener: str, mechanism: str) -> dict[str, str]:
    """The options of a listener's JAAS entry for one mechanism."""
    key = f"listener.name.{listener.lower()}.{mechanism.lower()}.sasl.jaas.config"
    assert key in props, f"no JAAS entry {key}: Kafka would abort at start"
    return jaas_options(props[key])[2]


def test_every_sasl_listener_has_a_jaas_entry_for_each_mechanism(broker_config):
    props, _ = broker_config
    listeners = _listeners(props)
    assert set(listeners) == {"INTERNAL", "CONTROLLER", "AGENCY"}
    for listener, protocol in listeners.items():
        assert protocol.startswith("SASL_"), f"{listener} does not authenticate"
        for mechanism in _mechanisms(props, listener):
            _login(props, listener, mechanism)
    assert _mechanisms(props, "AGENCY") == ["SCRAM-SHA-512"]


@pytest.mark.parametrize(
    ("listener_key", "mechanism_key"),
    [
        ("controller.listener.names", "sasl.mechanism.controller.protocol"),
        ("inter.broker.listener.name", "sasl.mechanism.inter.broker.protocol"),
    ],
)
def test_the_broker_logs_in_as_a_super_user(broker_config, listener_key, mechanism_key):
    """The broker registers with its controller (CLUSTER_ACTION, ControllerApis) and talks to
    itself as this login; StandardAuthorizer exempts super users only."""
    props, _ = broker_config
    listener, mechanism = props[listener_key], props[mechanism_key]
    assert mechanism in _mechanisms(props, listener)
    login = _login(props, listener, mechanism)
    principal = f"User:{login['username']}"
    assert principal in props["super.users"].split(";")
    assert login["password"] == SECRETS["kafka_admin_password"]
    if mechanism == "PLAIN":  # the server side of the same entry knows the same password
        assert login[f"user_{login['username']}"] == login["password"]
    assert props["allow.everyone.if.no.acl.found"] == "false"


def test_the_kafka_health_check_is_a_request_with_the_admin_login(stack, broker_config):
    props, run = broker_config
    check = stack["services"]["kafka"]["healthcheck"]["test"]
    assert "/dev/tcp" not in " ".join(check)
    assert check[1].startswith("/opt/kafka/bin/kafka-")
    config = check[check.index("--command-config") + 1]
    assert config == "/tmp/" + "admin.properties"  # start.sh's run folder, /tmp by default
    assert 'run="${KAFKA_RUN_DIR:-/tmp}"' in (ROOT / "deploy/kafka/start.sh").read_text()
    client = load_properties((run / "admin.properties").read_text())
    assert client["sasl.mechanism"] in _mechanisms(props, "INTERNAL")
    assert (
        jaas_options(client["sasl.jaas.config"])[2]["password"] == SECRETS["kafka_admin_password"]
    )
    assert check[check.index("--bootstrap-server") + 1] == "kafka:9092"


def test_scram_credential_files_are_in_the_format_kafka_configs_reads(tmp_path):
    calls, _ = run_script("agencies.sh", tmp_path)
    users = [c for c in calls if c.tool == "kafka-configs.sh"]
    assert {c.args[c.args.index("--entity-name") + 1] for c in users} == {
        "envwatch",
        "agency-air",
        "agency-water",
        "agency-energy",
    }
    for call in users:
        user = call.args[call.args.index("--entity-name") + 1]
        secret = (
            "kafka_pipeline_password"
            if user == "envwatch"
            else f"{user.replace('-', '_')}_password"
        )
        file = Path(call.args[call.args.index("--add-config-file") + 1]).name
        props = load_properties(call.files[file])
        assert list(props) == ["SCRAM-SHA-512"]
        match = SCRAM_PATTERN.fullmatch(props["SCRAM-SHA-512"])
        assert match, props
        assert int(match[1] or 4096) >= 4096  # SCRAM-SHA-512's minimum
        assert match[2] == SECRETS[secret], user
        admin = load_properties(call.files["admin.properties"])
        assert (
            jaas_options(admin["sasl.jaas.config"])[2]["password"]
            == SECRETS["kafka_admin_password"]
        )


# --- each service gets only what it uses ----------------------------------------------------


def _module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _sources(command: str) -> str:
    """The source of a subcommand's module and every project module it imports, however deep
    (imports inside functions too); the settings and the error boundary, which name every
    setting, are left out."""
    seen: set[Path] = set()
    todo = [f"envwatch.commands.{command}"]
    texts = []
    while todo:
        path = _module_file(todo.pop())
        if path is None or path in seen:
            continue
        seen.add(path)
        text = path.read_text()
        texts.append(text)
        for node in ast.walk(ast.parse(text)):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            todo += [n for n in names if n.split(".")[0] in PROJECT]
    skipped = {ROOT / "streams/settings.py", ROOT / "envwatch/failures.py"}
    return "\n".join(t for p, t in zip(sorted(seen), texts, strict=False) if p not in skipped)


def _readers() -> dict[str, set[str]]:
    """Setting field -> the names that read it: itself, and the Settings members using it."""
    tree = ast.parse((ROOT / "streams/settings.py").read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings"]
    uses = {
        f.name: {
            n.attr
            for n in ast.walk(f)
            if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name)
            and n.value.id == "self"
        }
        for f in cls.body
        if isinstance(f, ast.FunctionDef)
    }
    readers = {name: {name} for name in Settings.model_fields}
    changed = True
    while changed:  # members that use members that use a field read it too
        changed = False
        for member, used in uses.items():
            for names in readers.values():
                if used & names and member not in names:
                    names.add(member)
                    changed = True
    return readers


def _setting(variable: str) -> str | None:
    """The setting an ENVWATCH_ variable sets (its _FILE form for a secret), or None."""
    name = variable.removeprefix(PREFIX).lower()
    fields = Settings.model_fields
    if name in fields:
        return name
    base = name.removesuffix("_file")
    if base != name and base in fields and fields[base].annotation is SecretStr:
        return base
    return None


def _envwatch_services(stack: dict) -> Iterator[tuple[str, dict]]:
    for name, service in stack["services"].items():
        if service.get("image", "").startswith("envwatch:"):
            yield name, service


def test_each_envwatch_service_gets_only_the_settings_its_command_reads(stack):
    readers = _readers()
    for name, service in _envwatch_services(stack):
        command = service["command"][0]
        source = _sources(command)
        for variable in service.get("environment") or {}:
            setting = _setting(variable)
            assert setting, f"{name}: {variable} is no setting"
            read = any(re.search(rf"\.{member}\b", source) for member in readers[setting])
            assert read, f"{name} ({command}) is given {variable} but never reads {setting}"


def _what_it_reads(service: dict) -> str:
    """A service's settings and the files it mounts, with a script's `for feed in ...` loops
    spelt out (agency_${feed}_password)."""
    texts = [str(v) for v in (service.get("environment") or {}).values()]
    for volume in service.get("volumes", []):
        source = ROOT / volume.split(":")[0]
        if volume.startswith("./"):
            files = source.rglob("*") if source.is_dir() else [source]
            texts += [f.read_text() for f in files if f.is_file()]
    text = "\n".join(texts)
    for feeds in re.findall(r"for feed in ([\w ]+);", text):
        text += "".join(f"\n{text}".replace("${feed}", feed) for feed in feeds.split())
    return text


def test_each_service_mounts_exactly_the_secrets_it_reads(stack):
    declared = set(stack["secrets"])
    for name, service in stack["services"].items():
        mounted = set(service.get("secrets", []))
        text = _what_it_reads(service)
        referenced = {secret for secret in declared if re.search(rf"\b{secret}\b", text)}
        assert mounted == referenced, (name, mounted ^ referenced)
        # every secret file it opens is one it mounts (a misspelt name would be no file)
        assert set(SECRET_PATH.findall(text)) <= mounted, (name, SECRET_PATH.findall(text))
        assert mounted <= declared, name


def test_each_other_service_gets_only_variables_its_files_or_image_read(stack):
    for name, service in stack["services"].items():
        if service.get("image", "").startswith("envwatch:"):
            continue
        image = service["image"].split(":")[0]
        mounted = "\n".join(
            (ROOT / v.split(":")[0]).read_text()
            for v in service.get("volumes", [])
            if v.startswith("./") and (ROOT / v.split(":")[0]).is_file()
        )
        for variable in service.get("environment") or {}:
            read = variable in IMAGE_INPUTS.get(image, set()) or f"{{{variable}" in mounted
            assert read, f"{name} is given {variable}, which nothing it runs reads"


# --- start-up order and the links staff open ------------------------------------------------


def test_the_workers_and_the_relay_start_once_the_schema_is_migrated(stack):
    """The relay records acknowledgements in alert_history, as the workers write readings."""
    for name in ("worker-1", "worker-2", "notify"):
        after = stack["services"][name]["depends_on"]["migrate"]
        assert after == {"condition": "service_completed_successfully"}, name


def test_topics_are_made_before_workers_and_simulator_start(stack):
    services = stack["services"]
    assert services["topics"]["command"] == ["topics"]
    for name in ("worker-1", "worker-2", "simulator"):
        after = services[name]["depends_on"]["topics"]
        assert after == {"condition": "service_completed_successfully"}, name
        assert services[name]["command"] != ["topics"]
    assert services["topics"]["depends_on"]["kafka-setup"]["condition"] == (
        "service_completed_successfully"
    )


def test_database_health_is_checked_over_tcp_and_migrate_waits(stack):
    check = stack["services"]["timescaledb"]["healthcheck"]["test"]
    assert check[:2] == ["CMD", "pg_isready"] and check[check.index("-h") + 1] == "127.0.0.1"
    migrate = stack["services"]["migrate"]["command"]
    assert migrate[0] == "migrate" and float(migrate[migrate.index("--wait") + 1]) >= 30


def test_links_in_notifications_start_with_the_public_urls(stack):
    notify = stack["services"]["notify"]["environment"]
    assert notify["ENVWATCH_GRAFANA_URL"].startswith("${GRAFANA_PUBLIC_URL")
    assert stack["services"]["grafana"]["environment"]["GF_SERVER_ROOT_URL"].startswith(
        "${GRAFANA_PUBLIC_URL"
    )
    assert EXAMPLE["GRAFANA_PUBLIC_URL"].startswith("https://")
    assert "grafana:3000" not in EXAMPLE["GRAFANA_PUBLIC_URL"]
    # the archive receiver (channel=json) goes to the relay's fallback URL: set, or no start
    assert notify["ENVWATCH_NOTIFY_FALLBACK_URL"].startswith("${ENVWATCH_NOTIFY_FALLBACK_URL:?")
    assert EXAMPLE["ENVWATCH_NOTIFY_FALLBACK_URL"].startswith("https://")
    # acknowledge links (the relay behind the bureau's proxy) and runbook links: set, or no start
    for variable in ("ENVWATCH_NOTIFY_PUBLIC_URL", "ENVWATCH_RUNBOOK_URL"):
        assert notify[variable].startswith(f"${{{variable}:?"), variable
        assert EXAMPLE[variable].startswith("https://"), variable
        assert urlparse(EXAMPLE[variable]).hostname not in stack["services"], variable


def test_prometheus_scrapes_both_workers_and_loads_the_mounted_rules(stack):
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


# --- the relay: acknowledgement and escalation ----------------------------------------------


def test_the_relay_gets_acknowledgement_from_the_stacks_settings(resolved, monkeypatch):
    """The relay's settings as compose resolves them, loaded as `envwatch notify` loads them:
    acknowledgement is on, as the writer role, with the token, robots and links of the stack."""
    stack, secrets = resolved
    for variable in [v for v in os.environ if v.startswith(PREFIX)]:
        monkeypatch.delenv(variable)
    for variable, value in _relay_environment(resolved).items():
        monkeypatch.setenv(variable, value)
    robots = {"supervisor": "https://qyapi.example/s", "director": "https://qyapi.example/d"}
    for filled in ({}, robots):  # as deploy/secrets.sh made the file (empty), then filled in
        (secrets / "notify_robots").write_text(json.dumps(filled) if filled else "")
        settings = load_settings()
        config = config_from_settings(settings)
        assert config.acks is not None, "acknowledgement off: no database for the relay"
        assert dict(config.robots) == filled
    assert config.token == (secrets / "notify_token").read_text()
    assert config.dingtalk_app_secret == ""  # the chat command is off until its secret is set
    database = conninfo_to_dict(settings.database_conninfo)
    assert database["user"] == "envwatch_writer"
    assert database["password"] == (secrets / "db_writer_password").read_text()
    assert database["host"] in stack["services"]
    alertmanager = urlparse(config.alertmanager_url)
    published = {p.rsplit(":", 1)[1] for p in PUBLISHED["alertmanager"]}
    assert alertmanager.hostname == "alertmanager" and str(alertmanager.port) in published
    assert config.links.relay == EXAMPLE["ENVWATCH_NOTIFY_PUBLIC_URL"]
    assert config.links.runbook == EXAMPLE["ENVWATCH_RUNBOOK_URL"]
    assert config.links.grafana == EXAMPLE["GRAFANA_PUBLIC_URL"]


def test_the_relay_is_reached_at_one_port_with_one_token(stack):
    """Alertmanager's webhooks, Prometheus's scrape, the proxy's port and the health check all
    go to the port the relay listens on, and both callers send the token the relay reads."""
    port = _relay_port(stack)
    relay = stack["services"]["notify"]
    token = relay["environment"][f"{PREFIX}NOTIFY_TOKEN_FILE"]
    routing = yaml.safe_load((ROOT / "alerts/alertmanager.yml").read_text())
    webhooks = [w for r in routing["receivers"] for w in r.get("webhook_configs", [])]
    to_relay = [w for w in webhooks if urlparse(w["url"]).hostname == "notify"]
    assert to_relay, "no webhook goes to the relay"
    for webhook in to_relay:
        assert urlparse(webhook["url"]).port == port, webhook["url"]
        assert webhook["http_config"]["authorization"] == {"credentials_file": token}
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "envwatch-notify"]
    assert job["static_configs"] == [{"targets": [f"notify:{port}"]}]
    assert job["authorization"] == {"credentials_file": token}
    assert "notify_token" in stack["services"]["prometheus"]["secrets"]
    assert {p.rsplit(":", 1)[1] for p in relay["ports"]} == {str(port)}
    assert f"'127.0.0.1', {port}" in " ".join(relay["healthcheck"]["test"])


def _get(url: str, token: str = "") -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
        return r.read().decode()


@pytest.fixture
def prometheus(tmp_path) -> Iterator[Callable[[str], str]]:
    """``start(config_text)``: a real Prometheus on that configuration; its address."""
    started: list[subprocess.Popen[bytes]] = []

    def start(text: str) -> str:
        config, port = tmp_path / "prometheus.yml", free_port()
        config.write_text(text)
        started.append(
            subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=(tmp_path / "prometheus.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return bool(_get(f"{url}/-/ready"))
            except OSError:
                return False

        wait_until(ready, 30, "Prometheus to be ready")
        return url

    yield start
    for process in started:
        stop_process(process)


def _query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = json.loads(_get(f"{prometheus}/api/v1/query?query={quote(expr)}"))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_prometheus_scrapes_the_relay_with_the_token_file_and_the_rules_read_its_series(
    resolved, start_relay, prometheus
):
    """The shipped prometheus.yml, with only the addresses, the token file's place and the
    intervals changed, scrapes a relay started with the stack's settings (the database and
    Alertmanager left out: scraping needs neither); the same job without the token is
    refused. The escalation rules, loaded as compose mounts them, evaluate over its series."""
    stack, secrets = resolved
    env: dict[str, str | None] = dict(_relay_environment(resolved))
    for unused in ("DATABASE_URL", "DATABASE_PASSWORD_FILE", "ALERTMANAGER_URL"):
        env[f"{PREFIX}{unused}"] = None
    # the token from its file only, as in the stack (not the test relays' own)
    env |= {f"{PREFIX}NOTIFY_TOKEN": None, f"{PREFIX}PUBLIC_GRAFANA_URL": None}
    relay = start_relay(**(env | {f"{PREFIX}NOTIFY_HOST": "127.0.0.1"}))
    token_file = secrets / "notify_token"

    exported = set(
        re.findall(r"^# TYPE (\w+)", _get(f"{relay}/metrics", token_file.read_text()), re.M)
    )
    read = set(re.findall(r"\benvwatch_\w+", (ROOT / "alerts/rules/escalation.yml").read_text()))
    assert read and read <= exported, read - exported

    text = (ROOT / "deploy/prometheus/prometheus.yml").read_text()
    text = text.replace(f"notify:{_relay_port(stack)}", relay.removeprefix("http://"))
    text = text.replace("/run/secrets/notify_token", str(token_file))
    text = text.replace("/etc/prometheus/rules", str(ROOT / "alerts/rules"))  # compose's mount
    text = re.sub(r"(scrape|evaluation)_interval: \S+", r"\1_interval: 1s", text)
    config = yaml.safe_load(text)
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "envwatch-notify"]
    unauthorized = {k: v for k, v in job.items() if k != "authorization"}
    config["scrape_configs"].append(unauthorized | {"job_name": "without-token"})
    url = prometheus(json.dumps(config))

    def scraped() -> dict[str, str]:
        return {r["metric"]["job"]: r["value"][1] for r in _query(url, "up")}

    wait_until(lambda: {"envwatch-notify", "without-token"} <= set(scraped()), 30, "scrapes")
    assert scraped()["envwatch-notify"] == "1" and scraped()["without-token"] == "0"
    targets = json.loads(_get(f"{url}/api/v1/targets"))["data"]["activeTargets"]
    refused = [t for t in targets if t["labels"]["job"] == "without-token"]
    assert "401" in refused[0]["lastError"], refused
    waits = _query(url, 'envwatch_escalation_after_seconds{job="envwatch-notify"}')
    assert {(w["metric"]["severity"], w["metric"]["level"]) for w in waits} >= {
        ("critical", "1"),
        ("critical", "2"),
    }

    def evaluated() -> list[dict[str, Any]]:
        """The escalation rules, once each has been evaluated (never: year 0001)."""
        groups = json.loads(_get(f"{url}/api/v1/rules"))["data"]["groups"]
        (escalation,) = [g for g in groups if g["name"] == "envwatch-escalation"]
        rules = escalation["rules"]
        return [] if any(r["lastEvaluation"].startswith("0001") for r in rules) else rules

    for rule in wait_until(evaluated, 30, "the escalation rules' evaluation"):
        assert rule["health"] == "ok", rule
