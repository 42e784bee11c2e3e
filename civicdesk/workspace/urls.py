from django.contrib.auth import views as auth_views
from django.urls import path

from civicdesk.workspace.views import case, case_actions, inbox, presence

app_name = "workspace"
urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="workspace/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", inbox.inbox, name="inbox"),
    path("presence/", presence.presence, name="presence"),
    path("cases/<str:reference>/", case.case_page, name="case"),
    path("cases/<str:reference>/timeline/", case.case_timeline, name="case_timeline"),
    path("cases/<str:reference>/reply/", case_actions.reply, name="case_reply"),
    path("cases/<str:reference>/note/", case_actions.note, name="case_note"),
    path("cases/<str:reference>/status/", case_actions.status, name="case_status"),
    path("cases/<str:reference>/assign/", case_actions.assign, name="case_assign"),
    path(
        "cases/<str:reference>/contact-points/<int:contact_point_id>/deliverable/",
        case_actions.contact_point_deliverable,
        name="contact_point_deliverable",
    ),
    path(
        "cases/<str:reference>/attachments/<int:attachment_id>/",
        case.attachment_download,
        name="attachment",
    ),
]
