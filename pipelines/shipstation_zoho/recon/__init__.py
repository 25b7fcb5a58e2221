"""ShipStation ↔ Zoho Books reconciliation: the rule pack (pack.py), its snapshot assets."""

from pipelines.shipstation_zoho.recon.pack import PAIR, rule_pack

__all__ = ["PAIR", "rule_pack"]
