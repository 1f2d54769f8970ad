"""The local AWS launcher: DynamoDB Local and moto's server start on loopback, answer, and stop."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra.core import aws
from infra.local import dynamodblocal, localaws, processes
from infra.local.processes import LocalService, LocalServiceError

pytestmark = pytest.mark.contract


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port`, read from /proc/net/tcp{,6}."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                addresses.add(address)
    return addresses


# 127.0.0.1 as the kernel prints it, plain and IPv4-mapped in IPv6.
LOOPBACK_HEX = {"0100007F", "0000000000000000FFFF00000100007F"}


def gone(service: LocalService) -> bool:
    return not processes.process_alive(service.pid) and not processes.port_in_use(service.port)


Use = Callable[[str, str], None]


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> Iterator[Use]:
    """use("dynamodb", endpoint) points the app's own clients there, through boto3's variable."""

    def point(service: str, endpoint: str) -> None:
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper()}", endpoint)
        aws.reset_clients()

    yield point
    monkeypatch.undo()
    aws.reset_clients()


def test_dynamodb_local_answers_on_loopback_only_and_leaves_no_process_when_stopped(
    dynamodb_local_installed: Path, use: Use
) -> None:
    service = dynamodblocal.start_dynamodb_local()
    try:
        assert service.endpoint == f"http://127.0.0.1:{service.port}"
        assert listening_addresses(service.port) <= LOOPBACK_HEX
        assert listening_addresses(service.port)
        use("dynamodb", service.endpoint)
        aws.dynamodb().create_table(
            TableName="launcher-check",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        table = aws.dynamodb().describe_table(TableName="launcher-check")["Table"]
        assert ":ddblocal:" in table["TableArn"]  # AWS's engine, not moto
    finally:
        service.stop()
    assert gone(service)
    assert service.log_path is not None and not service.log_path.exists()


def test_dynamodb_local_keeps_its_tables_on_disk_across_a_restart(
    dynamodb_local_installed: Path,
    tmp_path: Path,
    use: Use,
) -> None:
    first = dynamodblocal.start_dynamodb_local(data_dir=tmp_path)
    try:
        use("dynamodb", first.endpoint)
        aws.dynamodb().create_table(
            TableName="kept-table",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        aws.dynamodb().put_item(TableName="kept-table", Item={"PK": {"S": "prj_kept"}})
    finally:
        first.stop()
    second = dynamodblocal.start_dynamodb_local(data_dir=tmp_path)
    try:
        use("dynamodb", second.endpoint)
        item = aws.dynamodb().get_item(TableName="kept-table", Key={"PK": {"S": "prj_kept"}})
        assert item["Item"] == {"PK": {"S": "prj_kept"}}
    finally:
        second.stop()
    assert gone(second)


def test_dynamodb_local_that_cannot_bind_its_port_fails_with_the_reason(
    dynamodb_local_installed: Path,
) -> None:
    # Bound but not listening: the port looks free, so DynamoDB Local itself hits the conflict.
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        port = blocker.getsockname()[1]
        with pytest.raises(LocalServiceError) as raised:
            dynamodblocal.start_dynamodb_local(port=port)
    message = str(raised.value)
    assert "exited with code 1" in message
    assert "Address already in use" in message


def test_a_service_is_not_started_on_a_port_that_already_answers() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LocalServiceError, match=f"port {port} on 127.0.0.1 is already in use"):
            localaws.start_moto_server(port=port)


def test_moto_server_serves_s3_and_dynamodb_on_loopback_and_stops_cleanly(use: Use) -> None:
    service = localaws.start_moto_server()
    try:
        assert listening_addresses(service.port) <= LOOPBACK_HEX
        use("s3", service.endpoint)
        use("dynamodb", service.endpoint)
        aws.s3().create_bucket(
            Bucket="launcher-check",
            CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"},
        )
        aws.s3().put_object(Bucket="launcher-check", Key="logs/build.log", Body=b"ok\n")
        body = aws.s3().get_object(Bucket="launcher-check", Key="logs/build.log")["Body"]
        assert body.read() == b"ok\n"
        assert aws.dynamodb().list_tables()["TableNames"] == []
    finally:
        service.stop()
    assert gone(service)


START_AND_ABANDON = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from infra.local import localaws
    stack = localaws.start_local_stack(local_dir=Path(sys.argv[1]))
    print(stack.dynamodb.endpoint, stack.s3.endpoint, flush=True)
    if sys.argv[2] == "crash":
        os._exit(0)  # killed hard: no cleanup, the services stay up
    sys.stdin.read()  # a run still going, until the test closes its stdin
    stack.stop()
    """
)


def start_elsewhere(local_dir: Path, how: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", START_AND_ABANDON, str(local_dir), how],
        cwd=processes.PROJECT_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_run_reuses_and_then_stops_the_services_a_crashed_run_left_behind(
    dynamodb_local_installed: Path, tmp_path: Path
) -> None:
    crashed = start_elsewhere(tmp_path, "crash")
    endpoints_line, _ = crashed.communicate(timeout=120)
    state = json.loads((tmp_path / "run-state.json").read_text())
    left = [
        LocalService(entry["name"], entry["endpoint"], entry["pid"]) for entry in state.values()
    ]
    assert all(service.running() for service in left)

    stack = localaws.start_local_stack(local_dir=tmp_path)
    assert f"{stack.dynamodb.endpoint} {stack.s3.endpoint}" == endpoints_line.strip()
    assert sorted(stack.reused) == ["dynamodb", "s3"]
    stack.stop()

    assert [s.name for s in left if not gone(s)] == []
    assert not (tmp_path / "run-state.json").exists()


def test_a_second_run_shares_the_services_of_a_live_run_and_leaves_them_to_it(
    dynamodb_local_installed: Path, tmp_path: Path
) -> None:
    first = start_elsewhere(tmp_path, "live")
    assert first.stdout is not None and first.stdin is not None
    endpoints_line = first.stdout.readline().strip()
    try:
        second = localaws.start_local_stack(local_dir=tmp_path)
        assert f"{second.dynamodb.endpoint} {second.s3.endpoint}" == endpoints_line
        assert second.owned == []
        second.stop()
        assert processes.dynamodb_answers(second.dynamodb.endpoint)
        assert processes.s3_answers(second.s3.endpoint)
    finally:
        first.stdin.close()
        assert first.wait(timeout=30) == 0
    assert not processes.dynamodb_answers(second.dynamodb.endpoint)
    assert not (tmp_path / "run-state.json").exists()


def test_without_java_the_stack_serves_dynamodb_from_moto_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(localaws, "java_available", lambda: False)
    monkeypatch.setattr(localaws, "java_missing_reason", lambda: "Java is not installed")
    stack = localaws.start_local_stack(local_dir=tmp_path)
    try:
        assert stack.dynamodb.endpoint == stack.s3.endpoint
        assert processes.dynamodb_answers(stack.dynamodb.endpoint)
        assert stack.notes and stack.notes[0].startswith("Java is not installed; moto's server")
    finally:
        stack.stop()
    assert gone(stack.s3)


def test_the_support_shell_finds_the_endpoints_of_a_running_stack_and_only_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(localaws, "java_available", lambda: False)  # moto alone: fast
    assert localaws.running_stack_environment(tmp_path) is None
    stack = localaws.start_local_stack(local_dir=tmp_path)
    try:
        env = localaws.running_stack_environment(tmp_path)
        assert env is not None
        assert env["AWS_ENDPOINT_URL_DYNAMODB"] == stack.dynamodb.endpoint
        assert env["AWS_ENDPOINT_URL_S3"] == stack.s3.endpoint
    finally:
        stack.stop()
    assert localaws.running_stack_environment(tmp_path) is None


def test_local_shell_without_a_running_make_run_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.core.management import CommandError, call_command

    monkeypatch.setattr(localaws, "running_stack_environment", lambda: None)
    with pytest.raises(CommandError, match="start `make run` in another terminal"):
        call_command("local_shell")
