"""Background work for cases: tasks take plain values and call one service each."""

from django_tasks import task

from civicdesk.cases.services.notifications import send_status_links


@task()
def send_status_links_task(email: str, language: str) -> None:
    send_status_links(email=email, language=language)
