"""Walmart Marketplace (US) Seller API: client, models, reconciliation reports (reference: walmart-marketplace.md)."""
