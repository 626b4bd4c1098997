"""The es/en vocabulary as data: commands, the 17 module words, dialog controls, page words.

Words are written in display form (accents allowed, the first word of each language is the
canonical one used in suggestions); matching folds them, so `cotizacion` = `cotización`.
Aliases are kept modest and unambiguous: no singular module words, because a singular like
`compra` is better answered with "did you mean `compras`?" than silently guessed.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from types import MappingProxyType
from typing import Final

from dialogs.io import Control as DialogControl
from store.records import ModuleName

__all__ = [
    "COMMAND_WORDS",
    "CONTROL_WORDS",
    "MODULE_BY_ES_WORD",
    "MODULE_WORDS",
    "NUMBERED_CONTROLS",
    "PAGE_WORDS",
    "Command",
    "Control",
    "Lang",
    "Module",
    "Words",
    "lang_of",
    "shown_words",
]


class Lang(StrEnum):
    ES = "es"
    EN = "en"


def lang_of(locale: str) -> Lang:
    """`"en"`, `"en-US"`, `"EN_gb"` -> EN; anything else (the bot's default) -> ES."""
    return Lang.EN if locale.strip().lower().startswith("en") else Lang.ES


class Command(StrEnum):
    HELP = "help"
    SEARCH = "search"
    LINK = "link"
    UNLINK = "unlink"
    CONTACT = "contact"
    MODULE_LIST = "module_list"
    SHOW = "show"
    ADD_PURCHASE = "add_purchase"
    ADD_QUOTE = "add_quote"
    ADD_CASE = "add_case"
    COMMENT = "comment"
    STATUS = "status"
    SEND = "send"
    SELECT = "select"  # a bare number choosing from the last numbered list
    PAGE = "page"  # `página N` alone: page N of the last list


# The 17 modules by their English command word: the store's own enum, so a module read
# from the chat indexes the store's counts and records without a conversion.
Module = ModuleName


# The dialog control words are the wizards' own enum: a matched control is handed to the
# dialog engine as it is.
Control = DialogControl


@dataclass(frozen=True, slots=True)
class Words:
    """The phrases for one meaning in each language; the first of each is canonical."""

    es: tuple[str, ...]
    en: tuple[str, ...]

    def of(self, lang: Lang) -> tuple[str, ...]:
        return self.es if lang is Lang.ES else self.en


# Order matters only for ties in suggestions: `agregar` suggests the first `agregar …` here.
COMMAND_WORDS: Final = MappingProxyType(
    {
        Command.HELP: Words(es=("ayuda",), en=("help",)),
        Command.SEARCH: Words(es=("buscar",), en=("search",)),
        Command.LINK: Words(es=("vincular",), en=("link",)),
        Command.UNLINK: Words(es=("desvincular",), en=("unlink",)),
        Command.CONTACT: Words(es=("contacto",), en=("contact",)),
        Command.SHOW: Words(es=("ver",), en=("show",)),
        Command.ADD_PURCHASE: Words(
            es=("agregar compra", "agregar orden de compra"),
            en=("add purchase", "add purchase order"),
        ),
        Command.ADD_QUOTE: Words(es=("agregar cotizacion",), en=("add quote",)),
        Command.ADD_CASE: Words(es=("agregar caso",), en=("add case",)),
        Command.COMMENT: Words(es=("comentar",), en=("comment",)),
        Command.STATUS: Words(es=("estado",), en=("status",)),
        Command.SEND: Words(es=("enviar",), en=("send",)),
    }
)

# CONTRACT §4 module words first; then the few aliases (multi-word spellings, `correos`).
MODULE_WORDS: Final = MappingProxyType(
    {
        Module.ASSETS: Words(es=("activos",), en=("assets",)),
        Module.PROJECTS: Words(es=("proyectos",), en=("projects",)),
        Module.ADDRESSES: Words(es=("direcciones",), en=("addresses",)),
        Module.SERVICES: Words(es=("servicios",), en=("services",)),
        Module.CONTRACTS: Words(es=("polizas",), en=("contracts",)),
        Module.SALES_ORDERS: Words(
            es=("ventas", "ordenes de venta"),
            en=("sales-orders", "sales orders", "salesorders"),
        ),
        Module.QUOTES: Words(es=("cotizaciones",), en=("quotes",)),
        Module.PURCHASES: Words(
            es=("compras", "ordenes de compra"),
            en=("purchases", "purchase-orders", "purchase orders", "purchaseorders"),
        ),
        Module.PRODUCTS: Words(es=("productos",), en=("products",)),
        Module.CALENDAR: Words(es=("calendario",), en=("calendar",)),
        Module.OPPORTUNITIES: Words(es=("oportunidades",), en=("opportunities",)),
        Module.COMMENTS: Words(es=("comentarios",), en=("comments",)),
        Module.CASES: Words(es=("casos",), en=("cases",)),
        Module.EMAILS: Words(es=("emails", "correos"), en=("emails",)),
        Module.FILES: Words(es=("archivos",), en=("files",)),
        Module.CAMPAIGNS: Words(es=("campanas",), en=("campaigns",)),
        Module.CHANNELS: Words(es=("canales",), en=("channels",)),
    }
)

# The canonical Spanish word of each module, as CONTRACT §4 lists them.
MODULE_BY_ES_WORD: Final = MappingProxyType({w.es[0]: m for m, w in MODULE_WORDS.items()})

PAGE_WORDS: Final = Words(es=("página", "pagina"), en=("page",))

CONTROL_WORDS: Final = MappingProxyType(
    {
        Control.OK: Words(es=("sí", "si", "ok"), en=("yes", "y", "ok")),
        Control.CANCEL: Words(es=("cancelar",), en=("cancel",)),
        Control.BACK: Words(es=("atrás", "atras"), en=("back",)),
        Control.HELP: Words(es=("ayuda",), en=("help",)),
        Control.SKIP: Words(es=("omitir",), en=("skip",)),
        Control.DONE: Words(es=("listo",), en=("done",)),
        Control.EDIT: Words(es=("editar",), en=("edit",)),
        Control.REMOVE: Words(es=("quitar",), en=("remove",)),
        Control.SAVE: Words(es=("guardar",), en=("save",)),
    }
)

# Controls that take a step/line number (`editar 3`, `quitar 2`).
NUMBERED_CONTROLS: Final = frozenset({Control.EDIT, Control.REMOVE})


def shown_words(locale: str) -> Mapping[str, object]:
    """The words shown to users in ``locale`` (the first word of each table above), as the
    ``w`` every template reads: commands by name (``add_purchase``), modules ``m_`` + name
    (``m_sales_orders``), controls ``c_`` + name (``c_back``), ``page``, and ``modules``
    (all 17 in order). Templates write ``w.add_purchase`` and never spell a command.
    """
    return _shown(lang_of(locale))


@cache
def _shown(lang: Lang) -> Mapping[str, object]:
    # Built once per language and read-only: the renderer hands the same table to every
    # template instead of each reply carrying its own copy through the outbox.
    shown: dict[str, object] = {
        command.name.lower(): words.of(lang)[0] for command, words in COMMAND_WORDS.items()
    }
    shown |= {f"m_{module.name.lower()}": w.of(lang)[0] for module, w in MODULE_WORDS.items()}
    shown |= {f"c_{control.name.lower()}": w.of(lang)[0] for control, w in CONTROL_WORDS.items()}
    shown["page"] = PAGE_WORDS.of(lang)[0]
    shown["modules"] = tuple(MODULE_WORDS[module].of(lang)[0] for module in Module)
    return MappingProxyType(shown)
