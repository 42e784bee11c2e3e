"""`cases_reference_text(seq, prefix, year)`: the next reference, formatted as Python formats it
("RIV-2026-000123"; more digits past 999,999), so that an INSERT can number what it stores in
the same statement (see `cases.services.references.reference_expression`)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION cases_reference_text(seq text, ref_prefix text, ref_year integer)
RETURNS text AS $$
    SELECT ref_prefix || '-' || ref_year::text || '-' || lpad(n::text, GREATEST(6, length(n::text)), '0')
    FROM (SELECT cases_next_reference(seq, ref_prefix, ref_year) AS n) AS next_number
$$ LANGUAGE sql VOLATILE;
"""
DROP = "DROP FUNCTION IF EXISTS cases_reference_text(text, text, integer);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_reference_sequences")]

    operations = [migrations.RunPython(create, drop)]
