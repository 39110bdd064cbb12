"""The stack's settings, read from `cdk.json` context (or `cdk synth -c key=value`).

Each key is documented in docs/deploy.md. Lists may be given as JSON arrays or comma-separated text."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

NAT_CHOICES = ("instance", "gateway")
VAULT_CHOICES = ("secretsmanager", "database")
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 180, 365)
MAPPINGS = ("extra_environment", "extra_secret_settings")
SECRET_WORDS = ("PASSWORD", "SALT", "SECRET", "TOKEN", "API_KEY", "DATABASE_URL")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class StackConfig:
    stack_name: str = "FlowBuilder"
    nat: str = "instance"
    clerk_issuer: str = ""
    clerk_jwks_url: str = ""
    clerk_public_key_pem: str = ""
    clerk_publishable_key: str = ""
    allowed_origins: tuple[str, ...] = ()
    domain_name: str = ""
    certificate_arn: str = ""
    trusted_proxy_hops: int = 1
    vault_backend: str = "secretsmanager"
    vault_secret_prefix: str = ""
    alarm_email: str = ""
    log_retention_days: int = 30
    artifact_expiry_days: int = 30
    db_max_acu: float = 2.0
    db_auto_pause_minutes: int = 5
    db_deletion_protection: bool = True
    light_max_concurrency: int = 10
    fargate_spot_weight: int = 1
    fargate_weight: int = 0
    lambda_asset: str = "build/lambda"
    worker_image: str = "asset"
    web_dist: str = "web/dist"
    extra_environment: tuple[tuple[str, str], ...] = ()
    extra_secret_settings: tuple[tuple[str, str], ...] = ()

    @property
    def credential_prefix(self) -> str:
        return self.vault_secret_prefix or f"{self.stack_name.lower()}/credentials"

    @property
    def site_origins(self) -> tuple[str, ...]:
        own = (f"https://{self.domain_name}",) if self.domain_name else ()
        return tuple(dict.fromkeys((*own, *self.allowed_origins)))

    @classmethod
    def from_context(cls, get: Any) -> StackConfig:
        """`get(key)` returns the raw context value or None (`node.try_get_context`)."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = get(field.name)
            if raw is None or raw == "":
                continue
            coerce = _mapping if field.name in MAPPINGS else _coerce
            values[field.name] = coerce(field.name, field.default, raw)
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        if self.nat not in NAT_CHOICES:
            raise ConfigError(f"context nat: must be one of {', '.join(NAT_CHOICES)}, not {self.nat!r}")
        if self.vault_backend not in VAULT_CHOICES:
            raise ConfigError(
                f"context vault_backend: must be one of {', '.join(VAULT_CHOICES)}, not {self.vault_backend!r}"
            )
        if self.domain_name and not self.certificate_arn:
            raise ConfigError("context certificate_arn: required with domain_name (an ACM certificate in us-east-1)")
        if self.fargate_spot_weight + self.fargate_weight < 1:
            raise ConfigError("context fargate_spot_weight / fargate_weight: at least one must be positive")
        if not 0 < self.db_max_acu <= 256:
            raise ConfigError("context db_max_acu: must be between 0.5 and 256")
        for name, _ in self.extra_environment:
            if not name.startswith("FLOWBUILDER_") or any(word in name for word in SECRET_WORDS):
                raise ConfigError(
                    f"context extra_environment: {name!r} must be a FLOWBUILDER_* setting that is not a secret "
                    "(put secrets in extra_secret_settings)"
                )
        for name, secret in self.extra_secret_settings:
            if not name.islower() or name.startswith("flowbuilder_") or not secret:
                raise ConfigError(
                    f"context extra_secret_settings: {name!r} must be a setting name (e.g. smtp_password) "
                    "mapped to the name or ARN of an existing secret"
                )
        if self.log_retention_days not in RETENTION_DAYS:
            raise ConfigError(f"context log_retention_days: one of {', '.join(map(str, RETENTION_DAYS))}")
        if not 5 <= self.db_auto_pause_minutes <= 1440:
            raise ConfigError("context db_auto_pause_minutes: Aurora accepts 5 to 1440")


def _coerce(name: str, default: Any, raw: Any) -> Any:
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).strip().lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, tuple):
            if isinstance(raw, str):
                raw = json.loads(raw) if raw.strip().startswith("[") else [p for p in raw.split(",") if p.strip()]
            return tuple(str(item).strip() for item in raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"context {name}: cannot read {raw!r} ({exc})") from None


def _mapping(name: str, default: Any, raw: Any) -> tuple[tuple[str, str], ...]:
    try:
        if isinstance(raw, str):
            raw = json.loads(raw)
        if not isinstance(raw, dict):
            raise TypeError("expected a JSON object")
        return tuple(sorted((str(key), str(value)) for key, value in raw.items()))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"context {name}: cannot read {raw!r} ({exc})") from None
