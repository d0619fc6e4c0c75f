"""The service's URLs: the JSON API under /api/, the pages (log in, home, and per cycle: requests,
unavailability, review and publish, timeline, per sol; the audit log), their scripts, Django's admin."""
from __future__ import annotations

from django.contrib import admin
from django.urls import path

from . import pages_notifications, pages_outages, pages_requests, pages_review, pages_timeline, views
from .api import api

#: the pages (each needs a log-in; tests/test_service_pages.py walks them anonymously)
PAGES = [
    path("", views.home, name="home"),
    path("audit", views.audit_page, name="audit"),
    path("notifications/seen", pages_notifications.notifications_seen_page, name="notifications-seen"),
    path("cycles/<int:cycle_id>/requests", pages_requests.requests_page, name="requests"),
    path("cycles/<int:cycle_id>/window-passes", pages_requests.window_passes_page, name="window-passes"),
    path("requests/<int:entry_id>", pages_requests.request_page, name="request"),
    path("requests/<int:entry_id>/withdraw", pages_requests.withdraw_page, name="withdraw"),
    path("cycles/<int:cycle_id>/outages", pages_outages.outages_page, name="outages"),
    path("cycles/<int:cycle_id>/review", pages_review.review_page, name="review"),
    path("cycles/<int:cycle_id>/run", pages_review.run_page, name="run"),
    path("runs/<int:run_id>/progress", pages_review.run_progress, name="run-progress"),
    path("plans/<int:plan_id>", pages_review.plan_page, name="plan"),
    path("plans/<int:plan_id>/publish", pages_review.publish_page, name="publish"),
    path("plans/<int:plan_id>/actuals", pages_review.actuals_upload_page, name="actuals-upload"),
    path("cycles/<int:cycle_id>/timeline", pages_timeline.timeline_page, name="timeline"),
    path("cycles/<int:cycle_id>/sols", pages_timeline.sols_page, name="sols"),
]

urlpatterns = [
    path("api/", api.urls),
    path("login", views.login_page, name="login"),
    path("logout", views.logout_page, name="logout"),
    path("static/<str:name>", views.static_file, name="static"),
    *PAGES,
    path("admin/", admin.site.urls),
]
