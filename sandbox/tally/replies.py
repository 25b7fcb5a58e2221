"""Reply documents in Tally's shapes: import results, rejections, the running banner (reference §5)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .xmlio import E

RUNNING = "<RESPONSE>TallyPrime Server is Running</RESPONSE>"
UNKNOWN_REQUEST = "Unknown Request, cannot be processed"

# Counter order of the captured legacy reply (reference §5).
COUNTERS = (
    "CREATED", "ALTERED", "DELETED", "LASTVCHID", "LASTMID", "COMBINED", "IGNORED", "ERRORS",
    "CANCELLED", "EXCEPTIONS",
)
_CMPINFO = ("COMPANY", "GROUP", "LEDGER", "COSTCATEGORY", "COSTCENTRE", "GODOWN", "STOCKGROUP",
            "STOCKCATEGORY", "STOCKITEM", "VOUCHERTYPE", "CURRENCY", "UNIT", "BUDGET")


class Rejected(Exception):
    """One object failed; `structural` counts it under EXCEPTIONS instead of ERRORS.

    An empty message means Tally's blank exception: the counter moves, no LINEERROR is written.
    """

    def __init__(self, message: str, *, structural: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.structural = structural


@dataclass(slots=True)
class ImportResult:
    """Aggregate counters of one import request plus its line errors, in arrival order."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    line_errors: list[str] = field(default_factory=list)
    rejected: bool = False

    def add(self, counter: str, n: int = 1) -> None:
        self.counts[counter] += n

    def fail(self, exc: Rejected) -> None:
        self.add("EXCEPTIONS" if exc.structural else "ERRORS")
        if exc.message:
            self.line_errors.append(exc.message)

    def status(self) -> str:
        """1 unless the request was refused or nothing at all was imported and something failed."""
        done = sum(self.counts[c] for c in ("CREATED", "ALTERED", "DELETED", "CANCELLED", "COMBINED",
                                            "IGNORED"))
        failed = self.counts["ERRORS"] + self.counts["EXCEPTIONS"] + len(self.line_errors)
        return "0" if self.rejected or (failed and not done) else "1"


def refused(message: str) -> ImportResult:
    """A request-level refusal: zero counters, one LINEERROR, STATUS 0."""
    return ImportResult(line_errors=[message], rejected=True)


def legacy_import_reply(result: ImportResult) -> E:
    """The bare `<RESPONSE>` answer to an `Import Data` request."""
    kids = [E(name, str(n)) for name, n in result.counts.items()]
    kids += [E("LINEERROR", msg) for msg in result.line_errors]
    return E("RESPONSE", kids=kids)


def versioned_import_reply(result: ImportResult) -> E:
    """`ENVELOPE/HEADER/STATUS` + `BODY/DATA/IMPORTRESULT`, line errors under DATA."""
    counters = E("IMPORTRESULT", kids=[E(name, str(n)) for name, n in result.counts.items()])
    data = E("DATA", kids=[counters, *(E("LINEERROR", msg) for msg in result.line_errors)])
    return envelope(result.status(), data)


def envelope(status: str, data: E) -> E:
    header = E("HEADER", kids=[E("VERSION", "1"), E("STATUS", status)])
    desc = E("DESC", kids=[E("CMPINFO", kids=[E(name, "0") for name in _CMPINFO])])
    return E("ENVELOPE", kids=[header, E("BODY", kids=[desc, data])])


def unknown_request() -> E:
    """Malformed or unsupported envelope: STATUS 0 and one LINEERROR."""
    data = E("DATA", kids=[E("LINEERROR", UNKNOWN_REQUEST)])
    header = E("HEADER", kids=[E("VERSION", "1"), E("STATUS", "0")])
    return E("ENVELOPE", kids=[header, E("BODY", kids=[data])])


def export_error(message: str) -> E:
    """An export Tally could not run answers a bare `<ENVELOPE><LINEERROR>` (seen in captures)."""
    return E("ENVELOPE", kids=[E("LINEERROR", message)])
