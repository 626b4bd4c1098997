"""The instruction-count benchmark counts the server's work, and only while asked to.

Runs the bare handler under callgrind (skipped where valgrind is not installed, except
in CI, which installs it): what is counted must grow with the deliveries sent while counting, and
the deliveries sent before counting began must not be in it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.webhook_cost import Plan, counted_server, measure_cost, table
from bench.webhook_phase import TOKEN, bare_participants, read_workload
from bench.webhook_servers import ServerSpec
from tests.fakes.rocketchat import FakeRocketChat

# CI installs valgrind, and there a missing one fails the test instead of skipping it.
pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and shutil.which("callgrind_control") is None,
    reason="valgrind is not installed",
)


async def test_the_count_follows_the_deliveries_sent_while_counting(tmp_path: Path) -> None:
    async with FakeRocketChat() as fake:
        people = bare_participants(fake, 4)
        workload = read_workload(4)
        async with counted_server(ServerSpec("bare", TOKEN), tmp_path) as server:
            # A large uncounted warm-up, then few counted deliveries; then the reverse.
            few_plan, many_plan = Plan(4, 2, warmup=200, deliveries=10), Plan(4, 2, 0, 100)
            few = await measure_cost(fake, server, workload, people, few_plan, delivering=False)
            many = await measure_cost(fake, server, workload, people, many_plan, delivering=False)
    per_delivery = few["instructions"] / 10
    # Ten times the deliveries, about ten times the count: the 200 warm-up deliveries (twenty
    # times the counted ones) were not counted.
    assert 7 * few["instructions"] < many["instructions"] < 13 * few["instructions"]
    assert few["k_instructions_per_delivery"] == round(per_delivery / 1000, 1)


def test_the_table_shows_each_count_beside_the_bare_handlers() -> None:
    result = {
        "bare": {"k_instructions_per_delivery": 300.0},
        "sqlite": {"read_acks": {"k_instructions_per_delivery": 1200.0, "x_bare": 4.0}},
    }
    lines = table(result).splitlines()
    assert lines[1].split() == ["bare", "handler", "300.0"]
    assert lines[2].split() == ["sqlite", "read", "acks", "1200.0", "4.0"]
