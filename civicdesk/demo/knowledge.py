"""Riverton's help articles, in English and Romanian, created once (by slug).

Made through the knowledge services, reviewed and published as an editor would, and linked to
the services they answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from civicdesk.knowledge import services as knowledge
from civicdesk.knowledge.selectors import article_exists

if TYPE_CHECKING:
    from civicdesk.catalogue.models import Service

# slug, service codes, tags, {language: (title, summary, body)}
ARTICLES: tuple[
    tuple[str, tuple[str, ...], tuple[str, ...], dict[str, tuple[str, str, str]]], ...
] = (
    (
        "bin-collection-days",
        ("missed-bin",),
        ("waste",),
        {
            "en": (
                "When are bins collected?",
                "Every street has a weekly collection day.",
                "<p>Bins are collected once a week. Put your bin out by 7am on your collection "
                "day, with the lid closed.</p><p>If your bin was not emptied, tell us within two "
                "working days and we will come back.</p>",
            ),
            "ro": (
                "Când se colectează pubelele?",
                "Fiecare stradă are o zi de colectare pe săptămână.",
                "<p>Pubelele se golesc o dată pe săptămână. Scoateți pubela până la ora 7 în ziua "
                "de colectare, cu capacul închis.</p><p>Dacă pubela nu a fost golită, anunțați-ne "
                "în două zile lucrătoare și revenim.</p>",
            ),
        },
    ),
    (
        "reporting-a-pothole",
        ("pothole",),
        ("roads",),
        {
            "en": (
                "How quickly are potholes repaired?",
                "Dangerous potholes are made safe within 24 hours.",
                "<p>We inspect every reported pothole. A pothole deeper than 40 mm on a road, or "
                "20 mm on a pavement, is made safe within 24 hours and repaired within 28 days."
                "</p>",
            ),
            "ro": (
                "Cât de repede sunt reparate gropile?",
                "Gropile periculoase sunt semnalizate în 24 de ore.",
                "<p>Inspectăm fiecare groapă semnalată. O groapă mai adâncă de 40 mm pe carosabil "
                "sau de 20 mm pe trotuar este semnalizată în 24 de ore și reparată în 28 de zile."
                "</p>",
            ),
        },
    ),
    (
        "noisy-neighbours",
        ("noise",),
        ("noise", "neighbours"),
        {
            "en": (
                "What can I do about noisy neighbours?",
                "Talk to them first; then keep a diary and report it.",
                "<p>If it is safe, talk to your neighbour first: they may not know they are "
                "disturbing you. If the noise goes on, keep a diary of dates and times and "
                "report it to us; an officer may visit or install recording equipment.</p>",
            ),
            "ro": (
                "Ce pot face în privința vecinilor zgomotoși?",
                "Vorbiți mai întâi cu ei; apoi notați și semnalați.",
                "<p>Dacă este sigur, vorbiți mai întâi cu vecinul: poate nu știe că vă deranjează."
                " Dacă zgomotul continuă, notați datele și orele și semnalați-ne; un inspector "
                "poate veni sau poate instala echipament de înregistrare.</p>",
            ),
        },
    ),
    (
        "paying-council-tax",
        ("local-tax-question",),
        ("council tax", "payments"),
        {
            "en": (
                "How can I pay my council tax?",
                "By direct debit, online, by phone or at the post office.",
                "<p>Direct debit is the easiest way: choose the 1st, 15th or 28th of the month. "
                "You can also pay online with a card, by phone, or at any post office with the "
                "barcode on your bill.</p>",
            ),
            "ro": (
                "Cum pot plăti impozitul local?",
                "Prin debit direct, online, la telefon sau la poștă.",
                "<p>Debitul direct este cea mai simplă cale: alegeți data de 1, 15 sau 28 a lunii."
                " Puteți plăti și online cu cardul, la telefon sau la orice oficiu poștal cu "
                "codul de bare de pe factură.</p>",
            ),
        },
    ),
    (
        "dogs-in-parks",
        (),
        ("parks", "pets"),
        {
            "en": (
                "Can I walk my dog in Riverton's parks?",
                "Yes, on a lead near play areas; always clean up after it.",
                "<p>Dogs are welcome in every park. Keep your dog on a lead near children's play "
                "areas and sports pitches, and always pick up after it: there are dog bins at "
                "every park gate.</p>",
            ),
            "ro": (
                "Îmi pot plimba câinele în parcurile din Riverton?",
                "Da, în lesă lângă locurile de joacă; strângeți mereu după el.",
                "<p>Câinii sunt bineveniți în toate parcurile. Țineți câinele în lesă lângă "
                "locurile de joacă și terenurile de sport și strângeți mereu după el: la fiecare "
                "intrare în parc există coșuri pentru deșeurile canine.</p>",
            ),
        },
    ),
)


def ensure_articles(services: dict[str, Service]) -> int:
    """Create the demo articles that are missing; returns how many were created."""
    created = 0
    for slug, codes, tags, versions in ARTICLES:
        if article_exists(slug=slug):
            continue
        article = knowledge.create_article(
            slug=slug, tags=tags, services=[services[code] for code in codes if code in services]
        )
        for language, (title, summary, body) in versions.items():
            draft = knowledge.save_draft(
                article=article, language=language, title=title, summary=summary, body=body
            )
            knowledge.submit_for_review(version=draft, by=None)
            knowledge.publish_version(version=draft, by=None)
        created += 1
    return created
