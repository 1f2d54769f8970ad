"""`manage.py run_console` end to end: a working console, kept data, nothing left after Ctrl-C."""

from __future__ import annotations

import http.cookiejar
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infra.core import aws
from infra.local import processes

pytestmark = pytest.mark.contract

READY_TIMEOUT = 180.0
SECOND_START_TARGET = 10.0  # seconds from the command to the login page (README)
# A terminal delivers Ctrl-C; a process started from a script may have SIGINT ignored for life.
DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


@dataclass
class Run:
    """A `run_console` started in its own process group, as a terminal would run it."""

    process: subprocess.Popen[str]
    port: int
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    output: list[str] = field(default_factory=list)

    def wait_for(self, pattern: str) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=READY_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r}; output so far:\n{self.text}")
            if line == "":
                pytest.fail(f"run_console ended before {pattern!r}; output:\n{self.text}")
            match = re.search(pattern, line)
            if match:
                return match

    def ctrl_c(self) -> int:
        """Interrupt the run's process group, as Ctrl-C in its terminal does, and wait."""
        os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(timeout=60)
        while self.lines.get(timeout=10) != "":
            pass
        return code

    @property
    def text(self) -> str:
        return "".join(self.output)


def start_run(local_dir: Path, database: Path) -> Run:
    port = processes.free_port()
    env = dict(os.environ, DEBUG="true", DATABASE_URL=f"sqlite:///{database}")
    command = [sys.executable, "-c", DEFAULT_SIGINT, str(processes.PROJECT_DIR / "manage.py")]
    command += ["run_console", "--port", str(port), "--no-seed", "--local-dir", str(local_dir)]
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    run = Run(process, port)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            run.output.append(line)
            run.lines.put(line)
        run.lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    return run


def processes_of(run: Run, local_dir: Path) -> list[int]:
    """The PIDs a run is responsible for: its local services and its dashboard server."""
    state = json.loads((local_dir / "run-state.json").read_text())
    pids = {entry["pid"] for entry in state.values()}
    marker = f"runserver 127.0.0.1:{run.port}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" "):
                    pids.add(int(entry.name))
            except OSError:
                continue
    return sorted(pids)


def log_in(port: int, username: str, password: str) -> str:
    """Log in through the admin's form like a browser; the URL the login lands on."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
    )
    login = f"http://127.0.0.1:{port}/admin/login/"
    page = opener.open(login, timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, page
    form = {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
    request = urllib.request.Request(  # noqa: S310 (a fixed http URL)
        login + "?next=/admin/",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Referer": login},
    )
    with opener.open(request, timeout=10) as response:
        return str(response.geturl())


@pytest.fixture
def use_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield
    monkeypatch.undo()
    aws.reset_clients()


def test_make_run_serves_the_console_keeps_data_and_ctrl_c_leaves_no_process(
    dynamodb_local_installed: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    use_dynamodb: None,
) -> None:
    local_dir, database = tmp_path / "local", tmp_path / "db.sqlite3"

    first = start_run(local_dir, database)
    try:
        first.wait_for(r"Console ready in [\d.]+s: http://127\.0\.0\.1:\d+/")
        credentials = first.wait_for(r"Log in as (\S+) with password (\S+)")
        username, password = credentials.groups()
        assert log_in(first.port, username, password).endswith("/admin/")
        assert log_in(first.port, username, "not-the-password").endswith(
            "/admin/login/?next=/admin/"
        )
        endpoint = first.text.split("DynamoDB Local started on ")[1].split()[0]
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        aws.reset_clients()
        aws.dynamodb().create_table(
            TableName="kept-across-runs",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        aws.dynamodb().put_item(TableName="kept-across-runs", Item={"PK": {"S": "prj_kept"}})
        started = processes_of(first, local_dir)
    finally:
        code = first.ctrl_c()
    assert code == 0, first.text
    assert "stopped moto-server" in first.text
    assert not [pid for pid in started if processes.process_alive(pid)]
    assert not processes.port_in_use(first.port)
    assert not (local_dir / "run-state.json").exists()

    started_at = time.monotonic()
    second = start_run(local_dir, database)
    try:
        second.wait_for(r"Console ready in")
        login_page = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        login_page.open(f"http://127.0.0.1:{second.port}/admin/login/", timeout=10).read()
        figure = time.monotonic() - started_at
        # The README's target is 10 s on this (shared) machine; fail only past twice that.
        print(f"second make run served the login page in {figure:.1f}s (target 10s)")
        assert figure < 2 * SECOND_START_TARGET, second.text
        assert "Log in as" not in second.text  # the account exists: no new password
        assert f"staff account in Operations: {username} (password unchanged)" in second.text
        endpoint = second.text.split("DynamoDB Local started on ")[1].split()[0]
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        aws.reset_clients()
        kept = aws.dynamodb().get_item(TableName="kept-across-runs", Key={"PK": {"S": "prj_kept"}})
        assert kept["Item"] == {"PK": {"S": "prj_kept"}}

        # The watchdog: DynamoDB Local killed under the console is said and restarted, on the
        # same port and data, so the dashboard's endpoint keeps working.
        dynamodb_pid = json.loads((local_dir / "run-state.json").read_text())["dynamodb"]["pid"]
        os.kill(dynamodb_pid, signal.SIGKILL)  # the DynamoDB Local this test's run started
        second.wait_for(r"DynamoDB Local stopped unexpectedly \(exit -9\) — restarting")
        second.wait_for(r"DynamoDB Local restarted on " + re.escape(endpoint))
        kept = aws.dynamodb().get_item(TableName="kept-across-runs", Key={"PK": {"S": "prj_kept"}})
        assert kept["Item"] == {"PK": {"S": "prj_kept"}}
        started = processes_of(second, local_dir)
        assert dynamodb_pid not in started
    finally:
        code = second.ctrl_c()
    assert code == 0, second.text
    assert not [pid for pid in started if processes.process_alive(pid)]
