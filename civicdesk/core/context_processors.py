from django.conf import settings
from django.http import HttpRequest


def body(request: HttpRequest) -> dict[str, str]:
    """The name of the public body this instance serves, for every page."""
    return {"body_name": settings.CIVICDESK_BODY_NAME}
