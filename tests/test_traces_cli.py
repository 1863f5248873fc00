import gzip
import json
import subprocess
import sys

import pytest

from ml2tuner.accel.measurer import AccelMeasurer
from ml2tuner.cli import main
from ml2tuner.errors import TraceFormatError, UserError
from ml2tuner.traces import TraceWriter, make_header, read_trace


def test_trace_writer_reader_roundtrip_and_truncation(tmp_path):
    m = AccelMeasurer("vta-1x16", "resnet18.C9")
    path = tmp_path / "t.jsonl"
    w = TraceWriter(path, make_header(m.space, **m.describe()))
    res = m.measure(range(10))
    for r in res:
        w.append(r)
    t = read_trace(path)
    assert [r.to_record() for r in t.results] == [r.to_record() for r in res]
    assert t.space.to_dict() == m.space.to_dict()
    # a kill in the middle of a write leaves a truncated last line: tolerated and reported
    with open(path, "a") as f:
        f.write('{"record": "measure", "seq": 10, "ind')
    t = read_trace(path)
    assert len(t.results) == 10 and "truncated" in t.warnings[0]
    w.close()
    # appending repairs the tail and continues the sequence
    w2 = TraceWriter(path, make_header(m.space, **m.describe()))
    w2.append(m.measure([11])[0])
    t = read_trace(path)
    assert len(t.results) == 11 and not t.warnings


def test_trace_reader_names_file_and_line(tmp_path):
    m = AccelMeasurer("vta-1x16", "resnet18.C9")
    path = tmp_path / "bad.jsonl"
    w = TraceWriter(path, make_header(m.space))
    w.append(m.measure([0])[0])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "{oops", lines[1]]) + "\n")
    with pytest.raises(TraceFormatError, match=r"bad.jsonl:2"):
        read_trace(path)
    other = AccelMeasurer("vta-1x16", "resnet18.C11")
    with pytest.raises(UserError, match="another space"):
        TraceWriter(tmp_path / "t2.jsonl", make_header(m.space)) and \
            TraceWriter(tmp_path / "t2.jsonl", make_header(other.space))


def run_cli(args, capsys):
    rc = main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_space_and_measure_json(capsys):
    rc, out, _ = run_cli(["space", "--workload", "resnet18.C11", "--json"], capsys)
    d = json.loads(out)
    assert rc == 0 and d["size"] == 576 and d["knobs"]["tile_co"] == [1, 2, 4, 8, 16, 32]
    cfg = {"tile_b": 1, "tile_h": 7, "tile_w": 7, "tile_ci": 1, "tile_co": 4,
           "oc_nthread": 2, "h_nthread": 1}
    rc, out, _ = run_cli(["measure", "--workload", "resnet18.C11", "--config", json.dumps(cfg),
                          "--json"], capsys)
    d = json.loads(out)
    assert rc == 0 and d["status"] == "ok" and d["cycles"] > 0 and d["gflops"] > 0
    # AutoTVM numbers the first knob fastest: positions (0, 1, 1, 0, 2, 1, 0) over radices
    # (1, 2, 2, 6, 6, 2, 2) of tile_b, tile_h, tile_w, tile_ci, tile_co, oc_nthread, h_nthread
    assert d["autotvm_index"] == 1 * 1 + 1 * 2 + 0 * 4 + 2 * 24 + 1 * 144 + 0 * 288
    assert set(d["counters"]) >= {"inp_load_nbytes", "wgt_load_nbytes", "acc_load_nbytes",
                                  "uop_load_nbytes", "out_store_nbytes", "gemm_counter",
                                  "alu_counter", "cycle_count"}
    assert d["hidden"]["trip_h"] == 1


@pytest.mark.parametrize("args,msg", [
    (["space", "--accel", "nope"], "unknown accelerator"),
    (["space", "--workload", "resnet18.C1"], "unknown ResNet-18 layer"),
    (["measure", "--config", "{bad"], "not valid JSON"),
    (["measure", "--config", '{"tile_h": 3}'], "unknown knob|lacks knob"),
    (["measure", "--config", '{"tile_b":1,"tile_h":3,"tile_w":1,"tile_ci":1,"tile_co":1,'
                             '"oc_nthread":1,"h_nthread":1}'], "not in the space"),
])
def test_cli_bad_input_one_line_exit_2(args, msg, capsys):
    rc, out, err = run_cli(args, capsys)
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert __import__("re").search(msg, err)


def test_cli_bruteforce_writes_exhaustive_trace(tmp_path):
    out = tmp_path / "c9.jsonl.gz"
    p = subprocess.run([sys.executable, "-m", "ml2tuner.cli", "bruteforce", "--workload",
                        "resnet18.C9", "--out", str(out), "--quiet", "--json"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    t = read_trace(out)
    assert len(t.results) == 480 == summary["size"]
    assert sorted(r.index for r in t.results) == list(range(480))
    assert t.header["exhaustive"] and t.header["accel"]["name"] == "vta-1x16"
    with gzip.open(out, "rt") as f:
        assert json.loads(f.readline())["record"] == "header"
