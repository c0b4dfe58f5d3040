from django.apps import AppConfig

from statux.registry import import_integrations


class AnalysesConfig(AppConfig):
    name = "analyses"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import_integrations("analyses.logs")
        import_integrations("analyses.providers")
        from analyses import metrics  # noqa: F401  registers the incident gauges
