"""``pisces jumping dynamics``: the embedding curves of run folders drawn and tabulated; the
medians are over the seeds that carry a value."""

from __future__ import annotations

import json

from pisces import cli


def _record(folder, seed, curve):
    folder.mkdir(parents=True, exist_ok=True)
    record = {"preset": "pse", "grid": "wide", "seed": seed, "epochs": 2000,
              "test_solved_pct": curve[-1]["test_solved_pct"], "eval_curve": curve}  # fmt: skip
    (folder / f"seed-{seed:03d}.json").write_text(json.dumps(record))


def _point(epoch, pct, align=None, dead=None, zero=None):
    e = {"epoch": epoch, "step": 4 * epoch, "test_solved_pct": pct}
    if dead is not None:
        e |= {"alignment_score_projection": align, "dead_units_projection": dead,
              "zero_states_projection": zero, "alignment_score_representation": 0.5}  # fmt: skip
    return e


def test_dynamics_medians_and_figure(tmp_path, capsys):
    new, old = tmp_path / "new", tmp_path / "old"
    _record(new, 1, [_point(200, 40.0, 0.2, 10, 3), _point(2000, 20.0, 0.1, 40, 50)])
    _record(new, 2, [_point(200, 30.0, 0.4, 20, 5), _point(2000, 22.0, None, 44, 60)])
    _record(old, 1, [_point(200, 50.0), _point(2000, 80.0)])  # before the embedding scores
    out = tmp_path / "dyn.png"
    argv = ["jumping", "dynamics", str(new), str(old), "--label", "pse", "--label", "rc"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000  # a real picture
    table = out.with_suffix(".md").read_text()
    assert table in capsys.readouterr().out
    rows = {tuple(c.strip() for c in line.split("|")[1:4]): line for line in table.splitlines()}
    # median of 40 and 30 at epoch 200; 21 at epoch 2000; epochs 600-1400 never evaluated
    assert rows[("pse", "% of test tasks solved", "2")].endswith("| 35 | – | – | – | 21 |")
    # seed 2 has no alignment at epoch 2000 (None): the median is seed 1's alone
    assert rows[("pse", "alignment score", "2")].endswith("| 0.3 | – | – | – | 0.1 |")
    assert rows[("pse", "dead units", "2")].endswith("| 15 | – | – | – | 42 |")
    assert rows[("pse", "all-zero states of 224", "2")].endswith("| 4 | – | – | – | 55 |")
    assert ("rc", "% of test tasks solved", "1") in rows
    assert [k for k in rows if k[:1] == ("rc",)] == [("rc", "% of test tasks solved", "1")]
    assert cli.main([*argv, "--layer", "representation", "--out", str(out)]) == 0
    assert "| pse | alignment score | 2 | 0.5 |" in out.with_suffix(".md").read_text()
