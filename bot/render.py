"""One strict Jinja environment that renders reply templates as chat-literal Rocket.Chat text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Final
from zoneinfo import ZoneInfo

from babel.numbers import is_currency
from jinja2 import (
    BaseLoader,
    Environment,
    StrictUndefined,
    TemplateNotFound,
    UndefinedError,
    pass_context,
)
from jinja2.runtime import Context, Undefined

from bot import chatfmt
from bot.routing.words import shown_words

TEMPLATE_SUFFIX: Final = ".j2"
# Reserved context name carrying locale/currency/zone to the filters; never a reply param.
_SETTINGS_KEY: Final = "_chat"


class ChatMarkup(str):
    """Text already safe for Rocket.Chat: ``finalize`` passes it through unchanged.

    Only filters produce it (``bold``, ``code``, ``lit`` and the number/date formats); any
    ``str`` operation on it returns a plain ``str`` again, which is then made literal.
    """

    __slots__ = ()


class RenderError(Exception):
    """A reply could not be rendered."""


class UnknownTemplateError(RenderError, LookupError):
    """No template for this key and locale."""


class MissingParamError(RenderError):
    """The template uses a parameter the reply did not provide."""


@dataclass(frozen=True, slots=True)
class _ChatSettings:
    locale: str
    currency: str
    timezone: str


class _ResourceLoader(BaseLoader):
    # Reads ``<locale>/<key>.j2`` from the installed ``templates`` package (any Traversable,
    # so a zipped install works too); templates are package data and never change at runtime.
    def __init__(self, root: Traversable) -> None:
        self._root = root

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        node = self._root
        for part in template.split("/"):
            if part in ("", ".", ".."):
                raise TemplateNotFound(template)
            node = node.joinpath(part)
        if not node.is_file():
            raise TemplateNotFound(template)
        return node.read_text(encoding="utf-8"), str(node), lambda: True


def _scan(root: Traversable) -> dict[str, frozenset[str]]:
    keys: dict[str, frozenset[str]] = {}
    for folder in root.iterdir():
        if folder.is_dir() and not folder.name.startswith(("_", ".")):
            keys[folder.name] = frozenset(
                item.name.removesuffix(TEMPLATE_SUFFIX)
                for item in folder.iterdir()
                if item.is_file() and item.name.endswith(TEMPLATE_SUFFIX)
            )
    return keys


# --- finalize and filters ---------------------------------------------------------------


def _finalize(value: object) -> str:
    # Every {{ expression }} goes through here: data becomes literal unless a filter
    # already produced ChatMarkup. Raw numbers and dates must go through a format filter.
    if isinstance(value, ChatMarkup):
        return value
    if value is None:
        return ""
    if isinstance(value, float | Decimal | dt.date):
        raise TypeError(
            f"{type(value).__name__} printed without a filter: use money, qty, rate, date "
            "or datetime"
        )
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return chatfmt.literal(str(value))


def _settings(ctx: Context) -> _ChatSettings:
    settings = ctx.get(_SETTINGS_KEY)
    if not isinstance(settings, _ChatSettings):
        raise RenderError("template rendered outside Renderer.render")
    return settings


def _defined(value: object) -> object:
    # A missing parameter reaches filters as Undefined; report it as missing, not mistyped.
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def _decimal(value: object, name: str) -> Decimal:
    value = _defined(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if not isinstance(value, Decimal):
        raise TypeError(f"the {name} filter needs a Decimal, got {type(value).__name__}")
    return value


def _text(value: object) -> str:
    value = _defined(value)
    return "" if value is None else str(value)


@pass_context
def _money(ctx: Context, value: object, currency: str | None = None) -> ChatMarkup:
    settings = _settings(ctx)
    amount = _decimal(value, "money")
    return ChatMarkup(chatfmt.format_money(amount, currency or settings.currency, settings.locale))


@pass_context
def _qty(ctx: Context, value: object) -> ChatMarkup:
    return ChatMarkup(chatfmt.format_decimal(_decimal(value, "qty"), _settings(ctx).locale))


@pass_context
def _rate(ctx: Context, value: object) -> ChatMarkup:
    rate = _decimal(value, "rate")
    return ChatMarkup(chatfmt.format_percent_rate(rate, _settings(ctx).locale))


@pass_context
def _date(ctx: Context, value: object) -> ChatMarkup:
    value = _defined(value)
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"the date filter needs a date, got {type(value).__name__}")
    return ChatMarkup(chatfmt.format_date(value, _settings(ctx).locale))


@pass_context
def _datetime(ctx: Context, value: object) -> ChatMarkup:
    value = _defined(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"the datetime filter needs a datetime, got {type(value).__name__}")
    settings = _settings(ctx)
    return ChatMarkup(chatfmt.format_datetime(value, settings.locale, settings.timezone))


def _bold(value: object) -> ChatMarkup:
    if isinstance(value, ChatMarkup):
        # Our own markup (a formatted amount, a code span) is wrapped as it is, when bold
        # can hold it: no "*", no edge spaces, one line.
        wrappable = (
            bool(value) and "*" not in value and "\n" not in value and value.strip() == value
        )
        return ChatMarkup(f"*{value}*") if wrappable else value
    return ChatMarkup(chatfmt.bold_literal(_text(value)))


def _code(value: object) -> ChatMarkup:
    return ChatMarkup(chatfmt.inline_code(_text(value)))


def _lit(
    value: object, multiline: bool = False, max_len: int | None = chatfmt.DEFAULT_MAX_LEN
) -> ChatMarkup:
    return ChatMarkup(chatfmt.literal(_text(value), multiline=multiline, max_len=max_len))


def _build_environment(root: Traversable) -> Environment:
    env = Environment(
        loader=_ResourceLoader(root),
        undefined=StrictUndefined,
        autoescape=False,  # HTML escaping is wrong for chat markdown; finalize does our escaping
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
        auto_reload=False,
        # Every template stays compiled: there are fewer than a thousand (both languages),
        # and Jinja's default of 400 would recompile some on every pass under load.
        cache_size=1000,
    )
    # No template uses Jinja's globals (range, dict, lipsum, cycler, joiner, namespace), and
    # every render copied them into its context: a tenth of rendering a short reply.
    env.globals.clear()
    env.filters.update(
        money=_money,
        qty=_qty,
        rate=_rate,
        date=_date,
        datetime=_datetime,
        bold=_bold,
        code=_code,
        lit=_lit,
    )
    return env


def _tidy(text: str) -> str:
    # Trailing spaces and leading/trailing blank lines are template layout, not message.
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


class Renderer:
    """Renders reply ``key`` from ``templates/<locale>/<key>.j2`` with the reply's params."""

    def __init__(
        self, *, default_locale: str = "es", currency: str = "EUR", timezone: str = "Europe/Madrid"
    ) -> None:
        root = files("templates")
        self._keys = _scan(root)
        if default_locale not in self._keys:
            raise ValueError(f"no templates for locale {default_locale!r}")
        if not is_currency(currency):
            raise ValueError(f"unknown currency {currency!r}")
        ZoneInfo(timezone)  # an unknown zone fails here, not at the first reply
        self._default_locale = default_locale
        self._currency = currency
        self._timezone = timezone
        self._env = _build_environment(root)

    def render(self, key: str, params: Mapping[str, object], locale: str | None = None) -> str:
        """The message text; raises ``UnknownTemplateError`` or ``MissingParamError``."""
        locale = locale or self._default_locale
        if not self.has(key, locale):
            raise UnknownTemplateError(
                f"no template {key!r} for locale {locale!r} "
                f"(expected templates/{locale}/{key}{TEMPLATE_SUFFIX})"
            )
        if _SETTINGS_KEY in params:
            raise ValueError(f"{_SETTINGS_KEY!r} is reserved and cannot be a reply parameter")
        name = f"{locale}/{key}{TEMPLATE_SUFFIX}"
        settings = _ChatSettings(locale, self._currency, self._timezone)
        try:
            # ``w`` (the shown words) comes from here, so replies need not carry it; one a
            # reply does carry (queued by an older version) still wins.
            context = {"w": shown_words(locale), **params, _SETTINGS_KEY: settings}
            text = self._env.get_template(name).render(context)
        except UndefinedError as exc:
            raise MissingParamError(f"templates/{name}: {exc.message}") from exc
        return _tidy(text)

    def has(self, key: str, locale: str) -> bool:
        """Whether ``key`` has a template in ``locale``."""
        return key in self.keys(locale)

    def keys(self, locale: str) -> frozenset[str]:
        """Every reply key with a template in ``locale`` (empty for an unknown locale)."""
        return self._keys.get(locale, frozenset())
