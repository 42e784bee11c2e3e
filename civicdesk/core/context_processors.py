from django.conf import settings
from django.http import HttpRequest


def body(request: HttpRequest) -> dict[str, str]:
    """The name of the public body this instance serves, for every page."""
    return {"body_name": settings.CIVICDESK_BODY_NAME}


def live_updates(request: HttpRequest) -> dict[str, str]:
    """Where the workspace's live-update socket is (see CIVICDESK_SOCKET_URL in settings)."""
    port = settings.CIVICDESK_SOCKET_PORT
    return {"socket_url": settings.CIVICDESK_SOCKET_URL, "socket_port": str(port) if port else ""}
