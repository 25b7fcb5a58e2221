"""Authenticators as httpx ``Auth`` objects; each offers ``redaction_values()`` and a secret-free repr."""

from connectors.common.auth.cache import CachedToken, MemoryTokenCache, TokenCache
from connectors.common.auth.oauth import OAuth2ClientCredentials, OAuth2RefreshToken
from connectors.common.auth.session import CookieSession
from connectors.common.auth.static import ApiKeyAuth, BasicAuth, basic_token, reveal, sha256_fingerprint

__all__ = [
    "ApiKeyAuth",
    "BasicAuth",
    "CachedToken",
    "CookieSession",
    "MemoryTokenCache",
    "OAuth2ClientCredentials",
    "OAuth2RefreshToken",
    "TokenCache",
    "basic_token",
    "reveal",
    "sha256_fingerprint",
]
