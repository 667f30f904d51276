"""HJ 212 data flags, as data (``flags.toml``): which flags make a value valid.

A value without a flag is valid, as one flagged ``N`` is.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import NamedTuple

_FILE = Path(__file__).with_name("flags.toml")


class Flag(NamedTuple):
    code: str
    valid: bool
    service: bool  # the analyser is being worked on (maintenance, calibration)
    meaning: str


def _load() -> dict[str, Flag]:
    with _FILE.open("rb") as fh:
        rows = tomllib.load(fh)["flags"]
    return {
        code: Flag(code, row["valid"], row["service"], row["meaning"]) for code, row in rows.items()
    }


FLAGS = _load()
VALID = frozenset(code for code, flag in FLAGS.items() if flag.valid)
SERVICE = frozenset(code for code, flag in FLAGS.items() if flag.service)
KNOWN = ", ".join(f"{code} ({flag.meaning})" for code, flag in FLAGS.items())
