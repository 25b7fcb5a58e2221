"""Webhooks: a receiver that queues deliveries durably for Dagster sensors to drain.

`app` (the Starlette receiver), `sources` (what a sender is, and how to register one),
`shipstation` (V1 secret path, V2 signatures via `signature`, the JWKS cache), `zoho` (HMAC-signed
Zoho Books contact events), `commands` (`ml-connector webhooks ...`). The queue itself is
`state.webhook_queue`; a burst of deliveries for tests and benchmarks is `bench.webhook_load`.
"""
