"""Global exact dedup: among the surviving documents, keep the first of each
``text_hash`` by the stable order ``(source_file, position)``; drop the rest.

The hashes of all shards (written by any number of Ray workers) meet here in one
DuckDB window query over Parquet, which spills to disk beyond memory, so
duplicates in different shards handled by different workers are found.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from pipelines.progress import say
from pipelines.steps.base import Step, StepContext, decision_table


class ExactDedup(Step):
    name = "exact-dedup"
    stages = ("exact-dedup",)
    reads = ("uid", "id", "text_hash", "source_file", "position")

    def run(self, ctx: StepContext) -> pa.Table:
        con = duckdb.connect()
        try:
            if (
                "text_hash" not in ctx.doc_columns()
            ):  # filters disabled: nothing hashed, nothing to dedup
                table = self.empty()
            else:
                alive = ctx.survivors_sql(", ".join(self.reads)) + " AND text_hash IS NOT NULL"
                dups = con.sql(
                    f"""
                    WITH ranked AS (
                      SELECT uid, first_value(id) OVER w AS duplicate_of,
                             row_number() OVER w AS rank
                      FROM ({alive})
                      WINDOW w AS (PARTITION BY text_hash ORDER BY source_file, position)
                    )
                    SELECT uid, duplicate_of FROM ranked WHERE rank > 1 ORDER BY uid
                    """
                ).to_arrow_table()
                n = dups.num_rows
                table = decision_table(
                    self,
                    {
                        "uid": dups.column("uid"),
                        "duplicate_of": dups.column("duplicate_of"),
                        "drop_stage": ["exact-dedup"] * n,
                        "drop_reason": ["exact-duplicate"] * n,
                    },
                )
        finally:
            con.close()
        say(f"exact dedup: {table.num_rows} duplicate(s)")
        return table
