"""The classify step's decisions from cached scores (no model: every survivor is cached)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.config import load_config
from pipelines.layout import Layout
from pipelines.steps.base import StepContext
from pipelines.steps.classify import Classify
from tests.pipelines.steps.conftest import write_docs


def _setup(tmp_path) -> Layout:
    layout = Layout(tmp_path)
    write_docs(
        layout,
        [
            {"id": "low", "text": "a"},
            {"id": "high", "text": "b"},
            {"id": "dropped-low", "text": "c", "drop_stage": "quality", "drop_reason": "x"},
        ],
    )
    batch = layout.work / "edu" / "batch-1"
    batch.mkdir(parents=True)
    pq.write_table(
        pa.table({"uid": ["in-0/0", "in-0/1", "in-0/2"], "edu_score": [1.0, 4.0, 0.5],
                  "edu_int": [1, 4, 0]}),
        batch / "part-0.parquet",
    )  # fmt: skip
    return layout


def _decisions(table: pa.Table) -> dict:
    return {r["uid"]: (r["drop_reason"], r["edu_score"]) for r in table.to_pylist()}


def test_low_edu_is_decided_by_the_step_for_survivors_only(tmp_path, capsys):
    layout = _setup(tmp_path)
    cfg = load_config(None, ["classify.min_edu_score=3"])
    table = Classify().run(StepContext(cfg, layout))
    assert _decisions(table) == {
        "in-0/0": ("low-edu", 1.0),
        "in-0/1": (None, 4.0),
        "in-0/2": (None, 0.5),  # dropped earlier: its score is kept, the decision is ingest's
    }
    assert table.column("drop_stage").to_pylist().count("classify") == 1
    assert "0 document(s) to score, 1 cached batch file(s)" in capsys.readouterr().out


def test_off_keeps_the_cached_scores_and_drops_nothing(tmp_path):
    layout = _setup(tmp_path)
    table = Classify().run(StepContext(load_config(), layout, until="dedup"))
    assert {v[0] for v in _decisions(table).values()} == {None}
    assert _decisions(table)["in-0/1"] == (None, 4.0)


def test_no_cache_no_scores(tmp_path):
    layout = Layout(tmp_path)
    write_docs(layout, [{"id": "a", "text": "a"}])
    table = Classify().run(StepContext(load_config(), layout, until="dedup"))
    assert table.num_rows == 0 and "edu_score" in table.column_names


def _stored_student(tmp_path, scores: list[float | None]) -> StepContext:
    """Ingest output with the shipped student's scores (``edu_student``) and its tag."""
    from classifiers.student_scores import STUDENT_TAG_KEY, student_tag

    layout = Layout(tmp_path)
    write_docs(
        layout, [{"id": f"d{i}", "text": "t", "edu_student": s} for i, s in enumerate(scores)]
    )
    f = layout.docs_dir("in-0") / "part-0.parquet"
    cfg = load_config()
    tag = student_tag(cfg.classify)
    pq.write_table(pq.read_table(f).replace_schema_metadata({STUDENT_TAG_KEY: tag}), f)
    return StepContext(cfg, layout)


def test_the_students_band_goes_to_the_teacher_the_rest_is_decided(tmp_path):
    from pipelines.steps.classify import _decided_table, _student_split

    ctx = _stored_student(tmp_path, [1.23456, 2.999, None, 4.5, 3.0])
    todo = pa.array(["in-0/0", "in-0/1", "in-0/2", "in-0/3"])  # in-0/4: not to score
    decided, band = _student_split(ctx, todo, 2.9, 3.1)
    assert sorted(band.to_pylist()) == ["in-0/1", "in-0/2"]  # unsure, or no stored score
    rows = sorted(_decided_table(decided).to_pylist(), key=lambda r: r["uid"])
    assert rows == [
        {"uid": "in-0/0", "edu_score": 1.2346, "edu_int": 1},
        {"uid": "in-0/3", "edu_score": 4.5, "edu_int": 5},
    ]


def test_prepare_loads_the_teacher_only_when_ingest_left_documents_in_its_band(
    tmp_path, monkeypatch
):
    from pipelines import ray_backend as rb
    from pipelines.steps import classify

    monkeypatch.setattr(classify, "_driver_teacher", lambda config: "teacher")

    with rb.in_process():
        decided = _stored_student(tmp_path / "decided", [1.0, 4.5])
        Classify().prepare(decided)
        assert decided.prepared == {}  # the student decides every survivor: no teacher
        unsure = _stored_student(tmp_path / "unsure", [1.0, 3.0])
        off = StepContext(unsure.config, unsure.layout, until="dedup")
        Classify().prepare(off)
        assert off.prepared == {}  # no classify step this run
        Classify().prepare(unsure)
    assert unsure.prepared["classify"].result(timeout=10) == "teacher"


def test_a_prepared_teacher_scores_as_one_loaded_by_the_step(tmp_path, monkeypatch):
    import classifiers.model
    from pipelines import ray_backend as rb

    text = "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen. " * 5
    scores = {}
    for prepared in (False, True):
        ctx = _stored_student(tmp_path / str(prepared), [3.0])
        f = ctx.layout.docs_dir("in-0") / "part-0.parquet"
        t = pq.read_table(f)
        pq.write_table(t.set_column(t.schema.get_field_index("text"), "text", [[text]]), f)
        with rb.in_process():
            if prepared:
                Classify().prepare(ctx)
                ctx.prepared["classify"].result()
                monkeypatch.setattr(classifiers.model, "load_edu_model", None)  # not called
            scores[prepared] = _decisions(Classify().run(ctx))["in-0/0"][1]
    assert scores[True] == scores[False] and scores[True] != 3.0  # the teacher's score
