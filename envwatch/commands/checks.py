"""One-off checks for staff and agencies: ``envwatch aqi`` and ``envwatch water-class``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Placeholder until the standards layer lands; keeps ``envwatch`` importable."""
    del sub
