"""Chat users and their CRM roles (CONTRACT §7)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from store import direct
from store.direct import DirectStatement
from store.models import ChatUser

_ROLE_OF = DirectStatement(
    select(ChatUser.username, ChatUser.role).where(ChatUser.username == bindparam("name"))
)
ROLES = ("admin", "compras", "ventas", "soporte", "lectura", "none")


class UnknownRoleError(ValueError):
    """A role name outside CONTRACT §7."""


async def set_role(session: AsyncSession, username: str, role: str) -> tuple[ChatUser, bool]:
    """Map ``username`` (without a leading @) to ``role``; returns (user, created)."""
    if role not in ROLES:
        raise UnknownRoleError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
    name = username.strip().removeprefix("@")
    if not name:
        raise ValueError("the chat username is empty")
    user = await session.get(ChatUser, name)
    created = user is None
    if user is None:
        user = ChatUser(username=name, role=role)
        session.add(user)
    user.role = role
    await session.flush()
    return user, created


async def role_of(session: AsyncSession, username: str) -> str | None:
    """The mapped role of ``username``, or None when the CRM does not know the user."""
    return await session.scalar(select(ChatUser.role).where(ChatUser.username == username))


async def roles_of(session: AsyncSession, usernames: Iterable[str]) -> dict[str, str]:
    """The mapped roles of ``usernames``, in one query (on SQLite, one short lookup per name
    straight on the driver); unknown users are left out."""
    names = sorted(set(usernames))
    if not names:
        return {}
    if await direct.straight(session):
        # A batch's few senders one by one on the driver (store.direct) cost less than one
        # expanding IN through SQLAlchemy.
        rows = await direct.fetch_each(session, _ROLE_OF, [{"name": name} for name in names])
    else:
        query = select(ChatUser.username, ChatUser.role).where(ChatUser.username.in_(names))
        rows = [tuple(row) for row in await session.execute(query)]
    return {str(name): str(role) for name, role in rows}


async def list_users(session: AsyncSession) -> list[ChatUser]:
    """Every mapped chat user, by name."""
    return list(await session.scalars(select(ChatUser).order_by(ChatUser.username)))
