"""`make sam-local`: SAM's own `sam local invoke`, in Docker, for every sample in events/, answers checked.

No container registry is needed: the Lambda Python 3.13 image SAM expects is built here from Debian
trixie's python3.13 (debootstrap) plus AWS's runtime interface client (awslambdaric, hash-locked in
requirements/lambda-image.txt), and tagged with the name SAM looks for, so `--skip-pull-image` uses it.
The functions are built for this machine's processor (`Architecture=x86_64` on x86_64: no emulation)
and run against an embedded AWS that listens on Docker's bridge, with the `--env-vars` file `make dev`
writes. Without Docker it says "skipped: no Docker" and succeeds.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess  # nosec B404 - runs docker, debootstrap and sam with fixed arguments
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from arrowhook_tools.cli.samples import SAMPLE_EVENTS, SampleEvent
from arrowhook_tools.local.containers import write_sam_env
from arrowhook_tools.local.template import LOCAL_REGION, PROJECT_ROOT
from arrowhook_tools.standins.embedded_aws import LOCAL_CREDENTIALS

DEBIAN_SUITE = "trixie"  # its python3.13 is the runtime's minor version
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE = PROJECT_ROOT / ".arrowhook" / "lambda-image"
SAM = PROJECT_ROOT / ".venv-sam" / "bin" / "sam"
#: SAM's start-api builds the layer's image and starts a container per request: minutes on a slow machine.
START_API_WAIT_SECONDS = 180.0
#: What AWS's base image runs: the runtime interface client, with the function and its layers on the path.
BOOTSTRAP = """#!/bin/sh
# Lambda's Python runtime, as in AWS's base image: built locally by `make sam-local` (no registry).
export PYTHONPATH="/var/task:/opt/python:/var/runtime/lib${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3.13 -m awslambdaric "$_HANDLER"
"""
#: The SDK inside the containers and SAM's own account lookup: fake credentials, no retries on a miss.
SAM_ENVIRONMENT = {
    **LOCAL_CREDENTIALS,
    "AWS_DEFAULT_REGION": LOCAL_REGION,
    "AWS_MAX_ATTEMPTS": "1",
    "SAM_CLI_TELEMETRY": "0",
}


def lambda_architecture(machine: str | None = None) -> str:
    """Lambda's name for this machine's processor."""
    return "arm64" if (machine or platform.machine()).lower() in ("aarch64", "arm64") else "x86_64"


def wheel_platform(architecture: str) -> str:
    """pip's --platform for wheels that run on the architecture (the layer's LAMBDA_PLATFORM)."""
    return "manylinux2014_aarch64" if architecture == "arm64" else "manylinux2014_x86_64"


def image_tag(architecture: str) -> str:
    """The image SAM asks Docker for when it runs a python3.13 function."""
    return f"public.ecr.aws/lambda/python:3.13-{architecture}"


def docker_problem() -> str | None:
    """Why Docker cannot be used here, or None when its engine answers."""
    if shutil.which("docker") is None:
        return "no docker command"
    answer = _run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False)
    return None if answer.returncode == 0 else "the Docker engine does not answer (is dockerd running?)"


def build_lambda_image(architecture: str, *, rebuild: bool = False) -> str:
    """Build (once) the python3.13 Lambda image under SAM's name for it; returns the tag."""
    tag = image_tag(architecture)
    if not rebuild and _run(["docker", "image", "inspect", tag], check=False).returncode == 0:
        return tag
    rootfs = CACHE / architecture / "rootfs"
    if not (rootfs / "usr" / "bin" / "python3.13").exists():
        if shutil.which("debootstrap") is None:
            raise SystemExit("make sam-local builds its image with debootstrap: apt-get install debootstrap")
        shutil.rmtree(rootfs, ignore_errors=True)
        rootfs.mkdir(parents=True)
        debian_architecture = "arm64" if architecture == "arm64" else "amd64"
        print(f"building the Lambda image: debootstrap {DEBIAN_SUITE} ({debian_architecture})...", flush=True)
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--arch={debian_architecture}",
                "--include=python3.13,ca-certificates",
                DEBIAN_SUITE,
                str(rootfs),
                DEBIAN_MIRROR,
            ]
        )
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            shutil.rmtree(rootfs / leftover, ignore_errors=True)
    runtime = rootfs / "var" / "runtime"
    shutil.rmtree(runtime / "lib", ignore_errors=True)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "--no-deps",
            "--requirement",
            str(PROJECT_ROOT / "requirements" / "lambda-image.txt"),
            "--target",
            str(runtime / "lib"),
            "--platform",
            wheel_platform(architecture),
            "--implementation",
            "cp",
            "--python-version",
            "3.13",
            "--only-binary=:all:",
        ]
    )
    (runtime / "bootstrap").write_text(BOOTSTRAP)
    (runtime / "bootstrap").chmod(0o755)
    for folder in ("var/task", "opt"):
        (rootfs / folder).mkdir(parents=True, exist_ok=True)
    changes = [
        "ENV LAMBDA_TASK_ROOT=/var/task",
        "ENV LAMBDA_RUNTIME_DIR=/var/runtime",
        "ENV LANG=C.UTF-8",
        "WORKDIR /var/task",
        'ENTRYPOINT ["/var/runtime/bootstrap"]',
    ]
    archive = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)  # nosec B603 B607
    arguments = ["docker", "import", *(part for change in changes for part in ("--change", change)), "-", tag]
    imported = subprocess.run(arguments, stdin=archive.stdout, capture_output=True, text=True, check=False)  # nosec B603
    archive.wait()
    if imported.returncode != 0 or archive.returncode != 0:
        raise SystemExit(f"docker import failed: {imported.stderr.strip()}")
    return tag


def build_functions(architecture: str) -> Path:
    """`sam build` for this processor, apart from the deployable arm64 build in .aws-sam/build."""
    build_dir = PROJECT_ROOT / ".aws-sam" / f"local-{architecture}"
    print(f"sam build ({architecture}) into {build_dir.relative_to(PROJECT_ROOT)}...", flush=True)
    _run(
        [
            str(SAM),
            "build",
            "--build-dir",
            str(build_dir),
            "--parameter-overrides",
            f"Architecture={architecture}",
        ],
        environment={"LAMBDA_PLATFORM": wheel_platform(architecture)},
    )
    return build_dir / "template.yaml"


def invoke(sample: SampleEvent, template: Path, env_vars: Path, architecture: str) -> tuple[Any, str]:
    """One `sam local invoke`; returns the function's result (None if it gave none) and SAM's stderr."""
    answer = _run(
        [
            str(SAM),
            "local",
            "invoke",
            sample.function_id,
            "--event",
            str(PROJECT_ROOT / "events" / sample.file),
            *_local_options(template, env_vars, architecture),
        ],
        check=False,
        environment=SAM_ENVIRONMENT,
    )
    lines = [line for line in answer.stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    return result, answer.stderr


def _local_options(template: Path, env_vars: Path, architecture: str) -> list[str]:
    """What `--config-env local` gives a developer, spelled out for a build and env file of this run."""
    return [
        "--template-file",
        str(template),
        "--env-vars",
        str(env_vars),
        "--parameter-overrides",
        f"Architecture={architecture}",
        "--skip-pull-image",
        "--region",
        LOCAL_REGION,
    ]


def summary(result: Any) -> str:
    if isinstance(result, dict) and "statusCode" in result:
        return f"{result['statusCode']} {result.get('body', '')}"[:90]
    return json.dumps(result)[:90]


def check_start_api(template: Path, env_vars: Path, architecture: str, admin_token: str) -> list[tuple[str, bool]]:
    """`sam local start-api` on a free port: the webhook stores an alert, an admin route passes SAM's run of
    the Lambda authorizer with the admin token and is refused without it."""
    import httpx

    from arrowhook_tools.cli.samples import strategy_alert
    from arrowhook_tools.local.stack import DEMO_SECRET

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [str(SAM), "local", "start-api", "--port", str(port), *_local_options(template, env_vars, architecture)]
    server = subprocess.Popen(  # nosec B603 - fixed command, no shell
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **SAM_ENVIRONMENT},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_API_WAIT_SECONDS
        while not _answers(url):
            if server.poll() is not None or time.monotonic() > deadline:
                return [("sam local start-api started", False)]
            time.sleep(0.5)
        with httpx.Client(base_url=url, timeout=START_API_WAIT_SECONDS) as http:
            alert = strategy_alert(DEMO_SECRET, nonce=uuid.uuid4().hex)
            stored = http.post("/webhook", content=alert, headers={"Content-Type": "application/json"})
            admin = http.get("/keys", headers={"Authorization": f"Bearer {admin_token}"})
            refused = http.get("/keys", headers={"Authorization": "Bearer not-the-token"})
        return [
            ("POST /webhook: 200, stored", stored.status_code == 200 and stored.json().get("status") == "stored"),
            ("GET /keys with the admin token: 200", admin.status_code == 200 and "items" in admin.json()),
            ("GET /keys with another token: refused", refused.status_code in (401, 403)),
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    import httpx

    try:
        httpx.get(f"{url}/__ready", timeout=2)
    except httpx.HTTPError:
        return False
    return True


def main() -> int:
    from arrowhook_tools.local.stack import local_stack, seed_demo_key
    from arrowhook_tools.standins.embedded_aws import dynamodb

    problem = docker_problem()
    if problem is not None:
        print(f"skipped: no Docker ({problem}); `arrowhook invoke` runs the same samples without it")
        return 0
    architecture = lambda_architecture()
    tag = build_lambda_image(architecture, rebuild=os.environ.get("REBUILD_IMAGE") == "1")
    template = build_functions(architecture)
    failures = 0
    with (
        local_stack(api_port=None, aws_port=0, streams=False, containers=True) as stack,
        tempfile.TemporaryDirectory() as scratch,
    ):
        endpoint = stack.aws.container_endpoint
        if endpoint is None:
            print("Docker runs, but its default bridge (docker0) was not found: containers cannot reach this host")
            return 1
        seed_demo_key(stack.template, dynamodb(stack.aws.endpoint))
        env_vars = write_sam_env(stack.template, endpoint, Path(scratch) / "sam-env.json")
        print(f"sam local invoke with {tag}, functions reaching the embedded AWS at {endpoint}:", flush=True)
        for sample in SAMPLE_EVENTS:
            started = time.monotonic()
            result, stderr = invoke(sample, template, env_vars, architecture)
            passed = sample.accepts(result)
            failures += not passed
            print(
                f"  {_verdict(passed)} {sample.function_id:<16} {sample.file:<30} {time.monotonic() - started:5.1f} s  "
                f"{summary(result)}",
                flush=True,
            )
            if not passed:
                print(f"       expected: {sample.answer}")
                print("\n".join(f"       | {line}" for line in stderr.splitlines()[-15:]))
        print(f"{len(SAMPLE_EVENTS) - failures} of {len(SAMPLE_EVENTS)} samples answered as docs/development.md states")
        print("sam local start-api, the template's routes and authorizer:", flush=True)
        checks = check_start_api(template, env_vars, architecture, stack.admin_token)
        for name, passed in checks:
            failures += not passed
            print(f"  {_verdict(passed)} {name}", flush=True)
    return 1 if failures else 0


def _verdict(passed: bool) -> str:
    return "ok  " if passed else "FAIL"


def _run(
    command: list[str], *, check: bool = True, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    answer = subprocess.run(  # nosec B603 - fixed commands, no shell
        command, capture_output=True, text=True, check=False, env={**os.environ, **(environment or {})}
    )
    if check and answer.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{answer.stderr[-3000:]}")
    return answer


if __name__ == "__main__":
    sys.exit(main())
