"""The webhook's cold start as Lambda runs it: the built artifact, read-only, no bytecode written.

Lambda imports a function from its zip (task) and layers (/opt/python) on a read-only file system with
only those on the path. A figure taken from a development virtual environment, where every module has
its bytecode, hides what it costs to compile modules from source on every cold start. So this builds
the layer with its own Makefile for x86_64 (the arm64 layer cannot run on this machine; the same
wheels otherwise), the function with its own Makefile, and a baseline (FastAPI + Mangum + boto3 with a
DynamoDB client at init, `pip install --target` with pip's defaults), then imports each in a fresh
`python3.13 -B -S` with only task + layer on PYTHONPATH and Lambda's environment, in alternating
pairs, and prints medians and the ratio. `python tests/bench/cold_start_lambda.py` or `make bench`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PAIRS = int(os.environ.get("BENCH_COLD_PAIRS", "10"))
TARGET = 0.60
PROBE = (
    "import time, importlib; started = time.perf_counter(); importlib.import_module('app'); "
    "print(time.perf_counter() - started)"
)


def runtime_python() -> str:
    """pyenv's 3.13 first (its `python3.13` shim may refuse to run without PYENV_VERSION), then PATH's."""
    pyenv = subprocess.run(
        ["pyenv", "which", "python"],
        env={**os.environ, "PYENV_VERSION": "3.13.0"},
        capture_output=True,
        text=True,
        check=False,
    )
    found = pyenv.stdout.strip() if pyenv.returncode == 0 else shutil.which("python3.13")
    if not found:
        raise SystemExit("Python 3.13 (the Lambda runtime's) is needed for this benchmark")
    return found


def build(workdir: Path, python: str) -> dict[str, tuple[Path, Path]]:
    """(task, layer) directories for the webhook as shipped and for the baseline."""
    layer = workdir / "layer"
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(ROOT / "layers/arrowhook"),
            "build-ArrowhookLayer",
            f"ARTIFACTS_DIR={layer}",
            "LAMBDA_PLATFORM=manylinux2014_x86_64",
            f"BYTECODE_PYTHON={python}",
        ],
        check=True,
        capture_output=True,
    )
    task = workdir / "task"
    task.mkdir()
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(ROOT / "functions/webhook"),
            "build-WebhookFunction",
            f"ARTIFACTS_DIR={task}",
            f"BYTECODE_PYTHON={python}",
        ],
        check=True,
        capture_output=True,
    )
    baseline_site, baseline_task = workdir / "baseline-site", workdir / "baseline-task"
    baseline_task.mkdir()
    pins = [
        line.split()[0]
        for line in (ROOT / "layers/arrowhook/requirements.txt").read_text().splitlines()
        if line.split() and line.split()[0].split("==")[0] in {"fastapi", "mangum", "boto3"}
    ]
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(baseline_site),
            *pins,
        ],
        check=True,
        capture_output=True,
    )
    shutil.copy(ROOT / "tests/bench/baseline_fastapi_app.py", baseline_task / "app.py")
    return {"webhook": (task, layer / "python"), "baseline": (baseline_task, baseline_site)}


def lambda_environment(task: Path, layer: Path) -> dict[str, str]:
    from arrowhook_tools.local.template import LocalTemplate
    from tests.bench.bench_webhook import LAMBDA_VARIABLES

    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    environment.update(LocalTemplate().function_spec("WebhookFunction").environment)
    environment.update({**LAMBDA_VARIABLES, "PYTHONPATH": f"{task}:{layer}", "PYTHONDONTWRITEBYTECODE": "1"})
    return environment


def import_seconds(python: str, task: Path, layer: Path) -> float:
    output = subprocess.run(
        [python, "-B", "-S", "-c", PROBE],
        cwd=task,
        env=lambda_environment(task, layer),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(output.strip().splitlines()[-1])


def paired(python: str, artifacts: dict[str, tuple[Path, Path]], pairs: int = PAIRS) -> dict[str, list[float]]:
    """Alternate the two imports so that machine noise hits both alike; the first pair warms the page cache."""
    times: dict[str, list[float]] = {name: [] for name in artifacts}
    for number in range(pairs + 1):
        for name, (task, layer) in artifacts.items():
            seconds = import_seconds(python, task, layer)
            if number:
                times[name].append(seconds)
    return times


def source_only(layer: Path, task: Path) -> None:
    """The layer as it shipped before bytecode was compiled in (for the 'what it bought' line)."""
    for cache in [*layer.rglob("__pycache__"), *task.rglob("__pycache__")]:
        shutil.rmtree(cache)


def main() -> None:
    python = runtime_python()
    with tempfile.TemporaryDirectory(prefix="arrowhook-cold-") as scratch:
        workdir = Path(scratch)
        artifacts = build(workdir, python)
        times = paired(python, artifacts)
        webhook, baseline = statistics.median(times["webhook"]), statistics.median(times["baseline"])
        ratios = [mine / theirs for mine, theirs in zip(times["webhook"], times["baseline"], strict=True)]
        ratio = statistics.median(ratios)
        verdict = "meets" if ratio <= TARGET else "MISSES"
        print(f"Cold start as Lambda imports it (built artifact, python3.13 -B -S, task + layer only; {PAIRS} pairs)")
        print(f"  webhook (layer with cp313 bytecode)        {webhook * 1000:8.1f} ms")
        print(f"  FastAPI + Mangum + boto3 (pip --target)    {baseline * 1000:8.1f} ms")
        print(f"  median of paired ratios                    {ratio:8.2f}   {verdict} the target <= {TARGET:.2f}")
        task, layer = artifacts["webhook"]
        source_only(layer, task)
        without = paired(
            python, {"webhook": (task, layer), "baseline": artifacts["baseline"]}, pairs=max(3, PAIRS // 2)
        )
        before = statistics.median(
            mine / theirs for mine, theirs in zip(without["webhook"], without["baseline"], strict=True)
        )
        print(
            f"  the same layer shipped as source only      {statistics.median(without['webhook']) * 1000:8.1f} ms"
            f"   ratio {before:.2f} (what compiled bytecode bought)"
        )


if __name__ == "__main__":
    main()
