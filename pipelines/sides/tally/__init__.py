"""The TallyPrime side every flow uses: SKU resolution, masters, voucher builders, the posting target."""

TARGET = "tally"  # the sync ledger's target name for everything posted to TallyPrime
