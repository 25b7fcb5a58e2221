"""The accounts server of one data centre (`accounts.zoho.<tld>`): consent, tokens, revoke.

- `GET /oauth/v2/auth?scope=&client_id=&response_type=code&redirect_uri=&access_type=&state=`:
  the sandbox consents at once as the data centre's first user (or `login_hint`), answering 302
  to `redirect_uri?code=…&location=<dc>&accounts-server=<this server>[&state=…]`, as Zoho's
  redirect does after a real login. `/__sandbox/consent` does the same as JSON.
- `POST /oauth/v2/token`: parameters from the form body or the query string (Zoho's docs show the
  query string; most clients send a form). `authorization_code` and `refresh_token` grants. Errors
  are HTTP 200 `{"error": "invalid_code" | "invalid_client" | "invalid_redirect_uri"}` (200 as seen
  from Zoho: league/oauth2-client reports "IdentityProviderException(code: 200): invalid_code"),
  except the token throttle: 400 `{"error_description": "You have made too many requests
  continuously…", "error": "Access Denied", "status": "failure"}`.
- `POST /oauth/v2/token/revoke?token=`: deletes a refresh token (`{"status": "success"}`, assumed).
- `GET /oauth/serverinfo`: `{"result": "success", "locations": {dc: accounts URL}}`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sandbox.zoho_books.control import control_routes
from sandbox.zoho_books.datacentres import DATA_CENTRES
from sandbox.zoho_books.errors import JSONResponse, OAuthError
from sandbox.zoho_books.state import ZohoState


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if "x-www-form-urlencoded" in request.headers.get("content-type", ""):
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        params |= {k: v[0] for k, v in form.items()}
    return params


def create_accounts_app(state: ZohoState, dc: str) -> Starlette:
    """The accounts server of data centre `dc` over `state`."""

    async def authorize(request: Request) -> Response:
        q = request.query_params
        try:
            if q.get("response_type") != "code":
                raise OAuthError("unsupported_response_type", status=400)
            with state.lock:
                grant = state.accounts.grant(dc, q.get("client_id"), q.get("scope"), q.get("redirect_uri"),
                                             access_type=q.get("access_type", "online"), user=q.get("login_hint"))
        except OAuthError as exc:
            return exc.response()
        answer: dict[str, Any] = {"code": grant.code, "location": dc, "accounts-server": state.accounts_url(dc)}
        if "state" in q:
            answer["state"] = q["state"]
        joiner = "&" if "?" in grant.redirect_uri else "?"
        return RedirectResponse(f"{grant.redirect_uri}{joiner}{urlencode(answer)}", status_code=302)

    async def token(request: Request) -> Response:
        params = await _params(request)
        try:
            grant_type = params.get("grant_type")
            if grant_type == "authorization_code":
                body = state.accounts.exchange_code(dc, params, state.api_domain(dc))
            elif grant_type == "refresh_token":
                body = state.accounts.refresh(dc, params, state.api_domain(dc))
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            return exc.response()
        return JSONResponse(body)

    async def revoke(request: Request) -> Response:
        try:
            state.accounts.revoke(dc, (await _params(request)).get("token", ""))
        except OAuthError as exc:
            return exc.response()
        return JSONResponse({"status": "success"})

    async def serverinfo(request: Request) -> Response:
        locations = {code: state.accounts_url(code) for code in DATA_CENTRES}
        return JSONResponse({"result": "success", "locations": locations})

    routes = [Route("/oauth/v2/auth", authorize, methods=["GET"]), Route("/oauth/v2/token", token, methods=["POST"]),
              Route("/oauth/v2/token/revoke", revoke, methods=["POST"]),
              Route("/oauth/serverinfo", serverinfo, methods=["GET"]), *control_routes(state, None, dc)]
    app = Starlette(routes=routes)
    app.state.zoho = state
    return app
