"""Field types the feed contracts share: site ids, timestamps, measured quantities, flags,
the data's status.

Bounds on a quantity are its physical range (what an instrument can honestly report); values
inside it that break a standard are judged later, never rejected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from msgspec import Meta

SiteId = Annotated[
    str,
    Meta(min_length=1, max_length=64, description="Site id from the city's reference register"),
]
Timestamp = Annotated[
    datetime,
    Meta(tz=True, description="RFC 3339 timestamp with offset, e.g. 2026-11-28T08:00:00+08:00"),
]
Flags = Annotated[
    dict[str, str],
    Meta(description="Data flag per parameter (wire name -> HJ 212 flag, e.g. N valid)"),
]

# The national practice publishes real-time data first and audited data later: an audited
# reading replaces the stored one of its site and time (README, Storage: re-sent readings).
PRELIMINARY: Final = "preliminary"
AUDITED: Final = "audited"
Status = Annotated[
    Literal["preliminary", "audited"],
    Meta(
        description="preliminary (real-time data, the default) or audited: an audited reading "
        "replaces the stored reading of its site and time, which is kept as a revision"
    ),
]


def quantity(lo: float, hi: float, unit: str, what: str) -> Any:
    """A measured quantity: a float within its physical range, documented in the schema."""
    return Annotated[float, Meta(ge=lo, le=hi, description=f"{what} ({unit})")]


Ug = quantity(0, 5000, "µg/m³", "concentration")
Mg = quantity(0, 200, "mg/m³", "concentration")
