"""Acumatica ↔ ShipStation reconciliation: the rule pack (pack.py), its snapshot readers and assets."""

from pipelines.acumatica_shipstation.recon.pack import PAIR, rule_pack

__all__ = ["PAIR", "rule_pack"]
