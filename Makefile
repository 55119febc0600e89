# Two entry points: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NEURAL := $(VENV)/.neural
DEMO_DIR := output/demo

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-deps 'tinysoundfont>=0.3.7'  # its PyAudio is playback only
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/audio-creator demo-video $(DEMO_DIR)/demo.mp4
	$(BIN)/audio-creator probe $(DEMO_DIR)/demo.mp4
	$(BIN)/audio-creator autopipeline --video $(DEMO_DIR)/demo.mp4 -o $(DEMO_DIR)/demo_soundtrack.wav \
		--rerank 3 --merge-video
	$(BIN)/audio-creator probe $(DEMO_DIR)/demo_soundtrack.mp4
	@echo "demo outputs are in $(DEMO_DIR)/: demo_soundtrack.mp4 (the video with its soundtrack),"
	@echo "  its mix, music, narration (+ .srt), caption and report (demo_soundtrack_report.json)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(NEURAL)  # with PyTorch present, its types are checked too
	$(BIN)/mypy src/audio_creator

# The neural tests need PyTorch (the demo does not): its CPU build where pip offers one; then
# peft (LoRA training), which would otherwise pull in a GPU build of torch.
$(NEURAL): $(STAMP)
	$(BIN)/python -m pip install --quiet 'torch==2.13.0'
	$(BIN)/python -m pip install --quiet 'peft>=0.10'
	@touch $(NEURAL)

test: lint typecheck $(NEURAL)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet scenedetect opencv-python-headless  # the cut-detection peer
	$(BIN)/python bench/media.py
	$(BIN)/python bench/mix.py
	$(BIN)/python bench/cuts.py
	$(BIN)/python bench/vidmuse.py --long --hour
	$(BIN)/python bench/beats.py
	$(BIN)/python bench/tts.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/wavjourney.py
	$(BIN)/python bench/wavjourney_items.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/web_upload.py
	$(BIN)/python bench/long.py  # 1- and 2-hour videos: about 45 minutes

clean:
	rm -rf $(VENV) output .pytest_cache .mypy_cache .ruff_cache
