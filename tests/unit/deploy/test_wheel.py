"""The built wheel works outside the checkout: `pip install .` gives a working `inferwatch`.

The wheel is built from a copy of the sources (so the checkout gets no build/ folder) and
installed without dependencies into a fresh virtual environment in a temporary folder.
That environment sees the running one's site-packages through a ``.pth`` file, for the
dependencies only (torch is not installed twice); inferwatch itself must come from the
wheel: the commands run from the temporary folder, with no PYTHONPATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from streams.storage.migrations import load

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ("pyproject.toml", "README.md", "streams", "detectors", "inference", "retrain")


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_installed_wheel_runs_help_and_summary_on_chdb(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "INFERWATCH_"))}
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
          "-w", str(tmp_path / "dist"), str(src)], tmp_path, env)
    (wheel,) = (tmp_path / "dist").glob("inferwatch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"streams/resources/clickhouse/0001_baseline.sql",
            "streams/resources/clickhouse/0002_prediction_unit_id.sql",
            "streams/resources/clickhouse/0003_experiment_decisions.sql",
            "streams/resources/grafana/inferwatch.json", "streams/cli/main.py"} <= names
    assert not any(n.startswith(("tests/", "deploy/", "bench/")) for n in names)

    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     tmp_path, env).strip())
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
          str(wheel)], tmp_path, env)

    where = _run([str(python), "-c", "import streams; print(streams.__file__)"], tmp_path, env)
    assert Path(where.strip()).is_relative_to(fresh)
    assert "summary" in _run([str(fresh / "bin" / "inferwatch"), "--help"], tmp_path, env)
    env["INFERWATCH_CLICKHOUSE_PATH"] = str(tmp_path / "chdb")
    summary = _run([str(fresh / "bin" / "inferwatch"), "summary"], tmp_path, env)
    assert "== inferwatch summary (from ClickHouse) ==" in summary
    assert "alerts       firing 0, resolved 0" in summary
    # the store was made from the migrations inside the wheel, and the dashboard is there
    check = ("from streams.storage.clickhouse_store import ClickHouseStore; "
             "from streams.report.grafana import DASHBOARD; import json; "
             f"s = ClickHouseStore('chdb://{tmp_path / 'chdb'}'); "
             "print(s.query('SELECT version FROM schema_migrations ORDER BY version'), "
             "json.loads(DASHBOARD.read_text())['uid'])")
    shipped = str([(m.version,) for m in load()]).split()  # every migration in the tree
    assert _run([str(python), "-c", check], tmp_path, env).split() == [*shipped, "inferwatch"]
