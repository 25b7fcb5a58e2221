"""Control plane under `/__sandbox/`: NOT part of Tally's API; lets tests look inside and steer.

It does not take the request lock, so a test can inspect state while Tally "hangs" in an import delay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .company import Company
from .cost import CostModel
from .edits import edit_voucher, voucher_json
from .model import MASTER_KINDS, STOCKITEM
from .prices import prices_json
from .replies import Rejected
from .state import TallyState
from .stock import stock_positions


@dataclass(slots=True)
class Runtime:
    """Knobs that change while the app runs."""

    import_delay: float = 0.0
    cost: CostModel = field(default_factory=CostModel)


class _NotFound(LookupError):
    pass


class ControlPlane:
    """JSON endpoints over one `TallyState`."""

    def __init__(self, state: TallyState, runtime: Runtime) -> None:
        self.state, self.runtime = state, runtime

    def routes(self) -> list[Route]:
        handlers = {
            ("/__sandbox/vouchers", "GET"): self.vouchers, ("/__sandbox/stock", "GET"): self.stock,
            ("/__sandbox/masters", "GET"): self.masters, ("/__sandbox/stats", "GET"): self.stats,
            ("/__sandbox/company", "POST"): self.load_company,
            ("/__sandbox/security", "POST"): self.security,
            ("/__sandbox/vouchers/{master_id:int}/delete", "POST"): self.delete_voucher,
            ("/__sandbox/vouchers/{master_id:int}/edit", "POST"): self.edit_voucher,
            ("/__sandbox/import-delay", "POST"): self.import_delay,
            ("/__sandbox/cost", "GET"): self.get_cost, ("/__sandbox/cost", "POST"): self.set_cost,
            ("/__sandbox/reset-stats", "POST"): self.reset_stats,
        }
        return [Route(path, _guarded(fn), methods=[method]) for (path, method), fn in handlers.items()]

    def company_of(self, request: Request) -> Company:
        """`?company=` by name, else the active company, else the only one."""
        name = request.query_params.get("company")
        if name is not None:
            if name not in self.state.companies:
                raise _NotFound(f"no company {name!r}")
            return self.state.companies[name]
        if self.state.active is not None:
            return self.state.active
        if len(self.state.companies) == 1:
            return next(iter(self.state.companies.values()))
        raise _NotFound("name the company with ?company=")

    async def vouchers(self, request: Request) -> JSONResponse:
        company = self.company_of(request)
        return JSONResponse([voucher_json(v) for v in sorted(company.vouchers.values(), key=_mid)])

    async def stock(self, request: Request) -> JSONResponse:
        company = self.company_of(request)
        positions = stock_positions(company)
        items = company.masters[STOCKITEM].values()
        return JSONResponse({item.name: str(positions[item.master_id].qty) for item in items})

    async def masters(self, request: Request) -> JSONResponse:
        company = self.company_of(request)
        return JSONResponse({kind: [_master_json(m) for m in company.masters[kind].values()]
                             for kind in MASTER_KINDS})

    async def stats(self, request: Request) -> JSONResponse:
        return JSONResponse(dict(self.state.stats))

    async def reset_stats(self, request: Request) -> JSONResponse:
        self.state.stats.clear()
        return JSONResponse({})

    async def get_cost(self, request: Request) -> JSONResponse:
        return JSONResponse(self.runtime.cost.to_json())

    async def set_cost(self, request: Request) -> JSONResponse:
        """Replace the cost model (absent keys take their defaults; ``{}`` turns it off)."""
        self.runtime.cost = CostModel.from_json(await request.json())
        return JSONResponse(self.runtime.cost.to_json())

    async def load_company(self, request: Request) -> JSONResponse:
        body = await request.json()
        name = body.get("name") or _only_company(self.state)
        if name not in self.state.companies:
            raise _NotFound(f"no company {name!r}")
        (self.state.load if body.get("loaded", True) else self.state.unload)(name)
        return JSONResponse({"loaded": list(self.state.loaded)})

    async def security(self, request: Request) -> JSONResponse:
        """Protect a company with a user name and password (`{"username": ""}` removes it); never echoed."""
        body = await request.json()
        name = body.get("name") or _only_company(self.state)
        if name not in self.state.companies:
            raise _NotFound(f"no company {name!r}")
        self.state.protect(name, str(body.get("username") or ""), str(body.get("password") or ""))
        return JSONResponse({"protected": sorted(self.state.logins)})

    async def delete_voucher(self, request: Request) -> JSONResponse:
        company, voucher = _voucher(self.company_of(request), request)
        company.remove_voucher(voucher)
        return JSONResponse({"deleted": voucher.master_id})

    async def edit_voucher(self, request: Request) -> JSONResponse:
        company, voucher = _voucher(self.company_of(request), request)
        edited = edit_voucher(company, voucher, await request.json())
        return JSONResponse(voucher_json(edited))

    async def import_delay(self, request: Request) -> JSONResponse:
        self.runtime.import_delay = float((await request.json())["seconds"])
        return JSONResponse({"seconds": self.runtime.import_delay})


def _guarded(fn: Any) -> Any:
    async def endpoint(request: Request) -> JSONResponse:
        try:
            return await fn(request)
        except _NotFound as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except Rejected as exc:
            return JSONResponse({"error": exc.message}, status_code=422)
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            return JSONResponse({"error": f"bad request: {exc!r}"}, status_code=400)

    return endpoint


def _voucher(company: Company, request: Request) -> tuple[Company, Any]:
    master_id = request.path_params["master_id"]
    if master_id not in company.vouchers:
        raise _NotFound(f"no voucher with MasterId {master_id}")
    return company, company.vouchers[master_id]


def _only_company(state: TallyState) -> str:
    if len(state.companies) != 1:
        raise _NotFound('several companies: say {"name": ...}')
    return next(iter(state.companies))


def _mid(voucher: Any) -> int:
    return voucher.master_id


def _master_json(m: Any) -> dict[str, Any]:
    out = {"name": m.name, "aliases": m.aliases, "parent": m.parent, "master_id": m.master_id,
           "alter_id": m.alter_id, "guid": m.guid, "base_unit": m.base_unit or None,
           "opening_qty": str(m.opening_qty), "predefined": m.predefined}
    return out | ({"prices": prices_json(m.prices)} if m.prices else {})
