"""Walmart ↔ TallyPrime reconciliation: the rule pack (pack.py), its snapshot rows and assets."""

from pipelines.walmart_tally.recon.pack import PAIR, rule_pack

__all__ = ["PAIR", "rule_pack"]
