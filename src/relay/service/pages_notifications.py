"""The home page's notification forms: mark one notification seen, or all of them (each
notification is seen or not on its own: :func:`relay.service.notify.mark_seen`)."""
from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from . import notify
from .models import Notification
from .pages_common import login_required, refused
from .permissions import allowed


@login_required
@require_POST
def notifications_seen_page(request):
    """Mark seen the user's notification ``id``, or every one of theirs not yet seen (``all``);
    CSRF-checked form of the home page.  Another user's notification, or none, is a 404."""
    if not allowed(request.user, "self.read"):
        return refused(request, "self.read is not allowed for this account")
    if request.POST.get("all"):
        notify.mark_seen(request.user)
    else:
        nid = request.POST.get("id", "")
        n = Notification.objects.filter(user=request.user, pk=int(nid)).first() \
            if nid.isdigit() and len(nid) < 19 else None
        if n is None:
            raise Http404("no such notification of this account")
        notify.mark_seen(request.user, [n.pk])
    return redirect("/#h-notes")
