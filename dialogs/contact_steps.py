"""The contact steps wizards share: the room's contact offered, ``ok`` keeps it, text searches."""

from __future__ import annotations

from typing import Any

from dialogs.closing import SaveProblem
from dialogs.flow import Flow
from dialogs.io import Control
from dialogs.parsing import AnswerError, parse_choice, parse_text
from store.direct import exists
from store.models import Contact
from store.services.contacts import ContactMatch, search_contacts

MAX_SEARCH = 200


def contact_ref(contact: Contact | ContactMatch) -> dict[str, object]:
    """What a dialog keeps of a contact: its id, and what tells it apart in a list."""
    return {
        "id": contact.id,
        "name": f"{contact.first_name} {contact.last_name}".strip(),
        "email": contact.email or "",
        "account": contact.account or "",
    }


class ContactSteps(Flow):
    """States ``contact`` and ``contact_pick``: routes ``one`` (taken) and ``several`` (listed).

    Replies ``<wizard>_contact`` (current), ``<wizard>_contact_pick`` (choices) and
    ``<wizard>_contact_taken`` (name) when one is chosen, by a single match or from the
    list, so the user sees whom the answer meant before the next question.
    """

    @property
    def contact_name(self) -> str | None:
        """The chosen contact's name, if any."""
        contact: dict[str, Any] = self.fields.get("contact") or {}
        return contact.get("name")

    async def ask_contact(self) -> None:
        self.io.say(f"{self.wizard}_contact", current=self.contact_name)

    async def take_contact(self) -> None:
        if self.control is Control.OK:
            if not self.fields.get("contact"):
                raise AnswerError("no_default", {})
            self.accept("one")
            return
        typed = parse_text(self.io.text, max_len=MAX_SEARCH)
        found = await search_contacts(self.io.session, typed)
        if not found:
            raise AnswerError("contact_not_found", {"typed": typed})
        if len(found) == 1:
            await self._take(contact_ref(found[0]))
            return
        self.data["choices"] = [contact_ref(c) for c in found]
        self.accept("several")

    async def ask_contact_pick(self) -> None:
        self.io.say(f"{self.wizard}_contact_pick", choices=self.data.get("choices", []))

    async def take_contact_pick(self) -> None:
        choices: list[dict[str, Any]] = self.data.get("choices", [])
        index = parse_choice(self.io.text, [c["name"] for c in choices])
        if index is None and self.io.text.strip().isdigit():
            raise AnswerError("bad_choice", {"max": len(choices)})
        if index is None:
            # Not a number or a listed name: a new search, as at the contact step.
            await self.take_contact()
            return
        await self._take(choices[index])

    async def contact_problem(self) -> SaveProblem | None:
        """``contact_gone`` (with the ``editar n`` of the contact step) when it was deleted."""
        contact: dict[str, Any] = self.fields.get("contact") or {}
        if contact.get("id") and await exists(self.io.session, Contact, contact["id"]):
            return None
        step = self.editable.index("contact") + 1
        return SaveProblem("contact_gone", contact.get("name", ""), step=step)

    async def _take(self, contact: dict[str, Any]) -> None:
        await self.choose_contact(contact)
        self.data.pop("choices", None)
        self.io.say(f"{self.wizard}_contact_taken", name=contact["name"])
        self.accept("one")
