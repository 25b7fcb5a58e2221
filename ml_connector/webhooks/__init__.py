"""ShipStation webhooks: a receiver that queues deliveries durably for a Dagster sensor to drain.

`signature` (V2 RSA signatures and the JWKS cache), `app` (the Starlette receiver), `commands`
(`ml-connector webhooks ...`). The queue itself is `state.webhook_queue`; a burst of deliveries for
tests and benchmarks is `bench.webhook_load`.
"""
