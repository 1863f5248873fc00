"""Property-based fuzzing (Hypothesis) of the readers of traces, Kernel Tuner caches (native and
T4) and model bundles: whatever the file holds, it is either read correctly (what is read obeys
the format's rules) or refused with a `UserError`; never another exception."""
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_kt_cache import small_cache, to_t4

from ml2tuner.accel.measurer import AccelMeasurer
from ml2tuner.errors import UserError
from ml2tuner.kt_cache import load_kt_cache
from ml2tuner.offline import load_traces, train
from ml2tuner.surrogates.bundle import load_bundle
from ml2tuner.traces import make_header, read_trace

# CI runs a fixed set of examples; ML2TUNER_FUZZ_EXAMPLES=N fuzzes longer with fresh ones
_LONG = int(os.environ.get("ML2TUNER_FUZZ_EXAMPLES", 0))
SETTINGS = settings(max_examples=_LONG or 120, deadline=None, derandomize=not _LONG,
                    suppress_health_check=[HealthCheck.too_slow], database=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 40, 2 ** 40) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6)


def mutate(doc, data, n_max=3):
    """Replace, delete or add up to n_max nodes at random places of a JSON document."""
    doc = json.loads(json.dumps(doc))
    for _ in range(data.draw(st.integers(1, n_max))):
        node = doc
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = data.draw(st.sampled_from(keys))
            child = node[key]
            if isinstance(child, (dict, list)) and child and data.draw(st.booleans()):
                node = child
                continue
            action = data.draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                node[key] = data.draw(json_values)
            elif action == "delete":
                del node[key]
            elif isinstance(node, dict):
                node[data.draw(st.text(max_size=6))] = data.draw(json_values)
            else:
                node.append(data.draw(json_values))
            break
    return doc


def corrupt_bytes(raw: bytes, data) -> bytes:
    """Cut the file short, or overwrite a few bytes, at random places."""
    if data.draw(st.booleans()):
        return raw[:data.draw(st.integers(0, len(raw)))]
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    return bytes(raw)


# ----- traces -------------------------------------------------------------------------------------
M = AccelMeasurer("vta-1x16", "resnet18.C11")
RESULTS = M.measure([0, 5, 17, 100, 300, 575])
TRACE = [make_header(M.space, **M.describe())] + [
    {"record": "measure", "seq": s, **r.to_record()} for s, r in enumerate(RESULTS)]


def check_trace_read(path):
    try:
        t = read_trace(path)
    except UserError:
        return None
    space = t.space
    for r in t.results:            # read correctly: every result obeys the format's rules
        assert 0 <= r.index < len(space) and space.index_to_config(r.index) == r.config
        assert math.isfinite(r.profile_time) and r.profile_time >= 0
        if r.valid:
            assert math.isfinite(r.cost) and r.cost > 0
    return t


def test_unmutated_trace_reads_back_exactly(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in TRACE))
    t = check_trace_read(p)
    assert [r.to_record() for r in t.results] == [r.to_record() for r in RESULTS]


@SETTINGS
@given(data=st.data())
def test_trace_reader_reads_or_refuses(data):
    lines = TRACE
    if data.draw(st.booleans()):
        which = data.draw(st.integers(0, len(lines) - 1))
        lines = lines[:which] + [mutate(lines[which], data)] + lines[which + 1:]
    raw = "".join(json.dumps(r) + "\n" for r in lines).encode()
    if data.draw(st.booleans()):
        raw = corrupt_bytes(raw, data)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.jsonl"
        p.write_bytes(raw)
        check_trace_read(p)
        try:                       # the streaming reader of `train` follows the same rules
            ts = load_traces([p])
        except UserError:
            return
        assert ts.X.shape[0] == len(ts.valid) and ts.H.shape[0] == int(ts.valid.sum())
        assert ts.traces[0]["n"] == len(ts.valid)
        assert all(math.isfinite(c) for c in ts.log_cost[ts.valid])


# ----- Kernel Tuner caches ------------------------------------------------------------------------
def check_cache_read(path):
    try:
        d = load_kt_cache(path)
    except UserError:
        return None
    assert len(d.cost) == len(d.space) == len(d.status) == len(d.profile_time)
    assert (d.profile_time >= 0).all() and all(math.isfinite(x) for x in d.profile_time)
    ok = d.valid
    assert all(math.isfinite(c) for c in d.cost[ok])
    if d.meta["objective"] == "time":
        assert (d.cost[ok] > 0).all()
    return d


@SETTINGS
@given(data=st.data(), t4=st.booleans())
def test_kt_cache_reader_reads_or_refuses(data, t4):
    doc = to_t4(small_cache()) if t4 else small_cache()
    doc = mutate(doc, data, n_max=4)
    raw = json.dumps(doc).encode()
    if data.draw(st.integers(0, 3)) == 0:
        raw = corrupt_bytes(raw, data)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / ("c_T4.json" if t4 else "c.json")
        p.write_bytes(raw)
        check_cache_read(p)


def test_unmutated_caches_read_correctly(tmp_path):
    for t4 in (False, True):
        p = tmp_path / f"c{t4}.json"
        p.write_text(json.dumps(to_t4(small_cache()) if t4 else small_cache()))
        d = check_cache_read(p)
        assert d is not None and d.n_valid == 3 and d.optimum == pytest.approx(1.5e-3)


# ----- model bundles ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundle")
    p = d / "t.jsonl"
    res = M.measure(range(len(M.space)))
    p.write_text("".join(json.dumps(r) + "\n" for r in [make_header(M.space, **M.describe())] + [
        {"record": "measure", "seq": s, **r.to_record()} for s, r in enumerate(res)]))
    train([p], d / "b", seed=0)
    return d / "b"


@SETTINGS
@given(data=st.data())
def test_bundle_loader_reads_or_refuses(bundle_dir, data):
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    with tempfile.TemporaryDirectory() as d:
        b = Path(d) / "b"
        shutil.copytree(bundle_dir, b)
        (b / "manifest.json").write_text(json.dumps(mutate(manifest, data, n_max=3)))
        if data.draw(st.integers(0, 3)) == 0:
            name = data.draw(st.sampled_from(["manifest.json", "v.json", "p.json", "a.json"]))
            if (b / name).exists():
                (b / name).write_bytes(corrupt_bytes((b / name).read_bytes(), data))
        try:
            bundle = load_bundle(b)
        except UserError:
            return
        # read correctly: the models take the manifest's feature layout
        t = bundle.for_task(M.space, M.describe()["descriptor"])
        assert 0.0 <= bundle.threshold <= 1.0
        assert t.v.predict_proba(M.space.features([0, 1])).shape == (2, 2)
        assert t.p.predict_log(M.space.features([0, 1])).shape == (2,)
