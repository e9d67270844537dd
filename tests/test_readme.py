"""The README's Python example runs as written, and the committed tables and pages derived
from the committed records (the README's Table 1, ``table1-wide.md``, the results page, the
precision comparisons, the measured run times, the seen-position table) are what their
commands make of those records today (documentation that cannot silently rot)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no ```python example"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out.split()
    assert out[:3] == ["(4,", "4)", "True"]  # psm converged on the 4-state MDP
    assert abs(float(out[4]) - 1.9584) < 1e-4  # d[0, 0] = 0.999^16 + 0.999^26


ROOT = README.parent
TABLE1 = ROOT / "results" / "jumping" / "table1-wide.md"
#: the folders of `results/jumping/table1-wide.md`, as results/jumping/COMMANDS.md runs it.
TABLE1_DIRS = [
    *(f"{p}-wide" for p in ("bisim-transfer", "dropout-l2", "pse", "randconv-pse", "randconv")),
    "randconv-bisim-l2-wide",
    *(f"{p}-wide" for p in ("pse-paper-variant", "pse-coupling", "pse-tuned-trial8")),
    "pse-wide-bf16",
    "randconv-pse-wide-bf16",
]


def test_readme_table1_is_the_committed_report():
    text = README.read_text()
    block = re.search(
        r"<!-- table1-wide.md: begin -->\n(.*?)<!-- table1-wide.md: end -->", text, re.S
    )
    assert block, "README.md lost its table1-wide.md markers"
    assert block.group(1).strip() == TABLE1.read_text().strip()


def test_committed_table1_report_is_a_fresh_report_of_the_committed_records(capsys):
    from pisces import cli

    dirs = [str(ROOT / "results" / "jumping" / d) for d in TABLE1_DIRS]
    assert cli.main(["jumping", "report", *dirs]) == 0
    assert capsys.readouterr().out.strip() == TABLE1.read_text().strip()


def test_committed_report_of_all_runs_is_fresh(capsys):
    """results/jumping/report-all.md is `pisces jumping report results/jumping` (make results)."""
    from pisces import cli

    assert cli.main(["jumping", "report", str(ROOT / "results" / "jumping")]) == 0
    committed = (ROOT / "results" / "jumping" / "report-all.md").read_text()
    assert capsys.readouterr().out.strip() == committed.strip(), "stale: run `make results`"


def test_committed_results_page_is_a_fresh_render_of_the_committed_records(monkeypatch):
    from pisces.experiments.jumping import results_page

    monkeypatch.chdir(ROOT)  # the page names its command with these relative paths
    monkeypatch.setattr(results_page, "save_figure_atomic", lambda *a, **k: None)  # text only
    page = Path("results/README.md")
    text = results_page.render([Path("results/jumping")], page, seed=0, reps=50_000)
    assert text == page.read_text(), (
        "results/README.md is stale: run make results (pisces jumping results-page ... --out "
        "results/README.md)"
    )


@pytest.mark.parametrize("name", ["pse", "randconv-pse"])
def test_committed_precision_comparisons_are_fresh(name, tmp_path, capsys):
    from pisces import cli

    jumping = ROOT / "results" / "jumping"
    out = tmp_path / "compare.md"
    argv = [str(jumping / f"{name}-wide"), str(jumping / f"{name}-wide-bf16"), "--out", str(out)]
    assert cli.main(["jumping", "compare", *argv]) == 0
    assert out.read_text() == (jumping / f"precision-{name}.md").read_text()


def test_committed_run_times_are_fresh():
    script = ROOT / "benchmarks" / "bench_jumping_runs.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    assert done.stdout == (ROOT / "benchmarks" / "results" / "jumping_runs.md").read_text()


def test_committed_seen_position_table_is_fresh():
    """results/jumping/seen-positions.md is `seen_positions.py`'s table of the committed records."""
    script = ROOT / "results" / "jumping" / "seen_positions.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    assert done.stdout == (ROOT / "results" / "jumping" / "seen-positions.md").read_text()


def test_seen_position_mask_is_what_bisimulation_transfer_solves():
    """The tabular transfer solves exactly the seen-position test tasks (wide and random grid
    records), and the wide grid has 48 of them: 6 training obstacle positions × 8 other floors."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "seen_positions", ROOT / "results" / "jumping" / "seen_positions.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for cell in ("bisim-transfer-wide", "bisim-transfer-random"):
        for path in sorted((ROOT / "results" / "jumping" / cell).glob("seed-00[1-3].json")):
            record = json.loads(path.read_text())
            solved = np.asarray(record["solved"], dtype=bool)
            test = np.asarray(record["split"]) == "test"
            np.testing.assert_array_equal(solved & test, mod.seen_mask(record["split"]))
    record = json.loads((ROOT / "results/jumping/bisim-transfer-wide/seed-001.json").read_text())
    assert mod.seen_mask(record["split"]).sum() == 48
