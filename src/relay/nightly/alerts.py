"""What the nightly job tells people: its degraded reasons with their keys, acknowledgements, alert hooks.

* :class:`Reason`: a reason to flag a run degraded, with a stable ``key``
  (``requirement:ASSET:SOL:REQUIREMENT``, ``solver:STATUS``, ``volume-drop``,
  ``frozen-dropped:ORBITER:ASSET``, ``frozen-missing``, ``freeze-intruders``)
  that an acknowledgement names.
* Acknowledgements (``relay ack RUN --violation V --until T``, or a drop
  folder's ``ack*.csv`` with columns ``violation, until[, note]``): a known,
  unrecoverable problem that should not degrade every following night.  ``V``
  matches a reason whose key is ``V`` or starts with ``V:`` (whole fields:
  ``requirement:Curiosity`` covers every requirement of Curiosity), or whose
  text holds ``V`` (case ignored).  An acknowledgement covers the runs whose
  plan starts before ``until`` (:func:`split_acknowledged`); it expires then.
* Alert hooks (``nightly.on_degraded``, ``nightly.on_failure``,
  :class:`relay.config_nightly.AlertHook`): :func:`send_alert` runs the
  command (an argv list, no shell) with the run's JSON summary on stdin, or
  POSTs it to the URL, within the hook's time limit.  A hook that fails is
  reported (the returned text, logged and printed by the job), never the
  run's exit status.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..config_nightly import AlertHook
from ..errors import RelayInputError
from ..inputs import Column, TableSpec, read_table

#: the columns of a drop folder's ``ack*.csv``
ACKS = TableSpec("acknowledgements", (
    Column("violation", "text", max_chars=300, meaning="a degraded reason's key, a prefix of it, or words of it"),
    Column("until", "time"), Column("note", "text", required=False, default="", max_chars=300)))
#: the most characters of a hook's own output quoted in the report of its failure
MAX_HOOK_OUTPUT_CHARS = 300


@dataclass(frozen=True)
class Reason:
    """A reason to flag a run degraded: its stable key and its sentence."""

    key: str
    text: str

    def to_json(self) -> dict:
        return {"key": self.key, "reason": self.text}


def ack_matches(violation: str, reason: Reason) -> bool:
    """Does an acknowledgement's ``violation`` name this reason (see the module docstring)?"""
    v = str(violation).strip()
    if not v:
        return False
    return reason.key == v or reason.key.startswith(v + ":") or v.lower() in reason.text.lower()


def split_acknowledged(reasons: list[Reason], acks: list[dict], plan_start_tdb_s: float
                       ) -> tuple[list[Reason], list[dict]]:
    """The reasons still degrading the run, and the acknowledged ones (each with the
    acknowledgement that covers it: the first in force whose violation matches)."""
    live = [a for a in acks if float(plan_start_tdb_s) < float(a["until_tdb_s"])]
    left, acked = [], []
    for r in reasons:
        hit = next((a for a in live if ack_matches(a["violation"], r)), None)
        if hit is None:
            left.append(r)
        else:
            acked.append({**r.to_json(), "ack": hit["id"], "violation": hit["violation"], "until": hit["until"],
                          "note": hit.get("note") or ""})
    return left, acked


def read_ack_file(path: Path) -> list[dict]:
    """The acknowledgements of a drop folder's ``ack*.csv``, every row checked."""
    df = read_table(path, ACKS)
    return [{"violation": r.violation, "until": r.until, "until_tdb_s": float(r.until_tdb_s), "note": r.note,
             "source": f"drop {Path(path).name}"} for r in df.itertuples(index=False)]


# ----------------------------------------------------------------------------- hooks
def send_alert(hook: AlertHook, payload: dict) -> str | None:
    """Run or POST one hook with ``payload`` as JSON; None when it worked, else what went wrong."""
    data = (json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n").encode("utf-8")
    if hook.command is not None:
        return _run_command(list(map(str, hook.command)), data, hook.timeout_s)
    return _post(hook.url, data, hook.timeout_s)


def _short(text) -> str:
    text = (text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text or "")).strip()
    text = " ".join(text.split())
    return text if len(text) <= MAX_HOOK_OUTPUT_CHARS else text[:MAX_HOOK_OUTPUT_CHARS] + "... (cut)"


def _run_command(argv: list[str], data: bytes, timeout_s: float) -> str | None:
    try:
        done = subprocess.run(argv, input=data, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return f"the command {argv[0]} did not finish within {timeout_s:g} s (killed)"
    except OSError as exc:
        return f"the command {argv[0]} could not be run: {exc.strerror or exc}"
    if done.returncode != 0:
        said = _short(done.stderr) or _short(done.stdout)
        return f"the command {argv[0]} exited {done.returncode}" + (f": {said}" if said else "")
    return None


def _post(url: str, data: bytes, timeout_s: float) -> str | None:
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "relay-nightly"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - http(s) only (AlertHook)
            resp.read(1 << 16)
            status = resp.status
    except urllib.error.HTTPError as exc:
        return f"POST {url} answered HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        why = getattr(exc, "reason", None) or exc
        return f"POST {url} failed: {_short(why)}"
    if not 200 <= status < 300:
        return f"POST {url} answered HTTP {status}"
    return None


def hook_for(options, exit_code: int) -> tuple[str, AlertHook | None]:
    """Which hook a run's exit status calls: ``on_degraded`` for 3, ``on_failure`` for 1 and 2."""
    if exit_code == 3:
        return "on_degraded", options.on_degraded
    if exit_code in (1, 2):
        return "on_failure", options.on_failure
    return "", None


def check_violation_text(text: str) -> str:
    """An acknowledgement's violation as given on the command line: not empty, one line."""
    v = str(text).strip()
    if not v or "\n" in v or len(v) > 300:
        raise RelayInputError(f"got {v[:60]!r}, expected a degraded reason's key (as `relay show RUN` prints "
                              "it, e.g. requirement:Curiosity:1502:forward_link), a prefix of it by whole fields, "
                              "or words of its text (one line, at most 300 characters)",
                              source="command line", where="--violation")
    return v
