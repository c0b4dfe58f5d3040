from django.apps import AppConfig


class StatuxConfig(AppConfig):
    name = "statux"
    verbose_name = "Statux core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from statux import metrics  # noqa: F401  registers the gauges read at scrape time
        from statux.api import schema  # noqa: F401  registers the OpenAPI authentication extensions
