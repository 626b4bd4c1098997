"""The Rocket.Chat REST transport: exactly-once text messages, file uploads and downloads."""

from bot.transport.rocketchat.errors import (
    AuthenticationError,
    DeliveryUnknownError,
    FileTooLargeError,
    PermanentSendError,
    RejectedError,
    RocketChatError,
    TransportError,
)
from bot.transport.rocketchat.rest import RetryPolicy
from bot.transport.rocketchat.transport import RocketChatTransport

__all__ = [
    "AuthenticationError",
    "DeliveryUnknownError",
    "FileTooLargeError",
    "PermanentSendError",
    "RejectedError",
    "RetryPolicy",
    "RocketChatError",
    "RocketChatTransport",
    "TransportError",
]
