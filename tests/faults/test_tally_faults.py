"""The TallyPrime simulator's fault knobs (sandbox/tally/faults.py), over real HTTP."""

from __future__ import annotations

from xml.sax.saxutils import escape

import httpx
import pytest

from sandbox.merchant import generate_merchant
from sandbox.runner import serve
from sandbox.tally.app import create_app
from sandbox.tally.state import TallyState

MERCHANT = generate_merchant(seed=3, n_orders=12)
COMPANY = MERCHANT.tally["company"]
XML_COMPANY = escape(COMPANY)


def ledger_import(*names: str) -> bytes:
    ledgers = "".join(f'<TALLYMESSAGE><LEDGER NAME="{n}" ACTION="Create"><NAME>{n}</NAME>'
                      f"<PARENT>Sundry Debtors</PARENT></LEDGER></TALLYMESSAGE>" for n in names)
    return (f"<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Import</TALLYREQUEST><TYPE>Data</TYPE>"
            f"<ID>All Masters</ID></HEADER><BODY><DESC><STATICVARIABLES><SVCURRENTCOMPANY>{XML_COMPANY}"
            f"</SVCURRENTCOMPANY></STATICVARIABLES></DESC><DATA>{ledgers}</DATA></BODY></ENVELOPE>").encode()


EXPORT = (f"<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Export</TALLYREQUEST><TYPE>Data</TYPE>"
          f"<ID>List of Accounts</ID></HEADER><BODY><DESC><STATICVARIABLES><SVCURRENTCOMPANY>{XML_COMPANY}"
          f"</SVCURRENTCOMPANY></STATICVARIABLES></DESC></BODY></ENVELOPE>").encode()


@pytest.fixture
def tally():
    served = serve(create_app(TallyState.from_masters(MERCHANT.tally)))
    try:
        yield served.base_url
    finally:
        served.stop()


def post(url: str, body: bytes) -> str:
    return httpx.post(url, content=body, headers={"content-type": "text/xml; charset=utf-8"}, timeout=10).text


def ledgers(url: str) -> set[str]:
    return {m["name"] for m in httpx.get(f"{url}/__sandbox/masters").json()["LEDGER"]}


def arm(url: str, **knobs) -> dict:
    answer = httpx.post(f"{url}/__sandbox/faults", json=knobs)
    answer.raise_for_status()
    return answer.json()


def test_blank_exceptions_import_nothing_and_give_no_text(tally):
    arm(tally, blank=1, blank_kind="all masters")
    reply = post(tally, ledger_import("Blank One", "Blank Two"))
    assert "<EXCEPTIONS>2</EXCEPTIONS>" in reply and "<CREATED>0</CREATED>" in reply
    assert "LINEERROR" not in reply and "<STATUS>0</STATUS>" in reply
    assert not {"Blank One", "Blank Two"} & ledgers(tally)
    assert "<CREATED>1</CREATED>" in post(tally, ledger_import("Blank One"))  # only the next N imports
    assert arm(tally)["fired"] == [{"fault": "blank", "report": "All Masters", "objects": 2}]


def test_blank_of_one_kind_leaves_other_imports_alone(tally):
    arm(tally, blank=1)  # vouchers only, by default
    assert "<CREATED>1</CREATED>" in post(tally, ledger_import("Master Import"))
    assert arm(tally)["blank"] == 1


def test_partial_commits_the_first_k_objects_then_drops_the_connection(tally):
    arm(tally, partial=2)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        post(tally, ledger_import("Part A", "Part B", "Part C", "Part D"))
    assert {"Part A", "Part B"} <= ledgers(tally) and not {"Part C", "Part D"} & ledgers(tally)
    assert "<CREATED>1</CREATED>" in post(tally, ledger_import("Part C"))  # one batch only


def test_closing_the_company_after_n_imports(tally):
    arm(tally, close_after=1)
    assert "<CREATED>1</CREATED>" in post(tally, ledger_import("Before Close"))
    reply = post(tally, ledger_import("After Close"))
    assert f"Could not find Company '{XML_COMPANY}'" in reply and "After Close" not in ledgers(tally)
    assert post(tally, EXPORT) == ""  # no company loaded: exports come back empty (reference §1)
    httpx.post(f"{tally}/__sandbox/company", json={"loaded": True}).raise_for_status()
    assert "<CREATED>1</CREATED>" in post(tally, ledger_import("After Close"))


def test_bad_knobs_are_refused(tally):
    assert httpx.post(f"{tally}/__sandbox/faults", json={"blank_kind": "receipts"}).status_code == 400
