"""Background work for channels: tasks take ids and call one service each."""

from django_tasks import task

from civicdesk.channels import services


@task()
def process_inbound_payload(payload_id: int) -> None:
    services.process_payload(payload_id=payload_id)  # the outcome is recorded on the payload


@task()
def deliver(delivery_id: int) -> None:
    services.attempt_delivery(delivery_id=delivery_id)
