"""`python -m memsynth_train eval`: every trained run under --runs on the held-back phrases
(ids that are multiples of 10; the same split the trainers hold back).

- VQ-VAE: mel L1 of the reconstruction (raw log-mel units), codebook usage and perplexity.
- vocoder: multi-resolution STFT distance and mel L1 against the reference audio, for the
  vocoder and for Griffin-Lim (32 iterations on the mel's pseudo-inverse) as the baseline.
- diffusion: held-back v-loss and 20-step DDIM x₀ error (conditional, CFG 2.5, unconditional).
- mapper: top-1/top-5 phrase retrieval from synthetic motion, against chance.

Generated-phrase metrics (beat F-measure against the bar grid, key agreement, e_phrase
cosine, against a random phrase and unconditional generation) need memsynth's analysis:
`memsynth eval-generated --db DIR --models models` computes them in Rust, on the same
held-back phrases.
"""

import json
from pathlib import Path

import numpy as np
import torch

from . import data as D
from .common import load_checkpoint


def evaluate_runs(args) -> dict:
    torch.set_grad_enabled(False)
    runs = Path(args.runs)
    every = 10
    results = {}
    win = None
    if (runs / "vqvae" / "checkpoint.pt").exists() or (runs / "diffusion" / "checkpoint.pt").exists() \
            or (runs / "mapper" / "checkpoint.pt").exists():
        win = D.load_windows(args.data, max_rows=args.max_rows)
        held_win = win.subset(D.held_back(win.phrase_id, every))
        if len(held_win) == 0:
            print("no held-back windows (no phrase id is a multiple of 10): evaluating on all")
            held_win = win
        train_win = win.subset(~D.held_back(win.phrase_id, every))
    if (runs / "vqvae" / "checkpoint.pt").exists():
        from .diffusion import load_vqvae
        from .vqvae import evaluate as eval_vq
        vq, _ = load_vqvae(runs / "vqvae")
        results["vqvae"] = eval_vq(vq, held_win, max_windows=args.max_items)
    if (runs / "vocoder" / "checkpoint.pt").exists():
        from .vocoder import build, evaluate as eval_voc
        seg = D.load_segments(args.data, max_rows=args.max_rows)
        held = seg.subset(D.held_back(seg.phrase_id, every))
        if len(held) == 0:
            print("vocoder: no held-back segments (no phrase id is a multiple of 10): evaluating on all")
            held = seg
        # Spread over the held-back phrases rather than the first few.
        pick = np.linspace(0, len(held) - 1, min(len(held), args.max_items)).astype(int)
        held = held.subset(pick)
        ck = load_checkpoint(runs / "vocoder")
        voc = build(ck["config"])
        voc.load_state_dict(ck["emas"]["vocoder"])
        results["vocoder"] = eval_voc(voc, held, max_items=args.max_items)
    if (runs / "diffusion" / "checkpoint.pt").exists():
        from . import motion as M
        from .diffusion import Targets, build, encode_windows, evaluate as eval_diff, load_vqvae, normalise
        ck = load_checkpoint(runs / "diffusion")
        unet = build(ck["config"])
        unet.load_state_dict(ck["emas"]["unet"])
        mode, scale = ck["extra"]["mode"], ck["extra"]["scale"]
        vq = load_vqvae(ck["extra"]["vqvae"])[0] if mode == "latent" else None
        pick = held_win.subset(np.arange(len(held_win)) < args.max_items)
        seq, _ = encode_windows(pick, mode, vq, scale)
        stats = M.zscore_params(train_win.e_phrase)
        norm = M.MotionNormalizer(np.array(ck["extra"]["motion_mean"]), np.array(ck["extra"]["motion_std"]))
        em = norm(M.synthetic_e_motion(pick.e_phrase, pick.tempo, 1, stats))
        lc = D.CONTEXT_FRAMES // (1 if mode == "mel" else 4)
        t = Targets(normalise(seq, scale, mode), pick.context_valid, pick.e_phrase, em, pick.bar_code(),
                    pick.phrase_id, lc)
        results["diffusion"] = eval_diff(unet, t, max_items=args.max_items)
    if (runs / "mapper" / "checkpoint.pt").exists():
        from . import motion as M
        from .mapper import build, evaluate as eval_map
        ck = load_checkpoint(runs / "mapper")
        mp = build(ck["config"])
        mp.register_buffer("motion_mean", torch.zeros(D.E_MOTION_DIMS))
        mp.register_buffer("motion_std", torch.ones(D.E_MOTION_DIMS))
        mp.load_state_dict({k[len("mapper."):]: v for k, v in ck["emas"]["mapper"].items() if k.startswith("mapper.")})
        stats = (np.array(ck["extra"]["ephrase_mean"]), np.array(ck["extra"]["ephrase_std"]))
        results["mapper"] = eval_map(mp, held_win, stats, seed=12345)
    for model, metrics in results.items():
        print(f"{model}:")
        for k, v in metrics.items():
            print(f"  {k:28s} {v:.4f}" if isinstance(v, float) else f"  {k:28s} {v}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return results
