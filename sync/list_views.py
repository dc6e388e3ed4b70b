"""The lists and calendars page: a person's DayFlow lists (and the Inbox) and calendars (and
"My calendar"), how many items each holds and where its new items go (its destination); and
the small form on a connection's settings page choosing the DayFlow list each of its sync
links feeds. Every change to a link goes through `sync.links`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from dayflow.models import INBOX, MAIN_CALENDAR, NAME_CHARS, Calendar, Event, Task, TaskList
from sync import links
from sync.models import ItemType, SyncLink

ID_CHARS = 12  # an id in a form: more digits than any row will have


@dataclass(frozen=True)
class Kind:
    """Lists of tasks or calendars of events: the words and models the page uses for each."""

    slug: str
    item_type: str
    model: type[TaskList] | type[Calendar]
    items: type[Task] | type[Event]
    column: str  # the items' column naming it
    related: str  # the items, from the list
    main: str  # what items with none are in
    noun: str
    items_noun: str


KINDS = {
    "list": Kind(
        "list", ItemType.TASK, TaskList, Task, "task_list", "tasks", INBOX, "list", "task"
    ),
    "calendar": Kind(
        *("calendar", ItemType.EVENT, Calendar, Event, "calendar", "events", MAIN_CALENDAR),
        *("calendar", "event"),
    ),
}


class NameForm(forms.ModelForm):
    # Not required here: the model's clean says what an empty name means, in its words.
    name = forms.CharField(max_length=NAME_CHARS, required=False)

    class Meta:
        model = TaskList
        fields = ["name"]


def _name_form(kind: Kind, *args: Any, **kwargs: Any) -> NameForm:
    meta = type("Meta", (), {"model": kind.model, "fields": ["name"]})
    form_class = type(f"{kind.model.__name__}NameForm", (NameForm,), {"Meta": meta})
    return form_class(*args, **kwargs)


@dataclass
class Row:
    """One list (or the Inbox: `side` None) on the page."""

    side: TaskList | Calendar | None
    name: str
    count: int
    destination: SyncLink | None
    form: NameForm | None = None
    feeding: list[SyncLink] = field(default_factory=list)  # the links whose items live here

    @property
    def key(self) -> str:
        return str(self.side.pk) if self.side else "main"


def _kind(slug: str) -> Kind:
    if slug not in KINDS:
        raise Http404("no such kind of list")
    return KINDS[slug]


def _side(request: HttpRequest, kind: Kind, pk: int) -> TaskList | Calendar:
    return get_object_or_404(kind.model.objects.for_user(request.user), pk=pk)


def link_label(link: SyncLink) -> str:
    """ "<Service> (<account>) · <container>", as the selects and messages say a link."""
    connection = link.connection
    account = connection.label or connection.external_account_id
    service = connection.service.display_name
    who = f"{service} ({account})" if account else service
    return f"{who} · {link.container_words}"


def _user_links(request: HttpRequest) -> QuerySet[SyncLink]:
    return SyncLink.objects.for_user(request.user).select_related("connection__service")


def _sections(request: HttpRequest, problem: tuple[str, str, NameForm] | None = None) -> list:
    """Each kind's rows, the person's links of that kind (for the selects) and its new-name
    form: a constant number of queries, however many lists and links there are."""
    every_link = list(_user_links(request))
    sections = []
    for kind in KINDS.values():
        alive = Q(**{f"{kind.related}__deleted_at__isnull": True})
        sides = kind.model.objects.for_user(request.user).annotate(
            count=Count(kind.related, filter=alive)
        )
        kind_links = [link for link in every_link if link.item_type == kind.item_type]
        where = {link.dayflow_side_id: link for link in kind_links if link.is_destination}
        main = kind.items.objects.for_user(request.user).filter(**{kind.column: None}).count()
        rows = [Row(None, kind.main, main, where.get(None))]
        rows += [Row(side, side.name, side.count, where.get(side.pk)) for side in sides]
        new_form = _name_form(kind, prefix=kind.slug)
        for row in rows:
            row.feeding = [link for link in kind_links if link.dayflow_side_id == _pk(row.side)]
            if row.side is not None:
                row.form = _name_form(kind, instance=row.side, prefix=f"{kind.slug}-{row.key}")
        if problem and problem[0] == kind.slug:
            if problem[1] == "new":
                new_form = problem[2]
            for row in rows:
                if row.key == problem[1]:
                    row.form = problem[2]
        links_shown = [(link.pk, link_label(link)) for link in kind_links]
        sections.append({"kind": kind, "rows": rows, "links": links_shown, "new": new_form})
    return sections


def _pk(side: TaskList | Calendar | None) -> int | None:
    return side.pk if side else None


def _page(request: HttpRequest, problem=None, status: int = 200) -> HttpResponse:
    context = {"sections": _sections(request, problem)}
    return render(request, "sync/lists.html", context, status=status)


def _save_name(form: NameForm) -> bool:
    if not form.is_valid():
        return False
    try:
        with transaction.atomic():
            form.save()
    except IntegrityError:  # the same name saved a moment ago, by another tab
        form.add_error("name", "You already have one by that name.")
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def list_page(request: HttpRequest) -> HttpResponse:
    """The page; a POST makes a new list or calendar (`kind`: list or calendar)."""
    if request.method == "GET":
        return _page(request)
    kind = KINDS.get(request.POST.get("kind", ""))
    if kind is None:
        return HttpResponseBadRequest("Say whether it is a list or a calendar.")
    side = kind.model(user=request.user)
    form = _name_form(kind, request.POST, instance=side, prefix=kind.slug)
    if not _save_name(form):
        return _page(request, (kind.slug, "new", form), status=400)
    messages.success(request, f"{kind.noun.capitalize()} “{side.name}” made.")
    return redirect(f"{reverse('sync:lists')}#{kind.slug}-{side.pk}")


@login_required
@require_POST
def list_rename(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    found = _kind(kind)
    side = _side(request, found, pk)
    before = side.name
    form = _name_form(found, request.POST, instance=side, prefix=f"{found.slug}-{pk}")
    if not _save_name(form):
        return _page(request, (found.slug, str(pk), form), status=400)
    messages.success(request, f"“{before}” is now “{side.name}”.")
    return redirect(f"{reverse('sync:lists')}#{found.slug}-{side.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def list_delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Deleting a list moves its tasks to the Inbox (a calendar's events to "My calendar"),
    and the sync links that fed it then feed that; none of them stays a destination."""
    found = _kind(kind)
    side = _side(request, found, pk)
    if request.method == "POST":
        with transaction.atomic():
            links.forget_destinations([side])
            side.delete()
        words = f"its {found.items_noun}s are in {found.main} now"
        messages.success(request, f"{found.noun.capitalize()} “{side.name}” deleted; {words}.")
        return redirect("sync:lists")
    count = found.items.objects.filter(**{found.column: side}).count()
    feeding = list(side.sync_links.select_related("connection__service"))
    context = {"kind": found, "side": side, "count": count, "feeding": feeding}
    context["feeding_words"] = [link_label(link) for link in feeding]
    return render(request, "sync/list_delete.html", context)


def _id(value: str) -> int | None:
    """An id posted by a form; None for "" (the Inbox, or no link). ValueError otherwise."""
    if value == "":
        return None
    if len(value) > ID_CHARS or not value.isdigit():
        raise ValueError(value)
    return int(value)


@login_required
@require_POST
def list_destination(request: HttpRequest, kind: str) -> HttpResponse:
    """Where the new items of one list go (`side`: its id, "" for the Inbox or "My
    calendar"; `link`: a sync link's id, "" to keep them in DayFlow)."""
    found = _kind(kind)
    try:
        side_id, link_id = _id(request.POST.get("side", "")), _id(request.POST.get("link", ""))
    except ValueError:
        return HttpResponseBadRequest("Choose a list and where its new items go.")
    side = None if side_id is None else _side(request, found, side_id)
    link = None
    if link_id is not None:
        link = get_object_or_404(_user_links(request), pk=link_id)
    try:
        links.set_destination(request.user.pk, found.item_type, side, link)
    except links.LinkRefused as refused:
        return HttpResponseBadRequest(str(refused))
    name = side.name if side else found.main
    if link is None:
        messages.success(request, f"New {found.items_noun}s of “{name}” stay in DayFlow.")
    else:
        where = link_label(link)
        messages.success(request, f"New {found.items_noun}s of “{name}” go to {where}.")
    anchor = f"{found.slug}-{side.pk}" if side else f"{found.slug}-main"
    return redirect(f"{reverse('sync:lists')}#{anchor}")


@login_required
@require_POST
def link_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """From a connection's settings page: the DayFlow list (or calendar) one sync link feeds
    (`side`), and whether that list's new items go to it (`destination`)."""
    link = get_object_or_404(_user_links(request), pk=pk)
    found = KINDS["list" if link.item_type == ItemType.TASK else "calendar"]
    try:
        side_id = _id(request.POST.get("side", ""))
    except ValueError:
        return HttpResponseBadRequest("Choose a list.")
    side = None if side_id is None else _side(request, found, side_id)
    wanted = request.POST.get("destination") == "on"
    try:
        if wanted:
            link = links.set_destination(request.user.pk, found.item_type, side, link)
        else:
            link = links.feed_into(link, side)
            if link.is_destination:
                links.set_destination(request.user.pk, found.item_type, side, None)
    except links.LinkRefused as refused:
        return HttpResponseBadRequest(str(refused))
    name = side.name if side else found.main
    said = "go here" if wanted else "do not go here"
    said = f"new {found.items_noun}s of “{name}” {said}"
    messages.success(request, f"{link.container_words} feeds “{name}”; {said}.")
    url = reverse("integrations:settings", kwargs={"pk": link.connection_id})
    return redirect(f"{url}#link-{link.pk}")
