"""Owns `crmbot serve`: checks the required settings, then runs the server until SIGTERM."""

from __future__ import annotations

import logging
import socket

from aiohttp import web

from bot.heap import settle_after_startup
from bot.server import TransportFactory, build_app, rocketchat_transport
from bot.settings import Settings, SettingsError

log = logging.getLogger("crmbot.serve")

REQUIRED = ("rocketchat_url", "rocketchat_user_id", "rocketchat_token", "webhook_token")
# Rocket.Chat waits 20 s for a webhook answer (ROCKETCHAT.md §1.2): in-flight requests get
# that long, and a little more, to finish before a shutdown cuts them.
SHUTDOWN_TIMEOUT = 25.0


def serve(settings: Settings, *, transport_factory: TransportFactory = rocketchat_transport) -> int:
    """Run the server in the foreground; SIGINT or SIGTERM shut it down gracefully."""
    settings.require(*REQUIRED)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Built first, since building checks the settings and opens nothing, so a settings error
    # never leaves the port bound; then bound before anything opens: a busy port is reported
    # as such, before the database is touched, not from run_app like any other OSError.
    app = build_app(settings, transport_factory=transport_factory)
    settle_after_startup(app)  # last: after the start-up of everything the app opens
    sock = listen(settings.http_host, settings.http_port)
    url = f"http://{settings.http_host}:{settings.http_port}"

    def announce(*_lines: object) -> None:
        # run_app calls this once the socket serves: the line operators and tests wait for.
        log.info("listening on %s", url)

    # The socket is closed here too: a start that fails (the database unreachable) never
    # hands it to the server that would close it.
    with sock:
        web.run_app(
            app,
            sock=sock,
            access_log=None,
            print=announce,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
    log.info("stopped")
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port``, or a one-line `SettingsError`."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SettingsError(
            f"CRMBOT_HTTP_HOST/CRMBOT_HTTP_PORT: cannot listen on {host}:{port}: {reason}"
        ) from exc
