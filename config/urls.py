from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from civicdesk.api.v1.urls import api_v1_urls
from civicdesk.channels.webhooks import webhook as channel_webhook

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api_v1_urls()),
    path("hooks/<str:kind>/<str:account_uuid>/", channel_webhook, name="channel-webhook"),
    path("workspace/", include("civicdesk.workspace.urls")),
    path("", include("civicdesk.portal.urls")),
]
# Uploaded files are never served from MEDIA_URL, not even in development: they are only
# reached through views that check who is asking (workspace attachment downloads).

# JSON for API addresses (unknown endpoint, server error); the site's HTML pages elsewhere.
handler404 = "civicdesk.api.error_views.page_not_found"
handler500 = "civicdesk.api.error_views.server_error"
