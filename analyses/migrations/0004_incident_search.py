"""GIN indexes for similar-incident search: full text over title, description and service; trigrams on title.

PostgreSQL only, and database only: SQLite has neither GIN nor pg_trgm (its fallback in
analyses/similarity.py scans a bounded recent set), and keeping the indexes out of the migration state
keeps them out of SQLite's table rebuilds, which would try to recreate them.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import TrigramExtension
from django.contrib.postgres.search import SearchVector
from django.db import migrations


class PostgreSQLOnly(migrations.operations.base.Operation):
    """Runs `operation` against PostgreSQL and nowhere else, without touching the migration state."""

    reversible = True

    def __init__(self, operation):
        self.operation = operation

    def deconstruct(self):
        return self.__class__.__name__, [self.operation], {}

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"{self.operation.describe()} (PostgreSQL only)"


class Migration(migrations.Migration):
    dependencies = [
        ("analyses", "0003_analysis"),
    ]

    operations = [
        PostgreSQLOnly(TrigramExtension()),
        # The expression must stay identical to analyses.similarity.search_vector(), or no query uses it.
        PostgreSQLOnly(
            migrations.AddIndex(
                model_name="incident",
                index=GinIndex(
                    SearchVector("title", "description", "service", config="english"),
                    name="incident_search_gin",
                ),
            )
        ),
        PostgreSQLOnly(
            migrations.AddIndex(
                model_name="incident",
                index=GinIndex(fields=["title"], opclasses=["gin_trgm_ops"], name="incident_title_trgm"),
            )
        ),
    ]
