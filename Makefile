# One task runner for developers and CI (.ci/run calls these targets).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: help setup setup-test setup-train demo test test-fast lint typecheck check docs docs-check bench-recognition train-reader train-detector clean

help:
	@echo "make demo        install and run the demo (embedded SQLite, http://127.0.0.1:$(PORT)/)"
	@echo "make test        install the test extras and run the whole test suite"
	@echo "make check       ruff + mypy"
	@echo "make docs        regenerate docs/cli.md and docs/conformance.md"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install --quiet -e .

setup-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"

demo: setup
	$(BIN)/platekeeper demo --port $(PORT)

lint: setup-test
	$(BIN)/ruff check src tests benchmarks scripts

typecheck: setup-test
	$(BIN)/mypy

check: lint typecheck

test: setup-test
	$(BIN)/python -m pytest

test-fast: setup-test
	$(BIN)/python -m pytest -m "not slow and not browser"

docs: setup-test
	$(BIN)/python scripts/gen_cli_reference.py > docs/cli.md
	$(BIN)/python scripts/gen_access_matrix.py > docs/access-matrix.md
	$(BIN)/python scripts/gen_audit_events.py > docs/audit-events.md
	$(BIN)/python -m pytest -q -p no:cacheprovider --conformance-json=.conformance.json > /dev/null || true
	$(BIN)/python scripts/gen_conformance.py .conformance.json > docs/conformance.md
	rm -f .conformance.json

docs-check: setup-test
	$(BIN)/python scripts/gen_cli_reference.py | diff -u docs/cli.md - || (echo "docs/cli.md is stale: run make docs" && exit 1)
	$(BIN)/python scripts/gen_access_matrix.py | diff -u docs/access-matrix.md - || (echo "docs/access-matrix.md is stale: run make docs" && exit 1)
	$(BIN)/python scripts/gen_audit_events.py | diff -u docs/audit-events.md - || (echo "docs/audit-events.md is stale: run make docs" && exit 1)

bench-recognition: setup
	nice -n 10 $(BIN)/python benchmarks/recognition.py

setup-train: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[train]"

# Train the plate reader from scratch on a 2-core machine (2–3 hours idle, 3–4 h when shared; see the
# model card), then export it to src/platekeeper/recognition/models/plate_reader.onnx. Stage 1 trains the
# `wide` network from scratch (4,500 steps, averaged weights), stage 2 fine-tunes it with 70% real crops and
# their strong augmentation to step 7,000, stage 3 with spliced real crops to 9,000, stage 4 from stage 3 with cuts
# in the gaps and the Californian stills drawn more often to 16,000; the shipped file averages stages 3 and 4.
# Re-running resumes from the checkpoints (training/checkpoints/stage1/, training/checkpoints/, .../stage3/,
# .../stage4/); `rm -rf training/checkpoints training/cache` starts over.
train-reader: setup-train
	nice -n 10 $(BIN)/python -m training.render --shards 60 --jobs 2
	nice -n 10 $(BIN)/python -m training.render --demo --shards 6 --jobs 2
	nice -n 10 $(BIN)/python -m training.train --arch wide --ema 0.998 --steps 4500 --threads 2 \
		--checkpoints training/checkpoints/stage1
	nice -n 10 $(BIN)/python -m training.train --init training/checkpoints/stage1/last.pt --steps 7000 \
		--lr 6e-4 --warmup 100 --aug strong --arch wide --ema 0.998 --real-share 0.7 --seed 8 --threads 2
	nice -n 10 $(BIN)/python -m training.train --init training/checkpoints/last.pt --steps 9000 --lr 6e-4 \
		--warmup 100 --aug strong --arch wide --ema 0.998 --real-share 0.7 --splice 0.5 --seed 11 --threads 2 \
		--checkpoints training/checkpoints/stage3
	nice -n 10 $(BIN)/python -m training.train --init training/checkpoints/stage3/last.pt --steps 16000 --lr 8e-4 \
		--warmup 200 --aug strong --arch wide --ema 0.998 --real-share 0.7 --splice 0.7 --splice-keep-shares \
		--settle-cuts --stills-weight 10 --seed 12 --threads 2 --bf16 --checkpoints training/checkpoints/stage4
	$(BIN)/python -m training.export --checkpoint training/checkpoints/stage3/last.pt --out training/checkpoints/stage3.onnx
	$(BIN)/python -m training.export --checkpoint training/checkpoints/stage4/last.pt --out training/checkpoints/stage4.onnx
	$(BIN)/python -m training.ensemble training/checkpoints/stage3.onnx training/checkpoints/stage4.onnx \
		--out src/platekeeper/recognition/models/plate_reader.onnx

# Train the plate detector (about 25 minutes on 2 cores; see models/plate_detector.md) and export it to
# src/platekeeper/recognition/models/plate_detector.onnx. Re-running resumes from
# training/checkpoints/detector.pt; delete it to start over.
train-detector: setup-train
	nice -n 10 $(BIN)/python -m training.detector --steps 3000 --threads 2

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
