"""Forms of DayFlow's own pages."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from dayflow.models import ApiToken

# How long a token made on the page lasts: the choices a person reads, and their lifetimes.
LIFETIMES: dict[str, dt.timedelta | None] = {
    "never": None,
    "30d": dt.timedelta(days=30),
    "90d": dt.timedelta(days=90),
    "1y": dt.timedelta(days=365),
}


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What uses it, so you know which one to revoke: “backup script”, “CI”.",
    )
    lifetime = forms.ChoiceField(
        label="Expires",
        choices=[
            ("never", "Never"),
            ("30d", "In 30 days"),
            ("90d", "In 90 days"),
            ("1y", "In a year"),
        ],
        initial="never",
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name

    def expiry(self) -> dt.datetime | None:
        lifetime = LIFETIMES[self.cleaned_data["lifetime"]]
        return None if lifetime is None else timezone.now() + lifetime
