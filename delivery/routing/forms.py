"""Admin forms for the fleet and the ops screens."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from delivery.models import Weekday
from delivery.routing.models import Bus


class BusForm(forms.ModelForm):
    # Ticked boxes rather than raw JSON: the model stores the list of weekday numbers.
    weekdays = forms.TypedMultipleChoiceField(
        label=_("working weekdays"),
        choices=Weekday.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Bus
        fields = [
            "name",
            "plate",
            "depot",
            "capacity",
            "volume_litres",
            "max_weight_kg",
            "weekdays",
            "shift_start",
            "shift_end",
            "is_active",
        ]

    def clean_weekdays(self) -> list[int]:
        return sorted(set(self.cleaned_data["weekdays"]))


class StopMoveForm(forms.Form):
    to_route = forms.TypedChoiceField(label=_("to bus"), coerce=int)

    def __init__(self, *args, routes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_route"].choices = [
            (route.pk, f"{route.bus} — {route.load}/{route.capacity}") for route in routes
        ]
