import importlib

from django.apps import AppConfig


class AnalysesConfig(AppConfig):
    name = "analyses"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        for module in ["analyses.logs.base"]:  # registries, then the integrations that register themselves
            importlib.import_module(module)
