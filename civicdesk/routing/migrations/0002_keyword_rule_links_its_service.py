# A keyword rule named its service by code (a string nothing checked); it now links to the
# service. Codes are mapped to services here; a rule whose code named no service is kept, but
# switched off and marked in its name, so an administrator can see and fix it.

import ast
import re

import django.db.models.deletion
from django.db import migrations, models

UNMATCHED_MARK = ' (service code {code!r} matched no service)'
UNMATCHED = re.compile(r' \(service code (\'.*\'|".*") matched no service\)$')


def _unmark(name):
    """The name and code before `link_services` marked an unmatched rule; (name, '') if unmarked."""
    match = UNMATCHED.search(name)
    if match is None:
        return name, ''
    return name[: match.start()], ast.literal_eval(match.group(1))


def link_services(apps, schema_editor):
    rule_model = apps.get_model('routing', 'KeywordRule')
    service_model = apps.get_model('catalogue', 'Service')
    services = dict(service_model.objects.values_list('code', 'pk'))
    for rule in rule_model.objects.all():
        service_id = services.get(rule.service_code)
        if service_id is None:
            rule.is_active = False
            rule.name = (rule.name + UNMATCHED_MARK.format(code=rule.service_code))[:120]
        rule.service_id = service_id
        rule.save(update_fields=['service', 'is_active', 'name'])


def restore_codes(apps, schema_editor):
    rule_model = apps.get_model('routing', 'KeywordRule')
    for rule in rule_model.objects.select_related('service'):
        if rule.service:
            rule.service_code = rule.service.code
        else:
            # The code that matched no service is kept in the name: give it back.
            rule.name, rule.service_code = _unmark(rule.name)
        rule.save(update_fields=['service_code', 'name'])


class Migration(migrations.Migration):

    dependencies = [
        ('catalogue', '0001_initial'),
        ('routing', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='keywordrule',
            name='service',
            field=models.ForeignKey(help_text='The service to file matching text as.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='keyword_rules', to='catalogue.service'),
        ),
        migrations.RunPython(link_services, restore_codes),
        migrations.RemoveField(
            model_name='keywordrule',
            name='service_code',
        ),
        migrations.AlterField(
            model_name='keywordrule',
            name='priority',
            field=models.CharField(blank=True, choices=[('low', 'Low'), ('normal', 'Normal'), ('high', 'High'), ('urgent', 'Urgent')], help_text='Optional priority to set.', max_length=20),
        ),
    ]
