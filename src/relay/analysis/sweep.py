"""Run a parameter sweep: every run keyed, cached, planned (serially or on Dask) and tabled.

>>> import relay
>>> df = relay.sweep("configs/sweep-example.yaml", out="out/sweep")   # doctest: +SKIP

:func:`sweep` reads the specification (:mod:`relay.analysis.sweepspec`),
checks each run's overrides, keys it (:func:`run_key`: the resolved config,
start, days and planner options) and looks it up in ``out/cache/``; what is
missing is planned by :func:`relay.workers.execute_run`, in this process or
on Dask (:mod:`relay.analysis.cluster`).  :class:`Progress` is the progress
bar; the table and plot are :mod:`relay.analysis.results`.  A run's metrics
are those of a comparison (:mod:`relay.analysis.metrics`).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pandas as pd

from ..config import load_scenario, scenario_hash
from ..errors import RelayInputError
from ..fileio import write_text
from ..outputs.files import write_table
from ..workers import execute_run
from .cluster import run_on_dask
from .compare import safe_name
from .metrics import METRICS, is_metric
from .overrides import check_override_path, raw_config
from .results import plot_sweep, results_frame
from .sweepspec import Run, SweepSpec, load_sweep_spec

#: error types whose record is cached (a rerun does not try again); other failures are not
CACHED_ERRORS = ("Infeasible", "RelayInputError", "CoverageError")


def run_key(sc_hash: str, start: str, days: float, plan_options: Mapping) -> str:
    """The cache key of one run: resolved config, start, days and the planner options."""
    blob = json.dumps({"scenario": sc_hash, "start": str(start), "days": float(days),
                       "plan": {k: plan_options[k] for k in sorted(plan_options)}},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


class Progress:
    """The sweep's progress bar on stderr (tqdm): done, failed, remaining (and cached).

    ``done``, ``failed`` and ``cached`` may be set directly before :meth:`show`.
    """

    def __init__(self, total: int, enabled: bool = True, stream=None, width: int = 30):
        self.total, self.enabled = total, enabled
        self.done = self.failed = self.cached = 0
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=stream or sys.stderr, ascii=" #", mininterval=0.5,
                             bar_format="[{bar:%d}] {n_fmt}/{total_fmt} done{postfix}" % width)

    def update(self, ok: bool, cached: bool = False) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        self.cached += 1 if cached else 0
        self.show()

    def line(self) -> str:
        extra = f", {self.cached} cached" if self.cached else ""
        return f"{self.failed} failed, {self.total - self.done} remaining{extra}"

    def show(self, final: bool = False) -> None:
        if self._bar is None:
            return
        self._bar.set_postfix_str(self.line(), refresh=False)
        self._bar.update(self.done - self._bar.n)
        if final:
            self._bar.close()
            self._bar = None



def _jsonable(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return _jsonable(v.item())
    return v


@dataclass
class Ledger:
    """The records of a sweep's runs by run id as they come in, read from or written to the
    cache folder, with the progress bar they move."""

    spec: SweepSpec
    cache: Path
    bar: Progress
    base_raw: dict
    records: dict[int, dict] = field(default_factory=dict)

    def has_results(self) -> bool:
        """Whether any run was planned or found in the cache (input errors are no results)."""
        return any(r.get("planned") or r.get("cached") for r in self.records.values())

    def _cached(self, path: Path) -> dict | None:
        """The record cached in ``path``, or None (none, or a damaged file: plan again)."""
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _scenario(self, run: Run, base_rec: dict):
        """The run's scenario (its override paths checked first), or None with its error recorded."""
        spec = self.spec
        try:
            for k in run.overrides:
                check_override_path(k, self.base_raw, source=spec.base)
            return load_scenario(spec.base, overrides=run.overrides or None)  # resolve(), paths checked
        except RelayInputError as exc:
            self.records[run.run_id] = {**base_rec, "key": "", "config_hash": "", "ok": False, "cached": False,
                                        "planned": False, "error": str(exc), "error_type": type(exc).__name__}
            self.bar.update(False)
            return None

    def to_plan(self):
        """The runs left to plan, with their keys and scenarios, one at a time (a cluster starts
        on the first while the next are keyed); cached runs and input errors are recorded on the
        way.  The run is planned from this scenario: it is read once."""
        spec = self.spec
        for run in spec.runs:
            base_rec = {"run_id": run.run_id, "start": run.start, "days": spec.days}
            sc = self._scenario(run, base_rec)
            if sc is None:
                continue
            h = scenario_hash(sc)
            key = run_key(h, run.start, spec.days, spec.plan_options)
            rec = self._cached(self.cache / f"{key}.json")
            if rec is not None:
                self.records[run.run_id] = {**base_rec, "key": key, "config_hash": h, **rec, "cached": True,
                                            "planned": False}
                self.bar.update(bool(rec.get("ok")), cached=True)
                continue
            self.records[run.run_id] = {**base_rec, "key": key, "config_hash": h}
            yield run, key, sc

    def finish(self, run: Run, key: str, rec: dict) -> None:
        """Record a planned run (and cache its record unless it crashed: a rerun tries again)."""
        rec = {k: _jsonable(v) for k, v in rec.items()}
        self.records[run.run_id].update(rec)
        self.records[run.run_id]["cached"] = False
        self.records[run.run_id]["planned"] = True
        if rec.get("ok") or rec.get("error_type") in CACHED_ERRORS:
            write_text(self.cache / f"{key}.json", json.dumps(rec, sort_keys=True))
        self.bar.update(bool(rec.get("ok")))


def _first_missing(folder: Path) -> Path | None:
    """The outermost of ``folder`` and its parents that does not exist yet (None: it exists)."""
    missing = None
    for p in (folder, *folder.parents):
        if p.exists():
            break
        missing = p
    return missing


def _plan_runs(ledger: Ledger, scheduler, n_workers) -> None:
    """Plan what the ledger has left, serially or on Dask, sharing ``cache/geometry``."""
    spec = ledger.spec
    geo = str((ledger.cache / "geometry").resolve())  # absolute: workers elsewhere use the same path
    if scheduler == "serial":
        for run, key, sc in ledger.to_plan():
            ledger.finish(run, key, execute_run(sc, {}, run.start, spec.days, spec.plan_options, geo))
    else:
        run_on_dask(spec, ledger.to_plan(), ledger.finish, scheduler, n_workers, geo)


def sweep(spec_path_or_dict, *, out, scheduler=None, progress: bool = True, plot=False,
          n_workers: int | None = None) -> pd.DataFrame:
    """Plan every combination of a sweep; one row per run (also ``out/results.parquet``, ``.csv``).

    ``scheduler``: ``None`` starts a :class:`distributed.LocalCluster` (process
    workers, one thread each, workers x CP-SAT workers not above the cores);
    ``"tcp://host:8786"`` submits to that cluster; a :class:`distributed.Client`
    is used as is; ``"serial"`` runs in this process, one run after another.
    Every finished run is cached in ``out/cache/<key>.json`` (key: hash of the
    resolved config, start, days and planner options), so a rerun only plans
    what is missing; runs share their passes and station tracks through
    ``out/cache/geometry`` (content-addressed, :mod:`relay.geocache`), and each
    Dask worker warms up once (:class:`relay.workers.Warmup`).  A failing run
    is recorded (``ok`` False, ``error``) and the sweep goes on.  ``plot``: ``True`` (the spec's metric) or a metric
    name: draws ``out/sweep_<metric>.png``.

    A wrong specification is refused before anything is written (:func:`load_sweep_spec`).  A sweep
    that fails (an error, an interruption) keeps ``out/cache`` and writes its results only if some
    run was planned or found cached; otherwise it removes the folders it created.
    """
    spec = load_sweep_spec(spec_path_or_dict)
    if plot and plot is not True and not is_metric(str(plot)):
        raise RelayInputError(f"no metric {str(plot)!r}; valid: {', '.join(METRICS)}, or METRIC.ASSET / "
                              "METRIC.ORBITER", source="--plot")
    out = Path(out)
    cache = out / "cache"
    created = _first_missing(cache)
    cache.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(spec, cache, Progress(len(spec.runs), enabled=progress), raw_config(spec.base))
    ledger.bar.show()
    completed = False
    try:
        _plan_runs(ledger, scheduler, n_workers)
        completed = True
    finally:
        if completed or ledger.has_results():
            df = results_frame(spec, ledger.records)
            write_table(df, out / "results.parquet")
            write_table(df, out / "results.csv")
        elif created is not None:
            shutil.rmtree(created, ignore_errors=True)  # a failed sweep without a result leaves nothing
        ledger.bar.show(final=True)
    if plot:
        metric = spec.metric if plot is True else str(plot)
        params = spec.params or (["variant"] if "variant" in df.columns else ["start"])
        plot_sweep(df, params, metric, out / f"sweep_{safe_name(metric)}.png")
    return df
