"""Contract: our TallyClient against the TallyPrime simulator over real HTTP, directly and through the LAN agent.

Each test serves its own simulator (and agent) on free loopback ports (`sandbox.runner.serve`). What
landed is checked twice: through our client and through the simulator's control plane.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.tally import codec
from connectors.tally.agent import create_agent_app
from connectors.tally.client import Exchange, TallyClient
from connectors.tally.errors import CompanyNotLoaded, TallyAuthError, TallyOutcomeUnknown, TallyRejected
from connectors.tally.models import InventoryEntry, Ledger, LedgerEntry, Voucher, VoucherId, VoucherRecord
from sandbox.merchant import generate_merchant
from sandbox.runner import ServedApp, serve
from sandbox.tally.app import create_app
from sandbox.tally.state import TallyState

TOKEN = "contract-agent-token-0123456789abcdef"
AWKWARD = "Ram & Shyam <Traders>"
DEVANAGARI = "राम कुमार"
CUSTOMERS = "Online Customers"
GODOWN = "Main Location"
DAY = date(2026, 4, 2)


@pytest.fixture(scope="module")
def masters() -> dict[str, Any]:
    """The merchant's Tally company spec (read-only: the simulator copies it into its own objects)."""
    return generate_merchant(seed=23, n_orders=12).tally


@dataclass
class Rig:
    """One simulator, optionally behind the agent, and the clients a test made (closed afterwards)."""

    masters: dict[str, Any]
    tally: ServedApp
    agent: ServedApp | None
    clients: list[TallyClient] = field(default_factory=list)

    @property
    def company(self) -> str:
        return self.masters["company"]

    def client(self, *, token: str | None = TOKEN, timeout: float = 30.0,
               transport: httpx.BaseTransport | None = None,
               on_exchange: Callable[[Exchange], None] | None = None) -> TallyClient:
        url = self.tally.base_url if self.agent is None else self.agent.base_url
        client = TallyClient(url, self.company, token=None if self.agent is None else token, timeout=timeout,
                             transport=transport, on_exchange=on_exchange)
        self.clients.append(client)
        return client

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.tally.base_url}/__sandbox/{path}"
        reply = httpx.get(url) if body is None else httpx.post(url, json=body)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def vouchers(self) -> list[dict[str, Any]]:
        return self.control("vouchers")

    def item(self, n: int = 0) -> dict[str, Any]:
        return self.masters["stock_items"][n]


@pytest.fixture
def start_rig(masters: dict[str, Any]) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def start(*, via_agent: bool) -> Rig:
        tally = serve(create_app(TallyState.from_masters(masters)))
        agent = serve(create_agent_app(f"{tally.base_url}/", TOKEN)) if via_agent else None
        rigs.append(Rig(masters, tally, agent))
        return rigs[-1]

    yield start
    for rig in rigs:
        for client in rig.clients:
            client.close()
        if rig.agent is not None:
            rig.agent.stop()
        rig.tally.stop()


@pytest.fixture(params=["direct", "agent"])
def rig(request: pytest.FixtureRequest, start_rig: Callable[..., Rig]) -> Rig:
    return start_rig(via_agent=request.param == "agent")


class CountingTransport(httpx.HTTPTransport):
    """A real transport that notes the request kind (export/import) of everything it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.kinds.append(request.headers.get("X-ML-Request-Kind", "?"))
        return super().handle_request(request)


def sales_order(number: str, party: str, item: str, *, quantity: int = 2, rate: str = "123.50",
                shipping: str = "49.00", tax: str = "12.35", voucher_type: str = "Sales Order",
                action: str = "Create", master_id: int | None = None) -> Voucher:
    """A balanced order: the party owes goods + shipping + tax (debit), the rest are credits."""
    goods = (quantity * Decimal(rate)).quantize(Decimal("0.01"))
    total = goods + Decimal(shipping) + Decimal(tax)
    return Voucher(
        voucher_type=voucher_type, action=action, master_id=master_id, date=DAY, voucher_number=number,
        reference=f"WC-{number}", party_ledger=party, narration=f"contract {number} [ext:ct-{number}]",
        is_invoice=voucher_type == "Sales",
        ledger_entries=[LedgerEntry(ledger_name=party, amount=-total, is_party=True),
                        LedgerEntry(ledger_name="Shipping Charges", amount=Decimal(shipping)),
                        LedgerEntry(ledger_name="Output Tax", amount=Decimal(tax))],
        inventory_entries=[InventoryEntry(stock_item=item, quantity=Decimal(quantity), unit="Nos", rate=Decimal(rate),
                                          amount=goods, godown=GODOWN, order_no=number, accounting_ledger="Sales")],
    )


def create_party(client: TallyClient, name: str) -> None:
    result = client.import_masters([Ledger(name=name, parent=CUSTOMERS)])
    assert (result.created, result.errors) == (1, 0)


# -- reading ---------------------------------------------------------------------------------------


def test_ping_shows_the_company(rig: Rig) -> None:
    client = rig.client()
    status = client.ping()
    assert (status.running, status.company_loaded, status.companies) == (True, True, [rig.company])
    company = client.company()
    assert company.name == rig.company and company.books_from == date(2025, 4, 1)
    assert company.alt_vch_id == 0


@pytest.mark.parametrize("party", [AWKWARD, DEVANAGARI])
def test_sales_order_round_trips_exactly(rig: Rig, party: str) -> None:
    client = rig.client()
    create_party(client, party)
    assert [(led.name, led.parent) for led in client.list_ledgers() if led.name == party] == [(party, CUSTOMERS)]
    sent = sales_order("SO-1", party, rig.item()["name"], quantity=3, rate="99.99", tax="17.99")
    assert sent.balance() == 0

    result = client.import_vouchers([sent])
    assert (result.created, result.errors, result.exceptions) == (1, 0, 0)
    listed = client.list_vouchers("Sales Order", DAY, DAY)
    fetched = client.get_voucher(result.last_vch_id)

    assert fetched is not None and listed == [fetched] and fetched.master_id == result.last_vch_id
    assert (fetched.voucher_type, fetched.date, fetched.voucher_number, fetched.reference, fetched.party_ledger,
            fetched.narration) == ("Sales Order", DAY, "SO-1", "WC-SO-1", party, sent.narration)
    assert fetched.ledger_entries == sent.ledger_entries  # names and Decimal amounts, to the paisa
    assert fetched.inventory_entries == sent.inventory_entries
    assert not fetched.is_cancelled
    [stored] = rig.vouchers()
    assert stored["party"] == party
    assert [(e["ledger"], e["amount"]) for e in stored["ledger_entries"]] == [
        (party, "-366.96"), ("Shipping Charges", "49.00"), ("Output Tax", "17.99")]


def test_alter_id_after_returns_only_newer_vouchers(rig: Rig) -> None:
    client = rig.client()
    item = rig.item()["name"]
    existing = rig.masters["ledgers"][-1]["name"]
    first = client.get_voucher(client.import_vouchers([sales_order("SO-A", existing, item)]).last_vch_id)
    second = client.get_voucher(client.import_vouchers([sales_order("SO-B", existing, item)]).last_vch_id)
    assert first is not None and second is not None and second.alter_id > first.alter_id

    assert [v.voucher_number for v in client.list_vouchers(alter_id_after=first.alter_id)] == ["SO-B"]
    assert [v.voucher_number for v in client.list_vouchers(alter_id_after=0)] == ["SO-A", "SO-B"]
    client.import_vouchers([sales_order("SO-A", existing, item, quantity=5, action="Alter",
                                        master_id=first.master_id)])
    newer = client.list_vouchers(alter_id_after=second.alter_id)
    assert [(v.voucher_number, v.master_id) for v in newer] == [("SO-A", first.master_id)]
    assert client.list_vouchers(alter_id_after=client.company().alt_vch_id) == []


def identity(record: VoucherRecord) -> VoucherId:
    return VoucherId(**record.model_dump(include=set(VoucherId.model_fields)))


def test_voucher_ids_agree_with_full_records_and_carry_no_lines(rig: Rig) -> None:
    exchanges: list[Exchange] = []
    client = rig.client(on_exchange=exchanges.append)
    create_party(client, DEVANAGARI)
    item = rig.item()["name"]
    orders = client.import_vouchers([sales_order(f"SO-{n}", DEVANAGARI, item) for n in range(1, 4)])
    client.import_vouchers([sales_order("INV-1", DEVANAGARI, item, voucher_type="Sales")])
    first = orders.last_vch_id - 2
    client.import_vouchers([Voucher(voucher_type="Sales Order", action="Cancel", master_id=first, date=DAY,
                                    narration="cancelled [ext:ct-SO-1]")])
    cursor = max(v.alter_id for v in client.list_voucher_ids()) - 1

    for args, cut in [(("Sales Order", DAY, DAY), {}), ((None, None, None), {}),
                      (("Sales Order", None, None), {"alter_id_after": cursor})]:
        ids = client.list_voucher_ids(*args, **cut)
        assert ids == [identity(r) for r in client.list_vouchers(*args, **cut)] != []
    every = {v.voucher_number: v for v in client.list_voucher_ids()}
    assert every.keys() == {"SO-1", "SO-2", "SO-3", "INV-1"} and every["SO-1"].is_cancelled
    assert every["SO-2"].narration == "contract SO-2 [ext:ct-SO-2]" and every["INV-1"].voucher_type == "Sales"
    assert every["SO-1"].master_id == first

    cut_reply, full_reply = (codec.decode_response(next(e.response or b"" for e in reversed(exchanges)
                                                        if e.operation == op))
                             for op in ("list_voucher_ids", "list_vouchers"))
    assert "LEDGERNAME" not in cut_reply and "PARTYLEDGERNAME" not in cut_reply and "LEDGERNAME" in full_reply


def test_stock_items_report_closing_quantities(rig: Rig) -> None:
    client = rig.client()
    existing = rig.masters["ledgers"][-1]["name"]
    sold, ordered = rig.item(0), rig.item(1)
    client.import_vouchers([sales_order("INV-1", existing, sold["name"], quantity=3, voucher_type="Sales"),
                            sales_order("SO-1", existing, ordered["name"], quantity=5)])
    opening = {i["name"]: i["opening_qty"] for i in rig.masters["stock_items"]}

    closing = {i.name: i.closing_qty for i in client.list_stock_items()}
    assert closing == opening | {sold["name"]: opening[sold["name"]] - 3}  # an order moves no stock
    before_sale = {i.name: i.closing_qty for i in client.list_stock_items(date(2025, 4, 1), date(2026, 4, 1))}
    assert before_sale == opening
    assert {name: Decimal(qty) for name, qty in rig.control("stock").items()} == closing
    assert all(i.base_unit == "Nos" for i in client.list_stock_items())


# -- writing and its failures ---------------------------------------------------------------------


def test_unknown_ledger_is_rejected_with_tallys_line_error(rig: Rig) -> None:
    client = rig.client()
    with pytest.raises(TallyRejected) as raised:
        client.import_vouchers([sales_order("SO-1", "Nobody & Co", rig.item()["name"])])
    assert raised.value.line_errors == ["Ledger 'Nobody & Co' does not exist!"]
    assert raised.value.result is not None and (raised.value.result.created, raised.value.result.errors) == (0, 1)
    assert rig.vouchers() == []


def test_batch_with_a_bad_middle_voucher_keeps_the_other_two(rig: Rig) -> None:
    client = rig.client()
    create_party(client, AWKWARD)
    item = rig.item()["name"]
    batch = [sales_order("SO-1", AWKWARD, item), sales_order("SO-2", AWKWARD, "No Such Item 500g"),
             sales_order("SO-3", AWKWARD, item)]
    with pytest.raises(TallyRejected) as raised:
        client.import_vouchers(batch)
    result = raised.value.result
    assert result is not None and (result.created, result.errors) == (2, 1)
    assert raised.value.line_errors == ["Stock Item 'No Such Item 500g' does not exist!"]
    assert [v.voucher_number for v in client.list_vouchers("Sales Order")] == ["SO-1", "SO-3"]
    assert [v["number"] for v in rig.vouchers()] == ["SO-1", "SO-3"]


def test_alter_by_master_id_changes_amounts_and_keeps_identity(rig: Rig) -> None:
    client = rig.client()
    create_party(client, AWKWARD)
    item = rig.item()["name"]
    master_id = client.import_vouchers([sales_order("SO-1", AWKWARD, item)]).last_vch_id
    before = client.get_voucher(master_id)
    changed = sales_order("SO-1", AWKWARD, item, quantity=4, rate="80.25", shipping="0.00", tax="16.05",
                          action="Alter", master_id=master_id)

    result = client.import_vouchers([changed])
    after = client.get_voucher(master_id)
    assert (result.altered, result.created) == (1, 0)
    assert before is not None and after is not None
    assert (after.master_id, after.guid) == (before.master_id, before.guid) and after.alter_id > before.alter_id
    assert after.ledger_entries == changed.ledger_entries != before.ledger_entries
    assert after.inventory_entries == changed.inventory_entries
    assert [v["master_id"] for v in rig.vouchers()] == [master_id]


def test_cancel_marks_the_voucher_cancelled(rig: Rig) -> None:
    client = rig.client()
    create_party(client, DEVANAGARI)
    master_id = client.import_vouchers([sales_order("SO-1", DEVANAGARI, rig.item()["name"])]).last_vch_id
    cancel = Voucher(voucher_type="Sales Order", action="Cancel", master_id=master_id, date=DAY,
                     narration="cancelled by the customer")

    result = client.import_vouchers([cancel])
    assert result.cancelled == 1
    voucher = client.get_voucher(master_id)
    assert voucher is not None and voucher.is_cancelled and voucher.master_id == master_id
    assert [(v["master_id"], v["cancelled"]) for v in rig.vouchers()] == [(master_id, True)]


def test_unloaded_company_raises_company_not_loaded(rig: Rig) -> None:
    client = rig.client()
    rig.control("company", {"loaded": False})
    status = client.ping()
    assert (status.running, status.company_loaded) == (True, False)
    with pytest.raises(CompanyNotLoaded):
        client.company()
    with pytest.raises(CompanyNotLoaded):
        client.list_vouchers("Sales Order", DAY, DAY)
    with pytest.raises(CompanyNotLoaded):
        client.import_vouchers([sales_order("SO-1", rig.masters["ledgers"][-1]["name"], rig.item()["name"])])
    assert rig.vouchers() == []
    rig.control("company", {"loaded": True})
    assert client.ping().company_loaded


# -- the agent ------------------------------------------------------------------------------------


def test_agent_refuses_a_wrong_token(start_rig: Callable[..., Rig]) -> None:
    rig = start_rig(via_agent=True)
    client = rig.client(token="not-the-token-0123456789abcdef")
    with pytest.raises(TallyAuthError):
        client.company()
    with pytest.raises(TallyAuthError):
        client.import_vouchers([sales_order("SO-1", rig.masters["ledgers"][-1]["name"], rig.item()["name"])])
    assert rig.control("stats").get("requests", 0) == 0  # nothing reached Tally
    assert rig.client().ping().company_loaded  # the right token still works


def test_import_slower_than_the_client_timeout_is_outcome_unknown_and_not_resent(rig: Rig) -> None:
    delay, timeout = 1.5, 0.5
    party = rig.masters["ledgers"][-1]["name"]
    rig.control("import-delay", {"seconds": delay})
    wire = CountingTransport()
    started = time.monotonic()
    with pytest.raises(TallyOutcomeUnknown):
        rig.client(timeout=timeout, transport=wire).import_vouchers([sales_order("SO-1", party, rig.item()["name"])])
    assert time.monotonic() - started < delay  # we gave up before Tally answered …
    assert wire.kinds == ["import"]  # … sent it once …
    assert [v["number"] for v in rig.vouchers()] == ["SO-1"]  # … and it was committed all the same

    rig.control("import-delay", {"seconds": 0})
    patient = rig.client()
    listed = patient.list_vouchers("Sales Order", DAY, DAY)  # queued behind the slow import
    assert [v.voucher_number for v in listed] == ["SO-1"]
    assert time.monotonic() - started >= delay
    time.sleep(0.3)  # room for a late re-send, were there one
    assert [v["number"] for v in rig.vouchers()] == ["SO-1"]
    stats = rig.control("stats")
    assert stats["import"] == 1 and stats["import:data:Vouchers"] == 1
