"""Global exact dedup: among documents alive after ingest, keep the first of each
``text_hash`` by the stable order ``(source_file, position)``; drop the rest.

The hashes of all shards (written by any number of Ray workers) meet here in one
DuckDB window query over Parquet, which spills to disk beyond memory, so
duplicates in different shards handled by different workers are found.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def exact_dedup(docs_glob: str, out_file: Path) -> int:
    """Write ``uid, duplicate_of, drop_reason`` for every exact duplicate; return their count."""
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(out_file.name + ".tmp")
    con = duckdb.connect()
    columns = {
        r[0]
        for r in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{docs_glob}', union_by_name = true)"
        ).fetchall()
    }
    if "text_hash" not in columns:  # filters disabled: nothing hashed, nothing to dedup exactly
        con.execute(
            f"COPY (SELECT NULL::VARCHAR uid, NULL::VARCHAR duplicate_of, NULL::VARCHAR drop_reason WHERE false) TO '{tmp}' (FORMAT parquet)"
        )
        con.close()
        tmp.replace(out_file)
        return 0
    con.execute(
        f"""
        COPY (
          WITH alive AS (
            SELECT uid, id, text_hash, source_file, position
            FROM read_parquet('{docs_glob}', union_by_name = true)
            WHERE drop_reason IS NULL AND text_hash IS NOT NULL
          ), ranked AS (
            SELECT uid,
                   first_value(id) OVER w AS duplicate_of,
                   row_number() OVER w AS rank
            FROM alive
            WINDOW w AS (PARTITION BY text_hash ORDER BY source_file, position)
          )
          SELECT uid, duplicate_of, 'exact-duplicate' AS drop_reason
          FROM ranked WHERE rank > 1 ORDER BY uid
        ) TO '{tmp}' (FORMAT parquet)
        """
    )
    n = con.execute(f"SELECT count(*) FROM read_parquet('{tmp}')").fetchone()[0]
    con.close()
    tmp.replace(out_file)
    return n
