"""Names the assessment shares: the two bases, the periods, and the city's own site id."""

from __future__ import annotations

from typing import Literal

CITY = "city"  # the site id (and scope) the city-wide figures are filed under
Period = Literal["month", "year"]
Basis = Literal["realtime", "audited"]
# realtime: every stored value; audited: only the rows whose status is "audited" (审核数据),
# the data the bureau is assessed on.
BASES: tuple[Basis, ...] = ("realtime", "audited")
