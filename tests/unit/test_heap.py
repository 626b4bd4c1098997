"""`crmbot serve` freezes its start-up heap once the app has started (bot.heap)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from aiohttp import web

from bot.heap import YOUNG_THRESHOLD, settle_after_startup


@pytest.fixture
def collector() -> Iterator[None]:
    """Leave the test process's collector as it was."""
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def test_the_heap_is_frozen_after_every_start_up_hook(collector: None) -> None:
    app = web.Application()
    seen_by_startup: list[int] = []

    async def opens_something(_app: web.Application) -> None:
        seen_by_startup.append(gc.get_freeze_count())

    app.on_startup.append(opens_something)
    settle_after_startup(app)
    runner = web.AppRunner(app)
    assert gc.get_freeze_count() == 0
    await runner.setup()  # runs the start-up hooks
    try:
        assert seen_by_startup == [0]  # the app's own start-up ran first
        assert gc.get_freeze_count() > 10_000  # modules, functions, metadata: out of reach
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.isenabled()  # what requests make is still collected
    finally:
        await runner.cleanup()
