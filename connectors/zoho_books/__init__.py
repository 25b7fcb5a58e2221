"""Zoho Books API v3 (reference: /work/shared/reference/zoho-books.md): OAuth onboarding, client, limits."""
