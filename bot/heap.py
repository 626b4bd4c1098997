"""Owns the garbage collector's settings of the long-running server process.

After the imports and the app's start-up the process holds about 180,000 objects that live
as long as it does (modules, functions, SQLAlchemy's metadata, compiled templates). Each
full collection walked all of them again: about 100 ms with the event loop stopped, several
times a minute under load, which was most of the webhook's ack p99 (bench/README.md).
``gc.freeze()`` moves them out of the collector's reach once start-up is done, so a full
collection walks only what the requests made since. The young generation is collected less
often, too: what a request allocates mostly dies with it, by reference counting, before a
collection would look at it.
"""

from __future__ import annotations

import gc

from aiohttp import web

YOUNG_THRESHOLD = 5_000  # allocations between young collections (CPython's default: 700)


def settle_after_startup(app: web.Application) -> None:
    """Freeze the heap once ``app`` has started (after every start-up hook it has now)."""
    app.on_startup.append(_freeze)


async def _freeze(_app: web.Application) -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
