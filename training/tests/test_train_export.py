import json
import re

import numpy as np
import torch
from safetensors.numpy import load_file

from conftest import CONFIGS, train
from memsynth_train.common import load_checkpoint


def test_each_tiny_model_trains_and_writes_a_checkpoint(tiny_runs):
    for name in ("vqvae", "vocoder", "diffusion", "mapper"):
        summary = json.loads((tiny_runs / name / "summary.json").read_text())
        assert summary["steps"] > 0 and summary["metrics"]
        assert (tiny_runs / name / "checkpoint.pt").exists()
        assert list((tiny_runs / name / "tb").iterdir())  # TensorBoard events


def _same_state(a, b):
    for k in a:
        if torch.is_tensor(a[k]):
            assert torch.equal(a[k], b[k]), k


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(dataset, tmp_path):
    for model, extra in (("vqvae", []), ("mapper", []), ("vocoder", [])):
        whole = train(model, dataset, tmp_path / f"{model}-whole", 6, *extra)
        part = train(model, dataset, tmp_path / f"{model}-part", 3, *extra)
        train(model, dataset, part, 6, "--resume", *extra)
        a, b = load_checkpoint(whole), load_checkpoint(part)
        assert a["step"] == b["step"] == 6
        for name in a["modules"]:
            _same_state(a["modules"][name], b["modules"][name])
            _same_state(a["emas"].get(name, {}), b["emas"].get(name, {}))


def test_diffusion_resume_and_mel_mode(dataset, tiny_runs, tmp_path):
    vq = ["--vqvae", str(tiny_runs / "vqvae")]
    whole = train("diffusion", dataset, tmp_path / "whole", 4, *vq)
    part = train("diffusion", dataset, tmp_path / "part", 2, *vq)
    train("diffusion", dataset, part, 4, "--resume", *vq)
    _same_state(load_checkpoint(whole)["modules"]["unet"], load_checkpoint(part)["modules"]["unet"])
    cfg = tmp_path / "mel.yaml"
    cfg.write_text((CONFIGS / "diffusion-tiny.yaml").read_text().replace("mode: latent", "mode: mel"))
    train("diffusion", dataset, tmp_path / "mel", 2, config=str(cfg))
    assert load_checkpoint(tmp_path / "mel")["extra"]["mode"] == "mel"


def test_export_matches_onnxruntime_and_writes_manifest_and_fixtures(dataset, tiny_runs, tmp_path):
    import onnxruntime as ort
    from memsynth_train.__main__ import main
    out, fx = tmp_path / "models", tmp_path / "fixtures"
    assert main(["export", "--runs", str(tiny_runs), "--data", str(dataset), "--out", str(out),
                 "--fixtures", str(fx)]) == 0
    ron = (out / "manifest.ron").read_text()
    assert ron.count("(") == ron.count(")") and ron.count("{") == ron.count("}")
    assert re.search(r'standard_hash: "[0-9a-f]{64}"', ron)
    for f in ("vqvae_encoder", "vqvae_decoder", "vocoder", "unet", "mapper"):
        assert (out / f"{f}.onnx").exists() and f'"{f}"' in ron
    t = load_file(str(fx / "parity.safetensors"))
    # The DDIM fixture reproduces through onnxruntime with the same sampler arithmetic.
    sess = ort.InferenceSession(str(out / "unet.onnx"), providers=["CPUExecutionProvider"])
    from memsynth_train.diffusion import alpha_sigma, ddim_timesteps
    x = t["ddim.noise"]
    g = float(t["ddim.guidance"][0])
    for tt, tn in ddim_timesteps(int(t["ddim.steps"][0])):
        feed = {"x_t": np.concatenate([x, x]), "t": np.full(2, tt, np.float32),
                "cond": np.concatenate([t["ddim.cond"], np.zeros_like(t["ddim.cond"])]),
                "context": np.concatenate([t["ddim.context"]] * 2),
                "context_mask": np.concatenate([t["ddim.context_mask"]] * 2)}
        vc, vu = sess.run(["v"], feed)[0]
        v = vu + g * (vc - vu)
        a, s = (float(q) for q in alpha_sigma(torch.tensor(tt, dtype=torch.float64)))
        an, sn = (float(q) for q in alpha_sigma(torch.tensor(tn, dtype=torch.float64)))
        x = an * (a * x - s * v[None]) + sn * (s * x + a * v[None])
    assert np.abs(x - t["ddim.out_guided"]).max() < 1e-3
    # The vocoder fixture's waveform is the iSTFT of its magnitude and phase.
    sess = ort.InferenceSession(str(out / "vocoder.onnx"), providers=["CPUExecutionProvider"])
    mag, phase = sess.run(["mag", "phase"], {"mel": t["vocoder.mel"]})
    assert np.abs(mag - t["vocoder.mag"]).max() < 1e-3 * max(1, np.abs(mag).max())
    assert t["vocoder.waveform"].shape == (1, t["vocoder.mel"].shape[-1] * 250)


def test_eval_reports_every_model(dataset, tiny_runs, tmp_path):
    from memsynth_train.__main__ import main
    assert main(["eval", "--runs", str(tiny_runs), "--data", str(dataset), "--out", str(tmp_path / "e.json"),
                 "--max-items", "4", "--max-rows", "64"]) == 0
    e = json.loads((tmp_path / "e.json").read_text())
    assert {"vqvae", "vocoder", "diffusion", "mapper"} <= set(e)
    assert e["vocoder"]["griffin_lim_mrstft"] > 0 and 0 <= e["vqvae"]["codebook_usage"] <= 1


def test_two_process_ddp_on_cpu(dataset, tmp_path):
    """The same entry point under torchrun (what `accelerate launch` runs): 2 gloo processes."""
    import os
    import subprocess
    import sys
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    out = tmp_path / "ddp"
    subprocess.run([torchrun, "--nproc_per_node", "2", "-m", "memsynth_train", "vqvae", "--config",
                    str(CONFIGS / "vqvae-tiny.yaml"), "--data", str(dataset), "--out", str(out), "--steps", "4"],
                   check=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True)
    assert json.loads((out / "summary.json").read_text())["processes"] == 2
