"""Where the pictures the cache lacks are analysed: worker processes on this machine, or tasks on a
Ray cluster.

One small interface (`Executor.map`): given jobs (a picture's path relative to the input and the
sha256 the main process hashed), return one outcome per job, in order. What runs is given, not
imported: `setup(settings)` runs once in each worker process and returns its work (it loads the
models), `work(job, data)` runs once per picture. The pipeline passes its own module-level setup (it
travels to other processes by name), so this module never imports the pipeline.

Ray (`--executor ray`) is for collections that outgrow one machine. The main process hashes every
picture and reads the cache, as with local workers; each picture the cache lacks becomes one Ray
task that carries the picture's bytes (so the nodes need not see the input folder) and returns its
reading. Each Ray worker process loads the models once and runs them on one thread, as local workers
do. At most a few tasks per CPU of the cluster are in flight, so the driver never holds the bytes of
a whole collection. Ray is an optional extra (`pip install -e '.[ray]'`). Without --ray-address a
Ray instance is started on this machine; with one, the builder joins that cluster (`ray start
--head` on one machine, `ray start --address HEAD:6379` on the others; then `--ray-address auto` on
the head, or `ray://HEAD:10001` from elsewhere).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from builder.errors import ImageError, MissingDependency, UsageError
from builder.images import read_picture
from builder.records import Failure
from builder.settings import Settings

Job = tuple[
    str, str
]  # (picture relative to the input folder, sha256 of the bytes the main process read)
Outcome = tuple[
    Any, Failure | None, dict[str, float]
]  # (the reading or None, its failure or None, ms per stage)
Work = Callable[[Job, "bytes | None"], Outcome]
Setup = Callable[[Settings], Work]
Progress = Callable[[Iterable, str, int], Iterator]
IN_FLIGHT_PER_CPU = 4


def _no_progress(items, label: str, total: int):
    yield from items


class Executor(Protocol):
    def map(self, jobs: list[Job], progress: Progress = _no_progress) -> list[Outcome]:
        """One outcome per job, in the jobs' order."""
        ...


def make(settings: Settings, workers: int, setup: Setup, here: Work | None = None) -> Executor:
    """The executor --executor names: Ray tasks, or `workers` local processes (here: see
    LocalProcesses)."""
    if settings.executor == "ray":
        return RayTasks(settings, setup)
    return LocalProcesses(settings, workers, setup, here)


def single_threaded() -> None:
    """Run every model on one thread: one worker is one core (the workers share the cores, not
    torch's pool)."""
    import builder.picture.colours

    builder.picture.colours.TFLITE_THREADS = 1
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass
    # numpy's OpenBLAS too; torch only where it is loaded (the default method never imports it): a
    # later import reads OMP_NUM_THREADS, which one_thread sets
    from builder.assets.runtime import one_thread

    one_thread()
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


# ---- worker processes on this machine ------------------------------------------------------------

# A process pool hands its initializer's result to later tasks only through the worker process's
# globals: the work each worker set up once (its models loaded), that its tasks run.
_LOCAL_WORK: Work | None = None


def _local_init(settings: Settings, setup: Setup) -> None:
    """Each worker loads its models once (a forked one is handed those of the main process), runs
    them on one thread, and leaves Ctrl-C to the main process, which stops the workers."""
    import signal

    from builder.files import tune_allocator

    global _LOCAL_WORK
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    single_threaded()
    tune_allocator()
    _LOCAL_WORK = setup(settings)


def _local_job(job: Job) -> Outcome:
    assert _LOCAL_WORK is not None, "the worker was not set up"
    # the worker reads the file and checks it against the main process's hash
    return _LOCAL_WORK(job, None)


def _handed(work: Work) -> Setup:
    """A setup that hands over work made already: a forked worker inherits it (nothing is
    pickled)."""
    return lambda settings: work


def can_fork() -> bool:
    """Whether worker processes can be forked from a main process that has loaded the models
    (Linux): they then share its read-only weights (copy-on-write pages) instead of each loading its
    own, and start in milliseconds. Elsewhere (macOS, Windows) fork is unsafe or absent, and workers
    are spawned and load their own models."""
    import multiprocessing
    import sys

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class LocalProcesses:
    """`workers` processes on this machine.

    here: the work of this process, whose models the caller has loaded (single-threaded): `workers -
    1` processes are forked from it, sharing its weights, and this process analyses too, taking the
    next picture whenever the workers have enough queued. So every core works from the first
    picture, and a handful of pictures never waits for workers to start. Without it: `workers`
    spawned processes, each loading its own models with `setup` (platforms without a safe fork)."""

    def __init__(self, settings: Settings, workers: int, setup: Setup, here: Work | None = None):
        self.settings, self.workers, self.setup, self.here = settings, workers, setup, here

    def map(self, jobs: list[Job], progress: Progress = _no_progress) -> list[Outcome]:
        if self.here is not None:
            return self._map_here(self.here, jobs, progress)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(jobs)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_local_init,
            initargs=(self.settings, self.setup),
        )
        try:
            outcomes = list(
                progress(pool.map(_local_job, jobs, chunksize=2), "analysing pictures", len(jobs))
            )
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown(wait=True)
        return outcomes

    def _map_here(self, work: Work, jobs: list[Job], progress: Progress) -> list[Outcome]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        outcomes: list = [None] * len(jobs)
        helpers = min(self.workers - 1, len(jobs) - 1)
        pool = None
        if helpers > 0:
            pool = ProcessPoolExecutor(
                max_workers=helpers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_local_init,
                initargs=(self.settings, _handed(work)),
            )
        bar = iter(progress(range(len(jobs)), "analysing pictures", len(jobs)))
        pending: dict = {}
        nxt = 0
        try:
            while nxt < len(jobs) or pending:
                # two pictures queued per worker: none idles while this process analyses one of its
                # own
                while pool is not None and nxt < len(jobs) and len(pending) < 2 * helpers:
                    pending[pool.submit(_local_job, jobs[nxt])] = nxt
                    nxt += 1
                if nxt < len(jobs):
                    outcomes[nxt] = work(jobs[nxt], None)
                    nxt += 1
                    next(bar, None)
                    done = [f for f in pending if f.done()]
                else:
                    done = wait(pending, return_when=FIRST_COMPLETED).done
                for f in done:
                    outcomes[pending.pop(f)] = f.result()
                    next(bar, None)
        except BaseException:
            if pool is not None:
                _stop(pool)
            raise
        if pool is not None:
            pool.shutdown(wait=True)
        return outcomes


def _stop(pool) -> None:
    """Stop now, not after the queued pictures."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


# ---- tasks on a Ray cluster ----------------------------------------------------------------------

# A Ray worker process runs many tasks and keeps nothing between them but its globals: the settings
# its models were loaded for, and its work with them.
_RAY_WORK: tuple[Settings, Work] | None = None


def _ray():
    try:
        import ray
    except ImportError:
        raise MissingDependency(
            "--executor ray needs Ray: pip install -e '.[ray]' (or pip install ray)"
        ) from None
    return ray


def _reachable(address: str | None, timeout_s: float = 10.0) -> None:
    """Refuse in seconds, not minutes, a cluster address nothing answers at (ray.init retries for
    minutes), and a ray:// address without Ray's client package."""
    if not address or address == "auto" or address.startswith("local"):
        return
    import socket

    if address.startswith("ray://"):
        try:
            import grpc  # noqa: F401
            import ray.util.client  # noqa: F401  (part of ray[client])
        except ImportError:
            raise MissingDependency(
                f"--ray-address {address} needs Ray's client: pip install 'ray[client]'"
            ) from None
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    try:
        port_number = int(port)
    except ValueError:
        raise UsageError(
            f"--ray-address {address} should be HOST:PORT (or ray://HOST:PORT)"
        ) from None
    try:
        socket.create_connection((host or "127.0.0.1", port_number), timeout=timeout_s).close()
    except OSError as exc:
        raise UsageError(
            f"nothing answers at the Ray address {address} ({exc.strerror or exc}); start the "
            "cluster (`ray start --head`) or check the address"
        ) from None


def _ray_task(settings: Settings, setup: Setup, job: Job, data: bytes) -> tuple[Outcome, str]:
    """The task body: runs in a Ray worker process, which loads the models on its first task. With
    the outcome, the node it ran on."""
    global _RAY_WORK
    if _RAY_WORK is None or _RAY_WORK[0] != settings:
        from builder.files import tune_allocator

        single_threaded()
        tune_allocator()
        _RAY_WORK = (settings, setup(settings))
    return _RAY_WORK[1](job, data), _ray().get_runtime_context().get_node_id()


TOKEN_REFUSED = (
    "could not join the Ray cluster at {address}: it refused this process's authentication token "
    "(Ray's token authentication, RAY_AUTH_MODE=token); give this machine the cluster's token, in "
    "the file ~/.ray/auth_token, in a file named by RAY_AUTH_TOKEN_PATH or in RAY_AUTH_TOKEN "
    "(`ray get-auth-token` prints it on the head), or start the cluster with "
    "RAY_AUTH_MODE=disabled on a network you trust"
)


def _token_mode(address: str | None) -> None:
    """Joining a cluster, send it this machine's token if there is one: with RAY_AUTH_MODE unset, a
    driver sends none, though `ray start --head` turns token authentication on wherever a token
    exists (~/.ray/auth_token, which a local `ray.init` writes). Ray reads the mode at import."""
    import os
    from pathlib import Path

    if not address or str(address).startswith("local") or "ray" in sys.modules:
        return
    if "RAY_AUTH_MODE" in os.environ:
        return  # the user's choice
    named = os.environ.get("RAY_AUTH_TOKEN_PATH")
    token_file = Path(named) if named else Path.home() / ".ray" / "auth_token"
    if os.environ.get("RAY_AUTH_TOKEN") or token_file.is_file():
        os.environ["RAY_AUTH_MODE"] = "token"  # a cluster without token authentication ignores it


def _join(ray, address: str | None) -> None:
    """ray.init, joining the cluster at `address` (or starting one here). A cluster that refuses the
    token is named as such: Ray raises only "Failed to connect" then, after its core has written
    "InvalidAuthToken" to the terminal once a second, so that output is held while joining and
    read (and passed on, when it says something else)."""
    import logging
    import os
    import tempfile

    joining = bool(address) and not str(address).startswith("local")
    held = tempfile.TemporaryFile() if joining else None  # a local start's processes keep fd 2
    saved = None
    if held is not None:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
    failure: BaseException | None = None
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
            configure_logging=False,
            logging_level=logging.WARNING,  # no INFO lines on the user's terminal
        )
    except (
        ConnectionError,
        TimeoutError,
        RuntimeError,
        ValueError,
        ray.exceptions.RayError,
    ) as exc:
        failure = exc
    finally:
        said = ""
        if held is not None and saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            said = held.read().decode("utf-8", "replace")
            held.close()
    refused = "InvalidAuthToken" in said or type(failure).__name__ == "AuthenticationError"
    if refused:
        raise UsageError(TOKEN_REFUSED.format(address=address)) from None
    if said:
        sys.stderr.write(said)
    if failure is not None:
        raise UsageError(
            f"could not join the Ray cluster at {address}: {str(failure)[:200]}"
        ) from None


class RayTasks:
    def __init__(self, settings: Settings, setup: Setup):
        self.settings, self.setup = settings, setup
        self.nodes: set[str] = set()  # the nodes the pictures were analysed on
        self.analysed = 0

    def summary(self) -> str:
        n, k = self.analysed, len(self.nodes)
        return f"the Ray cluster analysed {n} picture{'s' * (n != 1)} on {k} node{'s' * (k != 1)}"

    def map(self, jobs: list[Job], progress: Progress = _no_progress) -> list[Outcome]:
        _token_mode(self.settings.ray_address)
        ray = _ray()
        if not ray.is_initialized():
            _reachable(self.settings.ray_address)
            _join(ray, self.settings.ray_address)
        task = ray.remote(num_cpus=1)(_ray_task)
        limit = max(2, int(ray.cluster_resources().get("CPU", 1)) * IN_FLIGHT_PER_CPU)
        outcomes: list = [None] * len(jobs)
        pending: dict = {}
        queue = iter(enumerate(jobs))
        done_count = 0
        bar = iter(progress(range(len(jobs)), "analysing pictures on Ray", len(jobs)))
        try:
            while done_count < len(jobs):
                while len(pending) < limit:
                    nxt = next(queue, None)
                    if nxt is None:
                        break
                    i, job = nxt
                    try:
                        data, _ = read_picture(self.settings.input / job[0])
                    except ImageError as exc:  # gone since it was hashed: that picture's failure
                        outcomes[i] = (None, Failure(job[0], str(exc)), {})
                        done_count += 1
                        next(bar, None)
                        continue
                    pending[task.remote(self.settings, self.setup, job, data)] = i
                if not pending:
                    continue
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    i = pending.pop(ref)
                    outcomes[i], node = ray.get(ref)
                    self.nodes.add(node)
                    self.analysed += outcomes[i][1] is None
                    done_count += 1
                    next(bar, None)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        return outcomes
