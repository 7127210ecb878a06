"""Short chaos scenarios on one local stack (see babelroom.dev.chaos): real speech in real time, a fault
in the middle, and no final may be lost, left unstored or duplicated."""

import asyncio
from pathlib import Path

import numpy as np
import pytest

from babelroom.audio.pcm import decode_file
from babelroom.dev import chaos
from babelroom.dev.devstack import LocalStack

DATA = Path(__file__).resolve().parents[1] / "data" / "speech"
PAUSE = np.zeros(16000, np.float32)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """20 s of speech, 5 segments."""
    return np.concatenate([decode_file(DATA / "jfk.flac"), PAUSE, decode_file(DATA / "LJ001-0002.wav"), PAUSE])


@pytest.fixture(scope="module")
def stack(project_state_dir):
    with LocalStack(state_dir=project_state_dir("chaos"), stt_workers=2, mt_workers=1) as s:
        yield s


def play(stack: LocalStack, clip: np.ndarray, scenario: chaos.Scenario) -> chaos.Result:
    result = asyncio.run(chaos.run_scenario(stack, scenario, clip))
    assert result.expected >= 3, result  # a segment cut by a reconnect may not be accepted
    return result


def test_stt_workers_killed_while_holding_entries_lose_no_final(stack, clip):
    result = play(stack, clip, chaos.Scenario("stt-kill", "2 kills", chaos.stt_kills(2, every_s=5, first_s=3)))
    assert (result.lost, result.unsaved, result.duplicated) == (0, 0, 0), result
    assert any(not f["what"].endswith("holding 0") for f in result.faults), result.faults
    assert result.passed, result


def test_a_redis_restart_with_its_aof_loses_no_final(stack, clip):
    result = play(stack, clip, chaos.Scenario("redis-aof", "restart", chaos.redis_restart(True, at_s=5)))
    assert (result.lost, result.unsaved, result.duplicated) == (0, 0, 0), result
    assert result.passed, result


def test_postgres_stopped_for_30_s_loses_no_stored_final(stack, clip):
    result = play(stack, clip, chaos.Scenario("pg-30", "pg", chaos.postgres_stop(30, at_s=3), recovery="stored"))
    assert (result.lost, result.unsaved, result.duplicated) == (0, 0, 0), result
    assert result.passed, result
