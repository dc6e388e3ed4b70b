"""A sync link's own settings page: which items of its container sync (its own rules, else its
connection's) and what a deletion does (its own policy, else its connection's), with a live
count of the DayFlow items in its list (or calendar) the rules let through."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from audit.writer import record
from integrations.models import Connection
from integrations.rules_form import RulesForm
from sync import rules_preview
from sync.models import ItemType, SyncLink, policy_words
from sync.rules import in_words

FOLLOW, OWN = "connection", "own"
CHOOSE_RULES = "Choose whether it follows the rules of the connection or has its own."
CHOOSE_OWN = "To use the rules you changed, choose “Its own rules”."


class LinkSettingsForm(forms.Form):
    """Its own rules (the connection's `RulesForm`, for its kind of item only) or the
    connection's, and its own deletion policy or the connection's ("")."""

    rules_from = forms.ChoiceField(
        label="Which items sync",
        widget=forms.RadioSelect,
        error_messages={"required": CHOOSE_RULES, "invalid_choice": CHOOSE_RULES},
    )
    deletion_policy = forms.ChoiceField(
        label="What a deletion on one side does",
        required=False,
        error_messages={"invalid_choice": "Choose what a deletion does from the list."},
    )

    def __init__(self, data: Any = None, *, link: SyncLink) -> None:
        initial = {
            "rules_from": FOLLOW if link.sync_rules is None else OWN,
            "deletion_policy": link.deletion_policy,
        }
        super().__init__(data, initial=initial)
        self.link = link
        connection = link.connection
        kind = str(link.item_type)
        self.fields["rules_from"].choices = [
            (FOLLOW, f"As the connection: {in_words(kind, connection.sync_rules)}"),
            (OWN, "Its own rules:"),
        ]
        as_connection = f"As the connection ({policy_words(connection.deletion_policy)})"
        self.fields["deletion_policy"].choices = [
            ("", as_connection),
            *Connection.DeletionPolicy.choices,
        ]
        self.rules = RulesForm(data, kinds=(kind,), rules=link.rules_in_force)

    @property
    def own_rules(self) -> bool:
        return self.cleaned_data.get("rules_from") == OWN

    def is_valid(self) -> bool:
        # The rules typed count only when they are its own; following, changing them is a
        # slip the person is told of rather than a change silently dropped.
        valid = super().is_valid()
        if valid and not self.own_rules and self.rules.has_changed():
            self.add_error("rules_from", CHOOSE_OWN)
            return False
        return valid and (not self.own_rules or self.rules.is_valid())

    def chosen_rules(self) -> Any:
        """The valid form's `sync_rules`: None follows the connection."""
        return self.rules.rules() if self.own_rules else None


def _link(request: HttpRequest, pk: int) -> SyncLink:
    links = SyncLink.objects.for_user(request.user).select_related(
        "connection__service", "task_list", "calendar"
    )
    return get_object_or_404(links, pk=pk)


def _lists_url(link: SyncLink) -> str:
    slug = "list" if link.item_type == ItemType.TASK else "calendar"
    return f"{reverse('sync:lists')}#{slug}-{link.dayflow_side_id or 'main'}"


@login_required
@require_http_methods(["GET", "POST"])
def link_settings_page(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the form; POST: saved with the model's own checks (`full_clean`), audited, then
    back to the lists page. A new set of rules makes the next sync list everything (its
    pre_save receiver, which is why it is saved, not updated)."""
    link = _link(request, pk)
    form = LinkSettingsForm(request.POST or None, link=link)
    if request.method == "POST" and form.is_valid():
        before = {"sync_rules": link.sync_rules, "deletion_policy": link.deletion_policy}
        link.sync_rules = form.chosen_rules()
        link.deletion_policy = form.cleaned_data["deletion_policy"]
        try:
            link.full_clean()
        except ValidationError as refused:
            for problem in refused.messages:
                form.add_error(None, problem)
            for name, value in before.items():  # the page says what is in force: the saved
                setattr(link, name, value)
        else:
            with transaction.atomic():
                link.save()
                record(
                    "sync.link.settings_changed",
                    request=request,
                    connection=link.connection,
                    resource=f"sync_link:{link.pk}",
                    details={"container": link.container_words, "fields": _changed(link, before)},
                )
            messages.success(request, f"Settings of {link.container_words} are saved.")
            return redirect(_lists_url(link))
    status = 400 if request.method == "POST" else 200
    return render(request, "sync/link_settings.html", _context(link, form), status=status)


def _changed(link: SyncLink, before: dict[str, Any]) -> list[str]:
    return sorted(name for name, value in before.items() if getattr(link, name) != value)


def _context(link: SyncLink, form: LinkSettingsForm) -> dict[str, Any]:
    return {
        "link": link,
        "connection": link.connection,
        "form": form,
        "rules": form.rules,
        "preview": _preview(link, link.rules_in_force),
    }


def _preview(link: SyncLink, rules: Any) -> dict[str, Any]:
    counted = rules_preview.count_link(link, rules, timezone.localdate())
    return {"count": counted, "side": link.dayflow_words}


@login_required
@require_POST
def link_rules_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """How many DayFlow items of the link's list the rules being chosen let through: counted,
    never saved (htmx asks as the fields change)."""
    link = _link(request, pk)
    form = LinkSettingsForm(request.POST, link=link)
    context: dict[str, Any] = {"link": link, "connection": link.connection}
    if form.is_valid():
        rules = form.chosen_rules()
        context["preview"] = _preview(link, link.connection.sync_rules if rules is None else rules)
    else:
        slip = CHOOSE_OWN in form.errors.get("rules_from", [])
        context["preview_problem"] = (
            CHOOSE_OWN if slip else "Correct the rules above to count the items that match."
        )
    return render(request, "sync/_link_rules_preview.html", context)
