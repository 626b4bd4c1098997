"""Writes a unit of work leaves for its end: run once, just before the inbox batch's flush.

The inbox runs many messages in one transaction; a writer registered here (the dialog
rows, say) keeps its changes in memory and stores them all at once when the batch is done,
instead of once per message. Only a session the inbox runs calls ``write_deferred``: code
that cannot count on it writes at once (see ``deferring``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

Writer = Callable[[AsyncSession], Awaitable[None]]
# ``session.info`` keys: the messages of the inbox batch this session runs (set by the
# inbox), and the writers waiting for its end.
BATCH_INFO = "crmbot.batch"
_WRITERS_INFO = "crmbot.deferred_writers"


def deferring(session: AsyncSession) -> bool:
    """Whether writes may wait for the batch's end: an inbox batch, outside a savepoint.

    Inside a savepoint (the inbox's rerun, one message each) a message's writes must be in
    its own savepoint, so that rolling it back takes them with it.
    """
    return bool(session.info.get(BATCH_INFO)) and not session.in_nested_transaction()


def defer(session: AsyncSession, writer: Writer) -> None:
    """Run ``writer`` when the batch ends (``write_deferred``)."""
    session.info.setdefault(_WRITERS_INFO, []).append(writer)


async def write_deferred(session: AsyncSession) -> None:
    """Run the writers registered so far, each once."""
    writers: list[Writer] = session.info.pop(_WRITERS_INFO, [])
    for writer in writers:
        await writer(session)
