"""Many merchants on one deployment: each merchant in one file, `merchants/<name>.yaml`.

A merchant file names its systems (base URLs, the Tally company, ...), where each credential comes from
(an environment variable or the encrypted credential store; never the value), its mappings (SKU map,
ledgers) and which schedules run when. `config` loads and checks the files, `pools` gives each Tally
company its own single-writer pool, and `locations` builds one Dagster code location per merchant.

Why one code location per merchant (and not one location with every merchant's jobs prefixed): a
merchant's settings, secrets and state (ML_CONNECTOR_HOME, the PostgreSQL schema of its ledger) are
the environment of its code-server process and of the runs it launches, exactly as for a one-merchant
install, so no flow has to learn about merchants. A merchant whose file is broken, or whose systems
are down or rate-limited, fails its own location and its own runs; the others load and run. The UI
filters by location and by the `ml-connector/merchant` tag every run carries.
"""
