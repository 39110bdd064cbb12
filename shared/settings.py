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

    mode: Literal["local", "aws"] = Field(
        default="local", description="local: SQLite, in-process queue, files; aws: the deployed stack's services"
    )
    data_dir: Path = Field(default=Path(".flowbuilder"), description="SQLite file, local vault key, artifacts")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in data_dir when unset")
    database_echo: bool = Field(default=False, description="Log every SQL statement (debugging)")
    settings_secret_id: str | None = Field(
        default=None,
        description="A Secrets Manager secret, JSON of setting names to values (database_url, guest_ip_salt), "
        "read once when settings are built; environment variables win over it",
    )

    local_tick_s: float = Field(default=2.0, gt=0, description="How often the dev process runs the schedule tick")

    # Engine limits
    max_concurrency: int = Field(default=8, ge=1, description="Steps of one execution running at once")
    local_browser_concurrency: int = Field(
        default=2, ge=1, description="Browser-lane executions `flowbuilder dev` runs at once (each starts a Chromium)"
    )
    for_each_concurrency: int = Field(default=4, ge=1, description="Items of one for_each node at once")
    default_node_timeout_s: float = Field(default=300.0, gt=0, description="Per-attempt limit of a node that sets none")
    default_execution_timeout_s: float = Field(
        default=3600.0, gt=0, description="Limit of a whole execution when its workflow sets none"
    )
    retry_backoff_cap_s: float = Field(default=60.0, gt=0, description="Longest wait between two attempts of a step")
    for_each_max_items: int = Field(default=1000, ge=1, description="Longest list a for_each may take")
    deferred_flush_ms: int = Field(
        default=50, ge=0, description="A step's start is written within this delay, or with its finish if sooner"
    )

    # Template sandbox caps
    template_max_output_bytes: int = Field(default=64 * 1024, ge=1, description="Largest text one template may render")
    template_max_render_ms: int = Field(default=250, ge=1, description="Time limit of rendering one template")
    template_max_loop_iterations: int = Field(
        default=10_000, ge=1, description="Loop iterations one template may run in all"
    )

    # Nodes
    http_max_response_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="Largest HTTP response body a node reads"
    )
    http_timeout_s: float = Field(default=30.0, gt=0, description="Default and longest time limit of one HTTP request")
    http_max_redirects: int = Field(default=5, ge=0, description="Redirects an HTTP request follows")
    delay_max_s: float = Field(default=300.0, ge=0, description="Longest flow.delay")
    egress_allow_private: bool = Field(
        default=False, description="Let nodes reach loopback/private addresses (tests, trusted networks)"
    )
    egress_allow_networks: list[str] = Field(
        default_factory=list, description="CIDRs reachable even though private, e.g. 10.1.0.0/16"
    )

    # Browser automation (shared/browser, shared/nodes/browser.py)
    browser_executable_path: Path | None = Field(
        default=None,
        description="Chromium to launch; unset: Debian's chromium-headless-shell, else /usr/bin/chromium, else the "
        "driver's own",
    )
    browser_driver: Literal["playwright", "patchright"] = Field(
        default="playwright", description="patchright: the stealth fork of Playwright (pip install patchright)"
    )
    browser_sandbox: bool | None = Field(
        default=None, description="Chromium's sandbox; unset = on, except when running as root"
    )
    browser_timeout_s: float = Field(
        default=30.0, gt=0, description="Default and longest wait of one browser action (navigation, selector, click)"
    )
    browser_launch_timeout_s: float = Field(default=60.0, gt=0, description="Time limit of starting or connecting")
    browser_viewport_width: int = Field(default=1280, ge=100, le=7680, description="Page width in CSS pixels")
    browser_viewport_height: int = Field(default=720, ge=100, le=4320, description="Page height in CSS pixels")
    browser_max_output_bytes: int = Field(
        default=1024 * 1024, ge=1, description="Largest result of browser.extract or browser.evaluate (as JSON)"
    )
    browser_max_extract_items: int = Field(default=1000, ge=1, description="Most elements browser.extract returns")
    browser_max_screenshot_bytes: int = Field(default=10 * 1024 * 1024, ge=1, description="Largest screenshot stored")

    # LLMs (shared/nodes/ai.py)
    ai_tokens_per_credit: int = Field(
        default=1000, ge=1, description="ai.chat charges 1 credit per this many tokens (rounded up), on top of its cost"
    )
    ai_timeout_s: float = Field(default=120.0, gt=0, description="Time limit of one chat completion request")
    ai_max_attempts: int = Field(
        default=3, ge=1, description="Tries of one chat completion on 429 or 5xx, inside one attempt of the step"
    )
    ai_retry_backoff_s: float = Field(default=1.0, ge=0, description="First wait between those tries (then doubled)")
    ai_retry_max_wait_s: float = Field(
        default=30.0, ge=0, description="Longest wait between tries, Retry-After included; longer ones fail the try"
    )

    # Messaging (shared/nodes/email.py, sms.py, slack.py) and failure alerts (shared/alerts)
    smtp_host: str | None = Field(default=None, description="Platform SMTP server: failure alerts, email.send")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="The platform SMTP server's port")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="How the platform SMTP connection is encrypted"
    )
    smtp_username: str | None = Field(default=None, description="No login when unset")
    smtp_password: SecretStr | None = Field(default=None, description="The platform SMTP password")
    smtp_from: str | None = Field(default=None, description="Sender address of platform mail, e.g. alerts@example.com")
    smtp_timeout_s: float = Field(default=30.0, gt=0, description="Time limit of one SMTP conversation")
    smtp_for_nodes: bool = Field(
        default=True,
        description="Let email.send use the platform SMTP server when no credential is given "
        "(turn off where untrusted users run workflows)",
    )
    messaging_timeout_s: float = Field(default=30.0, gt=0, description="Time limit of one Twilio or Slack request")
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Where users open the product; failure alerts link to runs here"
    )
    alert_timeout_s: float = Field(default=15.0, gt=0, description="Time limit of each failure alert (email, webhook)")

    # postgres.query (shared/nodes/postgres.py)
    postgres_query_max_rows: int = Field(
        default=1000, ge=1, description="Rows postgres.query returns at most; its max_rows cannot go higher"
    )
    postgres_query_timeout_s: float = Field(
        default=30.0, gt=0, description="statement_timeout of postgres.query; its timeout_s cannot go higher"
    )
    postgres_query_connect_timeout_s: int = Field(
        default=10, ge=2, description="How long postgres.query waits to connect (libpq counts whole seconds, 2+)"
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
    guest_trial_days: float = Field(default=3.0, gt=0, description="How long a guest trial lasts")
    guest_trial_credits: int = Field(default=25, ge=0, description="Credits a guest trial starts with")
    guest_ip_salt: SecretStr = Field(
        default=SecretStr("flowbuilder-local-guest-salt"), description="Salt of guest IP hashes; set it in aws mode"
    )
    trusted_proxy_hops: int = Field(
        default=1, ge=0, description="Proxies that append to X-Forwarded-For (CloudFront = 1; 0 = use the peer)"
    )

    # Credits and rate limits (shared/ratelimit, api/ratelimit.py, shared/credits.py)
    rate_limit_enabled: bool = Field(default=True, description="Off: no 429s (identities are still resolved)")
    api_key_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="Reads reuse an API key's lookup this long (0: never); writes always look it up afresh",
    )
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
    aws_region: str | None = Field(default=None, description="Region of SQS, DynamoDB and S3; boto3's default if unset")
    aws_endpoint_url: str | None = Field(default=None, description="SQS, DynamoDB and S3 endpoint (moto, LocalStack)")
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
    guest_retention_days: float = Field(
        default=7.0, ge=0, description="An expired guest trial's data is deleted this long after the trial ends"
    )
    guest_cleanup_every_s: float = Field(
        default=3600.0, ge=0, description="The tick sweeps expired guests at most this often (0: every tick)"
    )
    guest_cleanup_batch: int = Field(default=100, ge=1, description="Expired guests deleted per transaction")

    # Artifacts (shared/artifacts)
    artifacts_bucket: str | None = Field(
        default=None, description="S3 bucket of artifacts (aws mode); the data dir when unset"
    )
    artifacts_prefix: str = Field(default="artifacts/", description="Key prefix of artifacts in the bucket")
    artifacts_url_ttl_s: int = Field(
        default=60, ge=1, le=604_800, description="Lifetime of the presigned URL an S3 artifact download redirects to"
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

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ) -> tuple:
        """Secret settings (the database URL with its password, the guest IP salt) come from the
        secret named by FLOWBUILDER_SETTINGS_SECRET_ID, so no secret value sits in an environment."""
        import os

        sources = (init_settings, env_settings, dotenv_settings, file_secret_settings)
        secret_id = os.environ.get("FLOWBUILDER_SETTINGS_SECRET_ID")
        if not secret_id:
            return sources
        from pydantic_settings import AWSSecretsManagerSettingsSource

        secret = AWSSecretsManagerSettingsSource(
            settings_cls,
            secret_id,
            region_name=os.environ.get("FLOWBUILDER_AWS_REGION"),
            endpoint_url=os.environ.get("FLOWBUILDER_VAULT_AWS_ENDPOINT_URL"),
            case_sensitive=False,
            env_prefix="",
        )
        return (*sources, secret)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'flowbuilder.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
