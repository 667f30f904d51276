"""The gateway's answers to a logger, built byte for byte as HJ 212-2017 appendix C shows them."""

from __future__ import annotations

from schemas.hj212.frame import encode
from schemas.hj212.segment import Packet, render

DATA_REPLY = "9014"  # 数据应答: the platform received the data
REPLY_SYSTEM = "91"  # 系统交互
REPLY_FLAG = 4  # HJ 212-2017 (version 1), no answer requested


def data_reply(packet: Packet) -> bytes:
    """``QN=<its QN>;ST=91;CN=9014;PW=<its PW>;MN=<its MN>;Flag=4;CP=&&&&`` in a packet.

    Table C.14: the reply echoes the request's QN, PW and MN; a packet without QN (allowed
    for HJ/T 212-2005 loggers) gets a reply without one.
    """
    reply = Packet(
        qn=packet.qn, st=REPLY_SYSTEM, cn=DATA_REPLY, pw=packet.pw, mn=packet.mn, flag=REPLY_FLAG
    )
    return encode(render(reply))
