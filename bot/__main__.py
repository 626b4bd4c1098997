"""``python -m bot`` runs the crmbot command line."""

from bot.cli import main

raise SystemExit(main())
