"""What a failed command says: one line naming what failed and what to check.

The command line (:func:`envwatch.cli.main`) is the one boundary: commands let errors rise,
and :func:`explain` turns the kinds a user can fix (a broker or database that cannot be
reached or refuses the credentials, a Grafana that does not answer, a missing file, a bad
register or setting, a port in use) into that line. Anything else is named in one line too,
as unexpected; ``-v`` shows the traceback. No secret of the settings reaches the line.

The client libraries are looked up among the modules already imported: an error can only be
one of theirs if the command loaded them, so the command line never imports them itself.
"""

from __future__ import annotations

import errno
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pydantic import SecretStr

from streams.settings import Settings

Explainer = Callable[[BaseException, Settings | None], str]


class NotConfiguredError(Exception):
    """A setting the command needs is missing; the message names it."""


DATABASE_CHECK = (
    "check the database URL and password (ENVWATCH_DATABASE_URL, ENVWATCH_DATABASE_ADMIN_URL "
    "for migrations, ENVWATCH_DATABASE_PASSWORD) and that the server is up"
)
KAFKA_CHECK = "check ENVWATCH_KAFKA_BOOTSTRAP and that the broker is up"
KAFKA_LOGIN_CHECK = (
    "check ENVWATCH_KAFKA_USERNAME, ENVWATCH_KAFKA_PASSWORD, ENVWATCH_KAFKA_SASL_MECHANISM "
    "and ENVWATCH_KAFKA_SECURITY_PROTOCOL"
)


def _class(module: str, name: str) -> type[BaseException] | None:
    found = getattr(sys.modules.get(module), name, None)
    return found if isinstance(found, type) else None


def _is(exc: BaseException, module: str, *names: str) -> bool:
    classes = tuple(c for c in (_class(module, n) for n in names) if c is not None)
    return bool(classes) and isinstance(exc, classes)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _reason(exc: BaseException) -> str:
    """The operating system's words inside a library's long message, e.g. Connection refused."""
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
    return found[1].strip() if found else _one_line(str(exc))


def _kafka(exc: BaseException, settings: Settings | None) -> str:
    where = f" at {settings.kafka_bootstrap}" if settings and settings.kafka_bootstrap else ""
    name = type(exc).__name__
    said = _one_line(str(exc)).removeprefix(f"{name}: ") or name
    if "Authentication" in name:
        return f"the Kafka broker{where} refused the login: {said}; {KAFKA_LOGIN_CHECK}"
    if "Authorization" in name:
        return (
            f"the Kafka broker{where} does not allow this principal: {said}; "
            "check its ACLs (deploy/kafka/agencies.sh)"
        )
    if name in ("KafkaTimeoutError", "NoBrokersAvailable", "KafkaConnectionError"):
        return f"cannot reach the Kafka broker{where}: {said}; {KAFKA_CHECK}"
    return f"Kafka{where}: {said}"


_CONNINFO = re.compile(r"connection (info|option)|invalid URI|missing \"=\"|invalid .* value")


def _database(exc: BaseException, settings: Settings | None) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if getattr(exc, "sqlstate", None) is None and _CONNINFO.search(first):
        # libpq repeats the text it could not parse, which may hold a password.
        return (
            "the database URL is not a connection string libpq can read "
            "(postgresql://ROLE@HOST:PORT/DATABASE; a password in it must be percent-encoded, "
            f"or given alone in ENVWATCH_DATABASE_PASSWORD); {DATABASE_CHECK}"
        )
    if _is(exc, "psycopg", "OperationalError"):
        return f"cannot connect to the database: {first}; {DATABASE_CHECK}"
    state = getattr(exc, "sqlstate", None)
    return f"the database refused: {first}" + (f" (SQLSTATE {state})" if state else "")


def _grafana(exc: BaseException, settings: Settings | None) -> str:
    status = getattr(exc, "status_code", None)
    url = settings.grafana_url if settings else "Grafana"
    if status in (401, 403):
        return (
            f"Grafana at {url} refused the token ({status}); check ENVWATCH_GRAFANA_TOKEN "
            "(a service-account token with the Editor or Admin role)"
        )
    return f"Grafana at {url} answered {status}: {_one_line(getattr(exc, 'message', exc))}"


def _http(exc: BaseException, settings: Settings | None) -> str:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) or getattr(exc, "url", None)
    where = urlsplit(str(url))._replace(path="", query="").geturl() if url else "the server"
    hint = "ENVWATCH_GRAFANA_URL" if settings and where.startswith(settings.grafana_url) else ""
    check = f"check {hint} and that the server is up" if hint else "check the URL and the server"
    return f"cannot reach {where}: {_reason(exc)}; {check}"


def _settings(exc: BaseException, settings: Settings | None) -> str:
    # The error's own text repeats the value given, which may be a secret: names and rules only.
    problems = [
        f"ENVWATCH_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
        for e in exc.errors()  # type: ignore[attr-defined]
    ]
    return "invalid setting " + "; ".join(problems)


def _os(exc: BaseException, settings: Settings | None) -> str:
    assert isinstance(exc, OSError)
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen: {exc.strerror or _reason(exc)}; another process holds the port: "
            "stop it or choose another port (ENVWATCH_METRICS_PORT, ENVWATCH_WORKER_WEB_PORT, "
            "ENVWATCH_NOTIFY_PORT, ENVWATCH_GATEWAY_PORT, ENVWATCH_GATEWAY_METRICS_PORT)"
        )
    if exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or _reason(exc)}"
    return _reason(exc)


def _register(exc: BaseException, settings: Settings | None) -> str:
    folder = settings.reference_dir if settings and settings.reference_dir else "schemas/reference"
    return f"the city's register in {folder} is invalid: {exc}; correct that row and run again"


def _process(exc: BaseException, settings: Settings | None) -> str:
    assert isinstance(exc, subprocess.CalledProcessError)
    program = str(exc.cmd[0] if isinstance(exc.cmd, list | tuple) else exc.cmd).rsplit("/", 1)[-1]
    return f"{program} failed with exit status {exc.returncode}; see the log under the state folder"


def _kinds() -> Iterable[tuple[Callable[[BaseException], bool], Explainer]]:
    """(does this error belong to the kind, its line), most specific first."""
    yield (lambda e: isinstance(e, NotConfiguredError), lambda e, s: str(e))
    yield (lambda e: _is(e, "pydantic", "ValidationError"), _settings)
    yield (lambda e: _is(e, "schemas.reference", "RegisterError"), _register)
    yield (lambda e: _is(e, "streams.push", "FileRefusedError"), lambda e, s: _one_line(str(e)))
    yield (lambda e: _is(e, "kafka.errors", "KafkaError"), _kafka)
    yield (lambda e: _is(e, "aiokafka.errors", "KafkaError"), _kafka)
    yield (lambda e: _is(e, "psycopg", "Error"), _database)
    yield (lambda e: _is(e, "grafana_client.client", "GrafanaException"), _grafana)
    yield (lambda e: _is(e, "niquests.exceptions", "RequestException"), _http)
    yield (lambda e: _is(e, "urllib.error", "URLError"), _http)
    yield (lambda e: _is(e, "aiohttp", "ClientError"), _http)
    yield (lambda e: isinstance(e, subprocess.CalledProcessError), _process)
    yield (lambda e: isinstance(e, TimeoutError) and bool(str(e)), lambda e, s: str(e))
    yield (lambda e: isinstance(e, OSError), _os)


def explain(exc: BaseException, settings: Settings | None) -> str:
    """One line for a failed command: what failed and what to check, secrets removed."""
    for belongs, line in _kinds():
        if belongs(exc):
            return scrub(line(exc, settings), settings)
    text = _one_line(str(exc)) or "(no message)"
    return scrub(
        f"unexpected error: {type(exc).__name__}: {text} (run with -v to see where)", settings
    )


def secrets_of(settings: Settings) -> set[str]:
    """Every secret value of the settings, and the password inside each secret URL."""
    found: set[str] = set()
    for name in type(settings).model_fields:
        value: Any = getattr(settings, name)
        if not isinstance(value, SecretStr) or not value.get_secret_value():
            continue
        text = value.get_secret_value()
        found.add(text)
        try:
            password = urlsplit(text).password
        except ValueError:
            password = None
        if password:
            found |= {password, unquote(password), quote(unquote(password), safe="")}
    return {s for s in found if len(s) >= 3}


def scrub(text: str, settings: Settings | None) -> str:
    if settings is None:
        return text
    for secret in sorted(secrets_of(settings), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
