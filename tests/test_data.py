"""The data layer's shared conventions: missing values, numbers, duplicate records."""
import dataclasses
import json
import math

import numpy as np

from ml2tuner.accel.measurer import AccelMeasurer
from ml2tuner.data.datasets import load_traces
from ml2tuner.data.exhaustive import from_trace
from ml2tuner.data.records import (FILL_VALUE, feature_number, finite_number, first_records,
                                   hidden_row)
from ml2tuner.data.traces import make_header
from ml2tuner.tuners import make_tuner


def _trace(path, m, records):
    lines = [make_header(m.space, **m.describe())] + [r.to_record() | {"record": "measure"}
                                                     for r in records]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_numbers():
    assert feature_number(3) == 3.0 and math.isnan(feature_number(True))
    assert math.isnan(feature_number("x")) and math.isnan(feature_number(None))
    assert finite_number(2) == 2.0 and finite_number(float("inf")) is None
    assert finite_number(float("nan")) is None and finite_number(False) is None
    assert math.isnan(FILL_VALUE)


def test_tuner_and_offline_training_fill_absent_hidden_features_alike(tmp_path):
    # a record without one hidden feature: offline training (load_traces) and the tuner's own
    # Model A (and so a warm-started A) must both see NaN there, not 0.0 in one of them
    m = AccelMeasurer("vta-1x16", "dense:N=1,IC=64,OC=64")
    valid = [r for r in m.measure(list(range(len(m.space)))) if r.valid][:3]
    names = sorted(valid[0].hidden)
    dropped = names[0]
    del valid[1].hidden[dropped]
    ts = load_traces([_trace(tmp_path / "t.jsonl", m, valid)])
    col = ts.hidden_names.index(dropped)
    assert np.isnan(ts.H[1, col]) and not np.isnan(ts.H[0, col])
    t = make_tuner("ml2tuner", m.space)
    t.hidden_names = list(ts.hidden_names)
    H = t._hidden_matrix([r.hidden for r in valid])
    np.testing.assert_array_equal(np.isnan(H), np.isnan(ts.H))
    np.testing.assert_allclose(H[~np.isnan(H)], ts.H[~np.isnan(ts.H)], rtol=1e-6)
    assert hidden_row({"a": 1}, ["a", "b"])[0] == 1.0 and math.isnan(hidden_row({}, ["b"])[0])


def test_first_record_of_a_repeat_counts_in_every_reader(tmp_path):
    m = AccelMeasurer("vta-1x16", "dense:N=1,IC=16,OC=16")
    rs = m.measure(list(range(len(m.space))))
    ok = next(r for r in rs if r.valid)
    again = dataclasses.replace(ok, cost=ok.cost * 3)          # same index, other cost
    path = _trace(tmp_path / "t.jsonl", m, rs + [again])
    data = from_trace(path)
    assert data.meta["duplicates"] == 1 and data.cost[ok.index] == ok.cost
    ts = load_traces([path])
    assert len(ts.valid) == len(rs)
    row = int(np.flatnonzero(ts.valid)[0])
    assert np.isclose(ts.log_cost[row], math.log(rs[row].cost))
    kept, skipped = first_records([ok, again])
    assert kept == [ok] and skipped == 1


def test_measurers_expose_their_task_descriptor():
    """A replayed trace gives the descriptor recorded in its header, the same as the live
    simulator of that task; a Kernel Tuner cache has none."""
    from ml2tuner.accel.measurer import AccelMeasurer
    from ml2tuner.data.descriptors import task_descriptor
    from ml2tuner.replay import ReplayMeasurer
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "traces" / "vta-1x16" / "resnet18.C5.jsonl.gz"
    live = AccelMeasurer("vta-1x16", "resnet18.C5")
    replay = ReplayMeasurer.from_file(path)
    assert replay.descriptor() == live.descriptor() == task_descriptor(path)
    assert live.descriptor()["wl_IC"] == 128 and live.descriptor()["hw_log_block"] == 4
    assert task_descriptor(replay) == live.descriptor()
    from ml2tuner.testing import kt_style_data
    assert ReplayMeasurer(kt_style_data()).descriptor() == {}
