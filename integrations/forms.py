"""Forms of the connection pages."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings

from integrations import netguard
from integrations.models import MAX_SYNC_INTERVAL, UserIntegration
from integrations.providers import caldav
from integrations.providers.base import Container
from integrations.providers.errors import AuthExpired, Permanent, ProviderError, Transient


class CalDAVConnectForm(forms.Form):
    """A CalDAV account: the preset server URL (editable for other servers), the username and
    an app-specific password. Valid only once discovery found the account's calendars."""

    server_url = forms.URLField(label="Server URL", max_length=500, assume_scheme="https")
    username = forms.CharField(max_length=255)
    password = forms.CharField(
        label="App-specific password", widget=forms.PasswordInput(render_value=False)
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
            self.add_error("server_url", "The server could not be reached. Check the address.")
            return data
        try:
            self.calendars = caldav.discover(data["server_url"], data["username"], data["password"])
        except AuthExpired:
            self.add_error(
                "password",
                "The server refused this username and password. Use an app-specific password "
                "(not your account password).",
            )
        except Transient:
            self.add_error("server_url", "The server could not be reached. Check the address.")
        except Permanent:
            self.add_error("server_url", "This address does not lead to a CalDAV server.")
        except ProviderError:
            self.add_error("server_url", "The server answered in a way we could not use.")
        return data


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


class JSONObjectField(forms.JSONField):
    """field_mapping as JSON text; the model's clean() checks its keys for the service."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2, sort_keys=True)


class ConnectionSettingsForm(forms.ModelForm):
    field_mapping = JSONObjectField(required=False, label="Service settings (JSON)")

    class Meta:
        model = UserIntegration
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
        self.fields["sync_interval"].widget.attrs.update(
            min=settings.DAYFLOW_MIN_SYNC_INTERVAL, max=MAX_SYNC_INTERVAL
        )

    def clean_field_mapping(self) -> Any:
        value = self.cleaned_data.get("field_mapping")
        return {} if value is None else value
