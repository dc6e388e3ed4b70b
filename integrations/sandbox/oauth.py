"""OAuth 2.0 as each service runs it: an authorize page, a token endpoint, revocation.

One implementation, configured per service by an `OAuthService`: whether PKCE is checked,
whether access tokens expire, whether refresh tokens exist and rotate, how the client
authenticates and how errors look. RFC 6749 (4.1, 5.2, 6), RFC 7636 (4.6), RFC 7009.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from integrations.sandbox import store
from integrations.sandbox.gate import api_view, sandbox_view
from integrations.sandbox.models import Account, Client, Grant

CODE_LIFETIME = dt.timedelta(minutes=10)  # RFC 6749 4.1.2: "a maximum ... of 10 minutes"
DEFAULT_LOGIN = "alice@sandbox.test"


def oauth_error(error: str, status: int = 400, description: str = "") -> HttpResponse:
    """RFC 6749 5.2's error body."""
    body = {"error": error, **({"error_description": description} if description else {})}
    return JsonResponse(body, status=status)


@dataclasses.dataclass(frozen=True)
class OAuthService:
    key: str
    name: str
    seed: store.Seeder
    pkce: bool = False  # verify code_verifier against an S256 code_challenge when one was sent
    access_lifetime: dt.timedelta | None = None  # None: access tokens do not expire
    refresh: bool = True
    rotates: bool = False  # a refresh answers with a new refresh token, the old one ends
    error: Callable[[str, int, str], HttpResponse] = oauth_error
    # Extra token-response fields computed from the grant (Notion's workspace and owner).
    describe: Callable[[Grant], dict[str, Any]] | None = None


# --- the authorize page ---------------------------------------------------------------------
def authorize(request: HttpRequest, service: OAuthService) -> HttpResponse:
    """GET: the consent page. POST: "Allow" redirects back with a code, "Deny" with an error.

    An unknown client or a redirect URI other than the registered one is shown as an error
    page, never redirected to (RFC 6749 4.1.2.1)."""
    params = request.POST if request.method == "POST" else request.GET
    client = Client.objects.filter(
        service=service.key, client_id=params.get("client_id", "")
    ).first()
    problem = _authorize_problem(client, params, service)
    if problem:
        return render(
            request,
            "sandbox/authorize_error.html",
            {"service": service, "problem": problem},
            status=400,
        )
    if request.method != "POST":
        return render(request, "sandbox/authorize.html", _page(service, params))
    if "allow" not in request.POST:
        return _back(client, params, {"error": "access_denied"})
    login = (request.POST.get("login") or DEFAULT_LOGIN).strip()
    account = store.account_for(service.key, login, service.seed)
    _link(account, request)
    code = Grant.objects.create(
        kind=Grant.Kind.CODE,
        value=store.new_token(),
        family=secrets.token_hex(16),
        client=client,
        account=account,
        redirect_uri=params.get("redirect_uri", ""),
        code_challenge=params.get("code_challenge", ""),
        scope=params.get("scope", ""),
        expires_at=store.now() + CODE_LIFETIME,
    )
    return _back(client, params, {"code": code.value})


def _link(account: Account, request: HttpRequest) -> None:
    """The DayFlow user signed in while clicking "Allow" is the person behind the account;
    the first one to connect it keeps it (the console shows each person only theirs)."""
    if account.user_id is None and request.user.is_authenticated:
        account.user = request.user
        account.save(update_fields=["user"])


def _authorize_problem(client: Client | None, params: Any, service: OAuthService) -> str:
    if client is None:
        return "This app is not registered at the sandbox (unknown client_id)."
    if params.get("redirect_uri", client.redirect_uri) != client.redirect_uri:
        return "The redirect URI is not the one registered for this app."
    if params.get("response_type", "code") != "code":
        return "Only response_type=code is supported."
    method = params.get("code_challenge_method", "S256" if params.get("code_challenge") else "")
    if service.pkce and method not in ("", "S256"):
        return "Only the S256 code challenge method is supported."
    return ""


def _page(service: OAuthService, params: Any) -> dict[str, Any]:
    carried = (
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "response_type",
        "code_challenge",
        "code_challenge_method",
    )
    return {
        "service": service,
        "hidden": {name: params[name] for name in carried if params.get(name)},
        "scope": params.get("scope", ""),
        "login": DEFAULT_LOGIN,
    }


def _back(client: Client, params: Any, answer: dict[str, str]) -> HttpResponse:
    state = {"state": params["state"]} if params.get("state") else {}
    target = params.get("redirect_uri") or client.redirect_uri
    separator = "&" if "?" in target else "?"
    return HttpResponseRedirect(f"{target}{separator}{urlencode({**answer, **state})}")


# --- the token endpoint ---------------------------------------------------------------------
@require_http_methods(["POST"])
def token(request: HttpRequest, service: OAuthService) -> HttpResponse:
    """authorization_code and refresh_token grants (RFC 6749 4.1.3 and 6)."""
    params = _form(request)
    client = _client(request, params, service)
    if client is None:
        return service.error("invalid_client", 401, "client authentication failed")
    grant_type = params.get("grant_type", "authorization_code")
    if grant_type == "authorization_code":
        return _exchange_code(params, client, service)
    if grant_type == "refresh_token" and service.refresh:
        return _refresh(params, client, service)
    return service.error("unsupported_grant_type", 400, grant_type)


def _form(request: HttpRequest) -> dict[str, str]:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return {k: str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    return {**request.GET.dict(), **request.POST.dict()}


def _client(request: HttpRequest, params: dict[str, str], service: OAuthService) -> Client | None:
    """Client credentials from HTTP Basic or the body (RFC 6749 2.3.1)."""
    client_id, secret = _basic(request) or (
        params.get("client_id", ""),
        params.get("client_secret", ""),
    )
    client = Client.objects.filter(service=service.key, client_id=client_id).first()
    if client is None or not hmac.compare_digest(client.client_secret, secret):
        return None
    return client


def _basic(request: HttpRequest) -> tuple[str, str] | None:
    value = request.headers.get("Authorization", "")
    if not value.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def _exchange_code(params: dict[str, str], client: Client, service: OAuthService) -> HttpResponse:
    code = Grant.objects.filter(
        kind=Grant.Kind.CODE, value=params.get("code", ""), client=client
    ).first()
    if code is None or code.revoked_at or code.expires_at <= store.now():
        return service.error("invalid_grant", 400, "the code is invalid or expired")
    if code.used_at:  # a replayed code ends everything it issued (RFC 6749 4.1.2)
        revoke_family(code.family)
        return service.error("invalid_grant", 400, "the code was already used")
    if code.redirect_uri and params.get("redirect_uri", "") != code.redirect_uri:
        return service.error("invalid_grant", 400, "redirect_uri does not match")
    if not _verifier_matches(code.code_challenge, params.get("code_verifier", ""), service):
        return service.error("invalid_grant", 400, "code_verifier does not match")
    code.used_at = store.now()
    code.save(update_fields=["used_at"])
    return _issue(code, service, with_refresh=service.refresh)


def _verifier_matches(challenge: str, verifier: str, service: OAuthService) -> bool:
    """RFC 7636 4.6: BASE64URL(SHA256(verifier)) == challenge, S256 only."""
    if not service.pkce or not challenge:
        return True
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return hmac.compare_digest(digest.decode(), challenge)


def _refresh(params: dict[str, str], client: Client, service: OAuthService) -> HttpResponse:
    refresh = Grant.objects.filter(
        kind=Grant.Kind.REFRESH, value=params.get("refresh_token", ""), client=client
    ).first()
    if refresh is None or refresh.revoked_at:
        return service.error("invalid_grant", 400, "the refresh token is invalid or revoked")
    if service.rotates:
        refresh.revoked_at = store.now()
        refresh.save(update_fields=["revoked_at"])
    return _issue(refresh, service, with_refresh=service.rotates)


def _issue(source: Grant, service: OAuthService, *, with_refresh: bool) -> HttpResponse:
    expires = service.access_lifetime
    access = _grant(source, Grant.Kind.ACCESS, store.now() + expires if expires else None)
    body: dict[str, Any] = {"access_token": access.value, "token_type": "Bearer"}
    if expires:
        body["expires_in"] = int(expires.total_seconds())
    if source.scope:
        body["scope"] = source.scope
    if with_refresh:
        body["refresh_token"] = _grant(source, Grant.Kind.REFRESH, None).value
    if service.describe:
        body.update(service.describe(access))
    return JsonResponse(body)


def _grant(source: Grant, kind: str, expires_at: dt.datetime | None) -> Grant:
    return Grant.objects.create(
        kind=kind,
        value=store.new_token(),
        family=source.family,
        client=source.client,
        account=source.account,
        scope=source.scope,
        expires_at=expires_at,
    )


# --- revocation -----------------------------------------------------------------------------
@require_http_methods(["POST"])
def revoke(request: HttpRequest, service: OAuthService) -> HttpResponse:
    """RFC 7009: revoking either token of a grant ends the whole grant; an unknown token is
    still answered 200 (2.2). Client authentication is checked where it was sent."""
    params = _form(request)
    if (_basic(request) or params.get("client_secret")) and _client(
        request, params, service
    ) is None:
        return service.error("invalid_client", 401, "client authentication failed")
    found = Grant.objects.filter(
        value=params.get("token", ""), account__service=service.key
    ).first()
    if found:
        revoke_family(found.family)
    return HttpResponse(status=200)


def known_token(request: HttpRequest, service_key: str) -> bool:
    """Whether the request's `token` is one the service issued and has not revoked."""
    value = _form(request).get("token", "")
    return Grant.objects.filter(value=value, account__service=service_key, revoked_at=None).exists()


def revoke_family(family: str) -> None:
    Grant.objects.filter(family=family, revoked_at=None).update(revoked_at=store.now())


def routes(
    service: OAuthService,
    name: str,
    *,
    authorize_at: str,
    token_at: str,
    revoke_at: str = "",
    revoke_view: Callable[[HttpRequest], HttpResponse] | None = None,
) -> list[URLPattern]:
    """The service's authorize page, token endpoint and (when it has one) revocation, at its own
    paths, named `<name>-authorize`, `<name>-token` and `<name>-revoke`. `revoke_view` stands in
    for the generic revocation where the service revokes its own way."""
    found = [
        path(
            authorize_at,
            sandbox_view(lambda request: authorize(request, service)),
            name=f"{name}-authorize",
        ),
        path(token_at, api_view(lambda request: token(request, service)), name=f"{name}-token"),
    ]
    if revoke_at:
        view = revoke_view or api_view(lambda request: revoke(request, service))
        found.append(path(revoke_at, view, name=f"{name}-revoke"))
    return found
