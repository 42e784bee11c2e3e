"""API v1, mounted at /api/v1/: OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from ninja import NinjaAPI

from civicdesk.api.v1 import cases, contacts
from civicdesk.api.v1.auth import ApiTokenAuth
from civicdesk.api.v1.errors import install_error_handlers

api_v1 = NinjaAPI(
    title="CivicDesk API",
    version="1",
    urls_namespace="api-v1",
    description=(
        "Contacts from integrations and case work for staff tools. Every call needs "
        "`Authorization: Bearer <token>` (create one with `civicdesk token create --user EMAIL`). "
        "Errors are JSON with a `detail` message."
    ),
    auth=ApiTokenAuth(),
)
install_error_handlers(api_v1)
api_v1.add_router("", contacts.router)
api_v1.add_router("", cases.router)
