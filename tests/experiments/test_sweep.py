"""``pisces sweep``: spec checks, the local pool and a real Ray cluster give the same files,
a SIGKILLed worker is retried without losing or redoing a seed, folders resume across
``sweep`` and ``train``.

Ray runs for real: one head node on 127.0.0.1 started by ``ray start`` for the session (no
dashboard, a small object store, token authentication off through ``RAY_AUTH_MODE``) and
stopped at the end by signalling its own process group (never ``ray stop``, which would stop
every Ray cluster of the machine).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pisces import cli
from pisces.errors import UsageError
from pisces.experiments import sweep

#: the tiny LQR job of these tests (~0.4 s a seed).
LQR = 'benchmark = "lqr"\ndistractors = 30\niterations = 20\nn_test_envs = 2\n'
#: record keys that differ between two runs of the same seed (timing, code version).
VOLATILE = {
    "wall_time_s",
    "batch_wall_time_s",
    "train_seconds",
    "eval_seconds",
    "wall_seconds",
    "git_commit",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_spec(path: Path, out: Path, jobs: list[str], extra: str = "") -> Path:
    text = f'out = "{out}"\n{extra}'
    for job in jobs:
        text += f"\n[[job]]\n{job}"
    path.write_text(text)
    return path


def _records(root: Path) -> dict[str, dict]:
    return {
        str(p.relative_to(root)): json.loads(p.read_text())
        for p in sorted(root.rglob("seed*.json"))
    }


def _stable(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in VOLATILE}


def _no_partial_files(root: Path) -> None:
    leftovers = [p for p in root.rglob("*.tmp")]
    assert not leftovers, leftovers
    for path in root.rglob("seed*.json"):
        json.loads(path.read_text())  # every record is whole


@pytest.fixture(scope="session")
def ray_head():
    """``HOST:PORT`` of a one-node Ray cluster (2 CPUs) for the whole test session."""
    pytest.importorskip("ray")
    ray_bin = Path(sys.executable).with_name("ray")
    old = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED")}
    os.environ["RAY_AUTH_MODE"] = "disabled"  # Ray >= 2.59 turns token auth on otherwise
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    temp = tempfile.mkdtemp(prefix="rayt", dir="/tmp")  # short: Ray's socket paths are limited
    port = _free_port()
    head = subprocess.Popen(
        [
            str(ray_bin),
            "start",
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=2",
            "--object-store-memory=100000000",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # every Ray daemon inherits this process group
    )
    try:
        output, _ = head.communicate(timeout=180)
        assert head.returncode == 0, output[-2000:]
        yield f"127.0.0.1:{port}"
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):  # the daemons of this cluster only
            try:
                os.killpg(head.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(2)
        shutil.rmtree(temp, ignore_errors=True)
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ----------------------------------------------------------------------------- the spec


def test_a_spec_becomes_jobs_with_folders_configs_and_seeds(tmp_path):
    spec = _write_spec(
        tmp_path / "s.toml",
        tmp_path / "runs",
        [
            'benchmark = "jumping"\npreset = "dropout-l2"\ngrid = "narrow"\nseeds = "1-2,5"\n'
            "epochs = 3\nlearning_rate = 1\nrand_conv = true\n",
            f'{LQR}preset = "psm"\nseeds = [4, 2]\nname = "mine"\nthreads = 2\nlam = 10\n',
            f'{LQR}preset = "psm"\nseeds = 7\nout = "{tmp_path / "elsewhere"}"\n',
        ],
    )
    parsed = sweep.parse_spec(spec)
    jumping, lqr, other = parsed.jobs
    assert jumping.out == tmp_path / "runs" / "jumping" / "dropout-l2-narrow"
    assert jumping.seeds == (1, 2, 5) and jumping.threads == 1
    assert jumping.config.epochs == 3 and jumping.config.grid == "narrow"
    assert jumping.config.learning_rate == 1.0 and jumping.config.rand_conv is True
    assert jumping.config.l2_reg == 4.3e-4  # the preset's, untouched
    assert lqr.out == tmp_path / "runs" / "lqr" / "mine" and lqr.seeds == (2, 4)
    assert lqr.threads == 2 and lqr.config.lam == 10.0 and lqr.config.n_distractors == 30
    assert other.out == tmp_path / "elsewhere" and other.seeds == (7,)
    assert not (tmp_path / "runs").exists()  # parsing writes nothing


BAD = [
    ('out = "x"\n[[job]]\nbenchmark = "lqr"\npreset = \n', "invalid TOML", "line 4"),
    (
        'out = "x"\n[[job]]\nbenchmark = "dmcx"\npreset = "psm"\nseeds = 1\n',
        "job 1 (line 2)",
        "unknown benchmark 'dmcx'",
    ),
    (
        f'out = "x"\n[[job]]\n{LQR}preset = "psm"\nseeds = 1\n[[job]]\n{LQR}preset = "nope"\n'
        "seeds = 1\n",
        "job 2 (line 9)",
        "unknown preset 'nope'",
    ),
    (
        'out = "x"\n[[job]]\nbenchmark = "jumping"\npreset = "pse"\nseeds = 1\nalpah = 1\n',
        "job 1 (line 2)",
        "unknown key 'alpah'",
    ),
    (
        'out = "x"\n[[job]]\nbenchmark = "jumping"\npreset = "pse"\nseeds = "3-1"\n',
        "seeds",
        "'3-1' is reversed",
    ),
    (
        'out = "x"\n[[job]]\nbenchmark = "jumping"\npreset = "pse"\nseeds = "x"\n',
        "seeds",
        "bad seeds spec 'x'",
    ),
    (
        'out = "x"\n[[job]]\nbenchmark = "jumping"\npreset = "pse"\nseeds = 1\nepochs = 0\n',
        "job 1",
        "epochs must be >= 1",
    ),
    (
        'out = "x"\n[[job]]\nbenchmark = "jumping"\npreset = "pse"\nseeds = 1\nalpha = "nan"\n',
        "alpha",
        "must be finite",
    ),
    (
        'out = "x"\n[[job]]\nbenchmark = "jumping"\npreset = "pse"\nseeds = 1\nepochs = 2.5\n',
        "epochs",
        "takes int",
    ),
    (
        'out = "x"\n[[job]]\nbenchmark = "lqr"\npreset = "psm"\nseeds = 1\n',
        "job 1",
        "distractors: missing",
    ),
    (
        'out = "x"\n[[job]]\nbenchmark = "jumping"\npreset = "pse"\nseeds = 1\nsource = "me"\n',
        "source",
        "set by the preset",
    ),
    (
        f'out = "x"\n[[job]]\n{LQR}preset = "psm"\nseeds = 1\n[[job]]\n{LQR}preset = "psm"\n'
        "seeds = 2\nlam = 3\n",
        "jobs 1 and 2 write to the same folder",
        "name =",
    ),
    ('out = "x"\nworkers = 3\n[[job]]\n', "unknown top-level key 'workers'", "keys"),
    ('out = "x"\n', "no jobs", "[[job]]"),
]


@pytest.mark.parametrize(("text", "where", "what"), BAD, ids=[b[2] for b in BAD])
def test_a_bad_spec_is_one_line_naming_the_job_and_key(tmp_path, capsys, text, where, what):
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    before = sorted(tmp_path.rglob("*"))
    assert cli.main(["sweep", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("pisces sweep: ") and str(spec) in err
    assert where in err and what in err, err
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


def test_unreachable_ray_address_and_address_without_ray_are_one_line(tmp_path, capsys):
    spec = _write_spec(
        tmp_path / "s.toml", tmp_path / "runs", [f'{LQR}preset = "psm"\nseeds = 1\n']
    )
    port = _free_port()  # nothing listens there
    started = time.perf_counter()
    code = cli.main(["sweep", str(spec), "--backend", "ray", "--address", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"--address 127.0.0.1:{port}: no Ray cluster reachable there" in err
    assert time.perf_counter() - started < 30  # not Ray's minutes of retries
    assert cli.main(["sweep", str(spec), "--address", "127.0.0.1:1"]) == 2
    assert "--address needs --backend ray" in capsys.readouterr().err
    assert cli.main(["sweep", str(spec), "--backend", "ray", "--address", "nohost"]) == 2
    assert "use HOST:PORT" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_importing_the_scale_modules_imports_no_optional_dependency():
    code = (
        "import sys, pisces.cli, pisces.experiments.sweep, pisces.experiments.tune, "
        "pisces.experiments.tensorboard, pisces.experiments.backends\n"
        "bad = [m for m in ('ray', 'optuna', 'tensorboard', 'torch') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------- running


def _two_presets(tmp_path: Path, out: Path) -> Path:
    """2 presets x 3 seeds; the worker of psm seed 2 SIGKILLs itself on its first attempt."""
    jobs = [
        f'{LQR}preset = "overparam"\nseeds = "1-3"\n',
        f'{LQR}preset = "psm"\nseeds = "1-3"\ninject_sigkill = [2]\n',
    ]
    return _write_spec(tmp_path / f"{out.name}.toml", out, jobs)


def _kill_sweep(tmp_path: Path, root: Path, backend: list[str]) -> tuple[str, dict, dict]:
    """Seed 1 of both jobs done beforehand (in this process), then the sweep of seeds 1-3
    with the SIGKILL of psm seed 2: its output, the mtimes of the seed-1 files before, and
    the records after."""
    spec = sweep.parse_spec(_two_presets(tmp_path, root))
    for job in spec.jobs:
        job.bench.write(job.bench.store_of(job.out), sweep.execute_unit(job, 1))
    before = {p: p.stat().st_mtime_ns for p in root.rglob("seed*.json")}
    argv = ["sweep", str(spec.path), "--no-progress", *backend]
    code = cli.main(argv)
    return code, before, argv


def _check_kill_sweep(root: Path, code: int, before: dict, out: str) -> None:
    assert code == 0, out
    assert len(before) == 2 and "2 seed(s) already done, skipped" in out
    assert (root / "lqr" / "psm-nd30" / ".sigkill-seed-2").exists()  # it did die once
    assert len(_records(root)) == 6  # the sweep completed
    assert {p: p.stat().st_mtime_ns for p in before} == before  # no finished seed redone
    for job in ("overparam-nd30", "psm-nd30"):
        for seed in (2, 3):
            assert out.count(f"{job} seed {seed}: test error") == 1, out  # each written once
    _no_partial_files(root)
    assert "| 2 | lqr | psm | " in out and "| 3 | 1 | 2 | 0 |" in out  # the jobs' table
    assert "J_test" in out  # the benchmark's report


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The kill sweep through the local pool (2 workers): (root, exit code, mtimes, stdout)."""
    import contextlib
    import io

    tmp = tmp_path_factory.mktemp("local")
    root = tmp / "runs"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code, before, _ = _kill_sweep(tmp, root, ["--workers", "2"])
    return root, code, before, buffer.getvalue()


def test_local_pool_retries_a_sigkilled_worker(local_sweep, capsys):
    root, code, before, out = local_sweep
    _check_kill_sweep(root, code, before, out)
    assert "psm-nd30 seed 2: worker died (SIGKILL); retrying (attempt 2)" in out
    # a rerun has nothing to do
    assert cli.main(["sweep", str(root.parent / "runs.toml"), "--no-report"]) == 0
    assert "6 seed(s) already done, skipped" in capsys.readouterr().out


def test_ray_retries_a_sigkilled_worker_and_writes_the_local_pools_records(
    tmp_path, ray_head, local_sweep, capsys
):
    root = tmp_path / "runs"
    code, before, _ = _kill_sweep(tmp_path, root, ["--backend", "ray", "--address", ray_head])
    _check_kill_sweep(root, code, before, capsys.readouterr().out)
    here, there = _records(root), _records(local_sweep[0])
    assert sorted(here) == sorted(there) and len(here) == 6
    for name in here:
        assert _stable(here[name]) == _stable(there[name]), name


def test_sweep_and_train_resume_each_other_and_a_raising_unit_fails_alone(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA (the failing unit asks for it)")
    fails = "cuda"
    folder = tmp_path / "psm"
    lqr_train = ["lqr", "train", "--preset", "psm", "--distractors", "30", "--iterations", "20"]
    lqr_train += ["--test-envs", "2", "--device", "cpu", "--no-progress", "--out", str(folder)]
    assert cli.main([*lqr_train, "--seeds", "1-2"]) == 0
    jump = 'benchmark = "jumping"\npreset = "dropout-l2"\nseeds = 1\nepochs = 1\nbatch_size = 16\n'
    spec = _write_spec(
        tmp_path / "s.toml",
        tmp_path / "runs",
        [
            f'{LQR}preset = "psm"\nseeds = "1-3"\nout = "{folder}"\n',
            f"{jump}eval_every = 0\n",
            f'{LQR}preset = "ipo"\nseeds = 1\ndevice = "{fails}"\n',
        ],
    )
    capsys.readouterr()
    assert cli.main(["sweep", str(spec), "--workers", "2", "--no-progress"]) == 1
    out = capsys.readouterr().out
    # the unit that raises (asks for CUDA on a CPU machine) fails alone, without a retry
    assert out.count("ipo-nd30 seed 1: FAILED: ValueError") == 1, out
    assert "CUDA is not available" in out and "retrying" not in out
    assert "| 3 | lqr | ipo |" in out and "| 1 | 0 | 0 | 1 |" in out
    assert "2 seed(s) already done" in out and out.count("psm seed 3: test error") == 1
    # the jumping report of the sweep: the override and the short run on the row's label
    assert re.search(r"\| Dropout and ℓ2 reg\. \[batch_size=16\] \[\d+ epochs\] \|", out), out
    jumping = tmp_path / "runs" / "jumping" / "dropout-l2-wide"
    assert (jumping / "seed-001.json").exists() and (jumping / "seed-001.png").exists()
    # train skips what the sweep made
    assert cli.main([*lqr_train, "--seeds", "1-3"]) == 0
    assert "3 seed(s) already done" in capsys.readouterr().out
    j_train = ["jumping", "train", "--preset", "dropout-l2", "--epochs", "1", "--batch-size", "16"]
    j_train += ["--eval-every", "0", "--device", "cpu", "--seeds", "1", "--out", str(jumping)]
    assert cli.main(j_train) == 0
    assert "seed 1: done" in capsys.readouterr().out
    # a job of another configuration is refused in one line before any work
    spec.write_text(spec.read_text().replace("iterations = 20", "iterations = 21", 1))
    assert cli.main(["sweep", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "iterations 20 there, 21 requested" in err


def test_the_help_example_is_a_valid_spec(tmp_path, monkeypatch):
    lines = [line[2:] for line in sweep.EXAMPLE.splitlines() if line.startswith("  ")]
    spec = tmp_path / "example.toml"
    spec.write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=r"job 3 \(line \d+\): pairs: no pair data at runs/dcs"):
        sweep.parse_spec(spec, out=tmp_path / "runs")
    pairs = tmp_path / "runs/dcs/pairs-cartpole-swingup-cpu/pairs.npz"
    pairs.parent.mkdir(parents=True)
    pairs.touch()
    jumping, lqr, dmc = sweep.parse_spec(spec, out=tmp_path / "runs").jobs
    assert jumping.config.epochs == 2 and jumping.seeds == (1, 2)
    assert lqr.out == tmp_path / "runs" / "lqr" / "psm-nd500" and lqr.config.n_distractors == 500
    assert dmc.out == tmp_path / "runs" / "dmc" / "drq-pse-cpu-cartpole-swingup"
    assert dmc.config.method == "drq-pse" and dmc.seeds == (1, 2, 3, 4, 5)


#: the tiny Distracting Control job (a few seconds a seed): the settings of tests/experiments/dmc.
DMC_TINY = {
    "env_steps": 1000,
    "seed_steps": 100,
    "batch_size": 8,
    "num_filters": 8,
    "feature_dim": 16,
    "hidden_dim": 32,
    "eval_episodes": 1,
    "eval_train_episodes": 1,
}


def _without_timing(value):
    """A record without its wall-clock entries (at any depth) and code version."""
    if isinstance(value, dict):
        return {
            k: _without_timing(v)
            for k, v in value.items()
            if k not in VOLATILE and "seconds" not in k and k != "command"
        }
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def test_a_dcs_sweep_with_a_killed_worker_writes_what_dmc_train_writes(tmp_path, capsys):
    import torch

    pytest.importorskip("dm_control")
    job = 'benchmark = "dmc"\npreset = "drq-cpu"\ndomain = "cartpole"\ntask = "swingup"\n'
    job += "".join(f"{k} = {v}\n" for k, v in DMC_TINY.items())
    spec = _write_spec(
        tmp_path / "dmc.toml", tmp_path / "runs", [f'{job}seeds = "1-2"\ninject_sigkill = [2]\n']
    )
    threads = torch.get_num_threads()
    try:
        assert cli.main(["sweep", str(spec), "--workers", "2", "--no-progress"]) == 0
        out = capsys.readouterr().out
        folder = tmp_path / "runs" / "dmc" / "drq-cpu-cartpole-swingup"
        assert "seed 2: worker died (SIGKILL); retrying (attempt 2)" in out
        assert (folder / ".sigkill-seed-2").exists()
        assert sorted(p.name for p in folder.glob("seed-*")) == [
            "seed-001.json",
            "seed-001.png",
            "seed-002.json",
            "seed-002.png",
        ]
        assert not list(folder.glob(".seed-*.midrun.pt")) and "Table 3" in out
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in DMC_TINY.items()]
        train = tmp_path / "train"
        argv = ["dmc", "train", "--preset", "drq-cpu", "--domain", "cartpole", "--task", "swingup"]
        argv += ["--seeds", "1-2", "--device", "cpu", "--no-progress", "--out", str(train)]
        assert cli.main([*argv, *flags]) == 0
        # the same command on the sweep's folder finds both seeds done
        assert cli.main([*argv[:-1], str(folder), *flags]) == 0
        assert capsys.readouterr().out.count("done (return") == 2
    finally:
        torch.set_num_threads(threads)
    for seed in (1, 2):
        name = f"seed-{seed:03d}.json"
        swept, trained = (json.loads((d / name).read_text()) for d in (folder, train))
        assert _without_timing(swept) == _without_timing(trained), name
