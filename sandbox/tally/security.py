"""Company security: a company with a user name and password refuses requests that lack them.

What real TallyPrime does here is not documented (reference §8): security is enforced when a person
opens the company in the UI, and integrators who send a login put it in STATICVARIABLES as
``SVUSERNAME`` / ``SVPASSWORD`` [R]; nobody shows Tally's reply to a missing or wrong one. The
simulator takes the conservative side:
- every request that reaches a protected company (named in SVCURRENTCOMPANY, or the active one)
  must carry both, matching exactly (case-sensitive), or it is refused;
- the one exception is the list of loaded companies asked without naming a company (the
  Select Company screen shows names without a login), so a client can tell "not open" from
  "needs a login";
- a refusal is Tally's usual shape: an export answers a bare ``<ENVELOPE><LINEERROR>``, an import
  zero counters, one LINEERROR and STATUS 0. The wording is invented, so it starts with
  ``[sandbox]``; it names the password and "access denied" but never echoes what was sent, and
  a wrong login reads the same as a missing one.
"""

from __future__ import annotations

from .envelope import Request
from .exports import ExportError, _find_collection
from .state import TallyState

LOGIN_TAGS = ("SVUSERNAME", "SVPASSWORD")


def refusal(state: TallyState, request: Request) -> str | None:
    """The LINEERROR text when `request` may not touch its company without a (right) login, else None."""
    name = request.statics.get("SVCURRENTCOMPANY", "")
    company = state.loaded_company(name) if name else state.active
    if company is None or company.name not in state.logins:
        return None
    if not name and _lists_companies(request):
        return None
    username, password = state.logins[company.name]
    sent = (request.statics.get("SVUSERNAME"), request.statics.get("SVPASSWORD"))
    if sent == (username, password):
        return None
    return (f"[sandbox] Access denied: company '{company.name}' has security; send its user name and "
            "password (SVUSERNAME/SVPASSWORD)")


def _lists_companies(request: Request) -> bool:
    if request.action != "export" or request.type != "collection":
        return False
    try:
        return _find_collection(request).type == "company"
    except ExportError:
        return False
