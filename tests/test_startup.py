"""Each command imports only what it uses (issue 23): checked by the modules a command's process
holds, never by its time."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_relay_passes_imports_no_solver():
    """relay passes needs the geometry and link stages only: OR-Tools (0.1-0.4 s of import) stays
    out of its process (the solver's two lazy imports, pipeline.run and PlanResult.replan)."""
    code = ("import sys; from relay.cli import main; main(['passes', 'configs/baseline.yaml', '--days', '1', "
            "'--quiet']); print(sorted(m for m in sys.modules if m.startswith(('ortools', 'relay.planning.cpsat', "
            "'relay.planning.solve'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
