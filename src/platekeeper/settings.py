"""Runtime settings: environment (``PLATEKEEPER_*``), an optional TOML file, then defaults.

Secrets are ``SecretStr`` so they never appear in logs or reprs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_ENV = "PLATEKEEPER_CONFIG_FILE"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLATEKEEPER_", extra="forbid", validate_default=True)

    mode: Literal["development", "production"] = "development"
    data_dir: Path = Path("platekeeper-data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite (WAL) inside data_dir"
    )
    profile: str = Field(
        default="san-jose-dup", description="Built-in profile name or path to a policy profile YAML file"
    )
    master_key: SecretStr | None = Field(default=None, description="Base64 of 32 bytes; wraps the per-day image keys")
    secret_key: SecretStr | None = Field(default=None, description="Signs CSRF tokens; generated if unset")
    recognition_threads: int = Field(default=1, ge=1, le=64)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    session_hours: float = Field(default=10.0, gt=0, le=24)
    public_base_url: str | None = None
    blur_people: bool = Field(
        default=False,
        description="CAP-4: blur faces and people in every stored frame (detection only, nobody is identified)",
    )

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'platekeeper.sqlite').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings; a config file given here wins over ``PLATEKEEPER_CONFIG_FILE``."""
    if config_file is not None:
        if not config_file.is_file():
            raise FileNotFoundError(f"settings file not found: {config_file}")
        os.environ[CONFIG_FILE_ENV] = str(config_file)
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
