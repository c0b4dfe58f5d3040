from django.apps import AppConfig

from statux.registry import import_integrations


class RemediationConfig(AppConfig):
    name = "remediation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import_integrations("remediation.actions")
        import_integrations("remediation.notifiers")
