"""Long horizons block by block (relay.planning.horizon, issue 23).

- the decomposition bound is never below the optimum CP-SAT proves exactly (gap limit 0), on
  small random instances (with requirements, tight stores and Earth-side capacity, data-limited
  assets), whatever prices the data carried across the block edges gets (found from the LP's
  reduced costs, none, the full value of delivered data, random);
- the blocks partition the options and the downlink chunks (each held by exactly one block);
- the block-by-block solve returns a validated plan (the validator runs inside solve), reports the
  bound's source, and gives the same plan on a rerun.
"""
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.planning import cpsat, horizon, synthetic
from relay.planning.settings import PlanningSettings
from relay.planning.solve import solve

EXACT = PlanningSettings(time_limit_s=20, workers=2, deterministic=False, gap_limit=0)
BLOCKS = PlanningSettings(block_days=1.0, gap_limit=0)

instances = st.builds(
    lambda seed, no, na, days, tight, req: synthetic.instance(
        seed, n_orbiters=no, n_assets=na, days=days, tight=tight, requirements=req),
    seed=st.integers(0, 10_000), no=st.integers(1, 3), na=st.integers(1, 3),
    days=st.sampled_from([2.0, 3.0]), tight=st.booleans(), req=st.booleans())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances, st.sampled_from(["discovered", "free", "full", "random"]))
def test_the_decomposition_bound_is_never_below_the_proven_optimum(P, prices):
    opt = cpsat.solve(P, EXACT)
    if opt.report.status != "OPTIMAL":
        return
    rng = random.Random(P.name)
    full = {a.name: a for a in P.assets}
    top = max(a.priority_weight for a in P.assets)

    def value(key, t):  # what a unit carried across t earns when delivered at once
        return horizon.data_price(P, full[key[1]], t) if key[0] == "data" else horizon.carry_price(P, top, t)
    given_prices = {"discovered": None, "free": lambda key, t: 0, "full": value,
                    "random": lambda key, t: int(rng.random() * 2 * value(key, t))}[prices]
    b = horizon.decomposition_bound(P, BLOCKS, 10.0, 60.0, prices=given_prices, block_days=1.0)
    assert b.blocks >= 2
    assert b.value >= round(opt.report.objective_points * 100)


def test_blocks_partition_the_options_and_chunks():
    P = synthetic.instance(3, n_orbiters=2, n_assets=2, days=3.0)
    edges = horizon.block_edges(P, 1.0)
    assert edges[0] == P.start_tdb_s and edges[-1] == P.end_tdb_s and len(edges) == 4
    held_opts, held_chunks = [], []
    for k in range(len(edges) - 1):
        b = horizon.relaxed_block(P, edges[k], edges[k + 1])
        held_opts += [x.option_id for x in b.problem.options]
        held_chunks += [c.chunk_id for c in b.problem.downlinks]
    assert sorted(held_opts) == sorted(x.option_id for x in P.options)
    assert sorted(held_chunks) == sorted(c.chunk_id for c in P.downlinks)


def test_a_long_horizon_is_planned_block_by_block_and_reproducibly():
    P = synthetic.instance(7, n_orbiters=1, n_assets=2, days=9.0, requirements=True)
    s = PlanningSettings(block_days=1.0, time_limit_s=6)
    assert horizon.applies(P, s)
    a, b = solve(P, s), solve(P, s)  # each validated independently inside solve
    r = a.report
    assert r.bound_source.startswith("decomposition: 5 blocks of 2 days")
    assert r.windows == 5 and r.bound >= r.objective_points and r.gap is not None
    assert [(x.option_id, x.volume_mbit) for x in a.sessions] == [(x.option_id, x.volume_mbit) for x in b.sessions]
    assert (a.report.bound, a.report.status) == (b.report.bound, b.report.status)
    assert not horizon.applies(P, s.model_copy(update={"block_days": 0.0}))
