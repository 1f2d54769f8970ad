"""Run the console locally: DynamoDB Local (data in .local/dynamodb-data) and moto's server for S3
on loopback, migrations, `provision --stage dev`, demo data, a staff account, then the dashboard
on 127.0.0.1. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser

from infra.local import localaws, processes
from infra.local.localaws import LocalStack
from infra.local.processes import LocalServiceError

STAGE = "dev"
# The recount and the seed are batch jobs, not requests: on a busy machine an emulator can take
# longer than a page's 2 s read timeout to answer one of their many writes.
_OFFLINE_TIMEOUTS = {"AWS_READ_TIMEOUT": "30", "AWS_CONNECT_TIMEOUT": "5"}
STAFF_GROUP = "Operations"
STAFF_USERNAME = "operator"
SERVER_START_TIMEOUT = 60.0
WATCH_INTERVAL = 0.5  # seconds between looks at the dashboard and the local AWS services
WATCHED = {processes.DYNAMODB_LOCAL: "DynamoDB Local", processes.MOTO_SERVER: "moto server (S3)"}
# Variables that would send a child to a real AWS account or past the local endpoints.
UNSAFE_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL")


class Command(BaseCommand):
    help = __doc__  # the module's docstring is the command's --help

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=8000,
            help="the dashboard's port on 127.0.0.1 (default 8000; a free one when it is taken)",
        )
        parser.add_argument(
            "--dynamodb",
            choices=["auto", "local", "moto"],
            default="auto",
            help="DynamoDB engine: AWS's DynamoDB Local (needs Java 17), moto's server, or auto "
            "(DynamoDB Local when Java is there; the default)",
        )
        parser.add_argument("--no-seed", action="store_true", help="do not load demo data")
        parser.add_argument(
            "--simulate-builds",
            action="store_true",
            help="keep a demo build running: a deployment stays building while its log grows a "
            "line every 3 s, then ends ready, and the next one starts (manage.py simulate_builds)",
        )
        parser.add_argument(
            "--local-dir",
            type=Path,
            default=processes.LOCAL_DIR,
            help="where DynamoDB Local keeps its data and the run its state and logs "
            "(default .local)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.began = self.lap_began = time.monotonic()
        stack: LocalStack | None = None
        server: subprocess.Popen[bytes] | None = None
        simulator: subprocess.Popen[bytes] | None = None
        self.stdout.write(self.style.MIGRATE_HEADING("anchor-deploy console, locally"))
        if not settings.DEBUG:
            self.note("DEBUG is off, so runserver serves no static files (`make run` sets it)")
        migrate: subprocess.Popen[str] | None = None
        try:
            with _stop_signals_interrupt():
                # Django's own database needs no AWS: migrate while the emulators start.
                migrate = self.start_child(
                    _base_environment(), "migrate", "--noinput", "--verbosity", "0"
                )
                try:
                    stack = localaws.start_local_stack(
                        local_dir=options["local_dir"].resolve(),
                        dynamodb_engine=options["dynamodb"],
                        progress=self.progress,
                    )
                except LocalServiceError as error:
                    raise CommandError(f"local AWS could not start: {error}") from error
                for note in stack.notes:
                    self.note(note)
                env = child_environment(stack)
                self.finish_child(migrate, "migrate")
                migrate = None
                self.manage(env, "provision", "--stage", STAGE)
                # Data kept from an earlier release lacks the status index keys and day counters:
                # fill them in (projects already complete are skipped, so this is quick).
                offline = {**env, **_OFFLINE_TIMEOUTS}
                self.manage(offline, "recount_deployments", label="recount_deployments")
                if options["no_seed"]:
                    self.note("demo data not loaded (--no-seed)")
                else:
                    self.manage(offline, "seed_demo")
                credentials = self.ensure_staff_account()
                server, url = self.start_server(env, options["port"])
                if options["simulate_builds"]:
                    simulator = self.start_simulator(env, options["local_dir"].resolve())
                self.ready(url, credentials)
                self.watch(server, stack, options["local_dir"].resolve())
        except KeyboardInterrupt:
            self.stdout.write("")
            self.stdout.write("Stopping ...")
        finally:
            if migrate is not None and migrate.poll() is None:
                _stop_group(migrate)
            if simulator is not None:
                _stop_group(simulator)
            self.shut_down(server, stack)

    # --- progress ---------------------------------------------------------------------------

    def progress(self, message: str) -> None:
        now = time.monotonic()
        if message.endswith("..."):  # a step beginning: its time comes with the next line
            self.stdout.write(f"  {message}")
        else:
            lap = self.style.HTTP_INFO(f"({now - self.lap_began:.1f}s)")
            self.stdout.write(f"  {message} {lap}")
        self.lap_began = now

    def note(self, message: str) -> None:
        self.stdout.write(self.style.WARNING(f"  note: {message}"))

    # --- steps ------------------------------------------------------------------------------

    def manage(self, env: dict[str, str], name: str, *arguments: str, label: str = "") -> None:
        """Run `manage.py NAME ...` as a child with the local endpoints, its lines indented."""
        shown = label or " ".join((name, *arguments))
        self.lap_began = time.monotonic()
        self.finish_child(self.start_child(env, name, *arguments), shown)

    def start_child(self, env: dict[str, str], name: str, *arguments: str) -> subprocess.Popen[str]:
        command = [sys.executable, str(processes.PROJECT_DIR / "manage.py"), name, *arguments]
        return subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # Ctrl-C reaches us; shutting down ends it
        )

    def finish_child(self, child: subprocess.Popen[str], shown: str) -> None:
        """Print a child's lines under its step (indented, so its warnings line up too)."""
        assert child.stdout is not None
        for line in child.stdout:
            self.stdout.write(f"    {line.rstrip()}")
        code = child.wait()
        if code != 0:
            raise CommandError(f"`manage.py {shown}` failed (exit {code}); see above")
        self.progress(f"{shown} done")

    def watch(self, server: subprocess.Popen[bytes], stack: LocalStack, local_dir: Path) -> None:
        """Wait on the dashboard; restart a local AWS service that dies under it, saying so."""
        while True:
            code = server.poll()
            if code is not None:
                raise CommandError(f"the dashboard server stopped by itself (exit {code})")
            for service in _unique(stack.owned):
                if service._process is None or service._process.poll() is None:
                    continue
                label = WATCHED[service.name]
                said = f"{label} stopped unexpectedly (exit {service._process.returncode})"
                self.stdout.write(self.style.ERROR(f"{said} — restarting"))
                try:
                    replacement = localaws.restart_service(stack, service, local_dir)
                except LocalServiceError as error:
                    raise CommandError(f"{said}; restarting it failed: {error}") from error
                self.stdout.write(
                    f"  {label} restarted on {replacement.endpoint} (pid {replacement.pid})"
                )
            time.sleep(WATCH_INTERVAL)

    def ensure_staff_account(self) -> tuple[str, str] | None:
        """A staff account in the Operations group: created with a new password if none exists."""
        group, _ = Group.objects.get_or_create(name=STAFF_GROUP)
        user_model = get_user_model()
        staff = user_model.objects.filter(is_staff=True, is_active=True, groups=group)
        existing = sorted(staff.values_list("username", flat=True))
        if existing:
            names = ", ".join(existing)
            self.progress(f"staff account in {STAFF_GROUP}: {names} (password unchanged)")
            return None
        username = STAFF_USERNAME
        taken = set(user_model.objects.values_list("username", flat=True))
        suffix = 2
        while username in taken:
            username, suffix = f"{STAFF_USERNAME}{suffix}", suffix + 1
        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_user(username=username, password=password, is_staff=True)
        user.groups.add(group)
        self.progress(f"staff account {username} created in {STAFF_GROUP}")
        return username, password

    def start_server(self, env: dict[str, str], port: int) -> tuple[subprocess.Popen[bytes], str]:
        if processes.port_in_use(port):
            free = processes.free_port()
            self.note(f"port {port} is taken; the dashboard uses {free} instead")
            port = free
        command = [
            sys.executable,
            str(processes.PROJECT_DIR / "manage.py"),
            "local_runserver",
            f"{processes.LOOPBACK}:{port}",
        ]
        # A session of its own, so shutting down can end runserver and its autoreloader child
        # together (and nothing else).
        server = subprocess.Popen(command, env=env, start_new_session=True)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not processes.port_in_use(port):
            if server.poll() is not None:
                raise CommandError(f"the dashboard server exited with code {server.returncode}")
            if time.monotonic() > deadline:
                raise CommandError(f"the dashboard server did not listen on port {port}")
            time.sleep(0.1)
        self.progress(f"dashboard listening on {processes.LOOPBACK}:{port}")
        return server, f"http://{processes.LOOPBACK}:{port}/"

    def start_simulator(self, env: dict[str, str], local_dir: Path) -> subprocess.Popen[bytes]:
        """`manage.py simulate_builds` in a session of its own, its lines in a file."""
        log_path = local_dir / "simulate_builds.log"
        command = [sys.executable, str(processes.PROJECT_DIR / "manage.py"), "simulate_builds"]
        with log_path.open("ab") as log:
            child = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.progress(f"simulated builds running (pid {child.pid}, lines in {log_path})")
        return child

    def ready(self, url: str, credentials: tuple[str, str] | None) -> None:
        self.stdout.write("")
        total = time.monotonic() - self.began
        self.stdout.write(self.style.SUCCESS(f"Console ready in {total:.1f}s: {url}"))
        if credentials:
            username, password = credentials
            self.stdout.write(f"  Log in as {username} with password {password}")
            self.stdout.write(
                "  (shown this once; "
                f"`DEBUG=true .venv/bin/python manage.py changepassword {username}` sets a new one)"
            )
        self.stdout.write(
            f"  Times are {settings.TIME_ZONE} time (UTC+8) here, in the request log and on "
            "every page; they are stored in UTC."
        )
        self.stdout.write("  Press Ctrl-C to stop the dashboard and the local AWS services.")

    def shut_down(self, server: subprocess.Popen[bytes] | None, stack: LocalStack | None) -> None:
        # Ctrl-C pressed again while shutting down must not leave half of it running.
        with _signals_ignored():
            if server is not None:
                _stop_group(server)
                self.stdout.write("  dashboard stopped")
            if stack is not None:
                stopped = [f"{s.name} (pid {s.pid})" for s in _unique(stack.owned)]
                left = [
                    f"{s.name} (pid {s.pid})"
                    for s in _unique([stack.dynamodb, stack.s3])
                    if s.pid not in {o.pid for o in stack.owned}
                ]
                stack.stop()
                if stopped:
                    self.stdout.write(f"  stopped {', '.join(stopped)}")
                if left:
                    self.stdout.write(
                        f"  left running for the run that started them: {', '.join(left)}"
                    )


def _base_environment() -> dict[str, str]:
    # Children inherit PATH, DEBUG and the rest; the AWS variables are replaced, never read.
    env = {k: v for k, v in os.environ.items() if k not in UNSAFE_VARIABLES}
    env["ANCHOR_STAGE"] = STAGE
    env["PYTHONUNBUFFERED"] = "1"  # children's lines appear in order with ours
    return env


def child_environment(stack: LocalStack) -> dict[str, str]:
    """The environment of every child: this one, pointed at the local endpoints with dummy keys."""
    return {**_base_environment(), **stack.environment()}


def _unique(services: list[processes.LocalService]) -> list[processes.LocalService]:
    return list({service.pid: service for service in services}.values())


def _stop_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """End a child started in its own session, with everything in that session (its group)."""
    # SIGTERM rather than SIGINT: a process started from a script may ignore SIGINT for life.
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # The autoreloader's child shares the group and may outlive its parent by a moment.
    deadline = time.monotonic() + timeout
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _group_alive(process.pid):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return any(
        _process_group(entry) == group for entry in Path("/proc").iterdir() if entry.name.isdigit()
    )


def _process_group(proc_entry: Path) -> int | None:
    try:
        stat = (proc_entry / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return None if fields[0] in {"Z", "X"} else int(fields[2])


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal) stop the console like Ctrl-C does."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
