"""The Django application of the relay service."""
from __future__ import annotations

from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "relay.service"
    label = "relay_service"
    verbose_name = "relay service"
    default_auto_field = "django.db.models.BigAutoField"
