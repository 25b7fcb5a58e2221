"""The Zoho Books side any flow uses: item catalogue by SKU and upsert targets for contacts, invoices, journals."""

from connectors.common.errors import AuthError, RateLimited, ServerError, TransportError
from connectors.zoho_books.errors import DailyLimitReached

TARGET = "zoho_books"  # the sync ledger's target name for everything posted to Zoho Books
# Refused before anything was applied: the claims go back and are sent again later (the daily cap
# included: the next day's run carries on where this one stopped).
NOT_DELIVERED: tuple[type[BaseException], ...] = (DailyLimitReached, RateLimited, AuthError)
# May have been applied: the claims stay pending and the next run looks the key up first.
OUTCOME_UNKNOWN: tuple[type[BaseException], ...] = (ServerError, TransportError)
