"""In-app notifications: what changed on a user's assets or orbiters since they last looked.

Written when a team files records (the coordinators hear of it; an outage declared over
planned sessions tells the lander teams whose sessions it hits), and when a plan version is
proposed or published (each team whose assets or orbiters it touches: its sessions, and a
lander team its requests' status).  Each notification is seen or not by its user
(:func:`unseen` lists those not yet seen, :func:`mark_seen` marks some or all of them seen).
"""
from __future__ import annotations

from django.utils import timezone

from .models import Notification, PlanVersion, Profile, Team


def users_of(teams) -> list:
    return [p.user for p in Profile.objects.filter(team__in=teams).select_related("user")]


def coordinators() -> list:
    return [p.user for p in Profile.objects.filter(role="coordinator").select_related("user")]


def teams_touching(names: set[str]) -> list[Team]:
    return [t for t in Team.objects.all() if names & set(t.names)]


def send(users, cycle_id, topic: str, text: str, link: str = "") -> None:
    Notification.objects.bulk_create([Notification(user=u, cycle_id=cycle_id, topic=topic, text=text, link=link)
                                      for u in {u.pk: u for u in users}.values()])


def entries_filed(user, cycle, entries) -> None:
    """Tell the coordinators, and for outages the teams whose planned sessions they hit."""
    if not entries:
        return
    kinds = sorted({e.kind for e in entries})
    send([u for u in coordinators() if u.pk != user.pk], cycle.pk, "filed",
         f"{user.username} filed {len(entries)} record(s) ({', '.join(kinds)}) in cycle {cycle.name}",
         f"/api/cycles/{cycle.pk}")
    plan = latest_plan(cycle)
    for e in entries:
        if e.kind != "outage" or plan is None or e.start is None:
            continue
        hit = sessions_hit(plan, e)
        if hit:
            assets = {s["asset"] for s in hit}
            send(users_of(teams_touching(assets)), cycle.pk, "outage",
                 f"outage of {e.fields.get('target')} ({e.fields.get('what')}) from {e.fields.get('start')} to "
                 f"{e.fields.get('end')} hits {len(hit)} planned session(s) of {', '.join(sorted(assets))}",
                 f"/api/entries/{e.pk}")


def latest_plan(cycle) -> PlanVersion | None:
    """The published plan of the cycle, else its newest proposed one."""
    plans = PlanVersion.objects.filter(cycle=cycle).defer("files")
    return plans.filter(status="published").first() or plans.order_by("-number").first()


def sessions_hit(plan: PlanVersion, outage) -> list[dict]:
    """The plan's sessions of the outage's target overlapping it."""
    target = outage.fields.get("target")
    s, e = outage.fields.get("start", ""), outage.fields.get("end", "")
    return [r for r in plan.sessions if target in (r["orbiter"], r["asset"]) and r["start"] < e and r["end"] > s]


def plan_stored(plan: PlanVersion, event: str) -> None:
    """Tell each team what a new (``proposed``) or ``published`` plan version holds for it."""
    touched = {r["orbiter"] for r in plan.sessions} | {r["asset"] for r in plan.sessions}
    touched |= {r.get("asset") for r in plan.requests}
    for team in teams_touching(touched):
        mine = [r for r in plan.sessions if r["orbiter"] in team.names or r["asset"] in team.names]
        reqs = [f"{r['id']}: {r['status']}" for r in plan.requests if r.get("asset") in team.names]
        text = (f"plan version {plan.number} of cycle {plan.cycle.name} {event}: {len(mine)} session(s) of "
                f"{', '.join(sorted(team.names))}" + (f"; requests {', '.join(reqs)}" if reqs else ""))
        send(users_of([team]), plan.cycle_id, f"plan.{event}", text, f"/api/plans/{plan.pk}")
    send(coordinators(), plan.cycle_id, f"plan.{event}",
         f"plan version {plan.number} of cycle {plan.cycle.name} {event}", f"/api/plans/{plan.pk}")


def unseen(user):
    """The user's notifications not yet marked seen, newest first."""
    return Notification.objects.filter(user=user, seen=None).order_by("-created", "-pk")


def mark_seen(user, ids=None) -> int:
    """Mark seen, now, the user's notifications ``ids`` (every unseen one when None; the ids of
    other users' notifications are left alone); returns how many were marked."""
    q = Notification.objects.filter(user=user, seen=None)
    if ids is not None:
        q = q.filter(pk__in=list(ids))
    return q.update(seen=timezone.now())
