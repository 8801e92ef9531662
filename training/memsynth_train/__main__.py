"""`python -m memsynth_train {vqvae,vocoder,diffusion,mapper,export,eval,bench} ...`"""

import argparse
import os
import sys

import torch


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m memsynth_train", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("vqvae", "vocoder", "diffusion", "mapper"):
        s = sub.add_parser(name, help=f"train the {name}")
        s.add_argument("--config", required=True, help=f"configs/{name}.yaml or configs/{name}-tiny.yaml")
        s.add_argument("--data", required=True, help="a `memsynth db export-dataset` folder")
        s.add_argument("--out", required=True, help="run folder: checkpoint.pt, tb/, summary.json")
        s.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])
        s.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if present")
        s.add_argument("--seed", type=int, default=None)
        s.add_argument("--steps", type=int, default=None, help="override train.steps")
        s.add_argument("--max-minutes", type=float, default=None,
                       help="stop (checkpoint, evaluate) after this much wall time")
        if name == "diffusion":
            s.add_argument("--vqvae", default=None, help="VQ-VAE run folder (latent mode)")
    e = sub.add_parser("export", help="ONNX models, models/manifest.ron and parity fixtures")
    e.add_argument("--runs", required=True, help="folder holding vqvae/ vocoder/ diffusion/ mapper/ run folders")
    e.add_argument("--data", required=True, help="the dataset the runs trained on (its manifest gives the hash)")
    e.add_argument("--out", required=True, help="models folder (ONNX + manifest.ron)")
    e.add_argument("--fixtures", default=None, help="write parity fixtures (safetensors) here")
    e.add_argument("--eval", default=None, help="eval.json to copy metrics from")
    v = sub.add_parser("eval", help="evaluate trained runs on held-back phrases")
    v.add_argument("--runs", required=True)
    v.add_argument("--data", required=True)
    v.add_argument("--out", default=None, help="write the metrics as JSON here")
    v.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])
    v.add_argument("--max-items", type=int, default=64)
    v.add_argument("--max-rows", type=int, default=None, help="read at most this many rows of each kind")
    b = sub.add_parser("bench", help="onnxruntime time per 4-bar phrase for each stage")
    b.add_argument("--models", required=True)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--steps", type=int, default=20)
    b.add_argument("--repeat", type=int, default=3)
    b.add_argument("--out", default=None)
    args = p.parse_args(argv)

    if "OMP_NUM_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

    if args.command in ("vqvae", "vocoder", "diffusion", "mapper"):
        from .common import load_config
        cfg = load_config(args.config)
        module = __import__(f"memsynth_train.{args.command}", fromlist=["train"])
        module.train(args, cfg)
    elif args.command == "export":
        from .export import export
        export(args)
    elif args.command == "bench":
        from .bench import bench
        bench(args)
    elif args.command == "eval":
        from .evaluate import evaluate_runs
        evaluate_runs(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
