"""`python -m memsynth_train bench --models DIR`: onnxruntime time per 4-bar phrase for each
stage (20 DDIM steps with CFG = 20 U-Net calls at batch 2, VQ decode, vocoder on 768 frames,
torch iSTFT), with spinning off as the server runs it. Reports wall and process CPU seconds
(median of --repeat runs)."""

import json
import time
from pathlib import Path

import numpy as np
import torch


def _session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _time(fn, repeat):
    walls, cpus = [], []
    fn()  # warm up
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return float(np.median(walls)), float(np.median(cpus))


def bench(args) -> dict:
    from .mel import istft
    models = Path(args.models)
    rng = np.random.default_rng(0)
    f32 = np.float32
    out = {}
    unet = _session(models / "unet.onnx", args.threads)
    shapes = {i.name: i.shape for i in unet.get_inputs()}
    c, length = shapes["x_t"][1], shapes["x_t"][2]
    lc = shapes["context"][2]
    feed = {"x_t": rng.standard_normal((2, c, length)).astype(f32), "t": np.full(2, 0.5, f32),
            "cond": rng.standard_normal((2, 376)).astype(f32), "context": rng.standard_normal((2, c, lc)).astype(f32),
            "context_mask": np.ones(2, f32)}
    out["unet_20_steps_cfg"] = _time(lambda: [unet.run(None, feed) for _ in range(args.steps)], args.repeat)
    dec = _session(models / "vqvae_decoder.onnx", args.threads)
    lat = {"latent": rng.standard_normal((1, 64, 192)).astype(f32)}
    out["vq_decode"] = _time(lambda: dec.run(None, lat), args.repeat)
    voc = _session(models / "vocoder.onnx", args.threads)
    mel = {"mel": (rng.standard_normal((1, 128, 768)) - 5).astype(f32)}
    out["vocoder"] = _time(lambda: voc.run(None, mel), args.repeat)
    mag, phase = (torch.from_numpy(x) for x in voc.run(None, mel))
    torch.set_num_threads(args.threads)
    out["istft_torch"] = _time(lambda: istft(mag, phase, 768 * 250), args.repeat)
    total = [sum(v[i] for v in out.values()) for i in (0, 1)]
    out["total"] = tuple(total)
    print(f"per 4-bar phrase (8 s at 120 BPM), {args.threads} threads, median of {args.repeat}:")
    for k, (w, cpu) in out.items():
        print(f"  {k:20s} wall {w:7.3f} s   cpu {cpu:7.3f} s")
    result = {k: {"wall_s": v[0], "cpu_s": v[1]} for k, v in out.items()}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return result
