"""The read-back's fast paths read what the plain reading of the same XML reads, whatever the vouchers hold.

`parse_voucher_amounts` / `parse_voucher_ids` read each voucher in one pass, stop a line's pass once its fields
are found and read each distinct amount and date once per reply. The reference here reads the same fields the
slow, obvious way (`find` of the first child of each tag, its whole text), so any shape hypothesis builds —
repeated, empty, nested or namespaced fields, comments, lines without a ledger, bad numbers — must give the same
records or the same refusal.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.tally import codec
from connectors.tally.errors import TallyProtocolError
from connectors.tally.models import VoucherAmounts, VoucherId
from connectors.tally.xml_parse import Element, parse_xml
from connectors.tally.xml_values import parse_bool, parse_date, parse_decimal, parse_int

HEAD = "<ENVELOPE><HEADER><STATUS>1</STATUS></HEADER><BODY><DATA><COLLECTION>"
TAIL = "</COLLECTION></DATA></BODY></ENVELOPE>"


def first(el: Element, tag: str) -> str | None:
    child = el.find(tag)
    return None if child is None else "".join(child.itertext()) or None


def amount(text: str | None) -> Decimal:
    return parse_decimal(text) or Decimal(0)


def reference(obj: Element, amounts: bool) -> VoucherId:
    ledgers: dict[str, list[tuple[str, Decimal, bool]]] = {"ALLLEDGERENTRIES.LIST": [], "LEDGERENTRIES.LIST": []}
    stock = Decimal(0)
    for child in obj if amounts else ():
        if child.tag in ledgers and first(child, "LEDGERNAME"):
            ledgers[child.tag].append((first(child, "LEDGERNAME"), amount(first(child, "AMOUNT")),
                                       parse_bool(first(child, "ISPARTYLEDGER"))))
        elif child.tag == "ALLINVENTORYENTRIES.LIST" and first(child, "STOCKITEMNAME"):
            stock += amount(first(child, "AMOUNT"))
    day, master_id, alter_id = parse_date(first(obj, "DATE")), parse_int(first(obj, "MASTERID")), parse_int(
        first(obj, "ALTERID"))
    if day is None or master_id is None or alter_id is None:
        raise ValueError("voucher lacks DATE, MASTERID or ALTERID")
    identity = {"master_id": master_id, "alter_id": alter_id, "date": day,
                "voucher_type": first(obj, "VOUCHERTYPENAME") or obj.get("VCHTYPE") or "",
                "voucher_number": first(obj, "VOUCHERNUMBER"), "narration": first(obj, "NARRATION"),
                "is_cancelled": parse_bool(first(obj, "ISCANCELLED"))}
    if not amounts:
        return VoucherId(**identity)
    return VoucherAmounts(**identity, party_ledger=first(obj, "PARTYLEDGERNAME"),
                          ledger_lines=tuple(ledgers["ALLLEDGERENTRIES.LIST"] or ledgers["LEDGERENTRIES.LIST"]),
                          inventory_amount=stock)


def outcome(fn, *args) -> object:
    try:
        return fn(*args)
    except TallyProtocolError as exc:
        return str(exc)


def read_slowly(text: str, amounts: bool) -> object:
    objects = parse_xml(text).findall("BODY/DATA/COLLECTION/VOUCHER")
    records = []
    for obj in objects:
        try:
            records.append(reference(obj, amounts))
        except ValueError as exc:
            raise TallyProtocolError(f"unreadable VOUCHER {first(obj, 'GUID') or obj.get('NAME') or '?'!r}: "
                                     f"{exc}") from None
    return records


def leaf(tag: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    inner = values | st.sampled_from(["", " ", "<X>in</X>", "a<X>b</X>c", "<!-- c -->", "<X/>"])
    return st.builds(lambda v, empty: f"<{tag}/>" if empty else f"<{tag}>{v}</{tag}>", inner,
                     st.booleans()) | st.just(f'<u:{tag} xmlns:u="u">9</u:{tag}>')


AMOUNTS = st.sampled_from(["10.00", "-5.50", " 441", "(-)12.50", "0.00", "0", "1,000.00", "abc", "1e3", "७"])
NAMES = st.sampled_from(["Asha", "Sales &amp; Co", "&#4; Not Applicable", "Tea", "Yes", "No"])
FLAGS = st.sampled_from(["Yes", "No", " yes ", "1", "true", "Y"])


def line(tag: str, fields: list[st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    noise = st.sampled_from(["<ISDEEMEDPOSITIVE>Yes</ISDEEMEDPOSITIVE>", "<RATE>5.00/Nos</RATE>",
                             "<BATCHALLOCATIONS.LIST><AMOUNT>7.00</AMOUNT><LEDGERNAME>In</LEDGERNAME>"
                             "</BATCHALLOCATIONS.LIST>", "<!-- c -->"])
    return st.lists(st.one_of(*fields, noise), max_size=6).map(lambda kids: f"<{tag}>{''.join(kids)}</{tag}>")


LEDGER_FIELDS = [leaf("LEDGERNAME", NAMES), leaf("AMOUNT", AMOUNTS), leaf("ISPARTYLEDGER", FLAGS)]
STOCK_FIELDS = [leaf("STOCKITEMNAME", NAMES), leaf("AMOUNT", AMOUNTS)]
HEADER = [leaf("DATE", st.sampled_from(["20260401", "1-Apr-26", "2026-04-01", " 20260402"])),
          leaf("MASTERID", st.sampled_from(["1", " 7", "x", "2.0"])), leaf("ALTERID", st.sampled_from(["3", " 44"])),
          leaf("VOUCHERTYPENAME", NAMES), leaf("VOUCHERNUMBER", NAMES), leaf("NARRATION", NAMES),
          leaf("ISCANCELLED", FLAGS), leaf("PARTYLEDGERNAME", NAMES)]
VOUCHER = st.builds(
    lambda attrs, kids: f"<VOUCHER{attrs}>{''.join(kids)}</VOUCHER>",
    st.sampled_from(["", ' VCHTYPE="Sales"', ' VCHTYPE=""']),
    st.lists(st.one_of(*HEADER, line("ALLLEDGERENTRIES.LIST", LEDGER_FIELDS),
                       line("LEDGERENTRIES.LIST", LEDGER_FIELDS),
                       line("ALLINVENTORYENTRIES.LIST", STOCK_FIELDS)), max_size=14))
BASIC = "<DATE>20260401</DATE><MASTERID>1</MASTERID><ALTERID>2</ALTERID>"


@settings(max_examples=600, deadline=None)
@given(vouchers=st.lists(VOUCHER | VOUCHER.map(lambda v: v.replace(">", ">" + BASIC, 1)), min_size=1, max_size=4),
       amounts=st.booleans())
def test_fast_reading_is_the_plain_reading(vouchers: list[str], amounts: bool) -> None:
    text = HEAD + "".join(vouchers) + TAIL
    parse = codec.parse_voucher_amounts if amounts else codec.parse_voucher_ids
    assert outcome(parse, text) == outcome(read_slowly, text, amounts)


def test_repeated_amounts_and_dates_are_read_once_and_stay_exact() -> None:
    line_xml = "<ALLLEDGERENTRIES.LIST><LEDGERNAME>A</LEDGERNAME><AMOUNT>{}</AMOUNT></ALLLEDGERENTRIES.LIST>"
    vouchers = [f"<VOUCHER>{BASIC}{line_xml.format(a)}{line_xml.format('0.00')}</VOUCHER>"
                for a in ("1.10", "1.10", "(-)1.10", "0.00")]
    found = codec.parse_voucher_amounts(HEAD + "".join(vouchers) + TAIL)
    assert [[str(a) for _, a, _ in v.ledger_lines] for v in found] == [["1.10", "0"], ["1.10", "0"],
                                                                       ["-1.10", "0"], ["0", "0"]]
    assert found[0].date is found[3].date and found[0].ledger_lines[0][1] is found[1].ledger_lines[0][1]
