# The catalogue moved out of `cases` with its tables unchanged: this migration only tells Django
# that the models now belong here (state), and touches no table. `cases` 0002 drops them from
# its own state.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('cases', '0001_initial'),
        ('routing', '0001_initial'),
        ('sla', '0001_initial'),
    ]

    state_operations = [
        migrations.CreateModel(
            name='ServiceGroup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('name', models.CharField(max_length=120, unique=True)),
                ('order', models.PositiveIntegerField(default=100)),
                ('translations', models.JSONField(blank=True, default=dict)),
            ],
            options={
                'ordering': ['order', 'name'],
                'db_table': 'cases_servicegroup',
            },
        ),
        migrations.CreateModel(
            name='Service',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('code', models.SlugField(max_length=60, unique=True)),
                ('name', models.CharField(max_length=160)),
                ('description', models.TextField(blank=True)),
                ('keywords', models.CharField(blank=True, help_text='Open311 keywords.', max_length=255)),
                ('default_priority', models.CharField(default='normal', max_length=20)),
                ('is_active', models.BooleanField(default=True)),
                ('order', models.PositiveIntegerField(default=100)),
                ('translations', models.JSONField(blank=True, default=dict, help_text='{"ro": {"name": "…", "description": "…"}}')),
                ('queue', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='services', to='routing.queue')),
                ('sla_policy', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='services', to='sla.slapolicy')),
                ('group', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='services', to='catalogue.servicegroup')),
            ],
            options={
                'ordering': ['order', 'name'],
                'db_table': 'cases_service',
            },
        ),
        migrations.CreateModel(
            name='ServiceAttribute',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.SlugField(max_length=60)),
                ('variable', models.BooleanField(default=True, help_text='False: information only, no answer expected.')),
                ('datatype', models.CharField(choices=[('string', 'Short text'), ('number', 'Number'), ('datetime', 'Date and time'), ('text', 'Long text'), ('singlevaluelist', 'One choice'), ('multivaluelist', 'Several choices')], max_length=20)),
                ('required', models.BooleanField(default=False)),
                ('description', models.CharField(help_text='The question, as citizens see it.', max_length=255)),
                ('datatype_description', models.CharField(blank=True, max_length=255)),
                ('order', models.PositiveIntegerField(default=1)),
                ('values', models.JSONField(blank=True, default=list, help_text='For lists: [{"key": "…", "name": "…"}, …]')),
                ('translations', models.JSONField(blank=True, default=dict)),
                ('service', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attributes', to='catalogue.service')),
            ],
            options={
                'ordering': ['order', 'id'],
                'db_table': 'cases_serviceattribute',
                'constraints': [models.UniqueConstraint(fields=('service', 'code'), name='attribute_code_per_service')],
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations, database_operations=[]),
    ]
