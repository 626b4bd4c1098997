"""The last list a user saw in a room (module, page, record ids), for `página N` and `ver N`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.commands.base import Ctx
from bot.routing import Module
from store.services.memory import recall, remember

LIST_KIND: Final = "list"


@dataclass(frozen=True, slots=True)
class ListMemory:
    """One shown page: items are numbered from ``first`` across the whole list."""

    module: Module
    contact_id: int
    page: int
    first: int
    ids: tuple[int, ...]

    def id_at(self, number: int) -> int | None:
        """The id of item ``number`` when it was on the page shown."""
        index = number - self.first
        return self.ids[index] if 0 <= index < len(self.ids) else None


async def remember_list(
    ctx: Ctx, module: Module, contact_id: int, page: int, first: int, ids: Sequence[int]
) -> None:
    """Keep what this user was just shown in this room and thread."""
    incoming = ctx.incoming
    data: dict[str, object] = {
        "module": module.value,
        "contact_id": contact_id,
        "page": page,
        "first": first,
        "ids": list(ids),
    }
    await remember(
        ctx.session, incoming.room.id, incoming.user.id, incoming.thread_id, LIST_KIND, data
    )


async def recall_list(ctx: Ctx) -> ListMemory | None:
    """The last list shown to this user here, if the last thing shown was a list."""
    incoming = ctx.incoming
    data = await recall(
        ctx.session, incoming.room.id, incoming.user.id, incoming.thread_id, LIST_KIND
    )
    if data is None:
        return None
    try:
        ids = data["ids"]
        if not isinstance(ids, list):
            return None
        return ListMemory(
            module=Module(str(data["module"])),
            contact_id=_int(data["contact_id"]),
            page=_int(data["page"]),
            first=_int(data["first"]),
            ids=tuple(_int(item) for item in ids),
        )
    except (KeyError, ValueError, TypeError):
        # A row written by an older version is not worth an error: treat it as no list.
        return None


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an integer")
    return value
