"""Synthetic planning instances (tests and scripts/bench_plan_models.py); no geometry needed.

Passes are random windows (about 4-12 min) per orbiter and asset, a volume
rate profile peaking mid-pass (a rounded sine, so split volumes behave like the
link model's), sub-window volumes by integrating it; downlink windows a few per
orbiter and day.  ``tight=True`` makes backlog, storage and Earth-side capacity
all binding.
"""
from __future__ import annotations

import math

import numpy as np

from ..constants import SOL_S
from .options import chunk_downlinks, session_options
from .problem import (DecisionalRequirement, ForwardRequirement, Asset, Orbiter, PassWindow, Problem)


class SineVolume:
    """volume(pass_id, t0, t1): integral of ``peak_kbps * sin(pi * (t - rise) / duration)`` minus 30 s hailing."""

    def __init__(self, passes, peak_kbps: dict[str, float], hailing_s: float = 30.0):
        self.p = {p.pass_id: p for p in passes}
        self.peak = peak_kbps
        self.hailing_s = hailing_s

    def __call__(self, pass_id: str, t0: float, t1: float) -> float:
        p = self.p[pass_id]
        t0, t1 = max(t0, p.rise_tdb_s), min(t1, p.set_tdb_s)
        t0 = t0 + self.hailing_s
        if t1 <= t0:
            return 0.0
        dur = p.set_tdb_s - p.rise_tdb_s
        k = math.pi / dur
        integral = (math.cos(k * (t0 - p.rise_tdb_s)) - math.cos(k * (t1 - p.rise_tdb_s))) / k
        return self.peak[pass_id] * integral / 1000.0  # kbit -> Mbit


def instance(seed: int = 0, *, n_orbiters: int = 2, n_assets: int = 2, days: float = 1.0,
             passes_per_pair_sol: float = 2.0, split: bool = True, tight: bool = False,
             downlinks_per_day: int = 3, chunk_s: float = 0.0, requirements: bool = False,
             start_tdb_s: float = 8.0e8, min_session_s: float = 120.0, turnaround_s: float = 60.0,
             overlap_bias: float = 0.5) -> Problem:
    """A random problem; the same arguments give the same problem."""
    rng = np.random.default_rng(seed)
    end = start_tdb_s + days * 86400.0
    orbs = [f"O{k}" for k in range(n_orbiters)]
    names = [f"A{k}" for k in range(n_assets)]
    passes, peak, elev = [], {}, {}
    n_sols = days * 86400.0 / SOL_S
    for o in orbs:
        base_times = rng.uniform(start_tdb_s, end - 900, size=max(1, int(round(passes_per_pair_sol * n_sols))))
        for a in names:
            n = max(1, int(rng.poisson(passes_per_pair_sol * n_sols)))
            # overlap_bias: many passes of one orbiter over different assets overlap (nearby assets)
            times = np.where(rng.random(n) < overlap_bias,
                             rng.choice(base_times, n) + rng.uniform(-300, 300, n),
                             rng.uniform(start_tdb_s, end - 900, n))
            times = np.sort(np.clip(times, start_tdb_s, end - 900))
            last_end = -np.inf
            for k, t in enumerate(times):
                dur = float(rng.uniform(240, 720))
                if t < last_end + 600:
                    continue
                pid = f"{o}-{a}-{k}"
                passes.append(PassWindow(pid, o, a, float(t), float(t) + dur))
                peak[pid] = float(rng.choice([128, 256, 512, 1024, 2048]))
                elev[pid] = float(rng.uniform(0, 1))
                last_end = t + dur
    vol = SineVolume(passes, peak)
    options = session_options(passes, vol, min_session_s=min_session_s, turnaround_s=turnaround_s,
                              elevation_score=elev, split=split,
                              forward_assets={names[0]} if requirements else ())
    total_pass = sum(vol(p.pass_id, p.rise_tdb_s, p.set_tdb_s) for p in passes) or 1.0
    scale = 0.35 if tight else 1.5
    windows = []
    for o in orbs:
        for k in range(max(1, int(round(downlinks_per_day * days)))):
            s = float(rng.uniform(start_tdb_s, end - 3 * 3600))
            d = float(rng.uniform(1800, 3 * 3600))
            cap = scale * total_pass / (n_orbiters * max(1, downlinks_per_day * days)) * float(rng.uniform(0.5, 1.5))
            windows.append((f"{o}-dl{k}", o, f"DSS{k % 3}", s, s + d, cap))
    windows = _drop_overlaps(windows)
    chunks = chunk_downlinks(windows, chunk_s)
    orbiters = tuple(Orbiter(o, capacity_mbit=(0.15 if tight else 2.0) * total_pass / n_orbiters,
                             initial_fill_mbit=float(rng.uniform(0, 0.05)) * total_pass / n_orbiters,
                             initial_fill_weight=1.0) for o in orbs)
    assets = []
    sols = tuple((k, start_tdb_s + k * SOL_S, start_tdb_s + (k + 1) * SOL_S) for k in range(int(n_sols) + 1))
    for a in names:
        backlog = (0.1 if tight else 1.0) * total_pass / n_assets
        gen_per_step = (0.05 if tight else 0.3) * total_pass / n_assets / max(1, days * 6)
        gen = tuple((start_tdb_s + h * 14400.0, gen_per_step) for h in range(1, int(days * 6) + 1))
        assets.append(Asset(a, priority_weight=float(rng.choice([1.0, 1.5, 2.0])), backlog_mbit=backlog,
                            generation=gen, sols=sols,
                            max_sessions_per_sol=int(rng.integers(2, 6)) if requirements else None,
                            energy_wh_per_min=0.5 if requirements else None,
                            energy_wh_per_sol=float(rng.uniform(5, 30)) if requirements else None))
    fwd, dec = [], []
    if requirements:
        for sol, s0, s1 in sols:
            if s0 >= end:
                continue
            fwd.append(ForwardRequirement(names[0], sol, s0, min(s1, end), 300.0, 1))
            dec.append(DecisionalRequirement(names[-1], sol, s0, s0 + SOL_S / 2, s0 + 0.9 * SOL_S))
    return Problem(start_tdb_s=start_tdb_s, end_tdb_s=end, orbiters=orbiters, assets=tuple(assets),
                   passes=tuple(sorted(passes, key=lambda p: (p.rise_tdb_s, p.pass_id))), options=tuple(options),
                   downlinks=tuple(chunks), forward_requirements=tuple(fwd), decisional_requirements=tuple(dec),
                   min_session_s=min_session_s, turnaround_s=turnaround_s, name=f"synthetic-{seed}")


def _drop_overlaps(windows):
    """One X-band radio per orbiter: keep windows of an orbiter that do not overlap an earlier kept one."""
    out, last = [], {}
    for w in sorted(windows, key=lambda w: (w[3], w[0])):
        if w[3] >= last.get(w[1], -math.inf):
            out.append(w)
            last[w[1]] = w[4]
    return out
