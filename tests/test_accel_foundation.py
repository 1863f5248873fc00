import json

import numpy as np
import pytest

from ml2tuner.accel.compiler import make_space
from ml2tuner.accel.hardware import ACCEL_DIR, load_hardware
from ml2tuner.accel.workloads import Dense, parse_workload, resnet18_layers
from ml2tuner.errors import SpaceError, UserError
from ml2tuner.space import Knob, Space

AUTOTVM_SPACE_SIZES = {"C2": 2304, "C3": 1728, "C4": 1728, "C5": 2304, "C6": 1280, "C7": 1280,
                "C8": 1600, "C9": 480, "C10": 480, "C11": 576}


def test_resnet18_space_sizes_match_design_table():
    hw = load_hardware("vta-1x16")
    sizes = {name.split(".")[1]: len(make_space(parse_workload(name), hw))
             for name in resnet18_layers()}
    assert sizes == AUTOTVM_SPACE_SIZES


def test_flops_match_design():
    assert parse_workload("resnet18.C2").flops == pytest.approx(231.2e6, rel=1e-3)
    assert parse_workload("resnet18.C3").flops == pytest.approx(115.6e6, rel=1e-3)
    assert parse_workload("resnet18.C4").flops == pytest.approx(12.8e6, rel=1e-2)


def test_hardware_descriptions():
    hw = load_hardware("vta-1x16")
    assert (hw.depth("uop"), hw.depth("inp"), hw.depth("wgt"), hw.depth("acc")) == \
        (8192, 2048, 1024, 2048)
    assert hw.peak_gflops == pytest.approx(51.2)
    ext = load_hardware("vta-zcu102")
    assert (ext.depth("inp"), ext.depth("wgt"), ext.depth("acc")) == (4096, 2048, 4096)
    assert (ext.clock_mhz, ext.bus_bits) == (333, 128)
    assert load_hardware("vta-1x32").block == 32
    assert load_hardware("vta-2x16").batch == 2


def test_hardware_from_user_path_and_errors(tmp_path):
    d = json.loads((ACCEL_DIR / "vta-1x16.json").read_text())
    d["name"] = "mine"
    p = tmp_path / "mine.json"
    p.write_text(json.dumps(d))
    assert load_hardware(str(p)).name == "mine"
    d["LOG_ACC_BUFF_SIZE"] = "big"
    p.write_text(json.dumps(d))
    with pytest.raises(UserError, match="LOG_ACC_BUFF_SIZE"):
        load_hardware(str(p))
    del d["clock_mhz"]
    d["LOG_ACC_BUFF_SIZE"] = 17
    p.write_text(json.dumps(d))
    with pytest.raises(UserError, match="clock_mhz"):
        load_hardware(str(p))
    p.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        load_hardware(str(p))
    with pytest.raises(UserError, match="unknown accelerator"):
        load_hardware("vta-9x9")


def test_workload_specs():
    wl = parse_workload("conv2d:H=14,W=14,IC=256,OC=256,K=3,pad=1,stride=1")
    assert (wl.OH, wl.OW, wl.IC) == (14, 14, 256)
    d = parse_workload("dense:N=1,IC=1024,OC=1024")
    assert isinstance(d, Dense) and d.flops == 2 * 1024 * 1024
    sp = make_space(d, load_hardware("vta-1x16"))
    assert sp.names == ["tile_b", "tile_ci", "tile_co", "oc_nthread"]
    for bad, msg in [("conv2d:H=3", "missing"), ("conv2d:H=x,W=1,IC=16,OC=16,K=1", "integer"),
                     ("resnet18.C99", "unknown ResNet-18"), ("lstm:H=3", "unknown workload"),
                     ("conv2d:H=4,W=4,IC=16,OC=16,K=9,pad=0", "kernel larger")]:
        with pytest.raises(UserError, match=msg):
            parse_workload(bad)
    with pytest.raises(UserError, match="multiple of 16"):
        make_space(parse_workload("conv2d:H=4,W=4,IC=24,OC=16,K=1"), load_hardware("vta-1x16"))


def test_space_roundtrip_features_neighbours():
    sp = make_space(parse_workload("resnet18.C9"), load_hardware("vta-1x16"))
    for i in (0, 17, 479):
        assert sp.config_to_index(sp.index_to_config(i)) == i
    X = sp.features(np.arange(len(sp)))
    assert X.shape == (480, 7)
    assert len({tuple(r) for r in X}) == 480          # the encoding is injective
    nb = sp.neighbours(5)
    assert len(nb) == sum(len(k.values) - 1 for k in sp.knobs)
    for j in nb:
        a, b = sp.index_to_config(5), sp.index_to_config(int(j))
        assert sum(a[k] != b[k] for k in a) == 1
    with pytest.raises(SpaceError, match="tile_h"):
        sp.config_to_index({**sp.index_to_config(0), "tile_h": 3})
    assert Space.from_dict(sp.to_dict()).to_dict() == sp.to_dict()


def test_restricted_space():
    sp = Space([Knob("a", (1, 2, 3)), Knob("b", ("x", "y"))], members=[5, 0, 3])
    assert len(sp) == 3
    assert [sp.index_to_config(i) for i in range(3)] == [
        {"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": "y"}]
    with pytest.raises(SpaceError, match="not a member"):
        sp.config_to_index({"a": 1, "b": "y"})
    assert sorted(sp.neighbours(1).tolist()) == [2]
    rng = np.random.default_rng(0)
    assert sorted(sp.sample(rng, 5).tolist()) == [0, 1, 2]
