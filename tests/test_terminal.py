"""Terminal output carries no raw control characters from user strings, and a closed pipe ends
the command quietly (issues 18 and 19)."""
from __future__ import annotations

import io
import subprocess
import sys

from hypothesis import given, strategies as st

from pathlib import Path
from relay.terminal import NOTE_LIMIT, SafeStream, plain

ROOT = Path(__file__).resolve().parents[1]
CONTROL = [chr(c) for c in range(0x20) if chr(c) not in "\n\t\r"] + ["\x7f", "\x9b", "\u202e"]


def test_plain_escapes_an_escape_sequence_and_cuts_a_long_note():
    assert plain("red\x1b[31mtext") == "red\\x1b[31mtext"
    assert plain("a\nb\tc") == "a\\x0ab\\x09c"
    note = "x" * 200_000
    out = plain(note)
    assert out.startswith("x" * NOTE_LIMIT + "…") and out.endswith("(200,000 characters)")
    assert plain(note, limit=None) == note


@given(st.text(alphabet=st.sampled_from(CONTROL + list("ab\n\t\r é")), max_size=60))
def test_no_unsafe_character_passes_the_stream(text):
    raw = io.StringIO()
    SafeStream(raw).write(text)
    written = raw.getvalue()
    assert not any(c in written for c in CONTROL)
    assert written.count("\n") == text.count("\n")   # lines stay lines
    assert all(c in written for c in "ab é" if c in text)


def test_plain_output_never_holds_a_control_character():
    out = plain("".join(CONTROL) + "\n\t\r", limit=None)
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in out)


def test_piping_into_head_ends_quietly():
    """``relay passes ... | head -1``: no BrokenPipeError traceback, the exit status a shell
    gives a process ended by SIGPIPE."""
    code = ("import sys; from relay.cli import main; sys.exit(main())")
    p = subprocess.Popen([sys.executable, "-c", code, "passes", "configs/baseline.yaml", "--days", "20"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait() == 141
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_a_veto_that_matches_nothing_is_a_warning_with_its_note_escaped(small, tmp_path, capsys):
    """A veto over a second with no pass forbids nothing: relay plan says so in the terminal and
    summary.json (not silently accepted), and the control characters of the note and the file
    name reach neither raw (issue 18, issue 19)."""
    import json

    from relay.cli import main

    veto = tmp_path / "veto\x1b[2J.csv"
    veto.write_text("orbiter,asset,start,end,note\n"
                    "MRO,Curiosity,2026-12-08T00:00:00Z,2026-12-08T00:00:01Z,red \x1b[31m alert\n")
    out = tmp_path / "plan"
    rc = main(["plan", str(small), "--start", "2026-12-08T00:00:00Z", "--days", "1", "--forbid", str(veto),
               "--out", str(out)])
    printed = capsys.readouterr()
    assert rc == 0
    warnings = json.loads((out / "summary.json").read_text())["warnings"]
    hit = [w for w in warnings if "forbids no session option" in w]
    assert len(hit) == 1 and "line 2" in hit[0] and "MRO -> Curiosity" in hit[0]
    assert "forbids no session option" in printed.out
    assert "\x1b" not in printed.out and "\x1b" not in printed.err


def test_a_long_note_is_cut_with_an_ellipsis_in_the_terminal_and_kept_whole_in_the_files(small, tmp_path, capsys):
    import json

    from relay.cli import main

    note = "why " * 240   # 960 characters, within the CSV's 1,000-character cap for notes
    req = tmp_path / "requests.csv"
    req.write_text("id,asset,orbiter,kind,start,end,min_mbit,priority,note\n"
                   f"R1,Curiosity,MRO,return,2026-12-08T01:00:00Z,2026-12-08T01:05:00Z,5000,required,{note}\n")
    out = tmp_path / "plan"
    assert main(["plan", str(small), "--start", "2026-12-08T00:00:00Z", "--days", "1", "--requests", str(req),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    line = next(x for x in printed.splitlines() if "R1" in x and "request" in x)
    assert "…" in line and len(line) < 400
    details = [v["detail"] for v in json.loads((out / "summary.json").read_text())["violations"]]
    assert any(note.strip() in d for d in details)
