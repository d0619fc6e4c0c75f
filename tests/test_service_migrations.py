"""Migration 0004 (notifications seen one by one; the timelines' charts kept per plan version) on
a database of the schema before it: each user's notifications up to the time they had marked
seen become seen at that time, the later ones stay unseen; migrating back gives each user the time
up to which all were seen.  Run in a child Python on its own SQLite database (migrating a database
back and forth is no business of the shared test database)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

if importlib.util.find_spec("django") is None or importlib.util.find_spec("ninja") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

SRC = Path(__file__).resolve().parents[1] / "src"

CHILD = textwrap.dedent('''
    import json, sys
    from datetime import datetime, timedelta, timezone
    from pathlib import Path
    sys.path.insert(0, SRC)
    from relay.service.settings import configure
    configure(Path(DATA))
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    def migrate(target):
        ex = MigrationExecutor(connection)
        ex.migrate([("relay_service", target)])
        ex.loader.build_graph()
        return ex.loader.project_state([("relay_service", target)]).apps

    apps = migrate("0003_entry_backlog")
    User = apps.get_model("auth", "User")
    Profile = apps.get_model("relay_service", "Profile")
    Notification = apps.get_model("relay_service", "Notification")
    t0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
    out = {}
    for name, seen_after in (("a", 1), ("b", None)):
        u = User.objects.create(username=name)
        Profile.objects.create(user=u, role="lander",
                               seen_until=None if seen_after is None else t0 + timedelta(hours=seen_after))
        for k in range(3):
            n = Notification.objects.create(user=u, topic="t", text=f"{name}{k}")
            Notification.objects.filter(pk=n.pk).update(created=t0 + timedelta(hours=k))
    apps = migrate("0004_plan_charts_notification_seen")
    Notification = apps.get_model("relay_service", "Notification")
    out["seen"] = {n.text: n.seen.isoformat() if n.seen else None for n in Notification.objects.all()}
    out["profile_fields"] = [f.name for f in apps.get_model("relay_service", "Profile")._meta.fields]
    # one of b's marked seen on its own (the later ones not): back, b has seen up to that one
    Notification.objects.filter(text="b0").update(seen=t0 + timedelta(hours=5))
    Notification.objects.filter(text="a2").update(seen=t0 + timedelta(hours=6))
    apps = migrate("0003_entry_backlog")
    Profile = apps.get_model("relay_service", "Profile")
    out["back"] = {p.user.username: p.seen_until.isoformat() if p.seen_until else None
                   for p in Profile.objects.select_related("user")}
    print(json.dumps(out))
''')


def test_0004_carries_the_seen_time_over_to_each_notification(tmp_path):
    code = f"SRC = {str(SRC)!r}\nDATA = {str(tmp_path)!r}\n" + CHILD
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    at = "2026-12-01T01:00:00+00:00"  # a had seen up to 01:00: a0 (00:00) and a1 (01:00), not a2 (02:00)
    assert out["seen"] == {"a0": at, "a1": at, "a2": None, "b0": None, "b1": None, "b2": None}
    assert "seen_until" not in out["profile_fields"]
    # back: a saw all three (a2 marked too): up to a2's time; b saw b0 only: up to b0's time
    assert out["back"] == {"a": "2026-12-01T02:00:00+00:00", "b": "2026-12-01T00:00:00+00:00"}
