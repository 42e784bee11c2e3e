from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SchedulerLease(models.Model):
    """Who may run the periodic jobs until when: one row per lease name.

    Taken and renewed by one conditional upsert (see core.leases); an expired row may be taken
    by anyone, so a scheduler that died without releasing it is replaced once it expires.
    """

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
