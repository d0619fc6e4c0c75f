"""relay: plans data-relay sessions between Mars orbiters and surface assets.

The public API (lazy, so ``import relay`` stays fast)::

    relay.load_scenario(path, overrides=None)
    relay.find_passes(scenario, start, days) -> DataFrame
    relay.find_tracks(scenario, start, days) -> DataFrame
    relay.plan(scenario, start, days, ...) -> relay.result.PlanResult (.sessions, .downlinks, .passes,
                                               .store, .per_sol, .summary, .write(dir), .plot_timeline())
    relay.compare([configs...], start, days, ...) -> relay.analysis.compare.ComparisonResult
    relay.sweep(spec, out=...) -> DataFrame
    relay.load_plan(dir) -> (problem, plan) of a written plan directory
"""

__version__ = "0.1.0"

_API = {
    "load_scenario": "relay.config",
    "find_passes": "relay.api",
    "find_tracks": "relay.api",
    "plan": "relay.api",
    "compare": "relay.analysis.compare",
    "sweep": "relay.analysis.sweep",
    "load_plan": "relay.planfolder",
    "PlanResult": "relay.result",
    "PlanSummary": "relay.summary",
}


def __dir__():
    return sorted(set(globals()) | set(_API))


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'relay' has no attribute {name!r}")


__all__ = list(_API)
