"""Constants once (issue 9): the sol, the speed of light and the AU are written as numbers in
exactly one place in src/relay (relay.constants) and imported everywhere else."""
from __future__ import annotations

import io
import tokenize
from pathlib import Path

import pytest

import relay
from relay import constants

SRC = Path(relay.__file__).resolve().parent

# digits that identify each constant, whatever the precision it was written with
SIGNATURES = {
    "SOL_S": ("88775",),
    "MARS24_SOL_DAYS": ("1.02749",),
    "C_KM_S": ("299792", "2.99792", "2.998e"),
    "AU_KM": ("149597870", "1.49597", "1.496e"),
}


def _number_tokens():
    """(file, line, text) of every numeric literal in src/relay (comments and strings excluded)."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.NUMBER:
                out.append((path.relative_to(SRC).as_posix(), tok.start[0], tok.string))
    return out


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_each_constant_is_written_once(name):
    hits = [h for h in _number_tokens() if any(h[2].startswith(s) for s in SIGNATURES[name])]
    assert len(hits) == 1, f"{name} is written as a number in {hits}; expected once, in constants.py"
    assert hits[0][0] == "constants.py"


def test_modules_use_the_shared_values():
    from relay import config_links, mars, timescales
    from relay.geometry import tracks as geometry  # a module that uses C_KM_S
    from relay.links import xband  # a module that uses AU_KM
    from relay.outputs import compare_report

    assert timescales.SOL_S is constants.SOL_S and compare_report.SOL_S is constants.SOL_S
    assert geometry.C_KM_S is constants.C_KM_S and config_links.C_KM_S is constants.C_KM_S
    assert mars.AU_KM is constants.AU_KM and xband.AU_KM is constants.AU_KM
    # the two spellings of the sol agree (Mars24 writes it in days to 10 decimals)
    assert constants.SOL_S / 86400.0 == pytest.approx(constants.MARS24_SOL_DAYS, abs=1e-10)
