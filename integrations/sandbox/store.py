"""What every emulator shares: accounts, the change counter, items, bearer tokens, throttling."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from integrations.sandbox.models import Account, Grant, Item

Seeder = Callable[[Account, dt.datetime], None]


def now() -> dt.datetime:
    return timezone.now()


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(24)


def account_for(
    service: str, login: str, seed: Seeder, clock: dt.datetime | None = None
) -> Account:
    """The account `login` at `service`, created and seeded on first use."""
    with transaction.atomic():
        account, created = Account.objects.get_or_create(
            service=service,
            login=login,
            defaults={
                "name": login.split("@")[0].title(),
                "external_id": stable_number(f"{service}:{login}"),
                "created_at": clock or now(),
            },
        )
        if created:
            seed(account, clock or now())
    return account


def stable_number(text: str, digits: int = 7) -> str:
    """A number derived from `text`: the same account gets the same id on every machine."""
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    return str(10 ** (digits - 1) + value % (9 * 10 ** (digits - 1)))


def stable_id(text: str, length: int = 16) -> str:
    """An opaque base62 id derived from `text` (deterministic seeds)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    value = int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        value, rest = divmod(value, 62)
        chars.append(alphabet[rest])
    return "".join(chars)


def next_seq(account: Account) -> int:
    """A new change number for `account` (atomic across processes)."""
    Account.objects.filter(pk=account.pk).update(seq=F("seq") + 1)
    account.refresh_from_db(fields=["seq"])
    return account.seq


def put(
    account: Account, kind: str, remote_id: str, data: dict[str, Any], container: str = ""
) -> Item:
    """Create or replace an item, as one change."""
    item, _ = Item.objects.update_or_create(
        account=account,
        kind=kind,
        remote_id=remote_id,
        defaults={"data": data, "container": container, "seq": next_seq(account), "deleted": False},
    )
    return item


def save(item: Item) -> Item:
    """Record a change to `item` (its data or its deletion)."""
    item.seq = next_seq(item.account)
    item.save()
    return item


def find(account: Account, kind: str, remote_id: str, *, deleted: bool = False) -> Item | None:
    found = Item.objects.filter(account=account, kind=kind, remote_id=remote_id)
    if not deleted:
        found = found.filter(deleted=False)
    return found.first()


def live(account: Account, kind: str, container: str | None = None) -> Iterable[Item]:
    items = Item.objects.filter(account=account, kind=kind, deleted=False)
    return items.filter(container=container) if container is not None else items


def changed_since(account: Account, kind: str, seq: int) -> Iterable[Item]:
    return Item.objects.filter(account=account, kind=kind, seq__gt=seq)


def bearer(request: HttpRequest, service: str, *, raw: bool = False) -> Account | None:
    """The account whose live access token the request carries (`raw`: without "Bearer")."""
    grant = bearer_grant(request, service, raw=raw)
    return grant.account if grant else None


def bearer_grant(request: HttpRequest, service: str, *, raw: bool = False) -> Grant | None:
    """The live access token the request carries, with its scope and account."""
    value = request.headers.get("Authorization", "")
    token = value if raw and not value.startswith("Bearer ") else value.removeprefix("Bearer ")
    grant = (
        Grant.objects.select_related("account", "client")
        .filter(kind=Grant.Kind.ACCESS, value=token, revoked_at=None, account__service=service)
        .first()
    )
    if grant is None or not token:
        return None
    if grant.expires_at and grant.expires_at <= now():
        return None
    return grant


def throttled(account: Account) -> bool:
    """Spend one of the account's forced 429s (`Account.throttled`), if it has any."""
    return (
        Account.objects.filter(pk=account.pk, throttled__gt=0).update(throttled=F("throttled") - 1)
        == 1
    )


def endpoint(
    service: str,
    unauthorized: Callable[[], HttpResponse],
    rate_limited: Callable[[], HttpResponse],
    *,
    raw: bool = False,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Wrap an API view: bearer token first (the service's 401), then its rate limit (429).
    The view is called with the account after the request."""

    def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            account = bearer(request, service, raw=raw)
            if account is None:
                return unauthorized()
            if throttled(account):
                return rate_limited()
            return view(request, account, *args, **kwargs)

        checked.__name__ = view.__name__
        checked.__doc__ = view.__doc__
        return checked

    return wrap
