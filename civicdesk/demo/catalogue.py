"""Riverton's service catalogue and its keyword rules, created once (get-or-create)."""

from __future__ import annotations

from decimal import Decimal

from civicdesk.catalogue.models import Service, ServiceAttribute, ServiceGroup
from civicdesk.demo.catalogue_spec import GroupSpec, Question, ServiceSpec
from civicdesk.demo.organisation import Organisation
from civicdesk.demo.services_outdoors import OUTDOORS
from civicdesk.demo.services_people import PEOPLE
from civicdesk.routing.models import KeywordRule

GROUPS: tuple[GroupSpec, ...] = (*OUTDOORS, *PEOPLE)

# Free text (console, email, API without a service code) is filed by the first rule that
# matches, in order: specific rules before general ones. Administrators edit these in the admin.
KEYWORD_RULES: tuple[tuple[str, str, str, str], ...] = (
    # name, keywords, service code, priority
    ("No heating", "no heating, no hot water, boiler broken, radiators cold", "no-heating", ""),
    ("Damp and mould", "damp, mould, mold, condensation", "damp-mould", ""),
    ("Traffic lights", "traffic light, traffic lights, crossing button", "traffic-signal", "high"),
    ("Street lights", "street light, streetlight, street lamp, lamp post", "street-light", ""),
    ("Potholes", "pothole, potholes, hole in the road", "pothole", ""),
    (
        "Missed bins",
        "bin not collected, missed bin, not emptied, missed collection",
        "missed-bin",
        "",
    ),
    ("Bulky items", "sofa, mattress, fridge, bulky", "bulky-waste", ""),
    ("Fly-tipping", "fly tipping, flytipping, dumped, dumping", "fly-tipping", ""),
    ("Graffiti", "graffiti, spray paint, tagging", "graffiti", ""),
    ("Dead animals", "dead fox, dead cat, dead bird, dead animal, dead badger", "dead-animal", ""),
    ("Noise", "noise, noisy, loud music, party, barking", "noise", ""),
    ("Pests", "rats, rat, mice, cockroaches, wasps, bed bugs", "pests", ""),
    ("Trees", "fallen tree, tree down, branches, branch", "tree", ""),
    ("Drains and flooding", "blocked drain, drain, gully, flooding, flooded", "blocked-drain", ""),
    ("Abandoned vehicles", "abandoned car, abandoned vehicle, untaxed", "abandoned-vehicle", ""),
    ("Council tax", "council tax, direct debit, tax bill, arrears", "local-tax-question", ""),
    ("Housing repairs", "leak, leaking, broken window, repair, front door", "housing-repair", ""),
    # Romanian, accents optional: rules compare folded text.
    ("Gropi (ro)", "groapă, gropi, gaură în asfalt", "pothole", ""),
    ("Gunoi (ro)", "gunoiul, pubela, pubelă, nu a fost ridicat", "missed-bin", ""),
    ("Zgomot (ro)", "zgomot, muzică tare, petrecere", "noise", ""),
    ("Iluminat (ro)", "stâlp, felinar, iluminat", "street-light", ""),
)


# Limits of the number questions, by question code: (minimum, maximum), None for no limit.
NUMBER_LIMITS: dict[str, tuple[Decimal | None, Decimal | None]] = {
    "depth_cm": (Decimal(0), Decimal(500)),
    "item_count": (Decimal(1), Decimal(20)),
    "days": (Decimal(0), None),
    "rooms": (Decimal(1), Decimal(50)),
    "count": (Decimal(1), Decimal(100)),
    "household": (Decimal(1), Decimal(30)),
}


def _attribute(service: Service, question: Question, order: int) -> ServiceAttribute:
    ro: dict[str, object] = {"description": question.ro}
    if question.choices:
        ro["values"] = {key: romanian for key, _english, romanian in question.choices}
    minimum, maximum = NUMBER_LIMITS.get(question.code, (None, None))
    return ServiceAttribute(
        service=service,
        minimum=minimum if question.datatype == "number" else None,
        maximum=maximum if question.datatype == "number" else None,
        code=question.code,
        datatype=question.datatype,
        required=question.required,
        description=question.text,
        datatype_description=question.hint,
        order=order,
        values=[{"key": key, "name": english} for key, english, _ro in question.choices],
        translations={"ro": ro},
    )


def _service(spec: ServiceSpec, group: ServiceGroup, order: int, org: Organisation) -> Service:
    group_spec = next(g for g in GROUPS if g.name == group.name)
    service, created = Service.objects.get_or_create(
        code=spec.code,
        defaults={
            "name": spec.name,
            "description": spec.description,
            "group": group,
            "keywords": spec.keywords,
            "queue": org.queues[spec.queue or group_spec.queue],
            "sla_policy": org.policies[spec.policy or group_spec.policy],
            "default_priority": spec.priority,
            "order": order,
            "translations": {"ro": {"name": spec.ro_name, "description": spec.ro_description}},
        },
    )
    if created:
        ServiceAttribute.objects.bulk_create(
            _attribute(service, question, number)
            for number, question in enumerate(spec.questions, start=1)
        )
    return service


def ensure_catalogue(org: Organisation) -> dict[str, Service]:
    """Every demo service by code (with its questions prefetched), creating what is missing."""
    for group_order, group_spec in enumerate(GROUPS, start=1):
        group, _ = ServiceGroup.objects.get_or_create(
            name=group_spec.name,
            defaults={"order": group_order, "translations": {"ro": {"name": group_spec.ro_name}}},
        )
        for order, spec in enumerate(group_spec.services, start=1):
            _service(spec, group, order * 10, org)
    by_code = {service.code: service for service in Service.objects.all()}
    for order, (name, keywords, code, priority) in enumerate(KEYWORD_RULES, start=1):
        KeywordRule.objects.get_or_create(
            name=name,
            defaults={
                "keywords": keywords,
                "service": by_code[code],
                "priority": priority,
                "order": order * 10,
            },
        )
    codes = [spec.code for group in GROUPS for spec in group.services]
    return {
        service.code: service
        for service in Service.objects.filter(code__in=codes)
        .select_related("group", "queue")
        .prefetch_related("attributes")
    }
