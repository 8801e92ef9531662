"""What every trainer shares: config, device and accelerate set-up, seeding, EMA weights,
checkpoints with resume, TensorBoard logging."""

import copy
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml


def load_config(path: str | Path) -> dict:
    with open(path) as f:
        cfg = yaml.safe_load(f)
    cfg.setdefault("train", {})
    cfg.setdefault("model", {})
    cfg["_path"] = str(path)
    return cfg


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Ema:
    """Exponential moving average of a module's parameters and float buffers."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.lerp_(p.detach(), 1.0 - self.decay)
        for e, b in zip(self.model.buffers(), model.buffers()):
            e.copy_(b)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Run:
    """One training run: the Accelerator, the output folder, logging and checkpoints.

    `modules`, `optimizers` and `emas` are dicts by name; everything in them, the step and
    the RNG states go into `out/checkpoint.pt` (written to a temporary file, then renamed).
    """

    def __init__(self, name: str, args, cfg: dict):
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs

        self.name = name
        self.cfg = cfg
        self.args = args
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        # The VQ-VAE's dead codes and the GAN's generator-only steps leave parameters unused.
        kwargs = DistributedDataParallelKwargs(find_unused_parameters=True)
        self.accel = Accelerator(cpu=args.device == "cpu", kwargs_handlers=[kwargs])
        if args.device == "cuda" and self.accel.device.type != "cuda":
            raise SystemExit("--device cuda: no CUDA device is available")
        if args.device == "mps" and self.accel.device.type != "mps":
            raise SystemExit("--device mps: no MPS device is available")
        self.device = self.accel.device
        self.rank = self.accel.process_index
        self.seed = int(args.seed if args.seed is not None else cfg["train"].get("seed", 0))
        seed_everything(self.seed + self.rank)
        self.steps = int(args.steps if args.steps is not None else cfg["train"]["steps"])
        self.step = 0
        self.modules: dict = {}
        self.optimizers: dict = {}
        self.emas: dict = {}
        self.extra: dict = {}
        self.writer = None
        if self.accel.is_main_process:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(self.out / "tb"))
            (self.out / "config.yaml").write_text(yaml.safe_dump(
                {k: v for k, v in cfg.items() if not k.startswith("_")}))
        self.started = time.time()
        self.history: list[dict] = []
        minutes = getattr(args, "max_minutes", None) or cfg["train"].get("max_minutes")
        self.deadline = self.started + 60.0 * float(minutes) if minutes else None

    def running(self) -> bool:
        """Whether to take another step: steps left and, with a time budget, time left."""
        if self.step >= self.steps:
            return False
        if self.deadline is not None and time.time() > self.deadline:
            self.log_text(f"time budget spent: stopping at step {self.step} of {self.steps}")
            self.steps = self.step
            return False
        return True

    @property
    def ckpt_path(self) -> Path:
        return self.out / "checkpoint.pt"

    def unwrap(self, name: str) -> torch.nn.Module:
        return self.accel.unwrap_model(self.modules[name])

    def save(self) -> None:
        self.accel.wait_for_everyone()
        if not self.accel.is_main_process:
            return
        state = {
            "name": self.name,
            "step": self.step,
            "seed": self.seed,
            "config": {k: v for k, v in self.cfg.items() if not k.startswith("_")},
            "modules": {k: self.unwrap(k).state_dict() for k in self.modules},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "emas": {k: e.state_dict() for k, e in self.emas.items()},
            "extra": self.extra,
            "rng": rng_state(),
            "command": command_line(),
            "data": str(getattr(self.args, "data", "")),
        }
        tmp = self.ckpt_path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.ckpt_path)

    def maybe_resume(self) -> bool:
        if not getattr(self.args, "resume", False) or not self.ckpt_path.exists():
            return False
        state = torch.load(self.ckpt_path, map_location="cpu", weights_only=False)
        for k, sd in state["modules"].items():
            self.unwrap(k).load_state_dict(sd)
        for k, sd in state["optimizers"].items():
            self.optimizers[k].load_state_dict(sd)
        for k, sd in state["emas"].items():
            self.emas[k].load_state_dict(sd)
        self.extra = state.get("extra", {})
        self.step = state["step"]
        set_rng_state(state["rng"])
        self.log_text(f"resumed from {self.ckpt_path} at step {self.step}")
        return True

    def log(self, scalars: dict) -> None:
        if self.writer is not None:
            for k, v in scalars.items():
                self.writer.add_scalar(f"{self.name}/{k}", float(v), self.step)
        self.history.append({"step": self.step, **{k: float(v) for k, v in scalars.items()}})

    def log_text(self, text: str) -> None:
        if self.accel.is_main_process:
            print(f"[{self.name} {self.step}/{self.steps} {time.time() - self.started:6.1f}s] {text}",
                  flush=True)

    def finish(self, metrics: dict) -> None:
        self.save()
        if self.accel.is_main_process:
            summary = {"model": self.name, "steps": self.step, "seed": self.seed,
                       "seconds": round(time.time() - self.started, 1),
                       "device": str(self.device), "processes": self.accel.num_processes,
                       "data": str(self.args.data), "command": command_line(),
                       "metrics": metrics}
            (self.out / "summary.json").write_text(json.dumps(summary, indent=2))
            if self.writer is not None:
                self.writer.close()
            self.log_text("done: " + json.dumps(metrics))

    def should(self, every: int) -> bool:
        return every > 0 and (self.step % every == 0 or self.step == self.steps)


def command_line() -> str:
    """How this process was started, as a user would type it."""
    argv = sys.argv[1:]
    return " ".join(["python -m memsynth_train"] + argv)


def fmt(scalars: dict) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in scalars.items())


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    return torch.load(path, map_location="cpu", weights_only=False)
