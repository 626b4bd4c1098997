"""The changes family of commands: comments on a contact and status changes of its records."""

from bot.commands.base import CommandHandler
from bot.commands.changes_comment import comment
from bot.commands.changes_status import status
from bot.routing import Command

COMMANDS: dict[Command, CommandHandler] = {
    Command.COMMENT: comment,
    Command.STATUS: status,
}
