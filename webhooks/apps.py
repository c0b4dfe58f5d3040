import importlib

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        for module in [
            "webhooks.normalizers.base"
        ]:  # registries, then the integrations that register themselves
            importlib.import_module(module)
