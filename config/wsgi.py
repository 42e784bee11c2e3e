"""WSGI entry: pages and the API (`civicdesk serve` runs it under granian).

Bodies over their path's limit are refused before Django reads them (core.bodylimit).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_wsgi_app = get_wsgi_application()

from civicdesk.core.bodylimit import WSGIBodyLimit  # noqa: E402
from config.serving import body_limits  # noqa: E402

application = WSGIBodyLimit(django_wsgi_app, body_limits())
