"""The help pages: browse and search the public knowledge base, and read an article.

Plain links and a GET form: no JavaScript needed. The knowledge app decides what a citizen may
see (public, published, inside its window); these views only parse and render.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from civicdesk.knowledge.selectors import browse, live_version, search_articles

QUERY_MAX_LENGTH = 200
RESULTS = 20


@require_GET
def help_index(request: HttpRequest) -> HttpResponse:
    language = get_language()
    query = " ".join(request.GET.get("q", "").split())[:QUERY_MAX_LENGTH]
    context: dict[str, object] = {"query": query}
    if query:
        context["results"] = search_articles(query=query, language=language, limit=RESULTS)
    else:
        context["articles"] = browse(language=language)
    return render(request, "portal/help.html", context)


@require_GET
def article(request: HttpRequest, slug: str) -> HttpResponse:
    language = get_language()
    version = live_version(slug=slug, language=language)
    if version is None:
        return render(request, "portal/not_found.html", status=404)
    context = {"version": version, "translated": version.language == language}
    return render(request, "portal/article.html", context)
