"""moto's server with its S3 store kept on disk: `python -m infra.local.s3server --data-dir D`.

Without --data-dir it keeps everything in memory, as `python -m moto.server` does. Either way a
bucket policy's aws:SecureTransport condition is evaluated as AWS does (infra.local.s3policy).
moto keeps S3 in memory; this wraps its WSGI app so that every bucket and object survives a
restart, as DynamoDB Local's data does. The S3 backend is pickled (moto's own keys support it)
to `D/s3-state.pickle`, written atomically a moment after the last mutating request, at most
every few seconds while writes go on, and once more on SIGTERM/SIGINT. A crash loses at most
those last seconds, which `seed_demo` notices (its sentinel object) and writes again.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from infra.local import s3policy

STATE_FILE = "s3-state.pickle"
QUIET_SECONDS = 0.5  # save once writes have paused this long
MAX_DELAY_SECONDS = 5.0  # ... or when the oldest unsaved write is this old
_MUTATING = {"PUT", "POST", "DELETE", "PATCH"}


class _SharedExclusive:
    """Many writers of S3 at once (shared), or the saver alone (exclusive)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._shared = 0
        self._exclusive = False

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive)
            self._shared += 1
        try:
            yield
        finally:
            with self._condition:
                self._shared -= 1
                self._condition.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive and self._shared == 0)
            self._exclusive = True
        try:
            yield
        finally:
            with self._condition:
                self._exclusive = False
                self._condition.notify_all()


class PersistentS3:
    """Loads moto's S3 backends from disk and saves them after writes."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / STATE_FILE
        self.lock = _SharedExclusive()
        self._first_unsaved: float | None = None
        self._last_write = 0.0
        self._flag = threading.Lock()

    def load(self) -> int:
        """Put the saved buckets back into moto; the number of objects restored."""
        from moto.s3.models import s3_backends

        try:
            saved: dict[str, Any] = pickle.loads(self.path.read_bytes())  # noqa: S301 (our own file)
        except FileNotFoundError:
            return 0
        objects = 0
        for account_id, partitions in saved["backends"].items():
            for partition, backend in partitions.items():
                s3_backends[account_id][partition] = backend
                objects += sum(len(bucket.keys) for bucket in backend.buckets.values())
        s3_backends.bucket_accounts.update(saved["bucket_accounts"])
        return objects

    def save(self) -> None:
        """Write every account's S3 backend atomically (a crash mid-write keeps the old file)."""
        from moto.s3.models import s3_backends

        with self.lock.exclusive():
            with self._flag:
                self._first_unsaved = None
            # dict's own items(): moto's backend dicts create backends on iteration.
            state = {
                "backends": {
                    account_id: dict(dict.items(partitions))
                    for account_id, partitions in dict.items(s3_backends)
                },
                "bucket_accounts": dict(s3_backends.bucket_accounts),
            }
            data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, self.path)

    def wrote(self) -> None:
        now = time.monotonic()
        with self._flag:
            self._last_write = now
            if self._first_unsaved is None:
                self._first_unsaved = now

    def due(self) -> bool:
        with self._flag:
            if self._first_unsaved is None:
                return False
            now = time.monotonic()
            return (
                now - self._last_write >= QUIET_SECONDS
                or now - self._first_unsaved >= MAX_DELAY_SECONDS
            )

    def middleware(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        """The WSGI app, with mutating requests counted (and kept apart from a save)."""

        def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if environ.get("REQUEST_METHOD") not in _MUTATING:
                return app(environ, start_response)
            with self.lock.shared():
                body = list(app(environ, start_response))
            self.wrote()
            return body

        return wrapped

    def keep_saving(self, stop: threading.Event) -> None:
        while not stop.wait(0.2):
            if self.due():
                try:
                    self.save()
                except Exception as error:  # said in the log; the server keeps serving
                    print(f"saving the S3 state failed: {error!r}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, help="keep S3 here (default: in memory only)")
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    os.environ.setdefault("MOTO_PORT", str(args.port))
    store = None if args.data_dir is None else PersistentS3(args.data_dir)
    if store is not None:
        started = time.monotonic()
        restored = store.load()
        print(
            f"restored {restored} S3 objects from {store.path} in "
            f"{time.monotonic() - started:.1f}s",
            flush=True,
        )
    # The buckets' TLS-only policy, evaluated as AWS does (infra.local.s3policy).
    moto_app, secure = s3policy.transport_middleware(
        DomainDispatcherApplication(create_backend_app)
    )
    s3policy.install(secure)
    app = moto_app if store is None else store.middleware(moto_app)
    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler
    )
    stop = threading.Event()
    saver = None
    if store is not None:
        saver = threading.Thread(target=store.keep_saving, args=(stop,), daemon=True)
        saver.start()

    def finish(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    try:
        server.serve_forever()
    finally:
        stop.set()
        if store is not None and saver is not None:
            saver.join()
            if store.due() or store._first_unsaved is not None:
                store.save()
            print("S3 state saved", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
