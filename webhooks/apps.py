from django.apps import AppConfig

from statux.registry import import_integrations


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import_integrations("webhooks.normalizers")
