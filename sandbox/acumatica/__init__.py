"""Acumatica contract-based REST API simulator: a test double of the real API (shared/reference/acumatica.md).

    state = AcumaticaState(tenant="SharmaSons", branches=("HQ",), users={"ml-connector": "pw"},
                           base_currency="INR", timezone="Asia/Kolkata", licence=Licence(max_api_users=3),
                           site="/AcumaticaERP")
    state.seed("Customer", [...]); state.seed("StockItem", [...]); state.seed("SalesOrder", [...])
    served = sandbox.runner.serve(create_app(state))   # instance URL: served.base_url + state.site

Covered (under the instance's `site` path):
- `GET /entity` (build and endpoints), `GET /entity/Default/<v>/swagger.json` for 22.200.001,
  23.200.001 and 24.200.001; any other endpoint name, version or entity is 404.
- `POST /entity/auth/login` (JSON or form body; `tenant` or the older `company`; `branch`),
  `POST /entity/auth/logout`, `POST /identity/connect/token` (password and refresh_token grants).
- `GET|PUT /entity/Default/<v>/{SalesOrder|Shipment|Customer|StockItem}` with `$filter`,
  `$expand`, `$select`, `$top`, `$skip`; `GET|DELETE …/<Entity>/<keys…>` or `…/<Entity>/<id>`;
  `If-None-Match: *` / `If-Match: *` on PUT.
- Actions `SalesOrderCreateShipment`, `CancelSalesOrder`, `ReopenSalesOrder` (SalesOrder),
  `ConfirmShipment`, `CorrectShipment` (Shipment): 202 + `Location` polled until 204.
- The licence: API-user (session) limit and per-user limit, idle timeout, requests per minute,
  concurrent requests, the request queue and its 429; control plane in `control.py`.

What the public sources say, and where:
- Entities, fields and value types are Acumatica's own swagger for each version
  (Acumatica/AcumaticaRESTAPIClientForCSharp `EndpointDefinitions/Default_2x.200.001`, see
  `schema.py`); 22/23 are Swagger 2.0, 24 is OpenAPI 3.0.1; `info.version` "4". `DecimalValue` is
  a JSON double. SalesOrder and StockItem stamp `LastModified`, Shipment and Customer
  `LastModifiedDateTime` (24.200.001's StockItem has both).
- `GET /entity` answers `{"version": {"acumaticaBuildVersion", "databaseVersion"}, "endpoints":
  [{"name", "version", "href": "<site>/entity/<name>/<version>/"}]}` and needs no sign-in
  (Integration Development Guide, "Retrieve the Acumatica ERP Version and the List of Endpoints",
  in Acumatica/Acumatica-AI-Resources). The build number here is made up.
- Sign-in answers 204 and sets `ASP.NET_SessionId`, `.ASPXAUTH`, `UserBranch`, `Locale`,
  `CompanyID` (cookies seen in the eMOBIQ Acumatica connector docs and a MYOB Advanced PHP client's
  tests). A wrong password is 500 `PX.Data.PXException` "Error: Invalid credentials. Please try
  again." (same PHP tests); an unknown or missing tenant 500 `PX.Data.PXUndefinedCompanyException`
  "A proper company ID cannot be determined for the request." (decompiled PX.Data); a sign-in past
  the licence's API users is 500 with exceptionMessage "API Login Limit" (Acumatica's C# client
  `AuthApi` looks for that text; an integrator's CI script notes it comes as HTTP 500).
- Sessions not signed out close after a 10-minute timeout ("Sign Out from the Service").
  Every API request but sign-out is queued; past half of the per-minute limit requests are delayed
  by (time left in the minute) / (requests left); more than 20 queued or a wait over 10 minutes is
  declined ("License Restrictions for API Users"). A declined request is 429 without `Retry-After`
  (none is documented); its body here is IIS's "The custom error module does not recognize this
  error." as an integrator's test records it.
- Bodies must be `application/json` or `text/json` (the swagger's `consumes`; sign-in also takes a
  form); anything else is Web API's 415 "The request entity's media type '…' is not supported".
- Errors use the Web API `HttpError` shape `{"message": "An error has occurred.",
  "exceptionMessage", "exceptionType", "stackTrace"}`. A key or id naming no record is 500
  `PX.Api.ContractBased.NoEntitySatisfiesTheConditionException` "No entity satisfies the
  condition." — integrators' fakes built on live instances answer so, and the swagger's GetByKeys
  lists no 404 (the reference's §10 says 404; we follow the swagger and the observations).
  Validation failures are 422 with the record echoed, `error` at entity level ("Inserting '…' record
  raised at least one error. Please review the errors.") and next to each bad value (C# client's
  `ErrorMessagesTests`).
- Actions: 202 with `Location: <site>/entity/Default/<v>/<Entity>/<Action>/status/<guid>`, polled
  with GET (202 running, 204 done) as `WaitActionCompletionAsync` does; the swagger's 204 carries a
  `Location` naming the processed record, which we send.
- Shipments (Acumatica 2020 R1 source, `SOShipmentEntry`, in aimenux/AcuWebSiteManager): once a
  shipment is confirmed its header and packages cannot be updated (`AllowUpdate`/`Packages.Allow*`
  false; `FreightCost` is editable only on an unconfirmed shipment whose carrier calculates freight
  manually); an order with an unconfirmed shipment from a warehouse gets no second one from it
  ("New shipment cannot be created for the sales order. The SO … sales order already has the …
  open shipment."); confirming a shipment of zero quantity fails ("Unable to confirm zero shipment
  …"); a shipment puts its order in Shipping, and confirming sets Completed when no open line is
  left, else Back Order. "Order SO … does not contain any items planned for shipment on '…'." when
  nothing is left to ship (SO `Messages`).
- OAuth: `expires_in` 3600, `token_type` Bearer, `refresh_token` only with `offline_access`;
  without `api:concurrent_access` one session per grant (reference §2); token errors are RFC 6749
  §5.2 codes (`invalid_client`, `invalid_grant`, `unsupported_grant_type`).

Where the sources are silent, this simulator assumes (invented error texts start with `[sandbox]`):
- The 401 body (`{"message": "[sandbox] You are not logged in."}`); the 404 text is Web API's
  routing message. Datetimes are answered in the tenant's time zone with its offset.
- Unknown fields in a body are ignored; `custom` blocks and `$custom` are accepted and ignored.
  `$filter` string comparisons are case-insensitive (SQL Server collation); filtering on anything
  but a value field of the top-level entity is 500. Lists come in key order; keys compare
  case-insensitively, and each URL segment is unescaped on its own (a key may hold `%2F`).
- Every value field of the contract is answered, empty ones as `{}`; linked and detail entities
  only when `$expand`ed. A PUT to a closed document (Completed, Canceled, Invoiced order; a
  confirmed shipment) answers 200 and changes nothing (disabled fields are not written; whether the
  real API answers an error instead is unverified). FreightCost is taken on any open shipment (a
  manual-calculation carrier is assumed). `CorrectShipment` reopens a confirmed shipment. Payments
  with status Open or Closed count as captured in `Totals.UnpaidBalance`.
- Not served: PATCH, files, `$adHocSchema`, generic inquiries, OData, push notifications, other
  entities (Payment, SalesInvoice…), other actions.
"""

from sandbox.acumatica.app import create_app
from sandbox.acumatica.sessions import Licence
from sandbox.acumatica.state import AcumaticaState

__all__ = ["AcumaticaState", "Licence", "create_app"]
