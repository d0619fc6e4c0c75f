"""``relay serve --demo``: the baseline scenario, a planning cycle for the coming week, and
one account per role (fresh passwords printed once, never logged)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from ..api import default_start
from . import engine
from .models import Cycle, Profile, ScenarioVersion, Team
from .records import audit, scenario_of

#: configs/baseline.yaml beside the package (a source checkout)
BASELINE = Path(__file__).resolve().parents[3] / "configs" / "baseline.yaml"
#: user name -> (role, team name)
ACCOUNTS = {"coordinator": ("coordinator", None), "orbiter": ("orbiter", "TGO-MRO team"),
            "lander": ("lander", "Perseverance team"), "lander2": ("lander", "Curiosity team"),
            "viewer": ("viewer", None), "admin": ("admin", None)}
TEAMS = {"TGO-MRO team": ("orbiter", ["TGO", "MRO"]), "Perseverance team": ("lander", ["Perseverance"]),
         "Curiosity team": ("lander", ["Curiosity"])}


def seed(scenario_path=BASELINE, start: str | None = None, days: float = 7.0) -> dict[str, str]:
    """Seed the demo (idempotent: the scenario and cycle once, the accounts' passwords anew);
    returns user name -> password."""
    text = engine.scenario_text(scenario_path)
    with transaction.atomic():
        sv = ScenarioVersion.objects.filter(name="baseline").order_by("-number").first()
        if sv is None:
            sv = ScenarioVersion(name="baseline", number=1, text=text, sha256=engine_hash(text))
            names = engine.scenario_names(scenario_of(sv))
            sv.orbiters, sv.assets, sv.stations = names["orbiters"], names["assets"], names["stations"]
            sv.save()
            audit(None, "scenario.create", sv, None)
        teams = {name: Team.objects.get_or_create(name=name, defaults={"kind": k, "names": n})[0]
                 for name, (k, n) in TEAMS.items()}
        passwords = {name: account(name, role, teams.get(team)) for name, (role, team) in ACCOUNTS.items()}
        begin = datetime.fromisoformat((start or default_start()).replace("Z", "+00:00"))
        if not Cycle.objects.filter(scenario=sv, start=begin).exists():
            c = Cycle.objects.create(name=f"week of {begin:%Y-%m-%d}", scenario=sv, start=begin, days=days)
            audit(None, "cycle.create", c, None, c.pk)
    return passwords


def engine_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def account(name: str, role: str, team) -> str:
    password = secrets.token_urlsafe(12)
    user, _ = get_user_model().objects.get_or_create(username=name)
    user.is_staff = user.is_superuser = role == "admin"
    user.set_password(password)
    user.save()
    Profile.objects.update_or_create(user=user, defaults={"role": role, "team": team})
    return password


def login_text(url: str, passwords: dict[str, str]) -> str:
    lines = [f"relay service demo at {url}  (log in at {url}/login; API at {url}/api/, "
             f"described at {url}/api/openapi.json)", "accounts (passwords shown once, made anew at each --demo start):"]
    for name, (role, team) in ACCOUNTS.items():
        lines.append(f"  {name:12s} {passwords[name]:18s} {role}" + (f" ({team})" if team else ""))
    return "\n".join(lines)
