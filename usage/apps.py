from django.apps import AppConfig

from statux.registry import import_integrations


class UsageConfig(AppConfig):
    name = "usage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import_integrations("usage.billing")
