"""ShipStation ↔ TallyPrime reconciliation: the rule pack (pack.py), its snapshot readers and assets."""

from pipelines.shipstation_tally.recon.pack import PAIR, rule_pack

__all__ = ["PAIR", "rule_pack"]
