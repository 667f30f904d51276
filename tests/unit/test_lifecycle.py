"""The alert lifecycle: fires once, holds, resolves with hysteresis."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alerts.lifecycle import AlertState, Observation, step

BREACH = Observation(breach=True, clear=False, value=150, limit=100)
BAND = Observation(breach=False, clear=False, value=95, limit=100)  # between clear and breach
CLEAR = Observation(breach=False, clear=True, value=60, limit=100)


def run(observations, for_s=3600.0, clear_s=3600.0, every=3600.0):
    state, transitions = AlertState(), []
    for i, obs in enumerate(observations):
        state, transition = step(state, obs, i * every, for_s, clear_s)
        transitions.append(transition)
    return state, transitions


def test_fires_after_the_condition_held_for_the_sustain_time():
    state, transitions = run([BREACH, BREACH, BREACH])
    assert transitions == [None, "firing", None]
    assert state.status == "firing" and state.since == 0.0


def test_a_single_breach_does_not_fire():
    state, transitions = run([BREACH, CLEAR, BREACH, CLEAR])
    assert transitions == [None] * 4 and state.status == "ok"


def test_zero_sustain_fires_at_once_and_clears_at_once():
    _, transitions = run([BREACH, BREACH, CLEAR], for_s=0, clear_s=0)
    assert transitions == ["firing", None, "resolved"]


def test_value_in_the_hysteresis_band_keeps_it_firing():
    state, transitions = run([BREACH, BREACH, BAND, BAND, BAND])
    assert transitions == [None, "firing", None, None, None]
    assert state.status == "firing"


def test_resolves_only_after_clear_for_the_clear_time():
    _, transitions = run([BREACH, BREACH, CLEAR, BREACH, CLEAR, CLEAR])
    assert transitions == [None, "firing", None, None, None, "resolved"]


def test_state_survives_serialisation():
    import msgspec

    state, _ = run([BREACH, BREACH])
    again = msgspec.msgpack.decode(msgspec.msgpack.encode(state), type=AlertState)
    assert again == state


@given(
    st.lists(st.sampled_from([BREACH, BAND, CLEAR]), max_size=60),
    st.sampled_from([0.0, 3600.0, 7200.0]),
    st.sampled_from([0.0, 3600.0]),
)
def test_transitions_alternate_and_never_repeat(observations, for_s, clear_s):
    _, transitions = run(observations, for_s, clear_s)
    made = [t for t in transitions if t is not None]
    assert made == ["firing", "resolved"] * (len(made) // 2) + ["firing"] * (len(made) % 2)


@given(st.lists(st.sampled_from([BREACH, BAND, CLEAR]), max_size=60))
def test_never_fires_without_a_breach_held_for_the_sustain_time(observations):
    _, transitions = run(observations, for_s=7200.0)
    for i, transition in enumerate(transitions):
        if transition == "firing":
            assert observations[i - 2 : i + 1] == [BREACH] * 3
