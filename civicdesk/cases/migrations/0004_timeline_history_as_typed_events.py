"""Convert timeline entries written before typed events to the kinds and data of `cases.events`.

Old kinds and their data become:

    created      {service}                    → case.opened          {channel, service}
    classified   {by}                         → case.classified      {by}
    assignment   {from, to, to_id, queue,     → case.assigned        {previous, to, to_id, queue,
                  automatic, waiting}                                 automatic, waiting}
    message_in                                → case.message.received {channel}
    message_out                               → case.reply.sent      {channel}
    note                                      → case.note.added
    status       {from, to, automatic}        → case.status.changed  {previous, status, automatic}
    sla and anything else                     → case.history.recorded {original_kind, details}
                                                 (private; details = the old data as JSON,
                                                 with "was_public": true if it was public)

Every entry also gets the `CaseChange` fields: the reference; status and assignee as they were,
replayed along the case's timeline; the queue by the name recorded in assignments (the case's
current queue when no queue of that name exists any more); the case's current priority. Bodies,
authors, channels, deliveries and attachments are columns and are not touched.

This migration is frozen on purpose: it builds plain dicts and imports no application code, so
later changes to the event classes cannot change what it does. The reverse converts back.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from django.db import connection, migrations

OLD_TO_NEW = {
    "created": "case.opened",
    "classified": "case.classified",
    "assignment": "case.assigned",
    "message_in": "case.message.received",
    "message_out": "case.reply.sent",
    "note": "case.note.added",
    "status": "case.status.changed",
}
NEW_TO_OLD = {new: old for old, new in OLD_TO_NEW.items()}
BATCH = 500
WAS_PUBLIC = "was_public"  # in a history entry's details: the old entry was public


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _convert_case(case: Any, rows: list[Any], queue_ids: dict[str, int]) -> None:
    status = "new"
    assignee_id: int | None = None
    queue_id: int | None = None
    opened_at = next((row.created_at for row in rows if row.kind == "created"), None)
    first_route = next((row for row in rows if row.kind == "assignment"), None)
    if (
        first_route is not None
        and first_route.data.get("automatic")
        and (opened_at is None or first_route.created_at == opened_at)
    ):
        # The routing at opening: the case was born in that queue, with that assignee.
        assignee_id = _int_or_none(first_route.data.get("to_id"))
        queue_id = queue_ids.get(str(first_route.data.get("queue", "")), case.queue_id)
    for row in rows:
        old = dict(row.data or {})
        new_kind = OLD_TO_NEW.get(row.kind)
        fields: dict[str, Any]
        if new_kind == "case.opened":
            fields = {
                "channel": row.channel or case.channel,
                "service": str(old.get("service", "")),
            }
        elif new_kind == "case.classified":
            fields = {"by": str(old.get("by", ""))}
        elif new_kind == "case.assigned":
            to_id = _int_or_none(old.get("to_id"))
            queue = str(old.get("queue", "") or "")
            assignee_id = to_id if old.get("to") or to_id else None
            if queue:
                queue_id = queue_ids.get(queue, case.queue_id)
            fields = {
                "to": str(old.get("to", "") or ""),
                "to_id": to_id,
                "previous": str(old.get("from", "") or ""),
                "queue": queue,
                "automatic": bool(old.get("automatic", False)),
                "waiting": bool(old.get("waiting", False)),
            }
        elif new_kind in ("case.message.received", "case.reply.sent"):
            fields = {"channel": row.channel or ""}
        elif new_kind == "case.note.added":
            fields = {}
        elif new_kind == "case.status.changed":
            previous = str(old.get("from", "") or status)
            status = str(old.get("to", "") or status)
            fields = {"previous": previous, "automatic": bool(old.get("automatic", False))}
        else:
            new_kind = "case.history.recorded"
            if row.is_public:
                # Kept so that the reverse can make the entry public again.
                old[WAS_PUBLIC] = True
            fields = {
                "original_kind": row.kind,
                "details": json.dumps(old, sort_keys=True, default=str) if old else "",
            }
            row.is_public = False
        row.kind = new_kind
        row.data = {
            "reference": case.reference,
            "status": status,
            "queue_id": queue_id,
            "assignee_id": assignee_id,
            "priority": case.priority,
            **fields,
        }


def _old_rows_by_case(CaseEvent: Any) -> Iterator[tuple[int, list[Any]]]:
    """(case id, its old entries in timeline order), reading the entries in one ordered pass."""
    rows = (
        CaseEvent.objects.exclude(kind__startswith="case.")
        .order_by("case_id", "created_at", "id")
        .iterator(chunk_size=BATCH)
    )
    for case_id, group in itertools.groupby(rows, key=lambda row: row.case_id):
        yield case_id, list(group)


def forwards(apps: Any, schema_editor: Any) -> None:
    """One ordered pass over the old entries, cases fetched BATCH at a time: a few queries per
    BATCH cases, and never more bound variables than BATCH (SQLite caps them)."""
    Case = apps.get_model("cases", "Case")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    Queue = apps.get_model("routing", "Queue")
    queue_ids = {name: pk for pk, name in Queue.objects.values_list("pk", "name")}
    groups = _old_rows_by_case(CaseEvent)
    while chunk := list(itertools.islice(groups, BATCH)):
        cases = Case.objects.in_bulk([case_id for case_id, _ in chunk])
        pending: list[Any] = []
        for case_id, rows in chunk:
            _convert_case(cases[case_id], rows, queue_ids)
            pending += rows
        _save(CaseEvent, pending)


def _save(CaseEvent: Any, rows: list[Any]) -> None:
    """One plain UPDATE per row, sent with executemany: far cheaper than bulk_update's CASE."""
    table = connection.ops.quote_name(CaseEvent._meta.db_table)
    data = CaseEvent._meta.get_field("data")
    sql = f"UPDATE {table} SET kind = %s, data = %s, is_public = %s WHERE id = %s"  # noqa: S608
    params = [
        (row.kind, data.get_db_prep_save(row.data, connection), row.is_public, row.pk)
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def backwards(apps: Any, schema_editor: Any) -> None:
    CaseEvent = apps.get_model("cases", "CaseEvent")
    rows = CaseEvent.objects.filter(kind__startswith="case.")
    pending: list[Any] = []
    for row in rows.iterator(chunk_size=BATCH):
        data = dict(row.data or {})
        if row.kind == "case.history.recorded":
            row.kind = str(data.get("original_kind", "sla"))[:20]
            details = data.get("details") or ""
            row.data = json.loads(details) if details else {}
            row.is_public = bool(row.data.pop(WAS_PUBLIC, False))
        else:
            row.kind = NEW_TO_OLD.get(row.kind, row.kind)[:20]
            if row.kind == "created":
                row.data = {"service": data.get("service", "")}
            elif row.kind == "classified":
                row.data = {"by": data.get("by", "")}
            elif row.kind == "assignment":
                old = {
                    "to": data.get("to", ""),
                    "to_id": data.get("to_id"),
                    "queue": data.get("queue", ""),
                }
                if data.get("previous"):
                    old["from"] = data["previous"]
                for flag in ("automatic", "waiting"):
                    if data.get(flag):
                        old[flag] = True
                row.data = old
            elif row.kind == "status":
                row.data = {"from": data.get("previous", ""), "to": data.get("status", "")}
                if data.get("automatic"):
                    row.data["automatic"] = True
            else:
                row.data = {}
        pending.append(row)
        if len(pending) >= BATCH:
            CaseEvent.objects.bulk_update(pending, ["kind", "data", "is_public"])
            pending = []
    if pending:
        CaseEvent.objects.bulk_update(pending, ["kind", "data", "is_public"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_timeline_kinds_are_typed_events"),
        ("routing", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
