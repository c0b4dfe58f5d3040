from django.urls import path

from statux.console import views

app_name = "console"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
]
