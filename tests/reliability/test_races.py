"""Races on AWS's own DynamoDB Local (moto in-process is not atomic across threads), judged the
Jepsen way: every operation is recorded as invoked / ok / fail / unknown in a history (written to
test-artifacts/ as JSON lines) and a checker reads the history afterwards."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from deployments import derived, maintenance
from deployments import repository as deployments
from deployments.errors import InvalidTransition
from deployments.schemas import FINAL_STATUSES, DeploymentStatus
from infra.core.errors import Conflict, Unavailable
from projects import repository as projects
from tests.factories import PUSH
from tests.reliability.conftest import scale, stored_statuses

pytestmark = [
    pytest.mark.contract,
    pytest.mark.usefixtures("aws_stage"),
    pytest.mark.parametrize("aws_stage", ["ddblocal"], indirect=True),
]

S = DeploymentStatus


class History:
    """Operations as Jepsen records them: one line per invoke and one per completion."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._ids = iter(range(10**9))

    def run(self, process: int, f: str, value: dict[str, Any], call) -> Any:
        with self._lock:
            op = next(self._ids)
            self.events.append(
                {
                    "op": op,
                    "process": process,
                    "type": "invoke",
                    "f": f,
                    **value,
                    "time": time.monotonic(),
                }
            )
        outcome: dict[str, Any]
        result = None
        try:
            result = call()
            outcome = {"type": "ok"}
        except (InvalidTransition, Conflict) as error:
            outcome = {
                "type": "fail",
                "error": type(error).__name__,
                "status": getattr(error, "current_status", None),
            }
        except Unavailable as error:  # a timeout: it may or may not have happened
            outcome = {"type": "info", "error": str(error)}
        with self._lock:
            self.events.append(
                {"op": op, "process": process, "f": f, **value, **outcome, "time": time.monotonic()}
            )
        return result

    def completions(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] != "invoke"]

    def write(self, path: Path) -> None:
        path.write_text("".join(json.dumps(e) + "\n" for e in self.events))


def check_transitions(history: History, stored: dict[str, S]) -> dict[str, int]:
    """The checker: every acknowledged transition legal, at most one winner per (deployment,
    from-status), no final state ever left, every loser refused with InvalidTransition."""
    ok_targets: dict[str, list[S]] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    for event in history.completions():
        outcomes[f"{event['f']} {event['type']}"] += 1
        if event["f"] != "transition":
            assert event["type"] == "ok", event  # creates never fail
            continue
        if event["type"] == "ok":
            ok_targets[event["deployment"]].append(S(event["to"]))
        elif event["type"] == "fail":
            assert event["error"] == "InvalidTransition", event
    for deployment_id, targets in ok_targets.items():
        wins = Counter(targets)
        finals = [t for t in targets if t in FINAL_STATUSES]
        # From queued one winner (building or canceled), from building one winner (a final).
        assert wins[S.BUILDING] <= 1, (deployment_id, targets)
        assert len(finals) <= 1, (deployment_id, targets)  # no final state ever left
        if finals and finals[0] in (S.READY, S.ERROR):
            assert wins[S.BUILDING] == 1, (deployment_id, targets)  # ready/error need building
        final = finals[0] if finals else (S.BUILDING if wins[S.BUILDING] else S.QUEUED)
        assert stored[deployment_id] == final, (deployment_id, targets, stored[deployment_id])
    return dict(outcomes)


def test_sixteen_threads_of_racing_transitions_keep_the_status_machine(artifacts_dir):
    operations = scale(ci=2_000, full=10_000)
    count = scale(ci=50, full=120)
    project = projects.create_project(
        "racer", {"name": "racing", "repo_url": "https://github.com/r/racing"}
    )
    made = [deployments.create_deployment("racer", project.project_id, PUSH) for _ in range(count)]
    ids = [d.deployment_id for d in made]
    history = History()
    targets = [S.BUILDING, S.BUILDING, S.READY, S.ERROR, S.CANCELED]

    lock = threading.Lock()

    def worker(process: int) -> None:
        rng = random.Random(process)
        for _ in range(operations // 16):
            if rng.random() < 0.08:  # the orchestrator keeps pushing: fresh deployments to race on
                fresh = history.run(
                    process,
                    "create",
                    {},
                    partial(deployments.create_deployment, "racer", project.project_id, PUSH),
                )
                with lock:
                    ids.append(fresh.deployment_id)
                continue
            with lock:
                deployment_id = rng.choice(ids[-40:] if rng.random() < 0.7 else ids)
            to = rng.choice(targets)
            if rng.random() < 0.5:
                call = partial(deployments.update_deployment_status, deployment_id, to)
            else:
                call = partial(deployments.transition_deployment, "racer", deployment_id, to)
            history.run(process, "transition", {"deployment": deployment_id, "to": to.value}, call)

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(worker, range(16)))
    took = time.monotonic() - began
    history.write(artifacts_dir / "races-transitions.jsonl")
    outcomes = check_transitions(history, stored_statuses("racer", project.project_id))
    print(
        f"\n{len(history.completions())} operations over {len(ids)} deployments by 16 threads in "
        f"{took:.1f} s: {outcomes}; checker: 0 anomalies"
    )
    assert outcomes.get("transition ok", 0) >= count  # the race was real: deployments moved
    assert len(ids) >= scale(ci=80, full=100)
    rows = list(maintenance._rows(project.project_id))
    counted = {d: +c for d, c in derived.day_counts(rows).items()}
    stored = {d: +c for d, (_r, c) in maintenance._counter_revs(project.project_id).items() if +c}
    assert stored == counted  # counters equal a recount after the race


def test_concurrent_edits_of_one_version_have_exactly_one_winner(artifacts_dir):
    rounds = scale(ci=15, full=60)
    project = projects.create_project(
        "editor", {"name": "edited", "repo_url": "https://github.com/e/edited"}
    )
    history = History()
    for round_ in range(rounds):
        version = projects.get_project("editor", project.project_id).version
        barrier = threading.Barrier(8)

        def edit(
            process: int, version: int = version, round_: int = round_, barrier=barrier
        ) -> None:
            barrier.wait()
            history.run(
                process,
                "edit",
                {"round": round_, "version": version},
                lambda: projects.update_project(
                    "editor",
                    project.project_id,
                    {"name": f"edit-{round_}-{process}", "expected_version": version},
                ),
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(edit, range(8)))
    history.write(artifacts_dir / "races-edits.jsonl")
    wins = Counter(e["round"] for e in history.completions() if e["type"] == "ok")
    losses = [e for e in history.completions() if e["type"] == "fail"]
    assert all(e["error"] == "Conflict" for e in losses)
    assert all(wins[r] == 1 for r in range(rounds)), wins
    final = projects.get_project("editor", project.project_id)
    assert final.version == 1 + rounds
    print(f"\n{rounds} rounds of 8 concurrent edits: exactly one winner each")


def test_the_summary_ends_on_the_newest_deployment_in_its_current_status():
    rounds = scale(ci=20, full=100)
    project = projects.create_project(
        "summary", {"name": "summary", "repo_url": "https://github.com/s/summary"}
    )
    wrong = 0
    for _round in range(rounds):
        barrier = threading.Barrier(8)

        def push_and_move(process: int, barrier=barrier) -> None:
            barrier.wait()
            made = deployments.create_deployment("summary", project.project_id, PUSH)
            moves = [S.BUILDING, random.Random(process).choice([S.READY, S.ERROR])]
            for to in moves[: process % 3]:
                deployments.update_deployment_status(made.deployment_id, to)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(push_and_move, range(8)))
        newest = deployments.list_project_deployments("summary", project.project_id, limit=1)
        latest = projects.get_project("summary", project.project_id).latest_deployment
        current = newest.items[0]
        if (latest.deployment_id, latest.status) != (current.deployment_id, current.status.value):
            wrong += 1
    print(f"\n{rounds} rounds of 8 concurrent creates and transitions: summary wrong in {wrong}")
    assert wrong == 0
