"""(being written)"""

from bot.commands.base import CommandHandler
from bot.routing import Command

COMMANDS: dict[Command, CommandHandler] = {}
