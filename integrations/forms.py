"""Forms of the connection pages."""

from __future__ import annotations

import json
from typing import Any, Self

from django import forms
from django.conf import settings

from audit.writer import record
from integrations import lifecycle, netguard
from integrations.clients import provider_for
from integrations.mapping_field import JSONObjectField
from integrations.models import (
    MAX_SYNC_INTERVAL,
    Connection,
    Service,
    validate_field_mapping,
)
from integrations.providers import caldav
from integrations.providers.base import AuthStyle, Container
from integrations.providers.errors import AuthExpired, Permanent, ProviderError, Transient


class ServerURLField(forms.URLField):
    """A CalDAV server address: http(s), a host, a valid port and no user:password@ in it."""

    def validate(self, value: str) -> None:
        super().validate(value)
        problem = netguard.url_problem(value) if value else ""
        if problem:
            raise forms.ValidationError(problem[0].upper() + problem[1:] + ".", code="invalid")

    def bound_data(self, data: Any, initial: Any) -> Any:
        # A refused address is shown again for correcting: never with a password in it.
        return netguard.without_userinfo(data) if isinstance(data, str) else data


class CalDAVConnectForm(forms.Form):
    """A CalDAV account: the preset server URL (editable for other servers), the username and
    an app-specific password. Valid only once discovery found the account's calendars."""

    server_url = ServerURLField(label="Server URL", max_length=500, assume_scheme="https")
    username = forms.CharField(max_length=255)
    password = forms.CharField(
        label="App-specific password", widget=forms.PasswordInput(render_value=False)
    )

    def __init__(self, *args: Any, service: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = service  # the key its errors name (Apple Calendar, Fastmail, ...)
        self.calendars: list[Container] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            netguard.check_server_url(data["server_url"])
        except netguard.UnsafeServer as exc:
            self.add_error("server_url", str(exc))
            return data
        except netguard.UnresolvableServer:
            self.add_error("server_url", UNREACHABLE["network"])
            return data
        try:
            self.calendars = caldav.discover(
                data["server_url"], data["username"], data["password"], service=self.service
            )
        except AuthExpired:
            self.add_error(
                "password",
                "The server refused this username and password. Use an app-specific password "
                "(not your account password).",
            )
        except ProviderError as exc:
            self.add_error("server_url", discovery_error(exc))
        return data

    def connect(self, service: Service, *, request: Any) -> tuple[Connection, bool] | None:
        """(the connection, whether it is new) once discovery accepted the account, as the
        connect page and the API store it; None, audited with the fields at fault, if not."""
        if not self.is_valid():
            reason = "caldav:" + ",".join(sorted(self.errors))
            record(
                "connection.connect_failed",
                request=request,
                details={"service": service.key, "reason": reason},
                success=False,
            )
            return None
        data = self.cleaned_data
        return lifecycle.connect_caldav(
            request.user,
            service,
            server_url=data["server_url"],
            username=data["username"],
            password=data["password"],
            request=request,
        )


UNREACHABLE = {
    "network": "The server could not be reached. Check the address.",
    "timeout": "The server could not be reached: it did not answer in time.",
    "tls": "The server could not be reached over a secure connection (TLS error): check the "
    "address and the server's certificate.",
}


def discovery_error(exc: ProviderError) -> str:
    """What went wrong while looking for the account's calendars, in the user's words."""
    if isinstance(exc, caldav.ServerUnreachable):
        return UNREACHABLE.get(exc.reason, UNREACHABLE["network"])
    if isinstance(exc, caldav.Forbidden):
        return "The server forbids this account access to this address (403). Check the path."
    if isinstance(exc, caldav.NoCalendarHome):
        return "There is no calendar home at this address (404). Check the path."
    if isinstance(exc, caldav.RefusedTarget):
        return (
            "The server led us to an address we do not follow "
            "(another server or a private network)."
        )
    if isinstance(exc, Transient):
        return "The server could not answer right now (a server error). Try again later."
    if isinstance(exc, Permanent):
        return "This address does not lead to a CalDAV server."
    return "The server answered in a way we could not use."


class DisconnectForm(forms.Form):
    keep_items = forms.TypedChoiceField(
        label="The items synced from this account",
        choices=[
            ("keep", "Keep them in DayFlow (they stop syncing)"),
            ("remove", "Remove them from DayFlow"),
        ],
        coerce=lambda value: value == "keep",
        widget=forms.RadioSelect,
    )


class ConnectionSettingsForm(forms.ModelForm):
    field_mapping = JSONObjectField(required=False, label="Service settings (JSON)")

    class Meta:
        model = Connection
        fields = [
            "auto_sync",
            "sync_interval",
            "sync_direction",
            "sync_tasks",
            "sync_events",
            "conflict_resolution",
            "field_mapping",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The browser's hint; the model's validators give the message (integrations/models.py).
        low = settings.DAYFLOW_MIN_SYNC_INTERVAL
        self.fields["sync_interval"].widget.attrs.update(min=low, max=MAX_SYNC_INTERVAL)
        self.fields["sync_interval"].help_text = f"At least {low} minutes, at most 7 days."

    @classmethod
    def from_values(cls, connection: Connection, values: dict[str, Any]) -> Self:
        """The form bound to typed values (the API's JSON) over the connection's current
        settings, so that what is not given stays as it is."""
        data = {name: getattr(connection, name) for name in cls.Meta.fields}
        data.update(values)
        data["field_mapping"] = json.dumps(data["field_mapping"])
        return cls(data, instance=connection)

    def clean_field_mapping(self) -> Any:
        value = self.cleaned_data.get("field_mapping")
        value = {} if value is None else value
        # Bounds first: the calendar check below may ask the server about each address.
        problems = validate_field_mapping(self.instance.service.provider, value)
        if problems:
            raise forms.ValidationError(problems)
        if self.instance.service.provider.auth is AuthStyle.APP_PASSWORD:
            problems = foreign_calendars(self.instance, value)
            if problems:
                raise forms.ValidationError(problems)
        return value


def foreign_calendars(connection: Connection, mapping: Any) -> list[str]:
    """The chosen calendars that are not on the account's server, nor where its calendars
    are (iCloud's calendar home is on another host): a sync would refuse them anyway."""
    chosen = mapping.get("calendars") if isinstance(mapping, dict) else None
    if not isinstance(chosen, list) or netguard.private_servers_allowed():
        return []
    credential = getattr(connection, "credential", None)
    server = (credential and credential.server_url) or connection.service.provider.server_url
    own = netguard.origin(server)
    elsewhere = [
        url
        for url in chosen
        if isinstance(url, str) and not netguard.url_problem(url) and netguard.origin(url) != own
    ]
    if not elsewhere:
        return []
    try:
        found = {netguard.origin(c.id) for c in provider_for(connection).list_containers()}
    except ProviderError:
        found = set()
    return [
        f"{url}: this calendar is not on the account's server"
        for url in elsewhere
        if netguard.origin(url) not in found
    ]
