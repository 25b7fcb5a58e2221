"""Company login: SVUSERNAME/SVPASSWORD in the envelope, never in logs, reprs or the audit exchange;
the simulator's protected company refuses requests without the right login."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date

import pytest
from lxml import etree

from connectors.tally import codec
from connectors.tally.client import Exchange, TallyClient
from connectors.tally.errors import CompanyLoginRequired, CompanyNotLoaded
from connectors.tally.models import Ledger
from connectors.tally.xml_build import Login, envelope, to_text, with_login
from sandbox.runner import ServedApp
from sandbox.tally import TallyState, create_app

COMPANY = "Sharma & Sons"
USER, PASSWORD = "accounts-clerk", "S3cret<&>pw-7781"
SPEC = {"company": COMPANY, "books_from": "2025-04-01", "units": [{"name": "Nos"}]}


def test_login_goes_into_static_variables_escaped() -> None:
    root, _ = envelope("Export", "Collection", "X", COMPANY, Login(USER, PASSWORD))
    static = root.find("BODY/DESC/STATICVARIABLES")
    assert [c.tag for c in static] == ["SVCURRENTCOMPANY", "SVUSERNAME", "SVPASSWORD"]
    assert static.findtext("SVPASSWORD") == PASSWORD and "S3cret&lt;&amp;&gt;pw" in to_text(root)
    added = etree.fromstring(with_login(codec.build_master_import(COMPANY, [Ledger(name="L", parent="Sales Accounts")]),
                                       Login(USER, PASSWORD)))
    assert added.findtext("BODY/DESC/STATICVARIABLES/SVUSERNAME") == USER
    assert added.find("BODY/DATA/TALLYMESSAGE") is not None
    assert with_login("<ENVELOPE/>", None) == "<ENVELOPE/>" and PASSWORD not in repr(Login(USER, PASSWORD))


@pytest.fixture
def served() -> Iterator[tuple[str, TallyState]]:
    state = TallyState.from_masters(SPEC)
    with ServedApp(create_app(state)) as app:
        yield app.base_url, state


def _client(url: str, exchanges: list[Exchange], **login: str) -> TallyClient:
    return TallyClient(url, COMPANY, timeout=10, encoding="utf-8", on_exchange=exchanges.append, **login)


def test_a_protected_company_needs_the_right_login(served, caplog: pytest.LogCaptureFixture) -> None:
    url, state = served
    state.protect(COMPANY, USER, PASSWORD)
    exchanges: list[Exchange] = []
    caplog.set_level(logging.DEBUG)
    anonymous, wrong = _client(url, exchanges), _client(url, exchanges, username=USER, password="nope")
    assert anonymous.ping().companies == [COMPANY]  # the list of open companies needs no login
    for client in (anonymous, wrong):
        with pytest.raises(CompanyLoginRequired):
            client.check_login()
        with pytest.raises(CompanyLoginRequired):
            client.list_ledgers()
        with pytest.raises(CompanyLoginRequired):
            client.import_masters([Ledger(name="New", parent="Sales Accounts")])
    right = _client(url, exchanges, username=USER, password=PASSWORD)
    right.check_login()
    assert right.import_masters([Ledger(name="New", parent="Sales Accounts")]).created == 1
    assert any(r.name == "New" for r in right.list_ledgers())
    assert right.list_vouchers(from_date=date(2025, 4, 1), to_date=date(2025, 4, 30)) == []
    audited = b"".join(e.request + (e.response or b"") for e in exchanges) + str(exchanges).encode()
    assert PASSWORD.encode() not in audited and USER.encode() not in audited
    assert b"<SVPASSWORD>[redacted]</SVPASSWORD>" in audited
    assert PASSWORD not in caplog.text and USER not in caplog.text and PASSWORD not in repr(right)


def test_an_unprotected_company_ignores_a_login_and_an_unloaded_one_is_not_open(served) -> None:
    url, state = served
    client = _client(url, [], username=USER, password=PASSWORD)
    client.check_login()
    state.unload(COMPANY)
    with pytest.raises(CompanyNotLoaded):
        client.check_login()
