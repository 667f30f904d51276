"""Packets as a data logger sends them, for the protocol and gateway tests."""

from __future__ import annotations

from datetime import datetime

from schemas.hj212.frame import encode
from schemas.hj212.segment import Factor, Packet, render

WORKED = (
    b"##0285QN=20190925181031464;ST=22;CN=2061;PW=BF470F88957588DE902D1A52;"
    b"MN=Z13401000010301;Flag=5;CP=&&DataTime=20190924220000;a34006-Avg=2.69700,"
    b"a34006-Flag=N;a34007-Avg=7.96600,a34007-Flag=N;a34048-Avg=3.30600,a34048-Flag=N;"
    b"a34047-Avg=7.35700,a34047-Flag=N;a34049-Avg=10.66300,a34049-Flag=N&&C181\r\n"
)


def data_packet(
    mn: str,
    pw: str,
    cn: str,
    data_time: datetime,
    values: dict[str, float],
    *,
    flag: int = 5,
    st: str = "22",
    data_flag: str = "N",
    qn: str | None = None,
) -> Packet:
    """A data upload: -Rtd values for real-time data (2011), -Avg/-Min/-Max otherwise."""
    factors = {
        code: (
            Factor(rtd=value, flag=data_flag)
            if cn == "2011"
            else Factor(avg=value, min=value, max=value, flag=data_flag)
        )
        for code, value in values.items()
    }
    return Packet(
        qn=qn or f"{data_time:%Y%m%d%H%M%S}000",
        st=st,
        cn=cn,
        pw=pw,
        mn=mn,
        flag=flag,
        data_time=data_time,
        factors=factors,
    )


def wire(packet: Packet) -> bytes:
    return encode(render(packet))
