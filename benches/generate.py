"""CPU time per 4-bar phrase of `memsynth generate`, per stage (20 DDIM steps with CFG = 20
U-Net calls at batch 2, VQ decode, tempo stretch, vocoder network + Rust iSTFT) and in total,
on 2 cores (taskset -c 0,1, 2 intra-op threads, spinning off). A benchmark, not a test.

    .venv-train/bin/python benches/generate.py                 # small + tiny model sizes
    .venv-train/bin/python benches/generate.py --sizes full     # the design's full sizes
    .venv-train/bin/python benches/generate.py --models models  # trained models as shipped

With --sizes, the models are the training package's architectures from configs/X[-size].yaml
with seeded random weights (the cost of a network does not depend on its training), exported
by the training package's own exporter into target/bench-generate/SIZE/ with the committed
fixture manifest (same tensor contract and feature standard). Needs a release binary
(`cargo build --release -p memsynth-actors`), a phrase database (default: the one
training/ci.sh builds) and the training venv for the export.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["DDIM sampling", "VQ decode", "tempo stretch", "vocoder + iSTFT", "total"]


def export_random(size: str, out: Path) -> Path:
    """ONNX files of the `size` configs with seeded random weights, and a manifest."""
    sys.path.insert(0, str(ROOT / "training"))
    import torch
    from memsynth_train import data as D
    from memsynth_train.common import load_config
    from memsynth_train.diffusion import build as build_unet
    from memsynth_train.export import UNetExport, VqDecoderExport, export_onnx
    from memsynth_train.vocoder import build as build_voc
    from memsynth_train.vqvae import build as build_vq

    suffix = "" if size == "full" else f"-{size}"
    cfg = lambda name: load_config(ROOT / "configs" / f"{name}{suffix}.yaml")  # noqa: E731
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    params = {}
    with torch.no_grad():
        vq = build_vq(cfg("vqvae")).eval()
        lat = torch.randn(2, vq.quantizer.dim, 192, generator=g)
        export_onnx(VqDecoderExport(vq), {"latent": lat}, ["mel", "tokens"], out / "vqvae_decoder.onnx")
        params["vqvae"] = sum(p.numel() for p in vq.parameters())
        voc = build_voc(cfg("vocoder")).eval()
        export_onnx(voc, {"mel": torch.randn(2, 128, 768, generator=g) - 5}, ["mag", "phase"],
                    out / "vocoder.onnx", dynamic_time={"mel": 2})
        params["vocoder"] = sum(p.numel() for p in voc.parameters())
        unet = build_unet(cfg("diffusion")).eval()
        # Random (not zero-initialised) output layers, so the samples are not trivially zero.
        for p in unet.parameters():
            if not p.abs().sum():
                p.normal_(0, 0.01, generator=g)
        ex = {"x_t": torch.randn(2, 64, 192, generator=g), "t": torch.tensor([0.3, 0.9]),
              "cond": torch.randn(2, D.COND_DIMS, generator=g), "context": torch.randn(2, 64, 48, generator=g),
              "context_mask": torch.tensor([1.0, 0.0])}
        export_onnx(UNetExport(unet), ex, ["v"], out / "unet.onnx")
        params["unet"] = sum(p.numel() for p in unet.parameters())
    shutil.copyfile(ROOT / "tests/fixtures/model/models/manifest.ron", out / "manifest.ron")
    print(f"{size}: " + ", ".join(f"{k} {v / 1e6:.2f} M params" for k, v in params.items()), flush=True)
    return out


def parse(stderr: str) -> dict:
    """The stage table `memsynth generate` prints: CPU ms per stage, and total wall ms."""
    got = {}
    for stage in STAGES:
        m = re.search(rf"^{re.escape(stage)}\s+([0-9.]+)", stderr, re.M)
        if m:
            got[stage] = float(m.group(1)) / 1e3
    m = re.search(r"^total\s+[0-9.]+\s+\(wall ([0-9.]+) ms", stderr, re.M)
    if m:
        got["wall"] = float(m.group(1)) / 1e3
    return got


def run(binary: Path, models: Path, db: Path, phrase: int, repeat: int, threads: int) -> dict:
    runs = []
    out = ROOT / "target/bench-generate/out.wav"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["taskset", "-c", "0,1", str(binary), "generate", "--db", str(db), "--phrase", str(phrase),
           "--bars", "4", "--steps", "20", "--guidance", "2.5", "--tempo", "120", "--seed", "1",
           "--threads", str(threads), "--models", str(models), "--out", str(out)]
    if not shutil.which("taskset"):
        cmd = cmd[3:]
    for i in range(repeat + 1):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"memsynth generate failed:\n{p.stdout}\n{p.stderr}")
        if i:  # the first run warms the page cache and ONNX Runtime's loading
            runs.append(parse(p.stderr))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="*", default=["small", "tiny"], help="config sizes: tiny, small, full")
    ap.add_argument("--models", nargs="*", default=[], help="models folders to bench as they are")
    ap.add_argument("--db", default=str(ROOT / "target/training-ci/demo/demo-db"))
    ap.add_argument("--phrase", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bin", default=str(ROOT / "target/release/memsynth"))
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    targets = [(f"{s} (random weights)", export_random(s, ROOT / "target/bench-generate" / s)) for s in args.sizes]
    targets += [(m, Path(m)) for m in args.models]
    rows = [(name, run(Path(args.bin), path, Path(args.db), args.phrase, args.repeat, args.threads))
            for name, path in targets]
    print(f"\nCPU seconds per 4-bar phrase (8 s of audio at 120 BPM), 20 DDIM steps with CFG 2.5, "
          f"{args.threads} intra-op threads on cores 0-1, median of {args.repeat}:\n")
    head = f"{'models':28s}" + "".join(f"{s:>17s}" for s in STAGES) + f"{'wall':>10s}"
    print(head)
    print("-" * len(head))
    for name, r in rows:
        print(f"{name:28s}" + "".join(f"{r.get(s, float('nan')):17.3f}" for s in STAGES) + f"{r.get('wall', 0):10.3f}")


if __name__ == "__main__":
    main()
