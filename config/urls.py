from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from civicdesk.api.v1.urls import api_v1_urls
from civicdesk.channels.webhooks import webhook as channel_webhook
from config.health import health

urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api_v1_urls()),
    path("hooks/<str:kind>/<str:account_uuid>/", channel_webhook, name="channel-webhook"),
    path("workspace/", include("civicdesk.workspace.urls")),
    path("", include("civicdesk.portal.urls")),
]
# Uploaded files are never served from MEDIA_URL, not even in development: they are only
# reached through views that check who is asking (workspace attachment downloads).
# Database overload raised outside a view is a 503, and API failures stay JSON.
handler500 = "civicdesk.core.overload.server_error"
# JSON for unknown API addresses; the site's HTML pages elsewhere.
handler404 = "civicdesk.api.error_views.page_not_found"
