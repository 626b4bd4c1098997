"""The email webhook's replay guard: each accepted signature once, in the shared database."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import EmailWebhookSignature


class SignatureLedger:
    """Signatures already accepted, kept while a replay of them could still pass the clock
    check; a database table because every serve process on the database must see them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def claim(self, signature: str, timestamp: int, *, forget_before: int) -> bool:
        """Record ``signature``; False when it was recorded before (a replay).

        Rows signed before ``forget_before`` are dropped in the same transaction: their
        timestamps are refused as stale anyway, so the table stays as small as the window.
        """
        async with self._sessions.begin() as session:
            await session.execute(
                delete(EmailWebhookSignature).where(EmailWebhookSignature.timestamp < forget_before)
            )
            dialect = session.get_bind().dialect.name
            factory = pg_insert if dialect == "postgresql" else sqlite_insert
            statement = (
                factory(EmailWebhookSignature)
                .values(signature=signature, timestamp=timestamp)
                .on_conflict_do_nothing(index_elements=["signature"])
                .returning(EmailWebhookSignature.signature)
            )
            return (await session.scalar(statement)) is not None

    async def release(self, signature: str) -> None:
        """Forget ``signature``: its delivery was not stored, so the sender may retry it."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(EmailWebhookSignature).where(EmailWebhookSignature.signature == signature)
            )
