"""The state layer: what ml-connector remembers between runs.

`ledger` (the sync ledger: what was sent where, once), `audit` (the append-only audit trail and the
hook clients report their exchanges to), `staging` (DuckDB snapshots of what was read),
`webhook_queue` (webhook deliveries stored durably until a sensor drains them).
It sits below every flow and imports nothing of ours but `connectors.common`.
"""
