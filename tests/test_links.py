"""UHF link model: budget, rate modes, volumes, the VolumeTable, calibration (issue 3).

Synthetic pass geometry (circular orbit over a sphere, ``relay.links.synthetic.synthetic_pass``)
keeps these tests independent of the geometry stage.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from relay.config_links import AssetUHF, LinkSettings, OrbiterUHF, merge_radios
from relay.links.budget import BOLTZMANN_DBW, free_space_loss_db, off_nadir_deg, range_from_elevation_km
from relay.links.synthetic import synthetic_pass, synthetic_tables
from relay.links.uhf import resolve_uhf_pair, uhf_budget_table, uhf_rate_kbps, uhf_supportable_db
from relay.links.volumes import pass_volumes_from_pairs

RADIOS = merge_radios(None)
FAST = settings(max_examples=40, deadline=None)


def pair(orbiter="MRO", orad="Electra", asset="Curiosity", arad="Electra-Lite", ouhf=None,
         auhf=None, link=None, **kw):
    return resolve_uhf_pair(orbiter, RADIOS[orad], ouhf or OrbiterUHF(), asset, RADIOS[arad],
                            auhf or AssetUHF(), link or LinkSettings(), **kw)


def run(p, specs, mask_deg=10.0, step_s=10.0):
    passes, profiles = synthetic_tables([(p.orbiter, p.asset, alt, mx) for alt, mx in specs],
                                        mask_deg=mask_deg, step_s=step_s)
    return pass_volumes_from_pairs({(p.orbiter, p.asset): p}, passes, profiles)


# --- budget primitives -------------------------------------------------------------------

def test_free_space_loss_reference_value():
    # 4 pi d f / c for 1000 km at 401.585625 MHz -> 144.52 dB (textbook formula)
    expected = 20 * math.log10(4 * math.pi * 1e6 * 401.585625e6 / 299792458.0)
    assert free_space_loss_db(1000.0, 401.585625) == pytest.approx(expected, abs=1e-9)


def test_geometry_helpers_on_a_sphere():
    assert off_nadir_deg(90.0, 300.0) == pytest.approx(0.0, abs=1e-6)
    # at the horizon the off-nadir angle is asin(R / (R + h))
    rng = range_from_elevation_km(0.0, 400.0)
    assert rng == pytest.approx(math.sqrt(3789.5 ** 2 - 3389.5 ** 2), rel=1e-9)
    assert off_nadir_deg(0.0, rng) == pytest.approx(math.degrees(math.asin(3389.5 / 3789.5)),
                                                    abs=1e-6)
    assert range_from_elevation_km(90.0, 300.0) == pytest.approx(300.0)


def test_budget_table_terms_add_up_and_match_the_vectorised_budget():
    p = pair()
    for el, alt in [(90.0, 300.0), (30.0, 300.0), (12.0, 400.0)]:
        rng = float(range_from_elevation_km(el, alt))
        tab = uhf_budget_table(p, rng, el).set_index(["term", "unit"])["value"]
        v = lambda term, unit: float(tab[(term, unit)])  # noqa: E731
        eirp = v("asset transmitter power", "dBW") + v("asset line loss", "dB") + v(
            "asset antenna gain", "dBic")
        assert v("EIRP", "dBW") == pytest.approx(eirp)
        prx = (eirp + v("asset environment loss", "dB") + v("free-space loss", "dB")
               + v("polarisation loss", "dB") + v("other losses", "dB")
               + v("orbiter antenna gain", "dBic") + v("orbiter line loss", "dB"))
        assert v("received power", "dBW") == pytest.approx(prx)
        prn0 = prx - v("system noise temperature", "dBK") - BOLTZMANN_DBW
        assert v("Pr/N0", "dB-Hz") == pytest.approx(prn0)
        supp = prn0 + v("implementation loss", "dB") + v("Eb/N0 required", "dB") + v(
            "required margin", "dB")
        assert v("supportable rate", "dB-bps") == pytest.approx(supp)
        assert float(uhf_supportable_db(p, el, rng)) == pytest.approx(supp, abs=1e-9)
        rate = v("selected table rate", "kbps")
        assert rate == float(uhf_rate_kbps(p, el, rng))
        assert rate in (0.0, *p.rates_kbps)
        if rate:
            assert 10 * math.log10(rate * 1e3) <= supp


# --- calibration against published figures (shared/domain.md) --------------------------

@pytest.mark.parametrize("alt_km", [255.0, 300.0, 320.0])
@pytest.mark.parametrize("max_el", [40.0, 45.0, 50.0])
def test_mro_curiosity_eight_minute_pass_carries_100_to_250_mbit(alt_km, max_el):
    """Bell et al. 2014 / mars.nasa.gov: ~8 min MRO passes over Curiosity carry 100-250 Mbit."""
    out, _, _ = run(pair(), [(alt_km, max_el)])
    row = out.iloc[0]
    assert 7.5 * 60 <= row.duration_s <= 10 * 60          # above a 10 deg mask
    assert row.rate_mode == "adaptive"
    assert 100.0 <= row.volume_mbit <= 250.0, row.volume_mbit


def test_mro_curiosity_peak_rate_and_per_sol_volume():
    """ADR peaks at 2048 kbps overhead.  Per sol: KNOWN GAP, kept visible here.

    Bell et al. 2014 report ~500 Mbit/sol from MRO.  With the defaults calibrated
    on the per-pass figure (100-250 Mbit for an ~8 min pass), MRO passes whose
    ground tracks fall uniformly within view of the rover (10 deg mask, 300 km),
    about 2.2 a sol, average ~110 Mbit, i.e. ~240 Mbit/sol: half the published
    figure.  The two published figures cannot both be met by this budget under
    that pass distribution (making the link ~3 dB stronger lifts the sol only to
    ~330 Mbit while pushing 8-min passes above 250 Mbit); the real sol figure
    also depends on the true pass count and on which passes are used, which the
    geometry and planner decide.  This test pins the model's figure.
    """
    p = pair()
    out, _, _ = run(p, [(300.0, 89.0)])
    assert out.peak_rate_kbps[0] == 2048.0
    R, r = 3389.5, 3689.5
    g_mask = math.acos(R * math.cos(math.radians(10)) / r) - math.radians(10)
    betas = np.linspace(0.0, g_mask, 60)[:-1]
    els = [math.degrees(math.atan2(math.cos(b) - R / r, math.sin(b))) for b in betas]
    out, _, _ = run(p, [(300.0, e) for e in els if e > 10.2])
    per_sol = 2.2 * out.volume_mbit.mean()
    assert 200.0 <= per_sol <= 300.0, per_sol


def test_odyssey_returns_at_128_or_256_kbps_only():
    p = pair("Odyssey", "Odyssey-UHF")
    assert p.rates_kbps == (128.0, 256.0)
    assert p.mode == "fixed"                                # Odyssey's radio has no ADR
    out, prof, table = run(p, [(400.0, e) for e in (11, 15, 20, 30, 45, 60, 89)])
    assert set(out.rate_mode) == {"fixed"}
    assert set(out.peak_rate_kbps) <= {0.0, 128.0, 256.0}
    assert set(out.fixed_rate_kbps) <= {0.0, 128.0, 256.0}
    assert 256.0 in set(out.fixed_rate_kbps)
    assert set(np.unique(prof.rate_kbps)) <= {0.0, 128.0, 256.0}
    # within a pass the used rate is one value (or 0 where the link does not close)
    for pid, g in prof.groupby("pass_id"):
        assert len(set(g.rate_kbps) - {0.0}) <= 1
    # a fixed-rate volume is exactly rate x closing time (trapezoid) x efficiency after hailing
    row = out.iloc[-1]
    g = prof[prof.pass_id == row.pass_id]
    assert row.volume_mbit <= row.fixed_rate_kbps * (row.duration_s - 60.0) * 0.85 / 1e3 + 1e-9


# --- rate tables, modes ------------------------------------------------------------------

def test_session_rate_table_is_the_intersection_of_both_radios():
    p = pair("MEX", "MEX-Melacom")
    assert p.rates_kbps == (8.0, 16.0, 32.0, 64.0, 128.0)
    assert p.mode == "fixed"
    p = pair("TGO", "Electra", "Rosalind Franklin", "ExoMars-Rover-UHF")
    assert p.rates_kbps == tuple(float(2 ** k) for k in range(3, 12))
    assert p.mode == "adaptive"


def test_rate_mode_override_per_asset_and_fallback():
    ou = OrbiterUHF(rate_mode="adaptive", rate_mode_by_asset={"Curiosity": "fixed"})
    assert pair(ouhf=ou).mode == "fixed"
    assert pair(ouhf=ou, asset="Perseverance").mode == "adaptive"
    p = pair("Odyssey", "Odyssey-UHF", ouhf=OrbiterUHF(rate_mode="adaptive"))
    assert p.mode == "fixed" and p.requested_mode == "adaptive"


def test_adaptive_beats_fixed_and_fixed_picks_the_best_single_rate():
    pa = pair()
    pf = pair(ouhf=OrbiterUHF(rate_mode="fixed"))
    specs = [(300.0, e) for e in (15, 25, 40, 60, 89)]
    oa, pra, _ = run(pa, specs)
    of, prf, tf = run(pf, specs)
    assert np.all(oa.volume_mbit.to_numpy() >= of.volume_mbit.to_numpy() - 1e-9)
    for row in of.itertuples():
        assert row.volume_mbit == pytest.approx(
            tf.volume_mbit(row.pass_id, row.rise_tdb_s, row.set_tdb_s))
        assert row.fixed_rate_kbps in (0.0, *pf.rates_kbps)


def test_fixed_rate_volume_against_an_independent_brute_force():
    pf = pair(ouhf=OrbiterUHF(rate_mode="fixed"))
    of, prof, tf = run(pf, [(300.0, 35.0)], step_s=1.0)    # fine steps: integral ~ exact
    row = of.iloc[0]
    t = prof.tdb_s.to_numpy()
    lvl = np.array([max([r for r in pf.rates_kbps if r <= s * (1 + 1e-12)] or [0.0])
                    for s in prof.supportable_kbps])
    keep = t >= t[0] + 60.0
    vols = {r: r * np.sum(lvl[keep] >= r) * 1.0 * 0.85 / 1e3 for r in pf.rates_kbps}
    best_r = max(vols, key=vols.get)
    assert row.fixed_rate_kbps == best_r
    assert row.volume_mbit == pytest.approx(vols[best_r], rel=0.01)


# --- volumes, overheads, forward link ------------------------------------------------------

def constant_pass(rate_el=90.0, rng_km=300.0, duration_s=600.0, step_s=10.0):
    t = np.arange(0.0, duration_s + 1e-9, step_s)
    passes = pd.DataFrame({"pass_id": [7], "orbiter": ["MRO"], "asset": ["Curiosity"],
                           "rise_tdb_s": [0.0], "set_tdb_s": [duration_s],
                           "duration_s": [duration_s]})
    profiles = pd.DataFrame({"pass_id": 7, "tdb_s": t, "elevation_deg": rate_el,
                             "range_km": rng_km})
    return passes, profiles


def test_constant_rate_pass_volume_is_rate_times_time_after_hailing():
    p = pair(link=LinkSettings(hailing_s=60.0, protocol_efficiency=0.8))
    passes, profiles = constant_pass()
    out, _, table = pass_volumes_from_pairs({("MRO", "Curiosity"): p}, passes, profiles)
    assert out.peak_rate_kbps[0] == 2048.0
    assert out.volume_mbit[0] == pytest.approx(2048 * 0.8 * 540 / 1e3)
    # sub-windows: hailing from t0; windows shorter than hailing carry nothing
    assert table.volume_mbit(7, 100.0, 400.0) == pytest.approx(2048 * 0.8 * 240 / 1e3)
    assert table.volume_mbit(7, 100.0, 150.0) == 0.0
    assert table.volume_mbit(7, 300.0, 200.0) == 0.0
    # clipped to the pass
    assert table.volume_mbit(7, -1e4, 1e4) == pytest.approx(out.volume_mbit[0])
    # arrays broadcast
    v = table.volume_mbit(np.array([7, 7]), np.array([0.0, 100.0]), 600.0)
    assert v.shape == (2,) and v[0] > v[1]
    with pytest.raises(KeyError):
        table.volume_mbit(8, 0.0, 10.0)


def test_hailing_and_efficiency_scale_volumes():
    specs = [(300.0, 60.0)]
    base, _, _ = run(pair(link=LinkSettings(hailing_s=0.0, protocol_efficiency=1.0)), specs)
    half, _, _ = run(pair(link=LinkSettings(hailing_s=0.0, protocol_efficiency=0.5)), specs)
    hailed, _, _ = run(pair(link=LinkSettings(hailing_s=120.0, protocol_efficiency=1.0)), specs)
    assert half.volume_mbit[0] == pytest.approx(0.5 * base.volume_mbit[0])
    assert hailed.volume_mbit[0] < base.volume_mbit[0]


def test_forward_link_minimum_session():
    link = LinkSettings(hailing_s=60.0, forward_rate_kbps=32.0, command_load_mbit=3.2,
                        protocol_efficiency=0.8)
    p = pair(link=link)
    assert p.forward_min_duration_s == pytest.approx(60.0 + 3200.0 / (32.0 * 0.8))
    passes, profiles = constant_pass(duration_s=180.0)
    out, _, _ = pass_volumes_from_pairs({("MRO", "Curiosity"): p}, passes, profiles)
    assert not out.forward_fits[0]
    p2 = pair(link=link, auhf=AssetUHF(command_load_mbit=0.5))
    out, _, _ = pass_volumes_from_pairs({("MRO", "Curiosity"): p2}, passes, profiles)
    assert out.forward_min_duration_s[0] == pytest.approx(60.0 + 500.0 / 25.6)
    assert out.forward_fits[0]


def test_unsorted_profiles_missing_profiles_and_row_order():
    p = pair()
    passes, profiles = synthetic_tables([("MRO", "Curiosity", 300.0, e) for e in (20, 50, 80)],
                                        mask_deg=10)
    ref, _, _ = pass_volumes_from_pairs({("MRO", "Curiosity"): p}, passes, profiles)
    shuffled = profiles.sample(frac=1.0, random_state=3)
    rev = passes.iloc[::-1].reset_index(drop=True)
    out, _, _ = pass_volumes_from_pairs({("MRO", "Curiosity"): p}, rev, shuffled)
    assert list(out.pass_id) == list(rev.pass_id)
    np.testing.assert_allclose(out.set_index("pass_id").volume_mbit.sort_index(),
                               ref.set_index("pass_id").volume_mbit.sort_index(), rtol=1e-12)
    # a pass without profile samples carries nothing (and does not break the others)
    out, _, table = pass_volumes_from_pairs({("MRO", "Curiosity"): p}, passes,
                                            profiles[profiles.pass_id != 1])
    assert out.volume_mbit[1] == 0.0 and out.volume_mbit[0] == pytest.approx(ref.volume_mbit[0])
    with pytest.raises(KeyError):
        pass_volumes_from_pairs({}, passes, profiles)


def test_mixed_pairs_fixed_and_adaptive_in_one_table():
    pa, po = pair(), pair("Odyssey", "Odyssey-UHF")
    pm = pair("MEX", "MEX-Melacom")
    specs = [("MRO", "Curiosity", 300.0, 60.0), ("Odyssey", "Curiosity", 400.0, 60.0),
             ("MEX", "Curiosity", 300.0, 60.0), ("MRO", "Curiosity", 300.0, 30.0)]
    passes, profiles = synthetic_tables(specs, mask_deg=10)
    pairs = {("MRO", "Curiosity"): pa, ("Odyssey", "Curiosity"): po, ("MEX", "Curiosity"): pm}
    out, prof, table = pass_volumes_from_pairs(pairs, passes, profiles)
    assert list(out.rate_mode) == ["adaptive", "fixed", "fixed", "adaptive"]
    assert out.fixed_rate_kbps[1] == 256.0 and out.fixed_rate_kbps[2] == 128.0
    for k, (o, a, alt, mx) in enumerate(specs):
        alone, _, _ = run(pairs[(o, a)], [(alt, mx)])
        assert out.volume_mbit[k] == pytest.approx(alone.volume_mbit[0], rel=1e-9)
    np.testing.assert_allclose(table.whole_pass_mbit(),
                               out.set_index("pass_id").volume_mbit.loc[table.pass_ids])


# --- properties (hypothesis) --------------------------------------------------------------

@FAST
@given(el=st.floats(0.0, 90.0), r1=st.floats(200.0, 5000.0), dr=st.floats(0.0, 5000.0))
def test_more_range_never_more_rate(el, r1, dr):
    p = pair()
    assert uhf_rate_kbps(p, el, r1 + dr) <= uhf_rate_kbps(p, el, r1)


@FAST
@given(alt=st.floats(250.0, 450.0), mx=st.floats(12.0, 89.0), m1=st.floats(0.0, 6.0),
       dm=st.floats(0.0, 6.0), fixed=st.booleans())
def test_more_required_margin_never_more_volume(alt, mx, m1, dm, fixed):
    ou = OrbiterUHF(rate_mode="fixed" if fixed else "adaptive")
    lo, _, _ = run(pair(ouhf=ou, required_margin_db=m1), [(alt, mx)])
    hi, _, _ = run(pair(ouhf=ou, required_margin_db=m1 + dm), [(alt, mx)])
    assert hi.volume_mbit[0] <= lo.volume_mbit[0] + 1e-9


@pytest.fixture(scope="module")
def tables():
    specs = [(300.0, e) for e in (12, 25, 45, 70, 89)]
    a = run(pair(), specs)
    f = run(pair(ouhf=OrbiterUHF(rate_mode="fixed")), specs)
    o = run(pair("Odyssey", "Odyssey-UHF"), [(400.0, e) for e in (12, 25, 45, 70, 89)])
    return a, f, o


windows = st.tuples(st.integers(0, 4), st.floats(0.0, 1.0), st.floats(0.0, 1.0),
                    st.floats(0.0, 1.0))


def _abc(out, k, u, v, w):
    row = out.iloc[k]
    r, s = row.rise_tdb_s, row.set_tdb_s
    a, b, c = sorted([r + u * (s - r), r + v * (s - r), r + w * (s - r)])
    return row, a, b, c


@FAST
@given(windows)
def test_adaptive_never_less_than_best_fixed_over_any_window(tables, win):
    (oa, _, ta), (of, _, tf), _ = tables
    k, u, v, w = win
    row, a, b, c = _abc(oa, k, u, v, w)
    assert ta.volume_mbit(row.pass_id, a, c) >= tf.volume_mbit(row.pass_id, a, c) - 1e-9


@FAST
@given(windows)
def test_sub_windows_additive_up_to_hailing_and_bounded_by_the_pass(tables, win):
    (oa, _, ta), (of, _, tf), (oo, _, to) = tables
    k, u, v, w = win
    for out, table, adaptive in ((oa, ta, True), (of, tf, False), (oo, to, False)):
        row, a, b, c = _abc(out, k, u, v, w)
        pid = row.pass_id
        whole = table.volume_mbit(pid, row.rise_tdb_s, row.set_tdb_s)
        vac, vab, vbc = (table.volume_mbit(pid, a, c), table.volume_mbit(pid, a, b),
                         table.volume_mbit(pid, b, c))
        assert vac <= whole + 1e-9 and vab <= vac + 1e-9 and vbc <= vac + 1e-9
        assert whole == pytest.approx(row.volume_mbit)
        hail_bound = 60.0 * 0.85 * 2048.0 / 1e3            # one hailing at the top rate
        if adaptive:
            assert vab + vbc <= vac + 1e-9
        assert vab + vbc >= vac - hail_bound - 1e-9
        if not adaptive and table is tf:
            assert vab + vbc <= ta.volume_mbit(pid, a, c) + 1e-9


@FAST
@given(windows)
def test_adaptive_split_loses_exactly_the_second_hailing(tables, win):
    (oa, _, ta), _, _ = tables
    k, u, v, w = win
    row, a, b, c = _abc(oa, k, u, v, w)
    pid = row.pass_id
    link = LinkSettings()
    lost = ta.volume_mbit(pid, a, c) - ta.volume_mbit(pid, a, b) - ta.volume_mbit(pid, b, c)
    # what the second session's hailing would have carried: volume of [b, min(b + 60, c)]
    # seen from a session already running since a (no hailing of its own in that span)
    if b - a >= link.hailing_s:
        carried = ta.volume_mbit(pid, a, min(b + link.hailing_s, c)) - ta.volume_mbit(pid, a, b)
        assert lost == pytest.approx(carried, abs=1e-6)
    assert lost >= -1e-9


@FAST
@given(windows, st.floats(1.0, 300.0))
def test_fixed_subwindow_rate_is_reoptimised_and_never_beats_adaptive(tables, win, grow):
    (oa, _, ta), (of, _, tf), _ = tables
    k, u, v, w = win
    row, a, b, c = _abc(of, k, u, v, w)
    pid = row.pass_id
    r = tf.fixed_rate_kbps(pid, a, c)[()]
    assert r in (0.0, *pair().rates_kbps)
    assert tf.volume_mbit(pid, a, c) <= ta.volume_mbit(pid, a, c) + 1e-9
    # growing the window never loses volume
    assert tf.volume_mbit(pid, a, c + grow) >= tf.volume_mbit(pid, a, c) - 1e-9
    assert ta.volume_mbit(pid, a, c + grow) >= ta.volume_mbit(pid, a, c) - 1e-9
    assert np.isnan(ta.fixed_rate_kbps(pid, a, c)[()])


def test_synthetic_pass_samples_like_the_geometry_stage():
    t, el, rng = synthetic_pass(300.0, 60.0, step_s=10.0, mask_deg=10.0)
    assert el[0] == el[-1] == 10.0
    assert np.all(np.diff(t)[:-1] == pytest.approx(10.0)) and 0 < t[-1] - t[-2] <= 10.0
    assert el.max() == pytest.approx(60.0, abs=0.5)
    assert rng.min() == pytest.approx(float(range_from_elevation_km(el.max(), 300.0)), rel=1e-6)
