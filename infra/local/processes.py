"""The local services' processes on loopback: ports, launching and probing one, stopping it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
LOCAL_DIR = PROJECT_DIR / ".local"  # git-ignored: downloads, data, logs and run state
LOOPBACK = "127.0.0.1"

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
        elif process_is(self.pid, *markers_of(self.name)):
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


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def launch(
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


def markers_of(name: str) -> tuple[str, ...]:
    return (_MARKERS[name], _PERSISTENT_S3_MARKER) if name == MOTO_SERVER else (_MARKERS[name],)


def process_is(pid: int, *markers: str) -> bool:
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
