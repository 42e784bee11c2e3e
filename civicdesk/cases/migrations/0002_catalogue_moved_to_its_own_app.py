# The service catalogue now lives in the `catalogue` app, in the same tables. Only Django's
# idea of which app owns the models changes here; no table or row is touched.

import django.db.models.deletion
from django.db import migrations, models


MOVED = ['service', 'servicegroup', 'serviceattribute']


def move_content_types(apps, schema_editor):
    """Keep permissions and admin history of the moved models: their content types move too."""
    content_type = apps.get_model('contenttypes', 'ContentType')
    if content_type.objects.filter(app_label='catalogue', model__in=MOVED).exists():
        return
    content_type.objects.filter(app_label='cases', model__in=MOVED).update(app_label='catalogue')


def move_content_types_back(apps, schema_editor):
    content_type = apps.get_model('contenttypes', 'ContentType')
    content_type.objects.filter(app_label='catalogue', model__in=MOVED).update(app_label='cases')


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0001_initial'),
        ('catalogue', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='case',
                    name='service',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='catalogue.service'),
                ),
                migrations.RemoveConstraint(model_name='serviceattribute', name='attribute_code_per_service'),
                migrations.DeleteModel(name='ServiceAttribute'),
                migrations.DeleteModel(name='Service'),
                migrations.DeleteModel(name='ServiceGroup'),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
