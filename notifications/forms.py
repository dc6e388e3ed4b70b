from __future__ import annotations

from typing import Any

from django import forms

from notifications.models import EmailPreference, Kind


class EmailPreferencesForm(forms.Form):
    """One yes/no per kind: email me about it or not."""

    def __init__(self, *args: Any, choices: dict[str, bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in Kind.choices:
            self.fields[kind] = forms.BooleanField(
                label=label, required=False, initial=choices[kind]
            )

    def save(self, user: Any) -> None:
        for kind in Kind.values:
            EmailPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"email": self.cleaned_data[kind]}
            )
