"""The only module that speaks Ray's API.

Everything else hands it plain functions, ``Stage`` factories and
``Resources``; this module turns them into Ray Data operators. Local Ray is
the default (all cores of this machine); ``RAY_ADDRESS`` (or ``ray job
submit``, which sets it) sends the same job to a cluster.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa

from corpus.stage import Batch, Resources, Stage
from pipelines import inprocess

_log = logging.getLogger(__name__)
_local = False  # init(local=True): every operation runs in this process (pipelines.inprocess)
_started = False  # init started or joined Ray in this process (stopped since or not)
_release_stops = False  # ``release`` stops Ray (``stop_on_release``)


def is_local() -> bool:
    return _local


@contextlib.contextmanager
def in_process(enabled: bool = True) -> Iterator[None]:
    """The operations inside run in this process (``enabled``), Ray or not: for work
    smaller than what Ray Data's start-up per operation costs on a cluster."""
    global _local
    before, _local = _local, _local or enabled
    try:
        yield
    finally:
        _local = before


def ray_running() -> bool:
    """Whether this process already joined Ray (without importing Ray if it did not)."""
    return "ray" in sys.modules and sys.modules["ray"].is_initialized()


def init(
    address: str | None = None,
    num_cpus: int | None = None,
    progress: bool = False,
    verbose: bool = False,
    local: bool = False,
) -> None:
    """Start or join Ray once. ``address`` defaults to ``RAY_ADDRESS``; else a local instance.

    ``local``: no Ray at all; the operations below run in this process until ``shutdown``.

    Unless ``verbose``, Ray's own output is kept out of the user's terminal: worker
    stdout/stderr are not forwarded, Ray's Python loggers print errors only and Ray
    Data's progress bars (``progress``) and execution logs stay off; all of it is still
    in Ray's session logs (``/tmp/ray/session_latest/logs``).
    """
    import signal
    import threading

    global _local
    _local = local
    if _local:
        return
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    if not verbose:
        logging.getLogger("ray").setLevel(logging.ERROR)
    kwargs: dict[str, Any] = {
        "log_to_driver": verbose,
        "logging_level": logging.INFO if verbose else logging.ERROR,
    }
    if address:
        kwargs["address"] = address
    else:
        kwargs["num_cpus"] = num_cpus or os.cpu_count() or 1
        kwargs["include_dashboard"] = False
        # Workers must import our packages the way the driver does. A local instance's
        # workers inherit this process's environment; a runtime_env would cost each new
        # worker ~2 s of set-up (the runtime-env agent) before its first task.
        for k, v in WORKER_ENV_DEFAULTS.items():
            os.environ.setdefault(k, v)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    try:
        ray.init(**kwargs)
    except SystemExit:
        # SIGTERM while Ray starts reaches Ray's own handlers (sys.exit); make it the
        # caller's interrupt so the run still shuts down whatever Ray started.
        if main and callable(previous):
            signal.signal(signal.SIGTERM, previous)
            raise KeyboardInterrupt(f"signal {signal.SIGTERM}") from None
        raise
    if main and callable(previous):
        # ray.init installs a SIGTERM handler that exits at once; keep the caller's
        # (which turns SIGTERM into KeyboardInterrupt so the run shuts down cleanly).
        signal.signal(signal.SIGTERM, previous)
    global _data_options, _started
    _started = True
    _data_options = {"progress": progress, "verbose": verbose}


_data_options: dict[str, bool] | None = None  # init's, for Ray Data's context (``_data``)


def _data():
    """``ray.data``, configured on first use: runs that need no dataset (ingest's tasks,
    in-process near dedup) never import it (~0.6 s and ~100 MB in the driver)."""
    global _data_options
    import ray.data

    if _data_options is None:
        return ray.data
    progress, verbose = _data_options["progress"], _data_options["verbose"]
    _data_options = None
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = progress
    ctx.print_on_execution_start = False
    ctx.verbose_stats_logs = False
    # Ray Data fails a dataset whose operators take no output for 30 min (its default);
    # a classify or semantic-dedup batch on a slow node can, and Ray retries failed
    # tasks, so no stall timeout (a 1M-document run hit it).
    ctx.execution_no_progress_timeout_s = -1
    # group_map's groupby is our only key shuffle. Ray's default (SHUFFLE_V2) hash-shuffles
    # into 200 partitions through aggregator actors that are not restartable: on a small
    # machine that is most of near dedup's time, and an aggregator that aborts (seen:
    # "Mutex corrupt ... SIGABRT") takes the shuffle with it. The pull-based sort shuffle
    # runs as plain Ray tasks, which Ray retries (ray-project/ray#59142).
    ctx.shuffle_strategy = ray.data.context.ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    # read_parquet lists files through a pool of 32 FooterReader actors (~200 MB each)
    # whatever the cluster's size: 6.4 GB on a 2-CPU machine. One per CPU, up to Ray's 32.
    # Read when the read is planned, in this process.
    os.environ.setdefault(
        "RAY_DATA_PARQUET_FOOTER_NUM_ACTORS", str(min(32, max(1, cluster_cpus())))
    )
    if not verbose:
        for handler in logging.getLogger("ray.data").handlers:
            if (
                not isinstance(handler, logging.FileHandler)
                and "File" not in type(handler).__name__
            ):
                handler.setLevel(logging.ERROR)
    return ray.data


# Set for a local instance's workers unless the user set them: models load offline, and
# tokenizers' thread pool stays off in workers that each have one CPU.
WORKER_ENV_DEFAULTS = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def started() -> bool:
    """Whether ``init`` started or joined Ray in this process, stopped since or not."""
    return _started


def stop_on_release() -> None:
    """Make ``release`` stop Ray: for a command that exits once its work is done."""
    global _release_stops
    _release_stops = True


def release() -> None:
    """The work that needs Ray is done: stop it where ``stop_on_release`` was called
    (the ``primer`` command), else keep it for the caller's next run. A local
    instance's stop takes ~1.4 s, which the caller may spend on other work meanwhile."""
    if _release_stops:
        shutdown()


def shutdown(wait_s: float = 5.0) -> None:
    """Stop Ray; with a local instance, make sure none of its processes outlives us.

    ``ray.shutdown`` asks the raylet to stop its workers, but a worker busy in native
    code (a model forward pass) can take minutes to notice; after ``wait_s`` the
    driver's own descendants that are still alive are killed.
    """
    global _local
    _local = False
    if "ray" not in sys.modules:  # never started (or in-process mode)
        return
    import psutil
    import ray

    try:  # also what a start interrupted half-way left (gcs_server, raylet)
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        children = []
    if ray.is_initialized():
        ray.shutdown()
    _, alive = psutil.wait_procs(children, timeout=wait_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=wait_s)


def node_id() -> str | None:
    """The Ray node this code runs on (recorded per shard), None outside Ray."""
    if _local or not ray_running():
        return None
    import ray

    return ray.get_runtime_context().get_node_id()


def cluster_cpus() -> int:
    if _local:
        return os.cpu_count() or 1
    import ray

    return int(ray.cluster_resources().get("CPU", 1))


def cluster_gpus() -> int:
    if _local:
        return 0  # stages still use a GPU of this machine themselves (EduStage picks its device)
    import ray

    return int(ray.cluster_resources().get("GPU", 0))


# --- datasets ---------------------------------------------------------------


def from_items(items: list[dict[str, Any]]):
    if _local:
        return inprocess.from_items(items)
    return _data().from_items(items, override_num_blocks=max(1, len(items)))


def read_parquet(paths: list[str], columns: list[str] | None = None):
    if _local:
        return inprocess.read_parquet(paths, columns)
    return _data().read_parquet(paths, columns=columns)


def select_columns(ds, columns: list[str]):
    if _local:
        return inprocess.select_columns(ds, columns)
    return ds.select_columns(columns)


def write_parquet(ds, path: str) -> None:
    if _local:
        return inprocess.write_parquet(ds, path)
    ds.write_parquet(path)


def iter_batches(ds, batch_size: int | None = 4096) -> Iterator[pa.Table]:
    """Stream a dataset's rows to the driver; ``batch_size=None`` yields blocks as they finish."""
    if _local:
        yield from inprocess.iter_batches(ds, batch_size)
        return
    yield from ds.iter_batches(batch_size=batch_size, batch_format="pyarrow")


def take_all(ds) -> list[dict[str, Any]]:
    if _local:
        return inprocess.take_all(ds)
    return ds.take_all()


# --- operators --------------------------------------------------------------


class _StageActor:
    """Holds one stage per worker: ``setup`` (model loading) runs once per actor."""

    def __init__(self, factory: Callable[[], Stage]):
        self.stage = factory()
        self.stage.setup()

    def __call__(self, table: pa.Table) -> pa.Table:
        out = self.stage.process(table.to_pydict())
        return pa.Table.from_pydict(out)


def _compute_kwargs(res: Resources, actors: bool, n_rows: int | None = None) -> dict[str, Any]:
    import ray

    kwargs: dict[str, Any] = {"num_cpus": res.cpus, "batch_size": res.batch_size}
    if res.gpus:
        kwargs["num_gpus"] = res.gpus
    if actors:
        # Actor pools need a size; default: one actor per CPU (or GPU) the cluster has.
        if res.concurrency:
            size = res.concurrency
        elif res.gpus:
            size = max(1, int(cluster_gpus() / res.gpus))
        else:
            size = max(1, int(cluster_cpus() / max(res.cpus, 1e-3)))
        if n_rows is not None:  # no more actors than batches: each one loads the model
            size = max(1, min(size, -(-n_rows // res.batch_size)))
        kwargs["compute"] = ray.data.ActorPoolStrategy(size=size)
        kwargs["num_cpus"] = actor_cpus(res.cpus, size, cluster_cpus())
    elif res.concurrency:
        kwargs["compute"] = ray.data.TaskPoolStrategy(size=res.concurrency)
    return kwargs


def actor_cpus(cpus: float, size: int, total: int) -> float:
    """CPUs each of ``size`` actors reserves, leaving one of ``total`` for the tasks around them.

    Ray Data's reads (ListFiles, ReadFiles) and writes are 1-CPU tasks: a pool that
    reserves every CPU starves them and the job hangs (Ray 2.60, 2 cores). Only the
    reservation shrinks; each actor still runs ``cpus`` threads.
    """
    if size * cpus <= total - 1:
        return cpus
    return max(0.0, total - 1) / size


def map_stage(ds, factory: Callable[[], Stage], resources: Resources, n_rows: int | None = None):
    """Apply a stage with an actor pool: the stage's ``setup`` runs once per actor.

    ``n_rows`` (when known) caps the pool at one actor per batch.

    Blocks are first cut to about one batch each (a streaming split, no shuffle): a
    Parquet row group arrives as one block, and one block goes to one actor, so without
    the cut a single big file keeps the whole pool but one actor idle.
    """
    if _local:
        return inprocess.map_stage(ds, factory, resources.batch_size)
    ds = ds.repartition(target_num_rows_per_block=resources.batch_size)
    return ds.map_batches(
        _StageActor,
        fn_constructor_args=(factory,),
        batch_format="pyarrow",
        **_compute_kwargs(resources, actors=True, n_rows=n_rows),
    )


def map_batches(ds, fn: Callable[[Batch], Batch], resources: Resources):
    """Apply a stateless function to dict-of-lists batches with Ray tasks."""
    if _local:
        return inprocess.map_batches(ds, fn, resources.batch_size)

    def _apply(table: pa.Table) -> pa.Table:
        return pa.Table.from_pydict(fn(table.to_pydict()))

    return ds.map_batches(
        _apply, batch_format="pyarrow", **_compute_kwargs(resources, actors=False)
    )


def map_tables(ds, fn: Callable[[pa.Table], pa.Table], resources: Resources):
    """Apply a stateless Arrow-table function (vectorised stages) with Ray tasks."""
    if _local:
        return inprocess.map_tables(ds, fn, resources.batch_size)
    return ds.map_batches(fn, batch_format="pyarrow", **_compute_kwargs(resources, actors=False))


def group_map(ds, key: str | list[str], fn: Callable[[pa.Table], pa.Table]):
    """Shuffle rows by ``key`` across the cluster and apply ``fn`` to each group's rows."""
    if _local:
        return inprocess.group_map(ds, key, fn)
    return ds.groupby(key).map_groups(fn, batch_format="pyarrow")


def _call(fn: Callable[[dict[str, Any]], dict[str, Any]], item: dict[str, Any]) -> dict[str, Any]:
    return fn(item)


def run_tasks(
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    items: Iterable[dict[str, Any]],
    resources: Resources,
) -> list[dict[str, Any]]:
    """Run ``fn`` once per item as Ray tasks (one input shard each); return their results
    in item order.

    Plain Ray tasks, not a Ray Data pipeline: one call per item needs no blocks or
    operators, and Ray Data's first execution in a process costs ~4 s. Tasks are
    spread over the nodes and retried when their worker or node dies. A worker exits
    after its share of the items (``max_calls``), so the stages it loaded (~0.45 GB per
    ingest worker) do not sit idle beside the classify actors that come next.
    """
    items = list(items)
    if not items:
        return []
    if _local:
        return [fn(item) for item in items]
    import ray

    slots = max(1, int(cluster_cpus() / max(resources.cpus, 1e-3)))  # tasks at once
    task = ray.remote(
        num_cpus=resources.cpus,
        num_gpus=resources.gpus or 0,
        scheduling_strategy="SPREAD",
        max_retries=3,
        max_calls=-(-len(items) // slots),  # ceil: one worker's share of the items
    )(_call)
    fn_ref = ray.put(fn)
    return ray.get([task.remote(fn_ref, item) for item in items])


# --- added for near-dedup (issue 4) -------------------------------------------


def union(ds, *others):
    """Concatenate datasets with the same schema (e.g. new and earlier-corpus band rows)."""
    if _local:
        return inprocess.union(ds, *others)
    return ds.union(*others) if others else ds


# --- LLM batch inference (synth's vllm backend) -------------------------------


def llm_generate(
    engine_config: dict[str, Any],
    rows: list[dict[str, Any]],
    preprocess: Callable[[dict[str, Any]], dict[str, Any]],
    postprocess: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Generate with vLLM engine replicas on the cluster's GPUs through ``ray.data.llm``.

    ``engine_config`` holds ``vLLMEngineProcessorConfig`` arguments; ``preprocess``
    turns a row into ``messages`` + ``sampling_params``; ``postprocess`` reads
    ``generated_text`` and token counts. Needs the ``vllm`` extra (``ray[llm]``).
    """
    from ray.data.llm import build_llm_processor, vLLMEngineProcessorConfig

    processor = build_llm_processor(
        vLLMEngineProcessorConfig(**engine_config), preprocess=preprocess, postprocess=postprocess
    )
    return processor(_data().from_items(rows)).take_all()
