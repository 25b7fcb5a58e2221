"""Serve a `ZohoState`'s apps on loopback and tell the state where they are (for `api_domain`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.runner import ServedApp, serve
from sandbox.zoho_books.accounts_app import create_accounts_app
from sandbox.zoho_books.app import create_books_app
from sandbox.zoho_books.state import ZohoState


@dataclass
class ServedZoho:
    """Accounts and Books servers per data centre of one state."""

    state: ZohoState
    accounts: dict[str, ServedApp] = field(default_factory=dict)
    books: dict[str, ServedApp] = field(default_factory=dict)

    def stop(self) -> None:
        """Stop every server and the webhook thread."""
        for served in [*self.accounts.values(), *self.books.values()]:
            served.stop()
        self.state.webhooks.close()

    def __enter__(self) -> ServedZoho:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_zoho(state: ZohoState, data_centres: list[str], host: str = "127.0.0.1") -> ServedZoho:
    """An accounts server and a Books server for each of `data_centres`, on free ports of `host`."""
    served = ServedZoho(state)
    for dc in data_centres:
        served.accounts[dc] = serve(create_accounts_app(state, dc), host)
        state.accounts_urls[dc] = served.accounts[dc].base_url
        served.books[dc] = serve(create_books_app(state, dc), host)
        state.api_domains[dc] = served.books[dc].base_url
    return served
