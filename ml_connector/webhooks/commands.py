"""`ml-connector webhooks serve | subscribe | list | unsubscribe | queue`.

The secret never reaches the terminal: URLs holding it are shown with `****` in its place.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from state.webhook_queue import queue_path

DEFAULT_EVENTS = "ORDER_NOTIFY,SHIP_NOTIFY"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `webhooks` and its subcommands on the top-level subparsers."""
    hooks = sub.add_parser("webhooks", help="receive ShipStation, Zoho Books and Walmart webhooks into a durable queue;"
                                            " subscribe ShipStation's")
    cmds = hooks.add_subparsers(dest="webhooks_command", required=True)

    serve = cmds.add_parser("serve", help="run the webhook receiver (needs one of WEBHOOK_SECRET, ZOHO_WEBHOOK_SECRET,"
                                                " WALMART_WEBHOOK_SECRET)")
    serve.add_argument("--host", help="default WEBHOOK_HOST")
    serve.add_argument("--port", type=int, help="default WEBHOOK_PORT")
    serve.add_argument("--ssl-certfile", help="serve HTTPS with this certificate (else put a TLS proxy in front)")
    serve.add_argument("--ssl-keyfile")
    serve.set_defaults(func=cmd_serve)

    subscribe = cmds.add_parser("subscribe", help="register the receiver with ShipStation (skips existing hooks)")
    subscribe.add_argument("--url", help="public base URL of the receiver; default WEBHOOK_PUBLIC_URL")
    subscribe.add_argument("--events", default=DEFAULT_EVENTS, help=f"comma-separated (default {DEFAULT_EVENTS})")
    subscribe.add_argument("--store-id", type=int, help="only this ShipStation store (default: all stores)")
    subscribe.set_defaults(func=cmd_subscribe)

    listing = cmds.add_parser("list", help="list the webhooks subscribed in ShipStation")
    listing.set_defaults(func=cmd_list)

    unsubscribe = cmds.add_parser("unsubscribe", help="delete a ShipStation webhook by id")
    unsubscribe.add_argument("webhook_id", type=int)
    unsubscribe.set_defaults(func=cmd_unsubscribe)

    queue = cmds.add_parser("queue", help="show queued webhook events")
    queue.add_argument("--after", type=int, help="events with an id greater than this (default: the newest)")
    queue.add_argument("--limit", type=int, default=50)
    queue.set_defaults(func=cmd_queue)
    from ml_connector.webhooks.walmart import add_subcommand  # `subscribe-walmart`: Walmart order notifications

    add_subcommand(cmds)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ml_connector.config import Settings
    from ml_connector.webhooks.app import create_receiver_app, masked_path
    from ml_connector.webhooks.signature import JwksCache
    from ml_connector.webhooks.sources import build_sources
    from state.webhook_queue import WebhookStore

    settings = Settings.from_env()
    secret, header = settings.webhook_secret.get_secret_value(), settings.webhook_secret_header.strip() or None
    try:
        sources = build_sources(settings)
    except ValueError as exc:
        return _fail(str(exc))
    if not secret and not sources:
        return _fail("WEBHOOK_SECRET is not set (nor ZOHO_WEBHOOK_SECRET, WALMART_WEBHOOK_SECRET): refusing to start "
                     "an open webhook receiver. Set it to a random value, e.g. python3 -c 'import secrets; "
                     "print(secrets.token_urlsafe(32))'")
    store = WebhookStore(queue_path(settings.state_dir))
    jwks = JwksCache(settings.webhook_jwks_url) if settings.webhook_jwks_url else None
    try:
        app = create_receiver_app(store=store, secret=secret or None, secret_header=header, jwks=jwks,
                                  shipstation_base_url=settings.shipstation_base_url,
                                  v2_base_urls=[settings.shipstation_v2_base_url],
                                  rate_per_minute=settings.webhook_rate_per_minute,
                                  rate_burst=settings.webhook_rate_burst, sources=sources)
    except ValueError as exc:
        return _fail(str(exc))
    host, port = args.host or settings.webhook_host, args.port or settings.webhook_port
    scheme = "https" if args.ssl_certfile else "http"
    if secret:
        print(f"Receiving ShipStation webhooks: POST {scheme}://{host}:{port}{masked_path(header)}")
    for source in sources:
        print(f"Receiving {source.name} webhooks: POST {scheme}://{host}:{port}{', '.join(source.paths)}")
    print(f"Queue: {store.path} ({store.count(undrained_only=True)} waiting)")
    if scheme == "http" and host not in _LOOPBACK:
        print("warning: no TLS; put an HTTPS proxy in front, the secret is part of every delivery", file=sys.stderr)
    logging.getLogger("ml_connector.webhooks").setLevel(logging.INFO)
    # access_log off: an access line would print the path, and the path holds the secret.
    uvicorn.run(app, host=host, port=port, workers=1, access_log=False, log_level="info",
                ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile)
    return 0


def cmd_subscribe(args: argparse.Namespace) -> int:
    from connectors.shipstation.webhooks import V1_EVENTS
    from ml_connector.webhooks.app import target_url

    settings, secret = _settings_and_secret()
    if not secret:
        return _fail("WEBHOOK_SECRET is not set: the subscribed URL would have no secret")
    if settings.webhook_secret_header.strip():
        return _fail("WEBHOOK_SECRET_HEADER is set, but V1 subscriptions cannot carry a custom header (reference "
                     "§4): unset it so the secret travels in the URL path, or subscribe a V2 webhook with the header")
    public = args.url or settings.webhook_public_url
    if not public or urlsplit(public).scheme not in ("http", "https"):
        return _fail("set WEBHOOK_PUBLIC_URL (or --url) to the receiver's public base URL, e.g. https://hooks.example.com")
    events = [e.strip().upper() for e in args.events.split(",") if e.strip()]
    unknown = [e for e in events if e not in V1_EVENTS]
    if unknown or not events:
        return _fail(f"unknown event(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(V1_EVENTS)}")
    target = target_url(public, secret, None)
    if urlsplit(target).scheme == "http" and urlsplit(target).hostname not in _LOOPBACK:
        print("warning: the public URL is plain http: the secret would cross the internet in clear", file=sys.stderr)
    print(f"Target: {_mask(target, secret)}")
    try:
        with _client(settings) as client:
            hooks = client.list_webhooks()
            for event in events:
                existing = _matching_hook(hooks, target, event, args.store_id)
                if existing is not None:
                    print(f"  {event}: already subscribed (id {_field(existing, 'WebHookID', 'webhook_id', 'id')})")
                    continue
                hook_id = client.subscribe_webhook(target, event, store_id=args.store_id,
                                                   friendly_name=f"ml-connector {event}")
                print(f"  {event}: subscribed (id {hook_id})")
    except Exception as exc:  # report in words, with the secret masked
        return _fail(f"ShipStation: {_mask(str(exc), secret)}", code=1)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    settings, secret = _settings_and_secret()
    try:
        with _client(settings) as client:
            hooks = client.list_webhooks()
    except Exception as exc:
        return _fail(f"ShipStation: {_mask(str(exc), secret)}", code=1)
    print(f"{len(hooks)} webhook(s) in ShipStation")
    for hook in hooks:
        url = str(_field(hook, "Url", "url") or "")
        ours = "*" if secret and secret in url else " "
        active = _field(hook, "Active", "active")
        print(f" {ours}{_field(hook, 'WebHookID', 'webhook_id', 'id')} | {_field(hook, 'HookType', 'hook_type')} | "
              f"store {_field(hook, 'StoreID', 'store_id') or 'all'} | {'active' if active in (None, True) else 'off'}"
              f" | {_mask(url, secret)}")
    return 0


def cmd_unsubscribe(args: argparse.Namespace) -> int:
    settings, secret = _settings_and_secret()
    try:
        with _client(settings) as client:
            client.unsubscribe_webhook(args.webhook_id)
    except Exception as exc:
        return _fail(f"ShipStation: {_mask(str(exc), secret)}", code=1)
    print(f"Webhook {args.webhook_id} deleted.")
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    from ml_connector.config import Settings
    from state.webhook_queue import WebhookStore

    path = queue_path(Settings.from_env().state_dir)
    if not path.exists():
        print(f"No webhook queue yet ({path}).")
        return 0
    with WebhookStore(path) as store:
        events = store.tail(args.limit) if args.after is None else store.after(args.after, args.limit)
        print(f"{path}: {store.count()} event(s), {store.count(undrained_only=True)} not drained, "
              f"newest id {store.newest_id()}")
    for e in events:
        when = datetime.fromtimestamp(e.received_at, UTC).isoformat(timespec="seconds")
        drained = f"drained by {e.run_key}" if e.drained_at is not None else "waiting"
        where = urlsplit(e.resource_url).hostname or urlsplit(e.resource_url).path
        print(f"  {e.id} | {when} | {e.resource_type} | {e.source} | {where} | {drained}")
    return 0


def _settings_and_secret() -> tuple[Any, str]:
    from ml_connector.config import Settings

    settings = Settings.from_env()
    return settings, settings.webhook_secret.get_secret_value()


def _client(settings: Any) -> Any:
    from connectors.shipstation.client import ShipStationClient

    return ShipStationClient(base_url=settings.shipstation_base_url, api_key=settings.shipstation_api_key,
                             api_secret=settings.shipstation_api_secret, timeout=30)


def _matching_hook(hooks: list[Any], target: str, event: str, store_id: int | None) -> Any | None:
    """An existing hook with this exact URL and event that already covers `store_id`."""
    for hook in hooks:
        if _field(hook, "Url", "url") != target or str(_field(hook, "HookType", "hook_type")).upper() != event:
            continue
        hook_store = _field(hook, "StoreID", "store_id")
        if hook_store in (None, 0, "") or (store_id is not None and int(hook_store) == store_id):
            return hook
    return None


def _field(record: Any, *names: str) -> Any:
    """A field of a webhook record, whether the client returns dicts or models."""
    for name in names:
        value = record.get(name) if isinstance(record, dict) else getattr(record, name, None)
        if value is not None:
            return value
    return None


def _mask(text: str, secret: str) -> str:
    return text.replace(secret, "****") if secret else text


def _fail(message: str, code: int = 2) -> int:
    print(message, file=sys.stderr)
    return code
