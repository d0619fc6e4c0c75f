"""The service's one page so far: log in and out (a form with Django's CSRF protection;
attempts rate-limited by django-axes).  The pages of the cycle come with issue 21."""
from __future__ import annotations

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import authenticate, login, logout
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .permissions import role_of


@require_http_methods(["GET", "POST"])
def login_page(request):
    ctx = {"user": request.user if request.user.is_authenticated else None, "role": role_of(request.user),
           "username": "", "error": ""}
    if request.method == "POST":
        name = request.POST.get("username", "")[:150]
        try:
            user = authenticate(request, username=name, password=request.POST.get("password", ""))
        except AxesBackendPermissionDenied:
            user = None
        if getattr(request, "axes_locked_out", False):
            ctx.update(username=name, error="Too many failed log-in attempts; try again later.")
            return render(request, "service/login.html", ctx, status=429)
        if user is None:
            ctx.update(username=name, error="User name or password not recognised.")
            return render(request, "service/login.html", ctx, status=401)
        login(request, user)
        return redirect("home")
    return render(request, "service/login.html", ctx)


@require_http_methods(["POST"])
def logout_page(request):
    logout(request)
    return redirect("login")


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    return render(request, "service/login.html", {"user": request.user, "role": role_of(request.user)})
