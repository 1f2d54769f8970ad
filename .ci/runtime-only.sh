#!/usr/bin/env bash
# Production's install alone: a fresh virtualenv with requirements.txt (no test, lint or local-stack
# tools) imports every production module, passes `manage.py check --deploy` with production-like
# settings, and serves the health check and the admin login page under gunicorn (`manage.py serve`).
# Needs only PyPI. Cleans up its server and its folder however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/anchor-runtime-only.XXXXXX")"
server=""
cleanup() {
    if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "runtime-only: installing requirements.txt into a fresh virtualenv ..."
"$PYTHON" -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -qq --upgrade pip
"$py" -m pip install -qq -r requirements.txt

# Production-like environment: DEBUG off, a real secret, HTTPS settings on (the proxy's
# X-Forwarded-Proto says https), its own database and static folder.
export DEBUG=false
export SECRET_KEY="runtime-only-$("$py" -c 'import secrets; print(secrets.token_urlsafe(48))')"
export ALLOWED_HOSTS=127.0.0.1
export DATABASE_URL="sqlite:///$work/db.sqlite3"
export STATIC_ROOT="$work/static"
mkdir -p "$STATIC_ROOT"
export ANCHOR_STAGE=production AWS_REGION=ap-southeast-1
export AWS_ACCESS_KEY_ID=runtime-only AWS_SECRET_ACCESS_KEY=runtime-only
export GUNICORN_WORKERS=1 LOG_LEVEL=WARNING
unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_S3 SECURE_SSL_REDIRECT SECURE_COOKIES

# The development tools are really absent, and every production module imports without them
# (the local stack, infra.local, is a development tool and not imported here).
"$py" - <<'PY'
import importlib.util
import pkgutil
import sys

import os

import django

for tool in ("moto", "pytest", "hypothesis", "playwright", "pynamodb", "ruff", "parliament"):
    if importlib.util.find_spec(tool) is not None:
        sys.exit(f"runtime-only: {tool} is installed by requirements.txt")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchor_site.settings")
django.setup()
count = 0
for package in ("anchor_site", "web", "projects", "deployments", "staff", "infra.core", "infra.provisioning"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if ".migrations." in info.name:
            continue
        importlib.import_module(info.name)
        count += 1
print(f"runtime-only: {count} production modules import without the development tools")
PY

"$py" manage.py check --deploy --fail-level WARNING
"$py" manage.py migrate --no-input -v 0

export HOST=127.0.0.1
PORT="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export PORT
"$py" manage.py serve >"$work/server.log" 2>&1 &
server=$!

"$py" - "$PORT" <<'PY' || { cat "$work/server.log"; exit 1; }
import sys
import time
import urllib.error
import urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.monotonic() + 60
while True:
    try:
        urllib.request.urlopen(f"{base}/healthz", timeout=2)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("runtime-only: the server did not answer /healthz within 60 s")
        time.sleep(0.3)
for path, expected in (("/healthz", b'"ok"'), ("/admin/login/", b"anchor-deploy console")):
    request = urllib.request.Request(base + path, headers={"X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = answer.read()
        if answer.status != 200 or expected not in body:
            sys.exit(f"runtime-only: {path} answered {answer.status} without {expected!r}")
    print(f"runtime-only: {path} answered 200 under gunicorn")
request = urllib.request.Request(base + "/static/admin/css/base.css", headers={"X-Forwarded-Proto": "https"})
with urllib.request.urlopen(request, timeout=10) as answer:
    assert answer.status == 200
print("runtime-only: static files served by WhiteNoise")
PY
echo "runtime-only: passed"
