"""One `Settings` object for every process, read from `FLOWBUILDER_*` environment variables.

Nothing reads settings at import time: callers use `get_settings()`, which builds them once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOWBUILDER_", env_file=None, extra="ignore")

    mode: Literal["local", "aws"] = "local"
    data_dir: Path = Field(default=Path(".flowbuilder"), description="SQLite file, local vault key, artifacts")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in data_dir when unset")
    database_echo: bool = False

    local_tick_s: float = Field(default=2.0, gt=0, description="How often the dev process runs the schedule tick")

    # Engine limits
    max_concurrency: int = Field(default=8, ge=1, description="Steps of one execution running at once")
    for_each_concurrency: int = Field(default=4, ge=1, description="Items of one for_each node at once")
    default_node_timeout_s: float = Field(default=300.0, gt=0)
    default_execution_timeout_s: float = Field(default=3600.0, gt=0)
    retry_backoff_cap_s: float = Field(default=60.0, gt=0)
    for_each_max_items: int = Field(default=1000, ge=1)
    deferred_flush_ms: int = Field(
        default=50, ge=0, description="A step's start is written within this delay, or with its finish if sooner"
    )

    # Template sandbox caps
    template_max_output_bytes: int = Field(default=64 * 1024, ge=1)
    template_max_render_ms: int = Field(default=250, ge=1)
    template_max_loop_iterations: int = Field(default=10_000, ge=1)

    # Nodes
    http_max_response_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    http_timeout_s: float = Field(default=30.0, gt=0)
    http_max_redirects: int = Field(default=5, ge=0)
    delay_max_s: float = Field(default=300.0, ge=0)
    egress_allow_private: bool = Field(
        default=False, description="Let nodes reach loopback/private addresses (tests, trusted networks)"
    )
    egress_allow_networks: list[str] = Field(
        default_factory=list, description="CIDRs reachable even though private, e.g. 10.1.0.0/16"
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'flowbuilder.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
