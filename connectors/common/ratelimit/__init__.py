"""Rate limiters as shared objects: each implements the ``Pacer`` protocol of ``connectors.common.http``."""

from connectors.common.ratelimit.endpoints import PerEndpointBuckets, endpoint_key, seconds_until
from connectors.common.ratelimit.limiters import (
    HeaderWindowLimiter,
    SlidingWindow,
    TokenBucket,
    fingerprint,
    header_number,
    shared_limiter,
)

__all__ = [
    "HeaderWindowLimiter",
    "PerEndpointBuckets",
    "SlidingWindow",
    "TokenBucket",
    "endpoint_key",
    "fingerprint",
    "header_number",
    "seconds_until",
    "shared_limiter",
]
