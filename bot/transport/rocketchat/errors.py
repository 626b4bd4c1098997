"""Owns the Rocket.Chat transport's exceptions: which failures may be retried and which not."""

from __future__ import annotations


class RocketChatError(Exception):
    """Any failure talking to Rocket.Chat."""


class TransportError(RocketChatError):
    """Rocket.Chat could not be reached or answered with a server error: try again later.

    Raised only after the transport's own bounded retries; the outbox row stays queued.
    """


class AuthenticationError(TransportError):
    """401: the bot's user id or token is wrong or revoked.

    A setup fault, not the message's: retrying after the operator fixes the token delivers
    it, so it must not dead-letter the outbox (ROCKETCHAT.md §2.1).
    """


class RejectedError(RocketChatError):
    """Rocket.Chat refused the request for what it is (a 4xx): retrying cannot help."""

    def __init__(self, status: int, error: str, error_type: str = "") -> None:
        detail = f"{error} ({error_type})" if error_type and error_type not in error else error
        super().__init__(f"HTTP {status}: {detail or 'refused'}")
        self.status = status
        self.error = error
        self.error_type = error_type


class PermanentSendError(RejectedError):
    """A message Rocket.Chat will never accept (room gone, not allowed, too long, ...)."""


class DeliveryUnknownError(RocketChatError):
    """A file message may or may not have been posted, and nothing can tell which.

    ``rooms.mediaConfirm`` takes no client ``_id`` (its whitelist, ROCKETCHAT.md §2.4), so
    unlike a text message it cannot be looked up; resending could post it twice.
    """


class FileTooLargeError(RocketChatError):
    """A download is larger than the allowed size; reading stopped at the limit."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        shown = f"{size} bytes" if size is not None else "more"
        super().__init__(f"file too large: {shown} over the {limit}-byte limit")
        self.limit = limit
        self.size = size
