"""Training (single process and DDP under torchrun on gloo), evaluate, inspect and bench CLIs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from inspection.model import card_path_for, load_model
from tests.support.inspection_data import BUNDLED_MODEL, SAMPLES

REPO = Path(__file__).resolve().parents[2]


def one_error_line(err: str) -> bool:
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("bcmlp: error:") and "Traceback" not in err


def test_train_one_epoch_writes_weights_and_card(run_cli, tiny_set, tmp_path):
    out = tmp_path / "m"
    code, stdout, err = run_cli("train", "--data", str(tiny_set), "--out", str(out), "--epochs", "1",
                                "--device", "cpu", "--seed", "3", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["world_size"] == 1 and summary["validation_n"] > 0
    loaded = load_model(out.with_suffix(".safetensors"))
    card = loaded.card
    assert card["training"]["epochs"] == 1 and card["training"]["seed"] == 3
    assert card["dataset"]["digest"] and "sha256(file_name)" in card["dataset"]["split"]
    assert card["validation"]["n"] == summary["validation_n"]
    assert loaded.classes[0] == "crazing"


def test_train_is_reproducible_with_a_seed(run_cli, tiny_set, tmp_path):
    for name in ("a", "b"):
        code, _, err = run_cli("train", "--data", str(tiny_set), "--out", str(tmp_path / name),
                               "--epochs", "1", "--device", "cpu", "--seed", "5",
                               "--limit-per-class", "3", "--json")
        assert code == 0, err
    a = (tmp_path / "a.safetensors").read_bytes()
    assert a == (tmp_path / "b.safetensors").read_bytes()


def test_train_under_torchrun_with_two_gloo_processes(tiny_set, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed next to this Python")
    out = tmp_path / "ddp"
    # loopback only: the rendezvous on localhost, gloo's own connections on the lo interface
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1",
           "GLOO_SOCKET_IFNAME": "lo", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "app", "train",
         "--data", str(tiny_set), "--out", str(out), "--epochs", "1", "--device", "cpu", "--json"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun and both workers: nothing left behind
        proc.communicate()
        raise
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["world_size"] == 2
    card = load_model(out.with_suffix(".safetensors")).card
    assert card["training"]["world_size"] == 2


def test_train_bad_data(run_cli, tmp_path):
    code, _, err = run_cli("train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "m"))
    assert code == 2 and one_error_line(err)
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "x.jpg").write_bytes(b"x")
    code, _, err = run_cli("train", "--data", str(tmp_path / "flat"), "--out", str(tmp_path / "m"))
    assert code == 2 and one_error_line(err)


def test_evaluate_bundled_model_on_samples(run_cli):
    code, out, err = run_cli("evaluate", "--model", str(BUNDLED_MODEL), "--data", str(SAMPLES),
                             "--json")
    assert code == 0, err
    r = json.loads(out)
    assert set(r) >= {"accuracy", "per_class", "confusion", "n", "images_per_s"}
    assert r["n"] == 60 and sum(map(sum, r["confusion"])) == 60
    assert r["accuracy"] >= 0.95  # held-out images of the bundled model


@pytest.mark.needs_full_data
def test_bundled_model_accuracy_on_the_validation_split(run_cli, neu_full):
    code, out, err = run_cli("evaluate", "--model", str(BUNDLED_MODEL), "--data", str(neu_full),
                             "--split", "validation", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["n"] > 250 and r["accuracy"] >= 0.995


def test_model_file_that_is_not_safetensors(run_cli, tmp_path):
    bad = tmp_path / "m.safetensors"
    bad.write_bytes(b"\x80\x04\x95 pickle-ish bytes")
    shutil.copyfile(card_path_for(BUNDLED_MODEL), card_path_for(bad))
    code, _, err = run_cli("evaluate", "--model", str(bad), "--data", str(SAMPLES))
    assert code == 2 and one_error_line(err) and "not a safetensors" in err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.update(preprocessing_digest="0" * 64), "preprocessing digest"),
        (lambda c: c.update(weights_sha256="0" * 64), "does not match the weights"),
        (lambda c: c["architecture"].update(channels=[8, 8]), "architecture"),
        (lambda c: c.update(format="other"), "not a bcmlp.model-card"),
        (lambda c: c.update(classes=["a"]), "classes"),
    ],
)
def test_card_that_does_not_match(run_cli, tmp_path, edit, message):
    m = tmp_path / "m.safetensors"
    shutil.copyfile(BUNDLED_MODEL, m)
    card = json.loads(card_path_for(BUNDLED_MODEL).read_text())
    edit(card)
    card_path_for(m).write_text(json.dumps(card))
    code, _, err = run_cli("inspect", "--source", str(SAMPLES), "--model", str(m), "--no-store")
    assert code == 2 and one_error_line(err) and message in err


def test_missing_card(run_cli, tmp_path):
    m = tmp_path / "m.safetensors"
    shutil.copyfile(BUNDLED_MODEL, m)
    code, _, err = run_cli("evaluate", "--model", str(m), "--data", str(SAMPLES))
    assert code == 2 and one_error_line(err) and "card" in err


def test_inspect_folder_json_records(run_cli, data_dir, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(SAMPLES / "scratches", src)
    (src / "zz_truncated.jpg").write_bytes((src / "scratches_2.jpg").read_bytes()[:500])
    (src / "zz_junk.png").write_bytes(b"not a png at all")
    code, out, err = run_cli("inspect", "--source", str(src), "--json", "--data-dir", str(data_dir),
                             "--order-id", "P-200", "--params",
                             str(SAMPLES.parent / "parameters.csv"))
    assert code == 0, err
    recs = [json.loads(line) for line in out.splitlines()]
    assert len(recs) == 10 and all(r["order_id"] == "P-200" for r in recs)
    assert "skipped bad frame zz_junk.png" in err and "skipped bad frame zz_truncated.jpg" in err
    assert "bad frames 2" in err
    by_id = {r["workpiece_id"]: r for r in recs}
    assert by_id["scratches_2.jpg"]["params"]["tool"] == "R-09"
    assert sum(r["verdict"] == "NOK" for r in recs) >= 9  # scratches reject a cosmetic part
    from app.paths import DataDir
    from app.station.services import record_store

    store = record_store(DataDir(data_dir))
    assert store.count() == 10
    assert {r.digest for r in store.latest(20)} == {r["record_digest"] for r in recs}


def test_inspect_video_with_limit(run_cli, tmp_path):
    from tests.inspection.test_sources import write_video

    v = write_video(tmp_path / "line.avi", n=8)
    code, out, err = run_cli("inspect", "--source", str(v), "--limit", "5", "--json", "--no-store")
    assert code == 0, err
    assert [json.loads(x)["workpiece_id"] for x in out.splitlines()] == [f"line#{i}" for i in range(1, 6)]


@pytest.mark.parametrize("src", ["camera:97", "nowhere.avi"])
def test_inspect_bad_sources(run_cli, src):
    code, _, err = run_cli("inspect", "--source", src, "--no-store")
    assert code == 2 and one_error_line(err)


def test_inspect_bad_order_file(run_cli, tmp_path):
    o = tmp_path / "o.json"
    o.write_text('{"id": "x", "threshold_permille": 2.5}')
    code, _, err = run_cli("inspect", "--source", str(SAMPLES), "--order", str(o), "--no-store")
    assert code == 2 and one_error_line(err)


def test_bench_inspection_json(run_cli):
    code, out, err = run_cli("bench", "inspection", "--device", "cpu", "--seconds", "0.3",
                             "--frames", "20", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["device"] == "cpu" and r["images_per_s"] > 0 and r["records_stored"] == 20
    assert 0 < r["latency_ms_p50"] <= r["latency_ms_p95"]


def test_evaluate_with_perturbations(run_cli):
    code, out, err = run_cli("evaluate", "--model", str(BUNDLED_MODEL), "--data", str(SAMPLES),
                             "--perturb", "noise:8", "--perturb", "brightness:-30", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["perturb"] == ["noise:8", "brightness:-30"] and r["n"] == 60
    code, _, err = run_cli("evaluate", "--model", str(BUNDLED_MODEL), "--data", str(SAMPLES),
                           "--perturb", "fog:1")
    assert code == 2 and one_error_line(err)


def test_perturbations_change_images_reproducibly():
    import numpy as np

    from inspection.perturb import chain

    img = np.random.default_rng(0).integers(0, 255, (50, 50), dtype=np.uint8)
    for spec in ("noise:5", "blur:1.5", "brightness:20", "contrast:0.5", "gamma:1.5"):
        f = chain([spec])
        out = f(img)
        assert out.dtype == np.uint8 and out.shape == img.shape
        assert not np.array_equal(out, img) and np.array_equal(out, f(img))


def test_inspect_paced_replay_goes_through_the_mailbox(run_cli):
    code, out, err = run_cli("inspect", "--source", str(SAMPLES / "crazing"), "--rate", "40",
                             "--loop", "--limit", "12", "--no-store")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 12 and all(line.split("\t")[1] in ("OK", "NOK") for line in lines)
    assert "inspected 12" in err


def test_cli_options_match_the_inspection_package():
    from app.commands.inspection_options import DEVICE_CHOICES
    from app.commands.train_cmd import DEFAULT_EPOCHS
    from inspection import devices, train

    assert DEVICE_CHOICES == devices.DEVICE_CHOICES and DEFAULT_EPOCHS == train.DEFAULT_EPOCHS


def test_command_line_start_does_not_import_torch():
    code = "import sys, app.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "False", out.stderr
