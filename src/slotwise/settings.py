"""The one settings object. Every knob is an env var with the ``SLOTWISE_`` prefix
(``DATABASE_URL`` and ``REDIS_URL`` are also read without it, as operators expect)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - refused in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLOTWISE_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SLOTWISE_DATABASE_URL", "DATABASE_URL")
    )
    data_dir: Path = Path(".slotwise")
    app_db_role: str = "slotwise_app"
    app_db_password: SecretStr | None = None
    db_pool_size: int = 20
    db_pgbouncer: bool = False

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SLOTWISE_REDIS_URL", "REDIS_URL")
    )
    rate_limit_public: str = "120/minute"
    rate_limit_tenant: str = "1200/minute"
    rate_limit_login: str = "10/minute"
    trusted_proxies: int = 0
    max_in_flight: int = 512

    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    static_url: str = "/static"
    log_level: str = "INFO"
    log_json: bool = True

    token_ttl_seconds: int = 12 * 3600
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "Slotwise <no-reply@slotwise.local>"
    mailbox_dir: Path | None = None
    live_updates: bool = True
    # Live updates (realtime/) — SPEC §8: "outbox" keeps NOTIFY out of booking commits
    # (bench/README.md, "Live updates"); "notify" notifies from the writing transaction.
    live_updates_mode: Literal["notify", "outbox"] = "outbox"
    # The app role straight to PostgreSQL, for LISTEN and the relay's lock (needed behind
    # PgBouncer in transaction mode); unset: the app's own connection URL.
    live_database_url: str | None = None
    live_relay_interval_ms: int = Field(default=20, ge=1, le=5000)
    live_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    live_max_streams_per_client: int = Field(default=20, ge=1, le=100_000)
    # Public GET cache (caching/): exact invalidation by the live changes, TTLs as a backstop.
    cache_enabled: bool = True
    cache_max_entries: int = Field(default=20_000, ge=0, le=10_000_000)
    cache_profile_ttl_seconds: int = Field(default=600, ge=1, le=86_400)
    cache_availability_ttl_seconds: int = Field(default=30, ge=1, le=3600)
    cache_warm_tenants: int = Field(default=10, ge=0, le=100)
    # Notifications worker: None = in-process in development only (the demo mails without
    # a second command); production runs `slotwise worker`, tests drive it step by step.
    run_worker_in_process: bool | None = None
    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    outbox_max_attempts: int = Field(default=8, ge=1, le=50)

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key.get_secret_value() == DEFAULT_SECRET
            or len(self.secret_key.get_secret_value()) < 32
        ):
            raise ValueError(
                "SLOTWISE_SECRET_KEY must be set to a random value of 32+ characters in production"
            )
        return self

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def mailbox_path(self) -> Path:
        return self.mailbox_dir or (self.data_dir / "mailbox")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
