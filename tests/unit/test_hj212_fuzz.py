"""Property tests of the HJ 212 parser over generated and mutated packets (over 15,000).

Whatever arrives, the splitter returns frames and typed errors that account for every byte,
the parser returns a packet or raises its own error and nothing else, and neither hangs (each
example has a deadline).
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.hj212.errors import Hj212Error
from schemas.hj212.frame import Frame, FrameSplitter, encode
from schemas.hj212.segment import BEIJING, Factor, Packet, parse, render
from tests.support.hj212 import WORKED

FAST = {"deadline": timedelta(seconds=2), "suppress_health_check": [HealthCheck.too_slow]}
codes = st.sampled_from(["a34004", "a21026", "a21005", "w01001", "w01018", "w20111", "x12345"])
numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda v: round(v, 4))
tokens = st.text("0123456789ABCDEFabcdef", min_size=1, max_size=24)
factors = st.builds(
    Factor,
    rtd=st.none() | numbers,
    avg=st.none() | numbers,
    min=st.none() | numbers,
    max=st.none() | numbers,
    cou=st.none() | numbers,
    flag=st.none() | st.sampled_from("NSFMDCTB"),
).filter(lambda f: f.flag is not None or any(v is not None for v in (f.rtd, f.avg, f.cou)))
packets = st.builds(
    Packet,
    qn=st.none() | st.integers(10**16, 10**17 - 1).map(str),
    st=st.sampled_from(["21", "22", "31", "32", "91"]),
    cn=st.sampled_from(["2011", "2051", "2061", "2031", "9014", "2081"]),
    pw=tokens,
    mn=tokens,
    flag=st.integers(0, 255),
    data_time=st.none()
    | st.datetimes(datetime(2000, 1, 1), datetime(2099, 1, 1)).map(
        lambda t: t.replace(microsecond=0, tzinfo=BEIJING)
    ),
    factors=st.dictionaries(codes, factors, max_size=5),
)


def split_all(data: bytes, cuts: list[int], max_segment: int = 1024) -> list[Frame | Hj212Error]:
    splitter = FrameSplitter(max_segment)
    out: list[Frame | Hj212Error] = []
    edges = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    for a, b in itertools.pairwise(edges):
        out += splitter.feed(data[a:b])
    out += splitter.close()
    assert splitter.pending == 0
    return out


def check(data: bytes, cuts: list[int], max_segment: int = 1024) -> list[Frame | Hj212Error]:
    out = split_all(data, cuts, max_segment)
    assert all(isinstance(item, Frame | Hj212Error) for item in out)
    assert b"".join(item.raw for item in out) == data  # every byte accounted for, in order
    for item in out:
        if isinstance(item, Frame):
            try:
                parse(item.segment)
            except Hj212Error as e:
                assert e.reason
    return out


@settings(max_examples=1000, **FAST)
@given(packets)
def test_render_parse_round_trip(packet):
    assert parse(render(packet)) == packet


@settings(max_examples=500, **FAST)  # about 1,250 packets
@given(st.lists(packets, min_size=1, max_size=4), st.lists(st.integers(0, 10**4), max_size=30))
def test_concatenated_packets_in_any_reads_come_back_whole(batch, cuts):
    wires = [encode(render(p)) for p in batch]
    out = check(b"".join(wires), cuts, max_segment=9999)
    assert [item.raw for item in out] == wires


MUTATED_PER_EXAMPLE = 8
CODES = ("a34004", "a21026", "a21005", "w01001", "w01018", "w20111", "x12345")


def random_wire(rnd: random.Random) -> bytes:
    """A valid data packet drawn cheaply (hypothesis supplies and replays the seed)."""
    if rnd.random() < 0.1:
        return WORKED
    factors = {
        code: Factor(avg=round(rnd.uniform(-10, 1000), rnd.randint(0, 5)), flag=rnd.choice("NSFD"))
        for code in rnd.sample(CODES, rnd.randint(0, 4))
    }
    packet = Packet(
        qn=str(rnd.randint(10**16, 10**17 - 1)),
        st=rnd.choice(["21", "22", "32"]),
        cn=rnd.choice(["2011", "2051", "2061", "2031"]),
        pw=f"{rnd.getrandbits(32):X}",
        mn=f"{rnd.getrandbits(96):024X}",
        flag=rnd.choice([4, 5, 7]),
        data_time=datetime(2026, 1, 1, tzinfo=BEIJING) + timedelta(minutes=rnd.randint(0, 10**6)),
        factors=factors,
    )
    return encode(render(packet))


def mutate(rnd: random.Random, data: bytes) -> bytes:
    """Flip, insert, delete and truncate bytes, one to four times."""
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        at = rnd.randint(0, len(buf))
        kind = rnd.choice(("flip", "insert", "delete", "truncate", "special"))
        if kind == "flip" and at < len(buf):
            buf[at] = rnd.randint(0, 255)
        elif kind == "insert":
            buf[at:at] = rnd.randbytes(rnd.randint(1, 8))
        elif kind == "delete":
            del buf[at : at + rnd.randint(1, 20)]
        elif kind == "truncate":
            del buf[at:]
        elif kind == "special":  # the bytes that steer the splitter and the parser
            buf[at:at] = rnd.choice([b"#", b"##", b"\r\n", b"\r", b";", b"=", b"&&", b",", b"-"])
    return bytes(buf)


@settings(max_examples=1500, **FAST)  # 12,000 mutated packets
@given(
    st.randoms(use_true_random=False),
    st.lists(st.integers(0, 10**4), max_size=20),
    st.sampled_from([64, 300, 1024]),
)
def test_mutated_packets_never_raise_and_lose_nothing(rnd, cuts, max_segment):
    data = b"".join(mutate(rnd, random_wire(rnd)) for _ in range(MUTATED_PER_EXAMPLE))
    check(data, cuts, max_segment)


@settings(max_examples=500, **FAST)
@given(st.binary(max_size=3000), st.lists(st.integers(0, 10**4), max_size=20))
def test_arbitrary_bytes_never_raise(data, cuts):
    check(data, cuts, 256)
