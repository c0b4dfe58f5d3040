from django.apps import AppConfig


class StatuxConfig(AppConfig):
    name = "statux"
    verbose_name = "Statux core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from statux import auth_cache, metrics  # noqa: F401  metrics registers the gauges read at scrape time
        from statux.api import schema  # noqa: F401  registers the OpenAPI authentication extensions

        auth_cache.connect_signals()  # saving or deleting a user, member, tenant or key bumps it
