"""The language a citizen wrote in, when their channel did not say.

Most mail clients (Gmail, Thunderbird) send no Content-Language, so a new citizen writing in
Romanian would be answered in the default language. The text tells instead, detected by
`lingua` among the languages CivicDesk serves (settings.LANGUAGES) and no others: limited to
them it is accurate on a few words, with or without diacritics. Undecided (a number, a word
both languages share) says "", and the caller keeps its default.

Cost, measured on the 2-core machines: importing is free; the two languages' models load on
the first call in a process (0.6 to 1.5 s, about 100 MB of memory: lingua's high-accuracy mode,
which is what tells one or two words apart; its low-accuracy mode takes 12 MB but leaves
short texts undecided); then about 0.3 ms for a 260-character message and 0.5 ms for 500
(only the first SAMPLE_LENGTH characters are read). Only the workers that process payloads
pay it, and only for messages whose channel did not say their language.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

# Enough text to tell a language; a long mail costs no more than this.
SAMPLE_LENGTH = 1000
# How much likelier the winner must be than the runner-up (lingua's relative distance): below
# it, a text of one or two ambiguous words is left undecided rather than guessed.
MINIMUM_RELATIVE_DISTANCE = 0.1


def language_of(text: str) -> str:
    """The code (from settings.LANGUAGES) of the language `text` is written in, or ""."""
    sample = text.strip()[:SAMPLE_LENGTH]
    if not sample:
        return ""
    codes = tuple(code for code, _ in settings.LANGUAGES)
    detector, by_language = _detector(codes)
    if detector is None:
        return ""
    found = detector.detect_language_of(sample)
    return by_language.get(found, "") if found is not None else ""


@cache
def _detector(codes: tuple[str, ...]) -> tuple[LanguageDetector | None, dict[Language, str]]:
    """A detector limited to `codes` (None when there is nothing to choose between), and the
    code each of its languages answers with."""
    by_language: dict[Language, str] = {}
    for code in codes:
        try:
            language = Language.from_iso_code_639_1(IsoCode639_1.from_str(code.split("-")[0]))
        except ValueError:
            continue  # a language lingua does not know: never detected, never wrongly guessed
        by_language.setdefault(language, code)
    if len(by_language) < 2:
        return None, by_language
    detector = (
        LanguageDetectorBuilder.from_languages(*by_language)
        .with_minimum_relative_distance(MINIMUM_RELATIVE_DISTANCE)
        .build()
    )
    return detector, by_language
