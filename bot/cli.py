"""The ``crmbot`` command line (CONTRACT §6): one command per run, errors mapped to exit codes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import NoReturn

from sqlalchemy.exc import DBAPIError, OperationalError

from bot import cli_store
from bot.settings import SettingsError, load_settings
from bot.storage import SchemaMissingError
from store.db import DatabaseUrlError
from store.records import READERS

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or input: exit status 2 with one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One clear line instead of argparse's usage dump (CONTRACT §6).
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = _Parser(prog="crmbot", description="Rocket.Chat front of the CRM's Contacts module")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    db = commands.add_parser("db", help="database schema")
    db.add_subparsers(dest="db_command", required=True, parser_class=_Parser).add_parser(
        "upgrade", help="create or migrate the schema"
    )
    commands.add_parser("demo-data", help="load the demo data set (idempotent)")
    commands.add_parser("serve", help="the production server: webhooks, health, metrics")

    rocketchat = commands.add_parser("rocketchat", help="connect to Rocket.Chat")
    rc_commands = rocketchat.add_subparsers(dest="rc_command", required=True, parser_class=_Parser)
    setup = rc_commands.add_parser("setup", help="create the outgoing webhooks, check the bot")
    setup.add_argument("--admin-user", required=True, help="a Rocket.Chat admin's username")
    setup.add_argument(
        "--admin-password", help="the admin's password (default: asked, or CRMBOT_ADMIN_PASSWORD)"
    )
    setup.add_argument(
        "--webhook-url", help="where Rocket.Chat reaches crmbot (default: from CRMBOT_HTTP_*)"
    )

    shell = commands.add_parser("shell", help="terminal chat: reads lines from stdin")
    shell.add_argument("--demo", action="store_true", help="create the schema and demo data once")
    shell.add_argument("--user", help="act as this chat user, with their role")
    shell.add_argument("--room", default="shell", help="the room to talk in (default: shell)")

    importer = commands.add_parser("import", help="upsert records from a CSV file")
    importer.add_argument("kind", choices=["contacts", "vendors", "products", "services"])
    importer.add_argument("file", help="UTF-8 CSV with a header row")

    users = commands.add_parser("users", help="map chat users to CRM roles")
    user_commands = users.add_subparsers(dest="users_command", required=True, parser_class=_Parser)
    add = user_commands.add_parser("add", help="map a chat username to a role")
    add.add_argument("username")
    add.add_argument("--role", required=True)
    user_commands.add_parser("list", help="list mapped users")

    records = commands.add_parser("records", help="print records of a module")
    records.add_argument("module", choices=sorted(str(name) for name in READERS))
    records.add_argument("--contact", type=int, metavar="ID")
    records.add_argument("--format", choices=["table", "json"], default="table")
    records.add_argument("--unmatched", action="store_true", help="emails that match no contact")
    return parser


async def _dispatch(args: argparse.Namespace) -> int:
    settings = load_settings()
    match args.command:
        case "db":
            return await cli_store.db_upgrade(settings)
        case "demo-data":
            return await cli_store.demo_data(settings)
        case "shell":
            # Imported here: store-only commands should not load the whole chat stack.
            from bot import cli_chat

            return await cli_chat.shell(settings, demo=args.demo, user=args.user, room=args.room)
        case "import":
            return await cli_store.import_file(settings, args.kind, args.file)
        case "users":
            if args.users_command == "add":
                return await cli_store.users_add(settings, args.username, args.role)
            return await cli_store.users_list(settings)
        case "records":
            if args.unmatched and args.module != "emails":
                raise UsageError("--unmatched goes with the emails module only")
            return await cli_store.records(
                settings, args.module, args.contact, args.format, unmatched=args.unmatched
            )
    raise UsageError(f"unknown command {args.command!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every expected failure is one line on stderr, never a traceback."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "serve":
            # run_app owns its event loop and signal handling: it cannot run in asyncio.run.
            from bot import cli_serve

            return cli_serve.serve(load_settings())
        if args.command == "rocketchat":
            # Synchronous HTTP client: no event loop needed for a one-shot admin command.
            from bot import cli_rocketchat

            return cli_rocketchat.setup(load_settings(), args)
        return asyncio.run(_dispatch(args))
    except (UsageError, cli_store.InputError) as exc:
        print(f"crmbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (SettingsError, SchemaMissingError, DatabaseUrlError) as exc:
        print(f"crmbot: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (OperationalError, DBAPIError, OSError) as exc:
        print(f"crmbot: database error: {_first_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("crmbot: interrupted", file=sys.stderr)
        return 130


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
