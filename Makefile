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
	$(BIN)/pip install -q -e '.[test,tvm,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -f out/demo-C2.jsonl out/demo-C2-xgb.jsonl
	$(BIN)/ml2tuner tune --accel vta-1x16 --workload resnet18.C2 --tuner ml2tuner --trials 200 --trace out/demo-C2.jsonl
	$(BIN)/ml2tuner tune --accel vta-1x16 --workload resnet18.C2 --tuner xgb --trials 200 --trace out/demo-C2-xgb.jsonl

# Regenerate the recorded exhaustive traces and the pretrained bundles from the simulator.
# Run after any change to the accelerator model (ml2tuner/accel/); every figure rests on them.
ACCELS := vta-1x16 vta-zcu102
LAYERS := C2 C3 C4 C5 C6 C7 C8 C9 C10 C11
# conv layers outside ResNet-18, kept out of the bundles (held-out data for HPO)
HELDOUT := alexnet.conv4=conv2d:H=13,W=13,IC=256,OC=384,K=3,pad=1,stride=1 \
  resnet50.res2_expand=conv2d:H=56,W=56,IC=64,OC=256,K=1,pad=0,stride=1 \
  resnet50.res4_reduce=conv2d:H=14,W=14,IC=1024,OC=256,K=1,pad=0,stride=1 \
  yolov3.conv52=conv2d:H=52,W=52,IC=128,OC=256,K=3,pad=1,stride=1
data: $(STAMP)
	for a in $(ACCELS); do for l in $(LAYERS); do \
	  rm -f traces/$$a/resnet18.$$l.jsonl.gz; \
	  $(BIN)/ml2tuner bruteforce --quiet --accel $$a --workload resnet18.$$l \
	    --out traces/$$a/resnet18.$$l.jsonl.gz || exit 1; done; done
	for a in $(ACCELS); do for w in $(HELDOUT); do \
	  name=$${w%%=*}; spec=$${w#*=}; rm -f traces/heldout/$$a/$$name.jsonl.gz; \
	  $(BIN)/ml2tuner bruteforce --quiet --accel $$a --workload $$spec \
	    --out traces/heldout/$$a/$$name.jsonl.gz || exit 1; done; done
	for a in $(ACCELS); do rm -rf models/$$a; \
	  $(BIN)/ml2tuner train --traces traces/$$a/*.jsonl.gz --out models/$$a || exit 1; done

test: $(STAMP)
	$(BIN)/pytest -q

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

clean:
	rm -rf $(VENV) out .pytest_cache

.PHONY: install demo data test test-slow clean
