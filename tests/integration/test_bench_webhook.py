"""The webhook benchmark's core at a tiny size: every acknowledged delivery got its replies.

A correctness check of what ``python -m bench.webhook`` measures, never a timing check:
crmbot served in a child process, Rocket.Chat's webhook bodies over loopback, the notifier
paused and then delivering to the fake Rocket.Chat, on both backends.
"""

from __future__ import annotations

from pathlib import Path

from bench.webhook_phase import Load, crmbot_phases, dialog_workload, read_workload
from tests.databases import TestDatabase

PARTICIPANTS = 4


def _sent(phase: dict[str, dict[str, int]]) -> int:
    return phase["peak"]["messages"] + phase["half"]["messages"]


async def test_every_acknowledged_delivery_is_recorded_and_its_replies_reach_rocketchat(
    database: TestDatabase, tmp_path: Path
) -> None:
    await database.engine.dispose()  # the server process is the one writing now
    workloads = (read_workload(2 * PARTICIPANTS), dialog_workload())
    load = Load(participants=PARTICIPANTS, seconds=0.2, concurrency=2)

    # crmbot_phases raises unless every acknowledged message was recorded once, its
    # replies were queued, and each of them was posted to its room in the fake.
    results = await crmbot_phases(database.url, tmp_path / "files", workloads, load)

    openings = sum(2 * PARTICIPANTS * workload.opening for workload in workloads)
    measured = sum(_sent(results[w.name][mode]) for w in workloads for mode in ("acks", "e2e"))
    assert results["checked"]["acknowledged"] == openings + measured
    # One reply per message, and `agregar compra` (once per dialog participant) gets two.
    assert results["checked"]["replies"] == openings + measured + PARTICIPANTS
    for workload in workloads:
        delivered = results[workload.name]["e2e"]
        assert delivered["peak"]["reply_p50_ms"] is not None  # replies were seen arriving
        assert delivered["half"]["messages"] >= 1
