from django.apps import AppConfig


class RcaConfig(AppConfig):
    name = "rca"
    default_auto_field = "django.db.models.BigAutoField"
