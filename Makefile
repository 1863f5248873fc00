# Two entry points do all set-up on a fresh machine (Python 3.11 with venv):
#   make demo   - a real ML2Tuner tuning run on the default accelerator (~1 minute)
#   make test   - the test suite (CI runs this through .ci/run)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,tvm]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -f out/demo-C2.jsonl out/demo-C2-xgb.jsonl
	$(BIN)/ml2tuner tune --accel vta-1x16 --workload resnet18.C2 --tuner ml2tuner --trials 200 --trace out/demo-C2.jsonl
	$(BIN)/ml2tuner tune --accel vta-1x16 --workload resnet18.C2 --tuner xgb --trials 200 --trace out/demo-C2-xgb.jsonl

test: $(STAMP)
	$(BIN)/pytest -q

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

clean:
	rm -rf $(VENV) out .pytest_cache

.PHONY: install demo test test-slow clean
