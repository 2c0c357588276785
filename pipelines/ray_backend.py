"""The only module that speaks Ray's API.

Everything else hands it plain functions, ``Stage`` factories and
``Resources``; this module turns them into Ray Data operators. Local Ray is
the default (all cores of this machine); ``RAY_ADDRESS`` (or ``ray job
submit``, which sets it) sends the same job to a cluster.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa

from corpus.stage import Batch, Resources, Stage

_log = logging.getLogger(__name__)


def init(address: str | None = None, num_cpus: int | None = None, progress: bool = True) -> None:
    """Start or join Ray once. ``address`` defaults to ``RAY_ADDRESS``; else a local instance."""
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    kwargs: dict[str, Any] = {"log_to_driver": True, "logging_level": logging.WARNING}
    if address:
        kwargs["address"] = address
    else:
        kwargs["num_cpus"] = num_cpus or os.cpu_count() or 1
        kwargs["include_dashboard"] = False
        # Workers must import our packages the way the driver does.
        kwargs["runtime_env"] = {"env_vars": _worker_env()}
    ray.init(**kwargs)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = progress
    ctx.print_on_execution_start = False
    ctx.verbose_stats_logs = False


def _worker_env() -> dict[str, str]:
    keep = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PYTHONPATH", "OMP_NUM_THREADS")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def shutdown() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


def cluster_cpus() -> int:
    import ray

    return int(ray.cluster_resources().get("CPU", 1))


def cluster_gpus() -> int:
    import ray

    return int(ray.cluster_resources().get("GPU", 0))


# --- datasets ---------------------------------------------------------------


def from_items(items: list[dict[str, Any]]):
    import ray

    return ray.data.from_items(items, override_num_blocks=max(1, len(items)))


def read_parquet(paths: list[str], columns: list[str] | None = None):
    import ray

    return ray.data.read_parquet(paths, columns=columns)


def select_columns(ds, columns: list[str]):
    return ds.select_columns(columns)


def write_parquet(ds, path: str) -> None:
    ds.write_parquet(path)


def iter_batches(ds, batch_size: int = 4096) -> Iterator[pa.Table]:
    yield from ds.iter_batches(batch_size=batch_size, batch_format="pyarrow")


def take_all(ds) -> list[dict[str, Any]]:
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
    ds = ds.repartition(target_num_rows_per_block=resources.batch_size)
    return ds.map_batches(
        _StageActor,
        fn_constructor_args=(factory,),
        batch_format="pyarrow",
        **_compute_kwargs(resources, actors=True, n_rows=n_rows),
    )


def map_batches(ds, fn: Callable[[Batch], Batch], resources: Resources):
    """Apply a stateless function to dict-of-lists batches with Ray tasks."""

    def _apply(table: pa.Table) -> pa.Table:
        return pa.Table.from_pydict(fn(table.to_pydict()))

    return ds.map_batches(
        _apply, batch_format="pyarrow", **_compute_kwargs(resources, actors=False)
    )


def map_tables(ds, fn: Callable[[pa.Table], pa.Table], resources: Resources):
    """Apply a stateless Arrow-table function (vectorised stages) with Ray tasks."""
    return ds.map_batches(fn, batch_format="pyarrow", **_compute_kwargs(resources, actors=False))


def group_map(ds, key: str | list[str], fn: Callable[[pa.Table], pa.Table]):
    """Shuffle rows by ``key`` across the cluster and apply ``fn`` to each group's rows."""
    return ds.groupby(key).map_groups(fn, batch_format="pyarrow")


def run_tasks(
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    items: Iterable[dict[str, Any]],
    resources: Resources,
) -> list[dict[str, Any]]:
    """Run ``fn`` once per item as Ray tasks (one input shard each); return their results."""
    items = list(items)
    if not items:
        return []

    def _apply(table: pa.Table) -> pa.Table:
        rows = table.to_pylist()
        return pa.Table.from_pylist([fn(r) for r in rows])

    kwargs = _compute_kwargs(resources, actors=False)
    kwargs["batch_size"] = 1
    ds = from_items(items).map_batches(_apply, batch_format="pyarrow", **kwargs)
    return ds.take_all()


# --- added for near-dedup (issue 4) -------------------------------------------


def union(ds, *others):
    """Concatenate datasets with the same schema (e.g. new and earlier-corpus band rows)."""
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
    import ray
    from ray.data.llm import build_llm_processor, vLLMEngineProcessorConfig

    processor = build_llm_processor(
        vLLMEngineProcessorConfig(**engine_config), preprocess=preprocess, postprocess=postprocess
    )
    return processor(ray.data.from_items(rows)).take_all()
