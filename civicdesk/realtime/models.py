from django.db import models


class RealtimeEvent(models.Model):
    """Outbox of live-update events on the embedded default.

    Any process (web, task worker, command) writes here after commit; the socket process
    relays new rows to the WebSocket groups. Rows are pruned after a few minutes.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=60)
    groups = models.JSONField(default=list)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"
