from django.urls import path

from civicdesk.portal import help_pages, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("help/", help_pages.help_index, name="help"),
    path("help/<slug:slug>/", help_pages.article, name="article"),
    path("services/<slug:code>/", views.request_form, name="request"),
    path("lost-link/", views.resend_links, name="resend_links"),
    # `str`, not `slug`: a signed status link (cases.signed_links) holds "." and ":".
    path("requests/<str:token>/", views.status, name="status"),
    path("requests/<str:token>/reply", views.reply, name="reply"),
    path("requests/<str:token>/files/<int:attachment_id>/", views.attachment, name="attachment"),
]
