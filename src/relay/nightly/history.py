"""The nightly archive as people read it: ``relay history`` (one line per run, 80 columns) and
``relay show RUN`` (one run in full), and the acknowledgements in force or expired.

:func:`history_lines` lists every run (planned, degraded, failed) and every
refused one (exit 2, from the archive's ``rejections``) in the order they
started, each line at most :data:`LINE_WIDTH` characters (a long reason is
cut; ``relay show RUN`` has it whole), then the acknowledgements.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ..summary import PlanSummary
from ..timescales import iso_z

#: the widest line ``relay history`` prints (a terminal's)
LINE_WIDTH = 80
HISTORY_HEADER = (f"{'run':<4} {'started':<11} {'status':<8} x {'plan start':<16} {'base':>4} {'ses':>4} "
                  f"{'Mbit':>7}  notes")


def _when(iso, year: bool = True) -> str:
    """``2026-11-23T20:00:01.234Z`` -> ``2026-11-23 20:00`` (16 characters), ``11-23 20:00``
    without the year."""
    text = str(iso or "")[:16].replace("T", " ")
    return text.ljust(16) if year else text[5:].ljust(11)


def _fit(line: str) -> str:
    return line if len(line) <= LINE_WIDTH else line[:LINE_WIDTH - 3] + "..."


def _summary(r: dict) -> tuple[PlanSummary, dict]:
    data = r.get("summary") if isinstance(r.get("summary"), dict) else {}
    job = data.get("nightly") if isinstance(data.get("nightly"), dict) else {}
    return PlanSummary.from_json(data), job


def last_line(text) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[-1].strip() if lines else "?"


def run_line(r: dict, current_id: int | None) -> str:
    """One run in at most :data:`LINE_WIDTH` characters."""
    head = (f"{r['id']:>4} {_when(r['started'], False)} {r['status']:<8} {r['exit_code']} "
            f"{_when(r.get('plan_start'))}")
    notes = ["<- current"] if r["id"] == current_id else []
    if r["exit_code"] in (0, 3):
        s, job = _summary(r)
        n = job.get("sessions")
        head += f" {r.get('base_run') or '-':>4} {'' if n is None else n:>4} {s.delivered_mbit:>7.1f}"
        if job.get("degraded"):
            notes.append(f"{len(job['degraded'])} reasons")
        if job.get("acknowledged"):
            notes.append(f"{len(job['acknowledged'])} acked")
    else:
        notes.append(last_line(r.get("error")))
    return _fit(f"{head}  {' '.join(notes)}".rstrip())


def rejection_line(r: dict) -> str:
    """A run refused for a user's mistake (exit 2): no run id, its reason (paths cut to their
    file names: the archive keeps the whole message)."""
    reason = re.sub(r"(?:/[^/\s:,;]+)*/([^/\s:,;]+)", r"\1", last_line(r.get("reason")))
    return _fit(f"{'-':>4} {_when(r['started'], False)} {'rejected':<8} {r['exit_code']} "
                f"{_when(r.get('plan_start'))}  {reason}")


def ack_state(ack: dict, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return "expired" if str(ack["until"]) <= iso_z(now) else "in force"


def ack_line(ack: dict, now: datetime | None = None) -> str:
    who = f"run {ack['run_id']}" if ack.get("run_id") else ack.get("source", "")
    note = f" - {ack['note']}" if ack.get("note") else ""
    return _fit(f"  ack {ack['id']} until {str(ack['until'])[:16]}Z ({ack_state(ack, now)}, {who}): "
                f"{ack['violation']}{note}")


def history_lines(runs: list[dict], current_id: int | None, rejections: list[dict] = (),
                  acks: list[dict] = (), now: datetime | None = None) -> list[str]:
    """The header, a line per run and per refused run (in the order they started), then the
    acknowledgements (in force or expired)."""
    rows = [(r["started"], 0, run_line(r, current_id)) for r in runs]
    rows += [(r["started"], 1, rejection_line(r)) for r in rejections]
    lines = [HISTORY_HEADER] + [line for _, _, line in sorted(rows, key=lambda x: (x[0], x[1]))]
    if acks:
        lines.append("acknowledgements (relay ack; they cover runs whose plan starts before `until`):")
        lines += [ack_line(a, now) for a in acks]
    return lines


def show_lines(r: dict, current_id: int | None, inputs: list[dict]) -> list[str]:
    """One run in full (``relay show RUN``): its span, status, reasons with their keys (what
    ``relay ack --violation`` names), acknowledged reasons, diff, files, inputs and error."""
    lines = [f"run {r['id']}: {r['status']} (exit {r['exit_code']})" + (", current" if r["id"] == current_id else ""),
             f"  started {r['started']}, finished {r['finished']}",
             f"  plan {r.get('plan_start') or '-'} to {r.get('plan_end') or '-'} ({r.get('days') or '-'} days), "
             f"freeze to {r.get('freeze_end') or '-'}, base run {r.get('base_run') or '-'}",
             f"  config {r.get('config_path') or '-'}"]
    if r["exit_code"] in (0, 3):
        s, job = _summary(r)
        lines.append(f"  {job.get('sessions', '?')} sessions ({job.get('frozen_sessions', 0)} frozen, until "
                     f"{job.get('frozen_until') or '-'}), delivered {s.delivered_mbit:.1f} Mbit, solver {s.status}")
        if job.get("diff"):
            d = job["diff"]
            lines.append("  against run {}: {} added, {} removed, {} moved, {} changed volume, {} unchanged".format(
                r.get("base_run"), d.get("added"), d.get("removed"), d.get("moved"), d.get("changed"),
                d.get("unchanged")))
        keys = job.get("degraded_keys") or [None] * len(job.get("degraded") or [])
        for key, text in zip(keys, job.get("degraded") or []):
            lines.append(f"  DEGRADED [{key or '-'}]: {text}")
        for a in job.get("acknowledged") or []:
            lines.append(f"  acknowledged [{a['key']}] by {a['violation']!r} until {a['until']}: {a['reason']}")
        if r.get("out_dir"):
            lines.append(f"  files {r['out_dir']}/runs/{r['id']}/ (report.html, diff.csv, schedule.csv, ...)")
    if r.get("error"):
        lines.append("  error:")
        lines += ["    " + x for x in str(r["error"]).strip().splitlines()]
    if inputs:
        lines.append("  inputs:")
        lines += [f"    {i['kind']}: {i['name']} sha256 {str(i.get('sha256') or '-')[:16]}" for i in inputs]
    return lines
