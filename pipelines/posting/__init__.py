"""Exactly-once posting, generic over targets: one `Poster` drives the sync-ledger protocol against a
small `Target` (TallyPrime today; ShipStation, Zoho Books and Acumatica upserts fit the same shape)."""

from pipelines.posting.poster import Poster, PostingReport, PostItem
from pipelines.posting.target import Created, Outcome, Target

__all__ = ["Created", "Outcome", "PostItem", "Poster", "PostingReport", "Target"]
