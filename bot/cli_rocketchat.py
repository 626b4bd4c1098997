"""``crmbot rocketchat setup`` as the operator runs it: arguments in, ``.env`` lines out."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from bot.cli_setup import SetupError, run_setup
from bot.settings import Settings

PASSWORD_VARIABLE = "CRMBOT_ADMIN_PASSWORD"


def _password(args: argparse.Namespace) -> str:
    if args.admin_password:
        return str(args.admin_password)
    if os.environ.get(PASSWORD_VARIABLE):
        return os.environ[PASSWORD_VARIABLE]
    if sys.stdin.isatty():
        return getpass.getpass(f"password of {args.admin_user}: ")
    raise SetupError(f"no admin password: pass --admin-password or set {PASSWORD_VARIABLE}")


def setup(settings: Settings, args: argparse.Namespace) -> int:
    """Create or update the integrations and print the settings; 0, or 1 with one line."""
    settings.require("rocketchat_url")
    url = str(settings.rocketchat_url)
    webhook_url = args.webhook_url or (
        f"http://{settings.http_host}:{settings.http_port}/webhooks/rocketchat"
    )
    try:
        report = run_setup(
            url, args.admin_user, _password(args), settings.rocketchat_username, webhook_url
        )
    except SetupError as exc:
        print(f"crmbot: {exc}", file=sys.stderr)
        return 1
    for name in report.created:
        print(f"created outgoing webhook {name!r} -> {webhook_url}")
    for name in report.updated:
        print(f"updated outgoing webhook {name!r} -> {webhook_url} (new token)")
    if not report.bot_has_role:
        print(
            f"warning: {settings.rocketchat_username!r} lacks the 'bot' role: give it that role "
            "in Administration > Users so Rocket.Chat does not rate-limit its replies"
        )
    print("\nPut these in .env (the personal access token is created by the bot user):")
    for line in report.env_lines(url, settings.rocketchat_username):
        print(line)
    return 0
