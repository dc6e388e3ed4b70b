from django.contrib import admin

from dayflow.models import Calendar, Event, Heartbeat, Task, TaskList


class PlannerItemAdmin(admin.ModelAdmin):
    list_select_related = ["user"]
    readonly_fields = ["version", "created_at", "updated_at"]

    def get_queryset(self, request):
        return self.model.all_objects.select_related("user")


@admin.register(Task)
class TaskAdmin(PlannerItemAdmin):
    list_display = [
        "title",
        "user",
        "status",
        "due_date",
        "due_at",
        "priority",
        "list_name",
        "version",
        "updated_at",
        "deleted_at",
    ]
    list_filter = ["status", "priority", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "notes", "list_name", "user__username"]


@admin.register(Event)
class EventAdmin(PlannerItemAdmin):
    list_display = [
        "title",
        "user",
        "start",
        "start_date",
        "all_day",
        "timezone",
        "status",
        "version",
        "updated_at",
        "deleted_at",
    ]
    list_filter = ["all_day", "status", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "description", "location", "user__username"]
    raw_id_fields = ["series"]


@admin.register(TaskList, Calendar)
class NamedAdmin(admin.ModelAdmin):
    """A person's lists and calendars; named by the model's rules (its `clean`), as in the
    API. Their destinations are on the sync links' pages."""

    list_display = ["name", "user", "created_at"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username"]
    raw_id_fields = ["user"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # Its owner stays: their tasks, events and sync links are in it.
        return ["created_at"] if obj is None else ["user", "created_at"]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_seen_at", "hostname"]
