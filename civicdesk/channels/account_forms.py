"""The admin form for a channel account, built from its adapter's settings schema.

Secret fields render as empty password inputs (a blank one keeps the current secret); the
encrypted column is never part of the form. Validation is the schema's, through
`accounts.configure_account`, so the admin and any other caller accept exactly the same.
"""

from __future__ import annotations

import typing
from typing import Any

from django import forms

from civicdesk.channels import registry
from civicdesk.channels.accounts import InvalidAccountSettings, configure_account
from civicdesk.channels.config import AccountConfig
from civicdesk.channels.models import ChannelAccount

PREFIX = "setting_"


def _field_for(name: str, info: Any, *, secret: bool, has_value: bool) -> forms.Field:
    label = name.replace("_", " ").capitalize()
    help_text = info.description or ""
    if secret:
        return forms.CharField(
            label=label,
            required=False,
            widget=forms.PasswordInput(render_value=False),
            help_text=(help_text + " " if help_text else "")
            + ("Stored; leave blank to keep it." if has_value else "Not set."),
        )
    annotation = info.annotation
    required = info.is_required() and annotation is not bool
    if typing.get_origin(annotation) is typing.Literal:
        choices = [(value, value) for value in typing.get_args(annotation)]
        # A choice with a default may be left out: the schema's default then applies.
        return forms.ChoiceField(
            label=label, choices=choices, required=info.is_required(), help_text=help_text
        )
    field_class = _FIELDS.get(annotation, LinesField if _is_list(annotation) else forms.CharField)
    return field_class(label=label, required=required, help_text=help_text)


_FIELDS: dict[Any, type[forms.Field]] = {
    bool: forms.BooleanField,
    int: forms.IntegerField,
    float: forms.FloatField,
}


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (tuple, list) and str in typing.get_args(annotation)


class LinesField(forms.CharField):
    """A list of texts (addresses, patterns), one per line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value)
        return [line.strip() for line in str(text or "").splitlines() if line.strip()]


class ChannelAccountForm(forms.ModelForm[ChannelAccount]):
    kind = forms.ChoiceField(choices=())

    class Meta:
        model = ChannelAccount
        fields = ["kind", "name", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = registry.channel_kinds()  # type: ignore[attr-defined]
        kind = self.instance.kind if self.instance.pk else ""
        kind = kind or self.data.get("kind") or self.initial.get("kind") or ""
        self.schema: type[AccountConfig] = AccountConfig
        if kind in registry.adapters():
            self.schema = registry.adapter_class(kind).config_schema
        if self.instance.pk:
            self.fields["kind"].disabled = True
        stored_secrets = bool(self.instance.secrets_encrypted)
        secret_names = set(self.schema.secret_fields())
        for name, info in self.schema.model_fields.items():
            field = _field_for(name, info, secret=name in secret_names, has_value=stored_secrets)
            if name not in secret_names:
                field.initial = self.instance.config.get(name, info.default)
            self.fields[PREFIX + name] = field

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.instance.kind = cleaned.get("kind") or self.instance.kind
        values = {
            name[len(PREFIX) :]: value for name, value in cleaned.items() if name.startswith(PREFIX)
        }
        if self.instance.kind not in registry.adapters():
            return cleaned
        try:
            configure_account(account=self.instance, values=values, save=False)
        except InvalidAccountSettings as exc:
            for name, reason in exc.errors.items():
                field = PREFIX + name.split(".")[0]
                self.add_error(field if field in self.fields else None, reason)
        return cleaned
