"""The service's records (Django models).

Every record the teams write carries an id, its author, created and updated times and a
``version`` (optimistic locking: an edit names the version it read; a stale one answers
409).  Published plan versions and the audit log are never changed: the audit log refuses
updates and deletes, a plan version's content is written once by its run.

- :class:`Team`: an orbiter team (its orbiters) or a lander team (its assets);
- :class:`Profile`: a user's role and team; :class:`ApiToken`: a revocable script token
  (only its SHA-256 is stored);
- :class:`ScenarioVersion`: a scenario's YAML text, versioned by name;
- :class:`Cycle`: a planning cycle (a span of days; open, planned, published, closed);
- :class:`Entry`: an operational record of a cycle (an outage, a relay request, a veto, a
  lock, a station booking or an asset backlog) stored as the columns of its CSV file, checked by
  the same reader;
- :class:`Run`: a planning run (queued, running, done or failed, with its progress);
- :class:`PlanVersion`: a run's proposed plan (summary, sessions, requests, diff, files);
- :class:`PlanChart`: a plan version's timeline as its page draws it (made when it is stored);
- :class:`ActualsReport`: a pass performance report uploaded against a plan version (the cells of
  its row of actuals.csv, as ``relay actuals ingest`` stores it; one a later report of the same
  session replaced is kept, marked ``replaced``);
- :class:`Comment`, :class:`AuditEvent`, :class:`Notification` (each seen or not by its user).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

ROLES = ("coordinator", "orbiter", "lander", "viewer", "admin")
ENTRY_KINDS = ("outage", "request", "veto", "lock", "booking", "backlog")
CYCLE_STATUSES = ("open", "planned", "published", "closed")
RUN_STATUSES = ("queued", "running", "done", "failed")
PLAN_STATUSES = ("proposed", "published", "superseded")


def choices(values) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


class Record(models.Model):
    """What every editable record has: author, times and the optimistic-locking version."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


class Team(Record):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=choices(("orbiter", "lander")))
    #: the orbiters (orbiter team) or assets (lander team) the team speaks for
    names = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}: {', '.join(self.names)})"


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="relay")
    role = models.CharField(max_length=12, choices=choices(ROLES), default="viewer")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="relay_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    revoked = models.DateTimeField(null=True, blank=True)


class ScenarioVersion(Record):
    name = models.CharField(max_length=100)
    number = models.PositiveIntegerField()
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    orbiters = models.JSONField(default=list)
    assets = models.JSONField(default=list)
    stations = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "number"], name="one_scenario_number")]


class Cycle(Record):
    name = models.CharField(max_length=100)
    scenario = models.ForeignKey(ScenarioVersion, on_delete=models.PROTECT, related_name="cycles")
    start = models.DateTimeField()
    days = models.FloatField(default=7.0)
    status = models.CharField(max_length=10, choices=choices(CYCLE_STATUSES), default="open")
    deadline = models.DateTimeField(null=True, blank=True)


class Entry(Record):
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=8, choices=choices(ENTRY_KINDS))
    #: the record as the cells of its CSV row (column -> text)
    fields = models.JSONField(default=dict)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries")
    asset = models.CharField(max_length=200, blank=True, default="")
    orbiter = models.CharField(max_length=200, blank=True, default="")
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    sol = models.IntegerField(null=True, blank=True)
    withdrawn = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["cycle", "kind"])]


class Run(models.Model):
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="runs")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    mode = models.CharField(max_length=8, default="auto")
    status = models.CharField(max_length=8, choices=choices(RUN_STATUSES), default="queued")
    progress = models.CharField(max_length=200, default="queued")
    error = models.TextField(blank=True, default="")
    #: host:pid of the service process driving the run (a run left running by a dead one fails)
    owner = models.CharField(max_length=100, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)


class PlanVersion(Record):
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="plans")
    number = models.PositiveIntegerField()
    run = models.OneToOneField(Run, null=True, on_delete=models.SET_NULL, related_name="plan")
    scenario = models.ForeignKey(ScenarioVersion, on_delete=models.PROTECT, related_name="+")
    base = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    replanned = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=choices(PLAN_STATUSES), default="proposed")
    summary = models.JSONField(default=dict)
    sessions = models.JSONField(default=list)
    requests = models.JSONField(default=list)
    passes = models.JSONField(default=list)
    diff = models.JSONField(null=True, blank=True)
    #: the records it was planned with: entry id -> {kind, version, fields}
    inputs = models.JSONField(default=dict)
    files = models.BinaryField()
    published = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    comment = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "number"], name="one_plan_number"),
                       models.UniqueConstraint(fields=["cycle"], condition=models.Q(status="published"),
                                               name="one_published_plan_per_cycle")]


class PlanChart(models.Model):
    """One timeline of a plan version as the timeline page draws it (``key``: ``timeline-orbiter``,
    ``timeline-asset``; ``marks``: the sols, outage and veto spans, request windows and the plan's
    span), made once when the version is stored (:mod:`relay.service.pages_charts`)."""

    plan = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=40)
    #: the traces' JSON as the page writes it (``<``, ``>`` and ``/`` escaped)
    data = models.TextField(blank=True, default="")
    layout = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "key"], name="one_chart_per_plan_key")]


class ActualsReport(Record):
    """One pass performance report of a plan version's session (or of none: ``option_id`` empty),
    stored as the cells of its row of actuals.csv (:data:`relay.actuals.reports.ACTUALS_COLUMNS`)."""

    plan = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    orbiter = models.CharField(max_length=200)
    asset = models.CharField(max_length=200)
    option_id = models.CharField(max_length=200, blank=True, default="")
    #: the report as the cells of its actuals.csv row (column -> text)
    fields = models.JSONField(default=dict)
    #: a later report of the same session replaced this one (kept, not shown)
    replaced = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["plan", "replaced"])]


class Comment(Record):
    target = models.CharField(max_length=20)  # "entry" or "plan"
    target_id = models.BigIntegerField()
    text = models.TextField()


class AuditEvent(models.Model):
    """One change: who, what, when, the record before and after (append-only)."""

    when = models.DateTimeField(auto_now_add=True, db_index=True)
    who = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=40)
    model = models.CharField(max_length=40)
    object_id = models.BigIntegerField(null=True)
    cycle_id = models.BigIntegerField(null=True)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("the audit log is append-only")


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="relay_notifications")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    cycle_id = models.BigIntegerField(null=True)
    topic = models.CharField(max_length=40)
    text = models.TextField()
    link = models.CharField(max_length=200, blank=True, default="")
    #: when its user marked it seen (None: not yet)
    seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "seen"])]
