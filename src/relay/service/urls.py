"""The service's URLs: the JSON API under /api/, the log-in page, Django's admin."""
from __future__ import annotations

from django.contrib import admin
from django.urls import path

from . import views
from .api import api

urlpatterns = [
    path("api/", api.urls),
    path("login", views.login_page, name="login"),
    path("logout", views.logout_page, name="logout"),
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
]
