"""Analysing pictures on a Ray cluster (`--executor ray`): for collections that outgrow one machine.

The main process hashes every picture and reads the cache, as with local workers; each picture the cache lacks
becomes one Ray task that carries the picture's bytes (so the nodes need not see the input folder) and returns
its reading. Each Ray worker process loads the models once (a Context kept per process) and runs them on one
thread, as local workers do. At most a few tasks per CPU of the cluster are in flight, so the driver never holds
the bytes of a whole collection. The cache: each node writes analyses under --cache-dir; point it at a shared
folder to let every node and later builds reuse them; with a folder per node the readings still come back to
the main process, which writes them into its own cache as well.

Ray is an optional extra (`pip install -e '.[ray]'`). Without --ray-address a Ray instance is started on this
machine; with one, the builder joins that cluster (`ray start --head` on one machine, `ray start --address
HEAD:6379` on the others; then `--ray-address auto` on the head, or `ray://HEAD:10001` from elsewhere).
"""

from __future__ import annotations

from builder.errors import ImageError, MissingDependency
from builder.records import Failure
from builder.settings import Settings

IN_FLIGHT_PER_CPU = 4
_CONTEXT = None  # per Ray worker process: the models, loaded once


def _ray():
    try:
        import ray
    except ImportError:
        raise MissingDependency("--executor ray needs Ray: pip install -e '.[ray]' (or pip install ray)") from None
    return ray


def _analyse(settings: Settings, rel: str, sha: str, data: bytes):
    """The task body: runs in a Ray worker process."""
    global _CONTEXT
    from builder import pipeline

    if _CONTEXT is None or _CONTEXT.settings != settings:
        from builder.files import tune_allocator

        pipeline.single_threaded()
        tune_allocator()
        _CONTEXT = pipeline.Context(settings)
    return pipeline.analyse_one(_CONTEXT, rel, sha, data)


def analyse_on_ray(settings: Settings, todo: list, progress=None) -> list:
    """The readings of the uncached pictures `todo` (pipeline.Reading with file and sha256), in order."""
    from builder.pipeline import analysis_path, no_progress, read_picture, remember

    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=settings.ray_address, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True, configure_logging=False)
    task = ray.remote(num_cpus=1)(_analyse)
    limit = max(2, int(ray.cluster_resources().get("CPU", 1)) * IN_FLIGHT_PER_CPU)
    outcomes: list = [None] * len(todo)
    pending: dict = {}
    jobs = iter(enumerate(todo))
    done_count = 0
    progress = progress or no_progress
    bar = iter(progress(range(len(todo)), "analysing pictures on Ray", len(todo)))
    try:
        while done_count < len(todo):
            while len(pending) < limit:
                nxt = next(jobs, None)
                if nxt is None:
                    break
                i, r = nxt
                try:
                    data, _ = read_picture(settings.input / r.file)
                except ImageError as exc:  # gone since it was hashed: that picture's failure
                    outcomes[i] = (None, Failure(r.file, str(exc)), {})
                    done_count += 1
                    next(bar, None)
                    continue
                pending[task.remote(settings, r.file, r.sha256, data)] = i
            if not pending:
                continue
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                i = pending.pop(ref)
                outcomes[i] = ray.get(ref)
                done_count += 1
                next(bar, None)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    for outcome in outcomes:  # keep the analyses in this machine's cache too (a node's may be its own)
        reading = outcome[0]
        if reading is not None and not reading.cached and not analysis_path(settings, reading.sha256).exists():
            remember(settings, reading)
    return outcomes
