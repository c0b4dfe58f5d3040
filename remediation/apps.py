import importlib

from django.apps import AppConfig


class RemediationConfig(AppConfig):
    name = "remediation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        for module in [
            "remediation.actions.base",
            "remediation.notifiers.base",
        ]:  # registries, then the integrations that register themselves
            importlib.import_module(module)
