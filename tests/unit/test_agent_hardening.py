"""The LAN agent's refusals: token rotation, rate limit, size limit, read-only mode, TLS; one test each."""

from __future__ import annotations

import ssl
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509

from connectors.tally.agent import create_agent_app, options_from_env
from connectors.tally.agent_guard import ClientLimiter, TokenSet, inspect_body
from connectors.tally.agent_tls import make_cert_files, make_self_signed_cert
from connectors.tally.client import TallyClient
from sandbox.runner import ServedApp, free_port
from tests.unit.test_tally_agent import FakeTally

OLD = "old-agent-token-0123456789abcdef"
NEW = "new-agent-token-fedcba9876543210"
EXPORT_XML = ("<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Export</TALLYREQUEST><TYPE>Collection</TYPE>"
              "<ID>MLCompanies</ID></HEADER><BODY><DESC/></BODY></ENVELOPE>")
IMPORT_XML = ("<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Import</TALLYREQUEST><TYPE>Data</TYPE>"
              "<ID>Vouchers</ID></HEADER><BODY><DATA><TALLYMESSAGE/></DATA></BODY></ENVELOPE>")
FUNCTION_XML = EXPORT_XML.replace("<DESC/>", "<DESC><TDL><TDLMESSAGE><FUNCTION NAME='X'/></TDLMESSAGE></TDL></DESC>")
DOCTYPE_XML = ('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
               + EXPORT_XML.replace("<DESC/>", "<DESC>&e;</DESC>"))


def headers(token: str = OLD, kind: str = "export") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-ML-Request-Kind": kind, "Content-Type": "text/xml;charset=utf-8"}


@pytest.fixture
def fake() -> Iterator[tuple[FakeTally, ServedApp]]:
    tally = FakeTally()
    with ServedApp(tally.app) as served:
        yield tally, served


def serve_agent(upstream: str, **options: object) -> ServedApp:
    app = create_agent_app(upstream, OLD, retry_base_delay=0.01, retry_attempts=2, **options)  # type: ignore[arg-type]
    return ServedApp(app)


def test_both_tokens_work_during_a_change_over_and_only_the_current_one_otherwise(fake) -> None:
    tally, upstream = fake
    with serve_agent(upstream.base_url, next_token=NEW) as both, serve_agent(upstream.base_url) as current:
        assert httpx.post(both.base_url, content=EXPORT_XML, headers=headers(OLD)).status_code == 200
        assert httpx.post(both.base_url, content=EXPORT_XML, headers=headers(NEW)).status_code == 200
        assert httpx.post(both.base_url, content=EXPORT_XML, headers=headers(NEW + "x")).status_code == 401
        assert httpx.post(current.base_url, content=EXPORT_XML, headers=headers(NEW)).status_code == 401
    assert len(tally.calls) == 2


def test_token_set_refuses_to_be_empty_and_never_reveals_tokens() -> None:
    with pytest.raises(ValueError):
        TokenSet(["", "  "])
    tokens = TokenSet([OLD, NEW])
    assert OLD not in repr(tokens) and len(tokens) == 2
    assert tokens.matches(f" {NEW} ") and not tokens.matches("")


def test_a_caller_over_its_rate_gets_429_with_retry_after_before_any_token_check(fake) -> None:
    tally, upstream = fake
    with serve_agent(upstream.base_url, rate_per_minute=1, rate_burst=2) as served:  # no refill during the test
        answers = [httpx.post(served.base_url, content=EXPORT_XML, headers=headers(OLD)) for _ in range(2)]
        guessed = httpx.post(served.base_url, content=EXPORT_XML, headers=headers("guess-" * 5))
    assert [a.status_code for a in answers] == [200, 200]
    assert guessed.status_code == 429 and guessed.json()["error"] == "rate_limited"
    assert 1 <= int(guessed.headers["Retry-After"]) <= 60
    assert len(tally.calls) == 2


def test_client_limiter_counts_each_caller_separately_and_refills() -> None:
    now = [0.0]
    limiter = ClientLimiter(60, 60.0, burst=1, max_clients=2, clock=lambda: now[0])
    assert limiter.admit("a") == 0 and limiter.admit("b") == 0
    assert limiter.admit("a") == pytest.approx(1.0)
    now[0] = 1.0
    assert limiter.admit("a") == 0
    limiter.admit("c")  # "b" is the oldest and is forgotten: it starts again with a full bucket
    assert limiter.admit("b") == 0


def test_bodies_over_the_limit_are_refused_before_queueing(fake) -> None:
    tally, upstream = fake
    with serve_agent(upstream.base_url, max_body_bytes=64) as served:
        declared = httpx.post(served.base_url, content=EXPORT_XML, headers=headers())
        streamed = httpx.post(served.base_url, content=iter([EXPORT_XML.encode()] * 2), headers=headers())
    assert declared.status_code == streamed.status_code == 413
    assert tally.calls == []


@pytest.mark.parametrize("xml, why", [
    (IMPORT_XML, "not an Export"),
    (FUNCTION_XML, "FUNCTION"),
    (DOCTYPE_XML, "not safe XML"),
    ("<ENVELOPE><BODY/></ENVELOPE>", "not an Export"),
    ("not xml at all", "not safe XML"),
])
def test_read_only_agent_refuses_anything_that_could_write(fake, xml: str, why: str) -> None:
    tally, upstream = fake
    with serve_agent(upstream.base_url, read_only=True) as served:
        refused = httpx.post(served.base_url, content=xml, headers=headers(kind="export"))
        allowed = httpx.post(served.base_url, content=EXPORT_XML, headers=headers(kind="export"))
    assert refused.status_code == 403 and refused.json()["error"] == "read_only"
    assert why in refused.json()["detail"]
    assert allowed.status_code == 200 and len(tally.calls) == 1


def test_an_import_labelled_export_is_still_never_resent() -> None:
    tally = FakeTally(statuses=[500, 500])
    with ServedApp(tally.app) as upstream, serve_agent(upstream.base_url) as served:
        answer = httpx.post(served.base_url, content=IMPORT_XML, headers=headers(kind="export"))
    assert answer.status_code == 504 and answer.json()["error"] == "outcome_unknown"
    assert len(tally.calls) == 1


def test_body_inspection_reads_old_and_new_envelopes() -> None:
    assert inspect_body(EXPORT_XML).kind == "export"
    assert inspect_body(EXPORT_XML.replace(">Export<", ">Export Data<")).kind == "export"
    assert inspect_body(IMPORT_XML.replace(">Import<", ">Execute<")).kind == "import"
    assert inspect_body("<ENVELOPE/>").kind is None
    assert inspect_body(DOCTYPE_XML).unreadable


def test_options_from_env() -> None:
    options = options_from_env({"TALLY_AGENT_TOKEN_NEXT": NEW, "TALLY_AGENT_READ_ONLY": "yes",
                                "TALLY_AGENT_CERT": "/c.pem", "TALLY_AGENT_KEY": "/k.pem",
                                "TALLY_AGENT_RATE_PER_MINUTE": "30"})
    assert options == {"next_token": NEW, "read_only": True, "ssl_certfile": "/c.pem", "ssl_keyfile": "/k.pem",
                       "rate_per_minute": 30.0}
    assert options_from_env({})["read_only"] is False and options_from_env({})["next_token"] is None
    with pytest.raises(ValueError):
        options_from_env({"TALLY_AGENT_CERT": "/c.pem"})


class _TlsServer:
    def __init__(self, app: object, cert: Path, key: Path) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                ssl_certfile=str(cert), ssl_keyfile=str(key))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _TlsServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "TLS server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_tls_with_a_self_signed_certificate_trusted_by_file_only(fake, tmp_path: Path) -> None:
    tally, upstream = fake
    files = make_self_signed_cert(tmp_path / "agent.pem", tmp_path / "tls" / "agent.key", ["localhost", "127.0.0.1"])
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    assert files.fingerprint.replace(":", "").lower() == cert.fingerprint(cert.signature_hash_algorithm).hex()
    app = create_agent_app(upstream.base_url, OLD)
    with _TlsServer(app, files.cert, files.key) as server:
        url = f"https://127.0.0.1:{server.port}/"
        trusted = httpx.post(url, content=EXPORT_XML, headers=headers(),
                             verify=ssl.create_default_context(cafile=str(files.cert)))
        with pytest.raises(httpx.ConnectError):
            httpx.post(url, content=EXPORT_XML, headers=headers())  # the public CAs do not know it
        with pytest.raises(httpx.TransportError):
            httpx.post(f"http://127.0.0.1:{server.port}/", content=EXPORT_XML, headers=headers())
        with TallyClient(url, "Demo", token=OLD, ca_cert=str(files.cert)) as client:
            assert client._http.post(url, content=EXPORT_XML, headers=headers()).status_code == 200
    assert trusted.status_code == 200


def test_certificate_needs_a_host() -> None:
    with pytest.raises(ValueError):
        make_self_signed_cert("c.pem", "k.pem", [])


def test_make_cert_files_says_what_to_set_on_each_side(tmp_path: Path) -> None:
    lines = make_cert_files(tmp_path / "tls", ["tally-pc.local", "192.168.1.20"])
    text = "\n".join(lines)
    assert (tmp_path / "tls" / "agent.pem").exists() and (tmp_path / "tls" / "agent.key").exists()
    cert = x509.load_pem_x509_certificate((tmp_path / "tls" / "agent.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["tally-pc.local"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["192.168.1.20"]
    assert "TALLY_AGENT_CERT=" in text and "TALLY_CA_CERT=" in text and "https://tally-pc.local:" in text
    assert "PRIVATE KEY" not in text


def test_health_is_rate_limited_too(fake) -> None:
    _, upstream = fake
    with serve_agent(upstream.base_url, rate_per_minute=1, rate_burst=1) as served:
        first = httpx.get(served.base_url + "/health")
        second = httpx.get(served.base_url + "/health")
    assert first.status_code in (200, 503) and second.status_code == 429


def test_read_only_agent_refuses_a_body_it_cannot_decode(fake) -> None:
    tally, upstream = fake
    with serve_agent(upstream.base_url, read_only=True) as served:
        refused = httpx.post(served.base_url, content=b"\xff\xfe\xfd" + EXPORT_XML.encode(),
                             headers=headers() | {"Content-Type": "text/xml;charset=bogus-9"})
    assert refused.status_code == 403 and refused.json()["error"] == "read_only"
    assert tally.calls == []


def test_our_client_waits_out_the_agents_rate_limit_and_every_request_lands_once(fake) -> None:
    tally, upstream = fake
    with serve_agent(upstream.base_url, rate_per_minute=600, rate_burst=2) as served:
        client = TallyClient(served.base_url, "", token=OLD, timeout=10)
        statuses = [client.ping().running for _ in range(6)]  # 6 requests against a burst of 2 at 10/s
        client.close()
    assert statuses == [True] * 6
    assert len(tally.calls) == 6  # each forwarded exactly once (without waiting, the 3rd would fail: 429)
