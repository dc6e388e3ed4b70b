"""Forms of the connection pages."""

from __future__ import annotations

import json
from typing import Any, Self

from django import forms
from django.conf import settings

from audit.writer import record
from integrations import field_directions, lifecycle, netguard
from integrations.clients import provider_for
from integrations.containers import Listing, ancestor, split_ancestors, words_of
from integrations.mapping_field import JSONObjectField
from integrations.models import (
    MAX_SYNC_INTERVAL,
    Connection,
    Service,
    summed_up,
    validate_field_mapping,
)
from integrations.providers import caldav
from integrations.providers.base import AuthStyle, Container, ItemType, Provider
from integrations.providers.errors import AuthExpired, Permanent, ProviderError, Transient
from integrations.rules_form import RulesForm
from sync.directions import compact, direction_errors


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


# A service lists at most this many containers on the page; beyond it the rest are typed in
# "Advanced" (a workspace with thousands of lists would make the page unusable anyway).
MAX_CONTAINERS_SHOWN = 2000
NO_PICK = ""


def listed_containers(connection: Connection) -> Listing:
    """The containers the connection's account offers (`Provider.list_containers`), asked once
    per page; a service that cannot be reached gives a message and the raw settings still
    work."""
    provider = connection.service.provider
    if not provider.collection_setting:
        return Listing()
    try:
        found = provider_for(connection, someone_waits=True).list_containers()
    except AuthExpired:
        problem = f"{connection.service} refused our access: reconnect it to choose here."
    except ProviderError:
        problem = f"{connection.service} could not be reached to list what you can choose."
    else:
        return Listing(containers=found[:MAX_CONTAINERS_SHOWN])
    return Listing(problem=f"{problem} You can still type the settings under Advanced.")


def container_choices(provider: type[Provider], containers: list[Container]) -> list[Any]:
    """The pickable containers, grouped under their ancestors' names ("Workspace > Space")."""
    by_id = {c.id: c for c in containers}
    groups: dict[str, list[tuple[str, str]]] = {}
    wanted = provider.collection_kind
    for container in containers:
        if wanted and container.kind != wanted:
            continue
        groups.setdefault(_path(container, by_id), []).append(
            (container.id, container.name or container.id)
        )
    loose = groups.pop("", [])
    return loose + [(group, choices) for group, choices in groups.items()]


def _path(container: Container, by_id: dict[str, Container]) -> str:
    names, seen, parent = [], set(), container.parent
    while parent in by_id and parent not in seen:
        seen.add(parent)
        names.append(by_id[parent].name or parent)
        parent = by_id[parent].parent
    return " \u203a ".join(reversed(names))


class ConnectionSettingsForm(forms.ModelForm):
    """A connection's settings. On the page (`page=True`), what to sync is picked from what
    the service lists (`listing`) and yes/no settings are checkboxes; the JSON box keeps the
    settings without a picker ("Advanced"). Through the API (`from_values`), the JSON holds
    them all. The same rules validate both."""

    field_mapping = JSONObjectField(
        required=False,
        label="Other settings (JSON)",
        help_text="For settings without a choice above. Leave it as it is if unsure.",
    )
    # On the page, the mapping table's selects give it (integrations/field_directions.py).
    field_directions = JSONObjectField(required=False, label="Direction per field")
    sync_rules = JSONObjectField(required=False, label="What syncs (JSON)")

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
            "field_directions",
            "deletion_policy",
            "sync_rules",
        ]
        labels = {
            "auto_sync": "Sync on a schedule",
            "sync_interval": "Sync every (minutes)",
            "sync_direction": "Direction",
            "sync_tasks": "Sync tasks",
            "sync_events": "Sync events",
            "conflict_resolution": "When an item changed on both sides",
            "deletion_policy": "When an item is deleted on one side",
        }
        widgets = {"deletion_policy": forms.RadioSelect}

    def __init__(
        self, *args: Any, listing: Listing | None = None, page: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # The browser's hint; the model's validators give the message (integrations/models.py).
        low = settings.DAYFLOW_MIN_SYNC_INTERVAL
        self.fields["sync_interval"].widget.attrs.update(min=low, max=MAX_SYNC_INTERVAL)
        self.fields["sync_interval"].help_text = f"At least {low} minutes, at most 7 days."
        # Left out (a page or client from before the policy existed), it stays as it is.
        self.fields["deletion_policy"].required = False
        self.provider = self.instance.service.provider
        self.listing = listing if listing is not None else Listing(problem="not asked")
        self.picker = page and self.listing.reached and bool(self.provider.collection_setting)
        self.checkboxes = dict(self.provider.setting_checkboxes) if page else {}
        mapping = dict(self.instance.field_mapping or {})
        if page:
            self._drop_kinds_not_offered()
            self._ask_rules_inwords_of(args[0] if args else kwargs.get("data"))
        if self.picker:
            self._add_picker(mapping)
        self.direction_rows = field_directions.add_fields(self) if page else []
        if page:  # not a box on the page: a posted value is ignored, the selects give it
            self.fields["field_directions"].widget = forms.HiddenInput()
            self.fields["field_directions"].disabled = True
        for name, words in self.checkboxes.items():
            self.fields[name] = forms.BooleanField(
                label=words, required=False, initial=bool(mapping.get(name))
            )
        # The JSON box shows what no field above shows, and the page merges the two.
        self.initial["field_mapping"] = {
            key: value for key, value in mapping.items() if key not in self._picked_keys()
        }

    @property
    def direction_field_names(self) -> set[str]:
        return {row.field_name for row in self.direction_rows if row.offered}

    @property
    def direction_lines(self) -> list[field_directions.Line]:
        return field_directions.lines(self, self.direction_rows)

    def _drop_kinds_not_offered(self) -> None:
        """A task service has no events to sync, a calendar no tasks (CalDAV has both): the
        page does not ask, and the saved value stays as it is."""
        offered = {str(kind) for kind in self.provider.item_types}
        for kind, name in ((ItemType.TASK, "sync_tasks"), (ItemType.EVENT, "sync_events")):
            if offered and str(kind) not in offered:
                del self.fields[name]

    def _ask_rules_inwords_of(self, data: Any) -> None:
        """On the page the rules are fields in words (`RulesForm`), saved into `sync_rules`."""
        del self.fields["sync_rules"]
        kinds = tuple(self.instance.offered_fields())
        self.rules = RulesForm(data, kinds=kinds, rules=self.instance.sync_rules)

    def _picked_keys(self) -> set[str]:
        keys = set(self.checkboxes)
        if self.picker:
            keys |= {self.provider.collection_setting, *self.provider.collection_ancestors}
        return keys

    def _add_picker(self, mapping: dict[str, Any]) -> None:
        provider = self.provider
        choices = container_choices(provider, self.listing.containers)
        listed = {c.id for c in self.listing.containers}
        current = mapping.get(provider.collection_setting)
        chosen = current if isinstance(current, list) else [current] if current else []
        # What is chosen today stays choosable even when the service no longer lists it.
        choices += [
            (value, f"{value} (not listed by {self.instance.service} now)")
            for value in chosen
            if isinstance(value, str) and value not in listed
        ]
        label = words_of(provider.collection_words)
        if provider.picks_many():
            default = provider.collection_default
            self.fields["collection"] = forms.MultipleChoiceField(
                label=f"{label}s to sync",
                choices=choices,
                required=False,
                initial=chosen,
                widget=forms.CheckboxSelectMultiple,
                help_text=f"None ticked: {default}." if default else "",
            )
        else:
            self.fields["collection"] = forms.ChoiceField(
                label=f"{label} to sync",
                choices=[(NO_PICK, f"— choose {provider.collection_words} —"), *choices],
                required=False,
                initial=chosen[0] if chosen else NO_PICK,
            )
        if not choices:
            self.fields["collection"].help_text = (
                f"{self.instance.service} lists none: create {provider.collection_words} "
                "there and open this page again."
            )

    @classmethod
    def from_values(cls, connection: Connection, values: dict[str, Any]) -> Self:
        """The form bound to typed values (the API's JSON) over the connection's current
        settings, so that what is not given stays as it is."""
        data = {name: getattr(connection, name) for name in cls.Meta.fields}
        data.update(values)
        for name in ("field_mapping", "field_directions", "sync_rules"):
            data[name] = json.dumps(data[name])
        return cls(data, instance=connection)

    def clean_deletion_policy(self) -> str:
        return self.cleaned_data.get("deletion_policy") or self.instance.deletion_policy

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

    def clean_field_directions(self) -> Any:
        value = self.cleaned_data.get("field_directions")
        value = {} if value is None else value
        problems = direction_errors(self.instance.offered_fields(), value)
        if problems:
            raise forms.ValidationError(summed_up(problems))
        return compact(value)

    def clean_sync_rules(self) -> Any:
        value = self.cleaned_data.get("sync_rules")
        return {} if value is None else value  # what it means is the model's clean() to say

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.direction_rows:
            chosen = field_directions.chosen(self, self.direction_rows, data)
            # Set on the instance too: an empty choice is not written from a field left out
            # of the POST (the page has no JSON box for it).
            data["field_directions"] = self.instance.field_directions = chosen
        mapping = data.get("field_mapping")
        if isinstance(mapping, dict) and (self.picker or self.checkboxes):
            data["field_mapping"] = mapping = self._merged(dict(mapping), data)
        if isinstance(mapping, dict) and "field_mapping" not in self.errors:
            problems = split_ancestors(self.instance, mapping, self.listing)
            if problems:
                self.add_error("collection" if self.picker else "field_mapping", problems)
        rules = getattr(self, "rules", None)
        if rules is not None and rules.is_valid():
            self.instance.sync_rules = rules.rules()
            if rules.has_changed():
                self.changed_data.append("sync_rules")  # for the audit's list of fields
        elif rules is not None:
            self.add_error(None, "Correct what syncs (below).")
        return data

    def _merged(self, mapping: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """The JSON's settings with the picked ones over them: a picker left empty keeps what
        the JSON says (nothing, as the page fills it)."""
        provider = self.provider
        for name in self.checkboxes:
            if data.get(name):
                mapping[name] = True
            else:
                mapping.pop(name, None)
        picked = data.get("collection") if self.picker else None
        if picked:
            mapping[provider.collection_setting] = picked
            first = picked[0] if isinstance(picked, list) else picked
            for setting, kind in provider.collection_ancestors.items():
                found = ancestor(self.listing.containers, first, kind)
                if found:
                    mapping[setting] = found
        return mapping


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
        found = {
            netguard.origin(c.id)
            for c in provider_for(connection, someone_waits=True).list_containers()
        }
    except ProviderError:
        found = set()
    return [
        f"{url}: this calendar is not on the account's server"
        for url in elsewhere
        if netguard.origin(url) not in found
    ]
