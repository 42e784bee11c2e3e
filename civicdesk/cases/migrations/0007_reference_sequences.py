"""PostgreSQL numbers case references with one sequence per prefix and year.

`cases_next_reference(name, prefix, year)` returns the sequence's next value; the first call
for a year creates its sequence, starting after that year's counter row (so a database moved
from the counter keeps counting up). SQLite keeps using the counter row.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION cases_next_reference(seq text, ref_prefix text, ref_year integer)
RETURNS bigint AS $$
DECLARE
    start_value bigint;
BEGIN
    RETURN nextval(seq::regclass);
EXCEPTION WHEN undefined_table THEN
    PERFORM pg_advisory_xact_lock(hashtext(seq));
    SELECT COALESCE(MAX(last_value), 0) + 1 INTO start_value
        FROM cases_referencesequence WHERE prefix = ref_prefix AND year = ref_year;
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %%I START WITH %%s', seq, start_value);
    RETURN nextval(seq::regclass);
END
$$ LANGUAGE plpgsql;
"""
DROP = "DROP FUNCTION IF EXISTS cases_next_reference(text, text, integer);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_case_channel_account")]

    operations = [migrations.RunPython(create, drop)]
