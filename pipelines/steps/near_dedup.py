"""MinHash near dedup over the surviving documents (the Ray wiring is ``pipelines.near_dedup``).

Reads the ingest Parquet directly, keeping the surviving uids as it reads; its
MinHash index (``work/near/minhash/``, for ``--against`` and ``primer serve``) and
statistics stay in ``work/near/``. Every member of a multi-member cluster gets its
``dup_cluster``; the non-kept members are dropped.
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.stage import Resources
from pipelines import ray_backend as rb
from pipelines.progress import Progress
from pipelines.steps.base import Step, StepContext, decision_table, uid_filter


class NearDedup(Step):
    name = "near-dedup"
    stages = ("near-dedup",)
    reads = ("uid", "id", "source_file", "position", "text")

    def run(self, ctx: StepContext) -> pa.Table:
        from pipelines.near_dedup import near_dedup

        near_dir = ctx.layout.work / "near"
        shutil.rmtree(near_dir, ignore_errors=True)
        if ctx.until == "ingest" or not ctx.config.dedup.enabled:
            return self.empty()
        uids = ctx.survivor_uids()
        if not len(uids):
            return self.empty()
        on_ray = bool(ctx.against) or len(uids) > ctx.config.dedup.in_process_max_docs
        if on_ray:
            ctx.ray_init()  # else near_dedup runs in this process: a resumed run starts no Ray
        progress = Progress("near dedup", total=len(uids))
        run = partial(
            near_dedup,
            [str(p) for p in ctx.layout.docs_files()],
            near_dir,
            ctx.config.dedup,
            against=[Path(a) for a in ctx.against],
            rows=uid_filter(uids),
            n_docs=len(uids),
        )
        if ctx.prepared and not on_ray and rb.ray_running() and not rb.is_local():
            # A later step prepares in this process's threads (``Step.prepare``): the
            # in-process work goes to a Ray worker, leaving them this core and the GIL.
            rb.run_tasks(lambda _: run(), [{}], Resources(cpus=1))
        else:
            run()
        table = self.from_files(near_dir / "near_dups.parquet", near_dir / "clusters.parquet")
        progress.done = len(uids)
        n_dropped = table.num_rows - table.column("drop_reason").null_count
        progress.close(f"{n_dropped} near-duplicate(s)")
        return table

    def from_files(self, drops_file: Path, clusters_file: Path) -> pa.Table:
        """``near_dups.parquet`` (dropped) + ``clusters.parquet`` (every member) -> decisions."""
        drops = pq.read_table(drops_file, columns=["uid", "duplicate_of", "dup_cluster"])
        clusters = pq.read_table(clusters_file, columns=["uid", "dup_cluster"])
        kept = clusters.filter(pc.invert(pc.is_in(clusters.column("uid"), drops.column("uid"))))
        n, m = drops.num_rows, kept.num_rows
        return decision_table(
            self,
            {
                "uid": [*drops.column("uid").to_pylist(), *kept.column("uid").to_pylist()],
                "dup_cluster": [
                    *drops.column("dup_cluster").to_pylist(),
                    *kept.column("dup_cluster").to_pylist(),
                ],
                "duplicate_of": [*drops.column("duplicate_of").to_pylist(), *[None] * m],
                "drop_stage": ["near-dedup"] * n + [None] * m,
                "drop_reason": ["near-duplicate"] * n + [None] * m,
            },
        )
