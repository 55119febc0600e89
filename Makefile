# Two entry points: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
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
	$(BIN)/audio-creator vidmuse --video $(DEMO_DIR)/demo.mp4 -o $(DEMO_DIR)/demo_music.wav \
		--rerank 3 --midi-out $(DEMO_DIR)/demo_music.mid \
		--merge-video --merged-video-path $(DEMO_DIR)/demo_scored.mp4
	$(BIN)/audio-creator probe $(DEMO_DIR)/demo_scored.mp4
	$(BIN)/audio-creator tts --text-file demo/narration.txt -o $(DEMO_DIR)/demo_voice.wav \
		--subtitles $(DEMO_DIR)/demo_voice.srt
	$(BIN)/audio-creator mix --music $(DEMO_DIR)/demo_music.wav --speech $(DEMO_DIR)/demo_voice.wav@1.5 \
		-o $(DEMO_DIR)/demo_mix.wav --duration 20 --target-lufs -18 --report $(DEMO_DIR)/demo_mix.json
	$(BIN)/audio-creator mux $(DEMO_DIR)/demo.mp4 $(DEMO_DIR)/demo_mix.wav -o $(DEMO_DIR)/demo_final.mp4
	$(BIN)/audio-creator probe $(DEMO_DIR)/demo_final.mp4
	@echo "demo outputs are in $(DEMO_DIR)/"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy src/audio_creator

test: lint typecheck
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet scenedetect opencv-python-headless  # the cut-detection peer
	$(BIN)/python bench/media.py
	$(BIN)/python bench/mix.py
	$(BIN)/python bench/cuts.py
	$(BIN)/python bench/vidmuse.py --long --hour
	$(BIN)/python bench/beats.py
	$(BIN)/python bench/tts.py

clean:
	rm -rf $(VENV) output .pytest_cache .mypy_cache .ruff_cache
