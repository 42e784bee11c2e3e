"""The portal's forms: a request built from a service's questions, and a reply on a status page.

Forms check what a person can correct on the page (missing answers, a mistyped email address, a
file too big). What the answers mean is the domain's business: intake checks them again.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.forms import BoundField
from django.utils.translation import gettext_lazy as _

from civicdesk.catalogue.models import AttributeDatatype, Service, ServiceAttribute
from civicdesk.catalogue.services import plain_number
from civicdesk.channels.contracts import InboundAttachment
from civicdesk.citizens.kernels.contact_points import InvalidContactPoint, normalise
from civicdesk.core import limits
from civicdesk.core.tokens import new_token
from civicdesk.portal.attachments import AttachmentField, attachment_hint

ANSWER_PREFIX = "answer_"
# The domain's limits (catalogue.clean_answers, the portal adapter), checked here first so the
# citizen can correct the text instead of the request failing after submission.
ANSWER_MAX_LENGTH = limits.ANSWER_MAX_LENGTH
DESCRIPTION_MAX_LENGTH = limits.MESSAGE_BODY_MAX_LENGTH
_SUBMISSION_ID = re.compile(r"^[0-9a-f]{32}$")
_STATUS_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def new_submission_id() -> str:
    return uuid.uuid4().hex


class _SelfRenewingHiddenField(forms.CharField):
    """A hidden value the page carries between showing a form and receiving it.

    A missing or tampered value gets a fresh one rather than an error nobody could see or fix.
    """

    widget = forms.HiddenInput
    pattern: re.Pattern[str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, max_length=64, **kwargs)

    def clean(self, value: Any) -> str:
        text = str(super().clean(value) or "")
        return text if self.pattern.match(text) else self.fresh()

    def fresh(self) -> str:
        raise NotImplementedError


class SubmissionIdField(_SelfRenewingHiddenField):
    """The id that makes a form submitted twice create one thing."""

    pattern = _SUBMISSION_ID

    def fresh(self) -> str:
        return new_submission_id()


class StatusTokenField(_SelfRenewingHiddenField):
    """The secret of the private status link a new request will have, made with the form.

    Made when the form is shown, so that the same form sent twice leads to the same link. Only
    its digest leaves the portal.
    """

    pattern = _STATUS_TOKEN

    def fresh(self) -> str:
        return new_token(24)


@dataclass(frozen=True)
class ErrorLink:
    """One entry of the error summary: the element to jump to ("" for the whole form)."""

    target: str
    message: str


@dataclass(frozen=True)
class QuestionItem:
    """A service question, in order: a field to answer, or a note to read (variable=false)."""

    field: BoundField | None = None
    note: str = ""


class PortalForm(forms.Form):
    def error_links(self) -> list[ErrorLink]:
        links = [ErrorLink(target="", message=str(m)) for m in self.non_field_errors()]
        for bound in self:
            target = f"{bound.auto_id}_0" if bound.field.widget.use_fieldset else bound.auto_id
            links += [ErrorLink(target=str(target), message=str(m)) for m in bound.errors]
        return links

    def _set_attachment_hint(self) -> None:
        self.fields["attachment"].help_text = attachment_hint()


def question_field(attribute: ServiceAttribute, language: str) -> forms.Field:
    """The form field asking one Open311 attribute, in the citizen's language."""
    question = attribute.localized_description(language)
    params = {"question": question}
    answer_required = _("Answer the question “%(question)s”.") % params
    common: dict[str, Any] = {
        "label": question,
        "required": attribute.required,
        "help_text": attribute.localized_datatype_description(language),
    }
    datatype = attribute.datatype
    if datatype == AttributeDatatype.SINGLE_VALUE_LIST:
        return forms.ChoiceField(
            choices=attribute.localized_values(language),
            widget=forms.RadioSelect,
            error_messages={"required": _("Choose an answer to “%(question)s”.") % params},
            **common,
        )
    if datatype == AttributeDatatype.MULTI_VALUE_LIST:
        return forms.MultipleChoiceField(
            choices=attribute.localized_values(language),
            widget=forms.CheckboxSelectMultiple,
            error_messages={
                "required": _("Choose at least one answer to “%(question)s”.") % params
            },
            **common,
        )
    if datatype == AttributeDatatype.NUMBER:
        # The same limits `clean_answers` applies, with a message the citizen can act on.
        minimum, maximum = attribute.minimum, attribute.maximum
        limits = {
            "question": question,
            "minimum": plain_number(minimum),
            "maximum": plain_number(maximum),
        }
        attrs: dict[str, str] = {"inputmode": "decimal"}
        if minimum is not None:
            attrs["min"] = plain_number(minimum)
        if maximum is not None:
            attrs["max"] = plain_number(maximum)
        field = forms.DecimalField(
            widget=forms.NumberInput(),
            min_value=minimum,
            max_value=maximum,
            error_messages={
                "required": answer_required,
                "invalid": _("Enter a number, like 12 or 4.5, for “%(question)s”.") % params,
                "min_value": _("Enter %(minimum)s or more for “%(question)s”.") % limits,
                "max_value": _("Enter %(maximum)s or less for “%(question)s”.") % limits,
            },
            **common,
        )
        field.widget.attrs.update(attrs)  # as people write them, not 0.000000
        return field
    if datatype == AttributeDatatype.DATETIME:
        return forms.DateTimeField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
            error_messages={
                "required": answer_required,
                "invalid": _("Enter a date and time for “%(question)s”.") % params,
            },
            **common,
        )
    widget = forms.Textarea(attrs={"rows": 4}) if datatype == AttributeDatatype.TEXT else None
    return forms.CharField(
        max_length=ANSWER_MAX_LENGTH,
        widget=widget,
        error_messages={"required": answer_required},
        **common,
    )


def _json_answer(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class RequestForm(PortalForm):
    """A request for one service: its questions, a description, contact details, a file."""

    description = forms.CharField(
        label=_("Describe the problem"),
        help_text=_(
            "Say what happened, where and since when. "
            "Please do not include other people's personal details."
        ),
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Describe the problem.")},
    )
    name = forms.CharField(
        label=_("Full name"),
        max_length=limits.NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _("Enter your full name.")},
    )
    email = forms.EmailField(
        label=_("Email address"),
        required=False,
        max_length=limits.EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={
            "invalid": _("Enter an email address in the correct format, like name@example.com.")
        },
    )
    phone = forms.CharField(
        label=_("Phone number"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    attachment = AttachmentField(label=_("Photo or document"))
    submission_id = SubmissionIdField()
    status_token = StatusTokenField()

    def __init__(self, *args: Any, service: Service, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = service
        self.answer_codes: dict[str, str] = {}
        self.question_items: list[QuestionItem] = []
        for attribute in service.attributes.all():
            if not attribute.variable:
                note = attribute.localized_description(language)
                self.question_items.append(QuestionItem(note=note))
                continue
            name = f"{ANSWER_PREFIX}{attribute.code}"
            self.fields[name] = question_field(attribute, language)
            self.answer_codes[name] = attribute.code
            self.question_items.append(QuestionItem(field=self[name]))
        self.order_fields(list(self.answer_codes))
        self._set_attachment_hint()

    def clean_email(self) -> str:
        value: str = self.cleaned_data.get("email") or ""
        if not value:
            return ""
        try:
            return normalise("email", value)
        except InvalidContactPoint:
            raise forms.ValidationError(
                self.fields["email"].error_messages["invalid"], code="invalid"
            ) from None

    def clean_phone(self) -> str:
        value: str = (self.cleaned_data.get("phone") or "").strip()
        if not value:
            return ""
        try:
            return normalise("phone", value, default_region=settings.CIVICDESK_DEFAULT_REGION)
        except InvalidContactPoint:
            raise forms.ValidationError(
                _(
                    "Enter a phone number in the correct format, "
                    "like 07911 123456 or +40 721 234 567."
                ),
                code="invalid",
            ) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        contact_checked = "email" not in self.errors and "phone" not in self.errors
        if contact_checked and not cleaned.get("email") and not cleaned.get("phone"):
            self.add_error(
                "email",
                forms.ValidationError(
                    _(
                        "Enter an email address or a phone number, "
                        "so that we can contact you about your request."
                    ),
                    code="no_contact",
                ),
            )
        return cleaned

    def answers(self) -> dict[str, Any]:
        """The answers given, keyed by question code, as JSON values (omitting blanks)."""
        answers: dict[str, Any] = {}
        for name, code in self.answer_codes.items():
            value = self.cleaned_data.get(name)
            if value not in (None, "", []):
                answers[code] = _json_answer(value)
        return answers

    def attachment_file(self) -> InboundAttachment | None:
        attachment: InboundAttachment | None = self.cleaned_data.get("attachment")
        return attachment


class ReplyForm(PortalForm):
    """A citizen's message on their request's status page."""

    body = forms.CharField(
        label=_("Your message"),
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Write a message before sending it.")},
    )
    attachment = AttachmentField(label=_("Photo or document"))
    submission_id = SubmissionIdField()

    def __init__(self, *args: Any, accepts_contact: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accepts_contact = accepts_contact
        self._set_attachment_hint()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.accepts_contact:
            # Intake would refuse it too; saying so here stores nothing and keeps the text.
            raise forms.ValidationError(
                _("This request is closed, so it cannot take new messages."), code="closed"
            )
        return cleaned

    def attachment_file(self) -> InboundAttachment | None:
        attachment: InboundAttachment | None = self.cleaned_data.get("attachment")
        return attachment


class LinkResendForm(PortalForm):
    """ "Resend my status link": the address the citizen wrote from or gave us."""

    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("The address you used when you contacted us."),
        max_length=limits.EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={
            "required": _("Enter your email address."),
            "invalid": _("Enter an email address in the correct format, like name@example.com."),
        },
    )
