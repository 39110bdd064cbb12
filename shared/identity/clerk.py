"""Clerk session JWTs, verified without calling Clerk: RS256 only, against keys from the JWKS URL
(cached for a TTL) or a PEM public key from settings.

An unknown `kid` re-fetches the JWKS (Clerk rotated its keys) at most once per
`clerk_jwks_min_refresh_s`, so a stream of forged `kid`s cannot turn into a stream of fetches.
Verifiers are cached per configuration, so the key cache outlives a request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.settings import Settings

ALGORITHM = "RS256"
FETCH_TIMEOUT_S = 5.0


class ClerkTokenError(Exception):
    """The token is not a valid Clerk session token; `reason` says why (safe to show the caller)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JwksCache:
    """Signing keys by `kid` from a JWKS URL: trusted for `ttl_s`, re-fetched early for an unknown
    `kid` no more than once per `min_refresh_s`."""

    def __init__(
        self, url: str, ttl_s: float, min_refresh_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.url, self.ttl_s, self.min_refresh_s, self.clock = url, ttl_s, min_refresh_s, clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any:
        with self._lock:
            now = self.clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.ttl_s
            may_refresh = self._fetched_at is None or now - self._fetched_at >= self.min_refresh_s
            if stale or (kid not in self._keys and may_refresh):
                self._refresh(now)
            if kid not in self._keys:
                raise ClerkTokenError("the token's signing key is unknown")
            return self._keys[kid]

    def _refresh(self, now: float) -> None:
        import httpx
        import jwt

        try:
            response = httpx.get(self.url, timeout=FETCH_TIMEOUT_S, follow_redirects=False)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError):
            if not self._keys:
                raise ClerkTokenError("the signing keys could not be fetched") from None
            return  # keep serving the keys we have; try again after min_refresh_s
        finally:
            self._fetched_at = now
        keys: dict[str, Any] = {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm=ALGORITHM).key
            except (KeyError, jwt.PyJWKError, jwt.InvalidKeyError):
                continue
        self._keys = keys


class ClerkVerifier:
    def __init__(
        self,
        issuer: str,
        *,
        jwks: JwksCache | None = None,
        public_key_pem: str | None = None,
        authorized_parties: tuple[str, ...] = (),
        leeway_s: float = 5.0,
    ) -> None:
        if jwks is None and not public_key_pem:
            raise ValueError("a JWKS URL or a PEM public key is required")
        self.issuer, self.jwks, self.authorized_parties, self.leeway_s = issuer, jwks, authorized_parties, leeway_s
        self._pem_key = _load_pem(public_key_pem) if public_key_pem else None

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or ClerkTokenError with the reason it is refused."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise ClerkTokenError("the token is malformed") from None
        if header.get("alg") != ALGORITHM:
            raise ClerkTokenError(f"the token's algorithm must be {ALGORITHM}")
        key = self._signing_key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise ClerkTokenError("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise ClerkTokenError("the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise ClerkTokenError("the token's issuer is not trusted") from None
        except jwt.MissingRequiredClaimError as exc:
            raise ClerkTokenError(f"the token has no `{exc.claim}` claim") from None
        except jwt.InvalidSignatureError:
            raise ClerkTokenError("the token's signature is invalid") from None
        except jwt.PyJWTError:
            raise ClerkTokenError("the token is invalid") from None
        return _checked_claims(claims, self.authorized_parties)

    def _signing_key(self, kid: Any) -> Any:
        if self.jwks is not None and isinstance(kid, str) and kid:
            return self.jwks.key(kid)
        if self._pem_key is not None:
            return self._pem_key
        raise ClerkTokenError("the token names no signing key")


def _checked_claims(claims: dict[str, Any], authorized_parties: tuple[str, ...]) -> dict[str, Any]:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise ClerkTokenError("the token has no `sub` claim")
    azp = claims.get("azp")
    if azp is not None and azp not in authorized_parties:
        raise ClerkTokenError("the token was issued to an origin that is not allowed")
    return claims


def _load_pem(pem: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem.encode())
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the Clerk public key must be an RSA key")
    return key


def verifier_for(settings: Settings) -> ClerkVerifier | None:
    """The verifier for these settings (one per configuration, so its key cache is shared), or
    None when Clerk sign-in is not configured."""
    if not settings.clerk_issuer or not (settings.clerk_jwks_url or settings.clerk_public_key_pem):
        return None
    return _cached_verifier(
        settings.clerk_issuer,
        settings.clerk_jwks_url,
        settings.clerk_public_key_pem,
        tuple(settings.clerk_authorized_parties),
        settings.clerk_leeway_s,
        settings.clerk_jwks_ttl_s,
        settings.clerk_jwks_min_refresh_s,
    )


@lru_cache(maxsize=16)
def _cached_verifier(
    issuer: str,
    jwks_url: str | None,
    pem: str | None,
    authorized_parties: tuple[str, ...],
    leeway_s: float,
    ttl_s: float,
    min_refresh_s: float,
) -> ClerkVerifier:
    jwks = JwksCache(jwks_url, ttl_s, min_refresh_s) if jwks_url else None
    return ClerkVerifier(
        issuer, jwks=jwks, public_key_pem=pem, authorized_parties=authorized_parties, leeway_s=leeway_s
    )
