"""crmbot's settings (CONTRACT §2), read from the environment or ./.env by pydantic-settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["admin", "compras", "ventas", "soporte", "lectura", "none"]


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable in one line."""


class Settings(BaseSettings):
    """Every CRMBOT_* variable with its default; required ones are checked by ``require``."""

    model_config = SettingsConfigDict(
        env_prefix="CRMBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Out of the repr: a PostgreSQL URL holds the password (the secrets are SecretStr).
    database_url: str = Field(default="sqlite+aiosqlite:///./crmbot.db", repr=False)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    rocketchat_url: str | None = None
    rocketchat_user_id: str | None = None
    rocketchat_token: SecretStr | None = None
    rocketchat_username: str = "crmbot"
    webhook_token: SecretStr | None = None
    locale: Literal["es", "en"] = "es"
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    timezone: str = "Europe/Madrid"
    files_dir: Path = Path("./crmbot-files")
    max_file_mb: int = Field(default=25, ge=1, le=2048)
    smtp_host: str = "127.0.0.1"
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    mail_domain: str = "crm.localhost"
    email_webhook_secret: SecretStr | None = None
    smtp_relay_url: SecretStr | None = None
    # IMAP polling of an existing mailbox; off while the host is unset.
    imap_host: str | None = None
    imap_port: int | None = Field(default=None, ge=1, le=65535)  # 993 with SSL, else 143
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_ssl: bool = True
    dialog_timeout_min: int = Field(default=30, ge=1, le=7 * 24 * 60)
    default_role: Role = "none"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("rocketchat_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @property
    def max_file_bytes(self) -> int:
        """The file and email size limit in bytes."""
        return self.max_file_mb * 1024 * 1024

    def require(self, *names: str) -> None:
        """Stop with one line naming the first required setting that is missing."""
        for name in names:
            value = getattr(self, name)
            if isinstance(value, SecretStr):  # an empty secret is no secret
                value = value.get_secret_value()
            if value in (None, ""):
                raise SettingsError(f"CRMBOT_{name.upper()} is required but not set")


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one line that names the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise SettingsError(f"CRMBOT_{field.upper()}: {first['msg']}") from exc
