"""ASGI entry: /ws/ to the live-update consumers (and HTTP to Django, for tests and tools).

`civicdesk serve` runs it under uvicorn for the WebSockets only; pages and the API are served
over WSGI (config.wsgi). HTTP bodies over their path's limit are refused here too.
"""

import os

# Read by settings: under ASGI no database connection is kept between requests.
os.environ.setdefault("CIVICDESK_SERVER", "asgi")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from civicdesk.core.bodylimit import ASGIBodyLimit  # noqa: E402
from civicdesk.realtime.routing import websocket_urlpatterns  # noqa: E402
from config.serving import body_limits  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": ASGIBodyLimit(django_asgi_app, body_limits()),
        # The page's origin is checked against ALLOWED_HOSTS by host name, whatever its port:
        # pages served on :8000 may open a socket on :8001 of the same host.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
