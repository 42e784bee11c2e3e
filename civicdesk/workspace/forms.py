"""Forms of the agent workspace: they parse and check input, nothing more.

Choices come from selectors; whether an action is allowed is the services' decision, so the
status form accepts any known status and lets `change_case_status` refuse a transition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict

from civicdesk.accounts.selectors import staff_for_assignment
from civicdesk.cases.kernels.status import CaseStatus, allowed_targets
from civicdesk.cases.selectors import INBOX_VIEWS, SORTS, InboxFilters, reply_routes
from civicdesk.cases.services import NewAttachment
from civicdesk.catalogue.selectors import active_services
from civicdesk.channels.selectors import channel_choices as channel_kinds
from civicdesk.core.limits import MESSAGE_BODY_MAX_LENGTH
from civicdesk.core.priority import Priority
from civicdesk.routing.selectors import all_queues

if TYPE_CHECKING:
    from civicdesk.accounts.models import User
    from civicdesk.cases.models import Case

VIEW_LABELS = {
    "mine": "Mine",
    "team": "Team queues",
    "unassigned": "Unassigned",
    "all": "All",
}
SORT_LABELS = {
    "sla": "SLA due (soonest first)",
    "newest": "Newest first",
    "oldest": "Oldest first",
    "activity": "Latest activity first",
}
PER_PAGE_DEFAULT = 25
PER_PAGE_MAX = 100
PER_PAGE_CHOICES = (10, 25, 50, 100)
DEFAULTS = {"view": "mine", "status": "open", "sort": "sla"}


def status_label(status: str) -> str:
    return status.replace("_", " ").capitalize()


class InboxFilterForm(forms.Form):
    """The inbox's GET form. Invalid values fall back to defaults instead of failing the page."""

    view = forms.ChoiceField(choices=list(VIEW_LABELS.items()), widget=forms.HiddenInput)
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("open", "Open (not resolved or closed)"),
            ("", "Any status"),
            *[(s.value, status_label(s.value)) for s in CaseStatus],
        ],
    )
    service = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    channel = forms.ChoiceField(required=False)
    queue = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    priority = forms.ChoiceField(required=False, choices=[("", "Any priority"), *Priority.choices])
    search = forms.CharField(
        required=False,
        max_length=100,
        strip=True,
        label="Search",
        help_text="Reference, subject, citizen name, email or phone, or address",
        widget=forms.SearchInput(attrs={"autocomplete": "off"}),
    )
    sort = forms.ChoiceField(required=False, choices=list(SORT_LABELS.items()))
    per_page = forms.IntegerField(required=False, label="Rows per page")

    def __init__(self, query: QueryDict) -> None:
        data = query.copy()
        for name, value in DEFAULTS.items():
            data.setdefault(name, value)
        # The control shows the page size in effect, also when none or a bad one was asked for.
        per_page = self._clamped_per_page(data.get("per_page"))
        data["per_page"] = str(per_page)
        super().__init__(data, auto_id="filter-%s", label_suffix="")
        self._choices(
            "service", [("", "Any service")] + [(s.pk, s.name) for s in active_services()]
        )
        self._choices("channel", [("", "Any channel"), *channel_kinds()])
        self._choices("queue", [("", "Any queue")] + [(q.pk, q.name) for q in all_queues()])
        choices = sorted({*PER_PAGE_CHOICES, per_page})
        self.fields["per_page"].widget = forms.Select(choices=[(n, str(n)) for n in choices])

    def _choices(self, name: str, choices: list[tuple[Any, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    @staticmethod
    def _clamped_per_page(value: object) -> int:
        try:
            number = int(str(value))
        except (TypeError, ValueError):
            return PER_PAGE_DEFAULT
        return min(max(number, 1), PER_PAGE_MAX)

    def clean_per_page(self) -> int:
        return self._clamped_per_page(self.data.get("per_page"))

    def _value(self, name: str, default: Any) -> Any:
        self.is_valid()
        value = self.cleaned_data.get(name)
        return default if value is None else value

    def filters(self) -> InboxFilters:
        sort = self._value("sort", "sla") or "sla"
        return InboxFilters(
            view=self._value("view", "mine"),
            status=self._value("status", "open"),
            service_id=self._value("service", None),
            channel=self._value("channel", ""),
            queue_id=self._value("queue", None),
            priority=self._value("priority", ""),
            search=self._value("search", ""),
            sort=sort if sort in SORTS else "sla",
        )

    def page_size(self) -> int:
        return int(self._value("per_page", PER_PAGE_DEFAULT))

    @property
    def view_name(self) -> str:
        view = self._value("view", "mine")
        return view if view in INBOX_VIEWS else "mine"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more files, each no larger than the attachment limit."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = [super(MultipleFileField, self).clean(item, initial) for item in files]
        limit = settings.CIVICDESK_MAX_ATTACHMENT_BYTES
        for item in cleaned:
            if item.size and item.size > limit:
                raise forms.ValidationError(
                    f"{item.name} is larger than the {limit // (1024 * 1024)} MB limit."
                )
        return cleaned


class CaseForm(forms.Form):
    """A form about one case, filled in by one member of staff; ids start with `prefix_id`."""

    prefix_id = "case"

    def __init__(self, *args: Any, case: Case, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.prefix_id}-%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.case = case
        self.user = user


class ReplyForm(CaseForm):
    prefix_id = "reply"
    body = forms.CharField(
        label="Your reply",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=MESSAGE_BODY_MAX_LENGTH,
    )
    attachments = MultipleFileField(
        required=False,
        label="Attach files (optional)",
        widget=MultipleFileInput(),
    )

    route = forms.ChoiceField(label="Send by", required=False)

    def __init__(self, *args: Any, case: Case, user: User, **kwargs: Any) -> None:
        super().__init__(*args, case=case, user=user, **kwargs)
        # The citizen's reachable channels, the case's own first (the default).
        self.routes = reply_routes(case)
        route_field = self.fields["route"]
        assert isinstance(route_field, forms.ChoiceField)
        route_field.choices = [
            (r.key, f"{r.label} to {r.recipient}" if r.recipient else r.label) for r in self.routes
        ]
        if self.routes:
            self.fields["route"].initial = self.routes[0].key

    def chosen_route(self) -> tuple[str | None, int | None]:
        """The agent's (channel, account id), or (None, None) for the case's own route."""
        key = self.cleaned_data.get("route") or ""
        if not key:
            return None, None
        channel, _, account = key.partition(":")
        return channel, int(account) if account else None

    def new_attachments(self) -> list[NewAttachment]:
        """The uploaded files, read into memory (each is under the attachment limit)."""
        return [
            NewAttachment(
                filename=item.name or "attachment",
                content_type=item.content_type or "application/octet-stream",
                content=item.read(),
            )
            for item in self.cleaned_data.get("attachments") or []
        ]


class NoteForm(CaseForm):
    prefix_id = "note"
    body = forms.CharField(
        label="Internal note",
        help_text="Seen by staff only. Never sent to the citizen.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_BODY_MAX_LENGTH,
    )


class StatusForm(CaseForm):
    prefix_id = "new"
    status = forms.ChoiceField(
        label="New status",
        choices=[(s.value, status_label(s.value)) for s in CaseStatus],
    )

    def __init__(self, *args: Any, case: Case, user: User, **kwargs: Any) -> None:
        super().__init__(*args, case=case, user=user, **kwargs)
        # Offer only the moves the workflow allows now; the service still checks on submit.
        self.fields["status"].widget.choices = [
            (s.value, status_label(s.value)) for s in allowed_targets(case.status_value)
        ]


class AssignForm(CaseForm):
    prefix_id = "assign"
    assignee = forms.ModelChoiceField(
        queryset=staff_for_assignment(),
        required=False,
        label="Agent",
        empty_label="Nobody (unassigned)",
    )
    queue = forms.ModelChoiceField(
        queryset=all_queues(),
        required=False,
        label="Queue",
        empty_label="Keep the current queue",
    )

    def __init__(self, *args: Any, case: Case, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"assignee": case.assignee_id, "queue": case.queue_id})
        super().__init__(*args, case=case, user=user, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.data.get("to_me"):
            cleaned["assignee"] = self.user  # the "Assign to me" button
        return cleaned
