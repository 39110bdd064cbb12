"""One `Settings` object for every process, read from `FLOWBUILDER_*` environment variables.

Nothing reads settings at import time: callers use `get_settings()`, which builds them once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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

    # Vault
    vault_backend: Literal["local", "secretsmanager"] = Field(
        default="local", description="local: AES-GCM in the database, key file in data_dir; or AWS Secrets Manager"
    )
    vault_secret_prefix: str = Field(
        default="flowbuilder/credentials", description="Secrets Manager names: <prefix>/<owner_id>/<name>"
    )
    vault_cache_max_age_s: float = Field(default=30.0, ge=0, description="How long a Secrets Manager read is reused")
    vault_master_key_secret_id: str | None = Field(
        default=None,
        description="Local (database) encryption with its master key in this Secrets Manager secret "
        "(base64 of 32 bytes) instead of the key file",
    )
    vault_aws_region: str | None = Field(default=None, description="Secrets Manager region; boto3's default if unset")
    vault_aws_endpoint_url: str | None = Field(default=None, description="Secrets Manager endpoint (moto, LocalStack)")

    # Identity: Clerk JWTs, guest trials (shared/identity)
    clerk_issuer: str | None = Field(default=None, description="Clerk Frontend API URL; JWTs are refused when unset")
    clerk_jwks_url: str | None = Field(default=None, description="Usually <issuer>/.well-known/jwks.json")
    clerk_public_key_pem: str | None = Field(default=None, description="PEM public key; used instead of the JWKS URL")
    clerk_authorized_parties: list[str] = Field(
        default_factory=list, description="Origins allowed in a JWT's `azp` (a token without `azp` passes)"
    )
    clerk_leeway_s: float = Field(default=5.0, ge=0, description="Clock skew allowed on `exp` and `nbf`")
    clerk_jwks_ttl_s: float = Field(default=3600.0, gt=0, description="How long fetched signing keys are trusted")
    clerk_jwks_min_refresh_s: float = Field(
        default=300.0, ge=0, description="An unknown `kid` re-fetches the JWKS at most this often"
    )
    user_starting_credits: int = Field(default=100, ge=0, description="Credits a Clerk user gets on first sight")
    guest_trial_days: float = Field(default=3.0, gt=0)
    guest_trial_credits: int = Field(default=25, ge=0)
    guest_ip_salt: SecretStr = Field(
        default=SecretStr("flowbuilder-local-guest-salt"), description="Salt of guest IP hashes; set it in aws mode"
    )
    trusted_proxy_hops: int = Field(
        default=1, ge=0, description="Proxies that append to X-Forwarded-For (CloudFront = 1; 0 = use the peer)"
    )

    # Credits and rate limits (shared/ratelimit, api/ratelimit.py, shared/credits.py)
    rate_limit_enabled: bool = Field(default=True, description="Off: no 429s (identities are still resolved)")
    rate_limit_store: Literal["auto", "memory", "database"] = Field(
        default="auto", description="Where counters live; auto = memory in local mode, database in aws mode"
    )
    rate_limit_window_s: int = Field(default=60, ge=1, description="Fixed window of every limit below")
    rate_limit_guest_requests: int = Field(default=20, ge=1, description="Per guest (and their keys) per window")
    rate_limit_guest_executions: int = Field(default=5, ge=1, description="Runs a guest may start per window")
    rate_limit_user_requests: int = Field(default=100, ge=1, description="Per user (and their keys) per window")
    rate_limit_user_executions: int = Field(default=30, ge=1, description="Runs a user may start per window")
    rate_limit_ip_requests: int = Field(
        default=30, ge=1, description="Per client IP per window: webhooks, guest sign-up, failed authentications"
    )

    # Cloud data plane
    aws_region: str | None = Field(default=None, description="Region of SQS and DynamoDB; boto3's default if unset")
    aws_endpoint_url: str | None = Field(default=None, description="SQS and DynamoDB endpoint (moto, LocalStack)")
    light_queue_url: str | None = Field(default=None, description="SQS queue of light-lane executions (aws mode)")
    browser_queue_url: str | None = Field(default=None, description="SQS queue of browser-lane executions (aws mode)")
    sqs_send_retries: int = Field(default=3, ge=0, description="Resends of entries a SendMessageBatch reports failed")
    gate_table: str = Field(
        default="flowbuilder-scheduler-gate", description="DynamoDB table (partition key `id`) of the next-wake gate"
    )
    reaper_stale_after_s: float = Field(
        default=600.0,
        gt=0,
        description="Running without a heartbeat this long: re-queued (must exceed the longest step)",
    )
    reaper_max_attempts: int = Field(default=3, ge=1, description="Attempts before a stale execution is failed")
    reaper_undispatched_after_s: float = Field(
        default=900.0, gt=0, description="A dispatched execution not claimed this long is dispatched again"
    )

    # Workers
    worker_heartbeat_s: float = Field(default=10.0, gt=0, description="How often a worker beats a running execution")
    worker_drain_deadline_s: float = Field(
        default=90.0, gt=0, description="On SIGTERM: how long running steps get before the execution is handed back"
    )
    worker_lambda_safety_margin_s: float = Field(
        default=10.0, ge=0, description="Light-lane Lambda: handed back by this long before the invocation's deadline"
    )
    worker_lambda_drain_s: float = Field(
        default=10.0, ge=0, description="Light-lane Lambda: how long running steps get once the deadline nears"
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'flowbuilder.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
