"""The shape of Riverton's catalogue data: services, their questions, bilingual choices."""

from __future__ import annotations

from dataclasses import dataclass

Choice = tuple[str, str, str]  # key, English name, Romanian name


@dataclass(frozen=True)
class Question:
    code: str
    datatype: str
    text: str
    ro: str
    required: bool = False
    choices: tuple[Choice, ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    code: str
    name: str
    ro_name: str
    description: str
    ro_description: str
    questions: tuple[Question, ...]
    priority: str = "normal"
    queue: str = ""  # team slug, when not the group's
    policy: str = ""  # SLA policy name, when not the group's
    keywords: str = ""


@dataclass(frozen=True)
class GroupSpec:
    name: str
    ro_name: str
    queue: str
    services: tuple[ServiceSpec, ...]
    policy: str = "Standard"


YES_NO: tuple[Choice, ...] = (("yes", "Yes", "Da"), ("no", "No", "Nu"))
BINS: tuple[Choice, ...] = (
    ("general", "General waste", "Deșeuri menajere"),
    ("recycling", "Recycling", "Reciclabile"),
    ("garden", "Garden waste", "Deșeuri de grădină"),
    ("food", "Food waste", "Resturi alimentare"),
)
LOCATION = Question(
    "location",
    "string",
    "Where is it? Street and nearest house number or landmark",
    "Unde se află? Strada și cel mai apropiat număr sau reper",
    required=True,
)
ADDRESS = Question("address", "string", "Your address", "Adresa dumneavoastră", required=True)


def q(
    code: str,
    datatype: str,
    text: str,
    ro: str,
    *choices: Choice,
    required: bool = False,
    hint: str = "",
) -> Question:
    """A question; `text` and `ro` are its English and Romanian wording."""
    return Question(code, datatype, text, ro, required=required, choices=choices, hint=hint)
