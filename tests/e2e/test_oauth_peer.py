"""Tests of the OAuth test peer itself (tests/peers/oauth-mcp.mjs through
oauth_peer.OAuthMcp), not of Tether: a hand-written OAuth client (httpx) runs
every flow Tether's OAuth client will run against it, so that when a Tether
OAuth test fails, the peer is known to be right.

The upstream is the official server-everything (the `everything_http` fixture)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.parse
from typing import Any

import httpx
import pytest

from oauth_peer import OAuthMcp

CALLBACK_PORT = 53682  # nothing listens there: the flow stops at the redirect, as a browser would hand it over
REDIRECT = f"http://127.0.0.1:{CALLBACK_PORT}/callback"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "oauth-peer-test", "version": "1"}},
}
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


@pytest.fixture
def peer(everything_http):
    with OAuthMcp(everything_http) as p:
        yield p


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def metadata(peer: OAuthMcp) -> dict[str, Any]:
    return httpx.get(f"{peer.issuer}/.well-known/oauth-authorization-server").raise_for_status().json()


def register(peer: OAuthMcp, redirect_uris: list[str], **extra: Any) -> dict[str, Any]:
    """RFC 7591 registration of a native public client, as an MCP client does it."""
    body = {
        "client_name": "oauth-peer-test",
        "redirect_uris": redirect_uris,
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        **extra,
    }
    r = httpx.post(metadata(peer)["registration_endpoint"], json=body)
    assert r.status_code == 201, r.text
    return r.json()


def authorize(peer: OAuthMcp, client_id: str, *, redirect_uri: str = REDIRECT, scope: str = "mcp:tools", cookies: bool = True) -> tuple[dict[str, str], str]:
    """The authorization code request with PKCE S256, state and resource,
    redirects followed by hand up to the redirect_uri. Returns the callback's
    query parameters and the code verifier. cookies=False behaves like
    `curl -L`: no cookie jar between hops."""
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(16)
    url = metadata(peer)["authorization_endpoint"] + "?" + urllib.parse.urlencode({
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": peer.mcp_url,
    })
    target = urllib.parse.urlsplit(redirect_uri)
    with httpx.Client(follow_redirects=False) as browser:
        for _ in range(10):
            r = browser.get(url) if cookies else httpx.get(url)
            assert r.status_code in (302, 303), f"{r.status_code} at {url}: {r.text[:500]}"
            url = urllib.parse.urljoin(url, r.headers["location"])
            parsed = urllib.parse.urlsplit(url)
            if (parsed.scheme, parsed.netloc, parsed.path) == (target.scheme, target.netloc, target.path):
                break
        else:
            raise AssertionError(f"too many redirects, last {url}")
    params = dict(urllib.parse.parse_qsl(parsed.query))
    assert params.get("state") == state, params
    assert params.get("iss") == peer.issuer, params  # RFC 9207
    return params, verifier


def token(peer: OAuthMcp, **form: str) -> httpx.Response:
    return httpx.post(metadata(peer)["token_endpoint"], data=form)


def exchange(peer: OAuthMcp, client_id: str, code: str, verifier: str, redirect_uri: str = REDIRECT) -> dict[str, Any]:
    r = token(peer, grant_type="authorization_code", client_id=client_id, code=code, code_verifier=verifier, redirect_uri=redirect_uri, resource=peer.mcp_url)
    assert r.status_code == 200, r.text
    return r.json()


def login(peer: OAuthMcp, scope: str = "mcp:tools") -> tuple[str, dict[str, Any]]:
    client_id = register(peer, [REDIRECT])["client_id"]
    params, verifier = authorize(peer, client_id, scope=scope)
    return client_id, exchange(peer, client_id, params["code"], verifier)


def rpc_messages(r: httpx.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a Streamable HTTP response, JSON or SSE."""
    if r.headers.get("content-type", "").startswith("text/event-stream"):
        return [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:")]
    return [r.json()]


def initialize(peer: OAuthMcp, access_token: str) -> httpx.Response:
    return httpx.post(peer.mcp_url, json=INIT, headers={**MCP_HEADERS, "authorization": f"Bearer {access_token}"})


def expected_challenge(peer: OAuthMcp) -> str:
    origin = peer.mcp_url.removesuffix("/mcp")
    return f'Bearer resource_metadata="{origin}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"'


def test_peer_publishes_as_and_resource_metadata(peer):
    assert peer.issuer != peer.mcp_url.removesuffix("/mcp"), "the AS and the RS must be two origins"
    meta = metadata(peer)
    assert meta["issuer"] == peer.issuer
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert {"openid", "offline_access", "mcp:tools"} <= set(meta["scopes_supported"])
    assert "none" in meta["token_endpoint_auth_methods_supported"]
    assert {"authorization_code", "refresh_token"} <= set(meta["grant_types_supported"])
    assert meta["registration_endpoint"] == f"{peer.issuer}/reg"
    assert meta["revocation_endpoint"] == f"{peer.issuer}/token/revocation"
    assert "device_authorization_endpoint" not in meta
    assert "client_id_metadata_document_supported" not in meta
    # The OIDC discovery document is the same one.
    assert httpx.get(f"{peer.issuer}/.well-known/openid-configuration").json()["issuer"] == peer.issuer

    origin = peer.mcp_url.removesuffix("/mcp")
    prm = httpx.get(f"{origin}/.well-known/oauth-protected-resource/mcp")
    assert prm.status_code == 200
    assert prm.json() == {
        "resource": peer.mcp_url,
        "authorization_servers": [peer.issuer],
        "scopes_supported": ["mcp:tools"],
        "bearer_methods_supported": ["header"],
    }


def test_peer_runs_the_whole_flow_and_proxies_mcp(peer):
    no_token = httpx.post(peer.mcp_url, json=INIT, headers=MCP_HEADERS)
    assert no_token.status_code == 401
    assert no_token.headers["www-authenticate"] == expected_challenge(peer)

    client = register(peer, [REDIRECT])
    client_id = client["client_id"]
    assert "client_secret" not in client
    params, verifier = authorize(peer, client_id)
    tokens = exchange(peer, client_id, params["code"], verifier)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 60
    assert tokens["scope"] == "mcp:tools"
    assert tokens["refresh_token"]

    r = initialize(peer, tokens["access_token"])
    assert r.status_code == 200, r.text
    assert r.headers.get("mcp-session-id")
    [answer] = rpc_messages(r)
    assert answer["id"] == 1
    assert answer["result"]["serverInfo"]["name"] == "mcp-servers/everything"

    bad = initialize(peer, "not-a-token-this-as-issued")
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"].startswith(expected_challenge(peer) + ', error="invalid_token"')

    # Refresh: a new refresh token each time, and the old one is then refused.
    r = token(peer, grant_type="refresh_token", client_id=client_id, refresh_token=tokens["refresh_token"], resource=peer.mcp_url)
    assert r.status_code == 200, r.text
    refreshed = r.json()
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    assert initialize(peer, refreshed["access_token"]).status_code == 200
    reused = token(peer, grant_type="refresh_token", client_id=client_id, refresh_token=tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # oidc-provider treats the reuse of a rotated refresh token as theft and
    # revokes the whole grant (OAuth 2.1 §4.3.1): the newer tokens die too.
    assert token(peer, grant_type="refresh_token", client_id=client_id, refresh_token=refreshed["refresh_token"]).json()["error"] == "invalid_grant"
    assert initialize(peer, refreshed["access_token"]).status_code == 401

    stats = peer.stats()
    assert stats["registrations"] == 1
    assert stats["authorization_requests"] == 1
    assert stats["token"]["authorization_code"] == {"ok": 1, "invalid_grant": 0}
    assert stats["token"]["refresh_token"] == {"ok": 1, "invalid_grant": 2}
    assert [e["outcome"] for e in stats["refresh_events"]] == ["ok", "invalid_grant", "invalid_grant"]
    assert all(isinstance(e["t"], int) and e["t"] > 1_600_000_000_000 for e in stats["refresh_events"])
    assert stats["mcp"] == {"accepted": 2, "rejected": 3}
    assert stats["requests"]["auth"] == [{"t": stats["requests"]["auth"][0]["t"], "client_id": client_id, "resource": peer.mcp_url, "scope": "mcp:tools"}]
    assert [(t["grant_type"], t["resource"], t["outcome"]) for t in stats["requests"]["token"]] == [
        ("authorization_code", peer.mcp_url, "ok"),
        ("refresh_token", peer.mcp_url, "ok"),
        ("refresh_token", None, "invalid_grant"),
        ("refresh_token", None, "invalid_grant"),
    ]

    peer.reset()
    stats = peer.stats()
    assert stats["registrations"] == 0 and stats["refresh_events"] == [] and stats["mcp"] == {"accepted": 0, "rejected": 0}


def test_peer_rejects_an_expired_access_token(everything_http):
    with OAuthMcp(everything_http, access_ttl=2) as peer:
        client_id, tokens = login(peer)
        assert tokens["expires_in"] == 2
        assert initialize(peer, tokens["access_token"]).status_code == 200
        time.sleep(3)
        r = initialize(peer, tokens["access_token"])
        assert r.status_code == 401
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
        # The refresh token outlives it and brings a working one.
        fresh = token(peer, grant_type="refresh_token", client_id=client_id, refresh_token=tokens["refresh_token"]).json()
        assert initialize(peer, fresh["access_token"]).status_code == 200
        assert peer.stats()["mcp"] == {"accepted": 2, "rejected": 1}


def test_peer_expires_refresh_tokens_after_refresh_ttl(everything_http):
    with OAuthMcp(everything_http, refresh_ttl=2) as peer:
        client_id, tokens = login(peer)
        time.sleep(3)
        r = token(peer, grant_type="refresh_token", client_id=client_id, refresh_token=tokens["refresh_token"])
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_peer_accepts_any_loopback_port_for_native_clients(peer):
    # RFC 8252 §7.3: registered without a port, or with another one.
    for registered in ("http://127.0.0.1/callback", "http://127.0.0.1:1111/callback"):
        client_id = register(peer, [registered])["client_id"]
        for port in (2222, CALLBACK_PORT):
            redirect = f"http://127.0.0.1:{port}/callback"
            params, verifier = authorize(peer, client_id, redirect_uri=redirect)
            # The code is bound to the redirect_uri the request used.
            assert exchange(peer, client_id, params["code"], verifier, redirect_uri=redirect)["access_token"]
    # oidc-provider applies the rule to native clients only: a client that
    # registers without application_type is a web client and needs the exact URI.
    web = register(peer, ["http://127.0.0.1:1111/callback"], application_type="web")["client_id"]
    verifier, challenge = pkce()
    r = httpx.get(metadata(peer)["authorization_endpoint"], params={
        "response_type": "code", "client_id": web, "redirect_uri": "http://127.0.0.1:2222/callback", "scope": "mcp:tools",
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256", "resource": peer.mcp_url,
    })
    assert r.status_code == 400 and "redirect_uri" in r.text


def test_peer_completes_the_flow_for_a_browser_without_cookies(peer):
    # `curl -L` keeps no cookies between redirects.
    client_id = register(peer, [REDIRECT])["client_id"]
    params, verifier = authorize(peer, client_id, cookies=False)
    assert exchange(peer, client_id, params["code"], verifier)["access_token"]


def test_peer_enforces_pkce_and_the_resource(peer):
    client_id = register(peer, [REDIRECT])["client_id"]
    endpoint = metadata(peer)["authorization_endpoint"]
    base = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": "mcp:tools", "state": "s", "resource": peer.mcp_url}

    def error_of(r: httpx.Response) -> str:
        assert r.status_code == 303, r.text
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["location"]).query))["error"]

    assert error_of(httpx.get(endpoint, params=base)) == "invalid_request"  # no code_challenge
    assert error_of(httpx.get(endpoint, params={**base, "code_challenge": "x" * 43, "code_challenge_method": "plain"})) == "invalid_request"
    assert error_of(httpx.get(endpoint, params={**base, "code_challenge": pkce()[1], "code_challenge_method": "S256", "resource": "http://127.0.0.1:1/other"})) == "invalid_target"

    params, verifier = authorize(peer, client_id)
    wrong = token(peer, grant_type="authorization_code", client_id=client_id, code=params["code"], code_verifier=pkce()[0], redirect_uri=REDIRECT, resource=peer.mcp_url)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    tokens = exchange(peer, client_id, params["code"], verifier)
    assert initialize(peer, tokens["access_token"]).status_code == 200
    # A code is good once; oidc-provider takes a second use as theft and
    # revokes what the first one issued (RFC 6749 §4.1.2).
    again = token(peer, grant_type="authorization_code", client_id=client_id, code=params["code"], code_verifier=verifier, redirect_uri=REDIRECT, resource=peer.mcp_url)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert initialize(peer, tokens["access_token"]).status_code == 401


def test_peer_accepts_offline_access_and_revocation(peer):
    client_id, tokens = login(peer, scope="mcp:tools offline_access")
    assert tokens["refresh_token"] and tokens["scope"] == "mcp:tools"
    assert initialize(peer, tokens["access_token"]).status_code == 200
    r = httpx.post(metadata(peer)["revocation_endpoint"], data={"client_id": client_id, "token": tokens["refresh_token"], "token_type_hint": "refresh_token"})
    assert r.status_code == 200
    # Revoking the refresh token revokes its grant, access tokens included.
    assert token(peer, grant_type="refresh_token", client_id=client_id, refresh_token=tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert initialize(peer, tokens["access_token"]).status_code == 401
    assert peer.stats()["revocations"] == 1


def test_peer_streams_sse_events_one_by_one(peer):
    _, tokens = login(peer)
    auth = {**MCP_HEADERS, "authorization": f"Bearer {tokens['access_token']}"}
    init = httpx.post(peer.mcp_url, json=INIT, headers=auth)
    session = {**auth, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    assert httpx.post(peer.mcp_url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session).status_code == 202
    call = {
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "trigger-long-running-operation", "arguments": {"duration": 2, "steps": 4}, "_meta": {"progressToken": "p"}},
    }
    arrivals: list[tuple[float, dict[str, Any]]] = []
    start = time.monotonic()
    with httpx.stream("POST", peer.mcp_url, json=call, headers=session, timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data:"):
                arrivals.append((time.monotonic() - start, json.loads(line[5:])))
    progress = [t for t, m in arrivals if m.get("method") == "notifications/progress"]
    assert len(progress) == 4 and arrivals[-1][1]["id"] == 2
    # Each progress event arrived when the server sent it (every 0.5 s), not all at the end.
    assert progress[0] < 1.2 and arrivals[-1][0] - progress[0] > 1.0, arrivals


def test_peer_without_registration(everything_http):
    with OAuthMcp(everything_http, registration=False) as peer:
        assert "registration_endpoint" not in metadata(peer)
        assert httpx.post(f"{peer.issuer}/reg", json={"redirect_uris": [REDIRECT]}).status_code == 404


def test_peer_device_flow(everything_http):
    with OAuthMcp(everything_http, device_flow=True) as peer:
        meta = metadata(peer)
        device_grant = "urn:ietf:params:oauth:grant-type:device_code"
        assert device_grant in meta["grant_types_supported"]
        client_id = register(peer, [REDIRECT], grant_types=["authorization_code", "refresh_token", device_grant])["client_id"]
        r = httpx.post(meta["device_authorization_endpoint"], data={"client_id": client_id, "scope": "mcp:tools", "resource": peer.mcp_url})
        assert r.status_code == 200, r.text
        device = r.json()
        assert device["verification_uri_complete"].startswith(f"{peer.issuer}/device?user_code=")
        poll = {"grant_type": device_grant, "client_id": client_id, "device_code": device["device_code"], "resource": peer.mcp_url}
        assert token(peer, **poll).json()["error"] == "authorization_pending"
        peer.approve_device(device["user_code"])
        r = token(peer, **poll)
        assert r.status_code == 200, r.text
        assert initialize(peer, r.json()["access_token"]).status_code == 200
        stats = peer.stats()
        assert stats["device_authorizations"] == 1
        assert stats["token"][device_grant] == {"authorization_pending": 1, "ok": 1}


def test_peer_client_id_metadata_document(everything_http):
    with OAuthMcp(everything_http, cimd=True) as peer:
        assert metadata(peer)["client_id_metadata_document_supported"] is True
        client_id = "https://tether.example/oauth/client-metadata.json"
        peer.add_client_metadata_document({
            "client_id": client_id,
            "client_name": "Tether",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        })
        params, verifier = authorize(peer, client_id)
        tokens = exchange(peer, client_id, params["code"], verifier)
        assert initialize(peer, tokens["access_token"]).status_code == 200
        assert token(peer, grant_type="refresh_token", client_id=client_id, refresh_token=tokens["refresh_token"]).status_code == 200
        stats = peer.stats()
        assert stats["registrations"] == 0 and stats["cimd_fetches"] >= 1
