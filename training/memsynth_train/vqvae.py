"""VQ-VAE tokenizer on the log-mel: 128 × T → 64 × T/4 latent, EMA codebook (2048 × 64 by
default) with k-means initialisation from the first batch and dead-code restarts."""

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from . import data as D
from .common import Ema, Run, fmt
from .layers import ResBlock1d
from .mel import N_MELS

DOWNSAMPLE = 4


class Encoder(nn.Module):
    def __init__(self, ch: int, dim: int, blocks: int):
        super().__init__()
        layers = [nn.Conv1d(N_MELS, ch, 3, padding=1)]
        for _ in range(2):  # two stride-2 stages: 4× in time
            layers += [ResBlock1d(ch, d) for d in (1, 3)[:blocks]]
            layers += [nn.Conv1d(ch, ch, 4, stride=2, padding=1)]
        layers += [ResBlock1d(ch, d) for d in (1, 3, 9)[:blocks + 1]]
        layers += [nn.GroupNorm(8, ch), nn.SiLU(), nn.Conv1d(ch, dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    def __init__(self, ch: int, dim: int, blocks: int):
        super().__init__()
        layers = [nn.Conv1d(dim, ch, 3, padding=1)]
        layers += [ResBlock1d(ch, d) for d in (1, 3, 9)[:blocks + 1]]
        for _ in range(2):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv1d(ch, ch, 3, padding=1)]
            layers += [ResBlock1d(ch, d) for d in (1, 3)[:blocks]]
        layers += [nn.GroupNorm(8, ch), nn.SiLU(), nn.Conv1d(ch, N_MELS, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class EmaQuantizer(nn.Module):
    """Vector quantiser whose codebook follows EMA cluster means (van den Oord et al. 2017,
    appendix), initialised by k-means on the first batch; a code whose EMA count falls below
    `dead_threshold` is restarted on a random encoder output of the current batch."""

    def __init__(self, codes: int, dim: int, decay: float = 0.99, dead_threshold: float = 1e-2):
        super().__init__()
        self.codes, self.dim, self.decay, self.dead_threshold = codes, dim, decay, dead_threshold
        self.register_buffer("codebook", torch.randn(codes, dim) * 0.1)
        self.register_buffer("cluster_size", torch.ones(codes))
        self.register_buffer("embed_sum", self.codebook.clone())
        self.register_buffer("initialised", torch.tensor(False))
        # Uses of each code since the last restart check: a code unused for a whole check
        # period is dead even while its slowly decaying EMA count is not yet small.
        self.register_buffer("recent_use", torch.zeros(codes))

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        cb = self.codebook
        d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ cb.t() + cb.pow(2).sum(1)[None]
        return d.argmin(1)

    @torch.no_grad()
    def kmeans_init(self, flat: torch.Tensor, iters: int = 10) -> None:
        g = torch.Generator(device="cpu").manual_seed(0)
        n = flat.shape[0]
        pick = torch.randint(0, n, (self.codes,), generator=g) if n < self.codes else torch.randperm(n, generator=g)[: self.codes]
        centres = flat[pick.to(flat.device)].clone()
        if n < self.codes:  # fewer vectors than codes: jitter the repeats apart
            centres += 1e-3 * flat.std() * torch.randn(centres.shape, generator=g).to(flat.device)
        for _ in range(iters):
            d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ centres.t() + centres.pow(2).sum(1)[None]
            idx = d.argmin(1)
            counts = torch.bincount(idx, minlength=self.codes).float()
            sums = torch.zeros_like(centres).index_add_(0, idx, flat)
            filled = counts > 0
            centres[filled] = sums[filled] / counts[filled, None]
        self.codebook.copy_(centres)
        self.embed_sum.copy_(centres)
        self.cluster_size.fill_(1.0)
        self.initialised.fill_(True)

    def forward(self, z: torch.Tensor):
        b, d, t = z.shape
        flat = z.permute(0, 2, 1).reshape(-1, d)
        if self.training and not bool(self.initialised):
            self.kmeans_init(flat.detach())
        idx = self.nearest(flat)
        zq = self.codebook[idx]
        counts = torch.bincount(idx, minlength=self.codes).float()
        if self.training:
            with torch.no_grad():
                sums = torch.zeros_like(self.codebook).index_add_(0, idx, flat.detach())
                if torch.distributed.is_available() and torch.distributed.is_initialized():
                    torch.distributed.all_reduce(counts)
                    torch.distributed.all_reduce(sums)
                self.recent_use.add_(counts)
                self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
                self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
                n = self.cluster_size.sum()
                size = (self.cluster_size + 1e-5) / (n + self.codes * 1e-5) * n
                self.codebook.copy_(self.embed_sum / size[:, None])
        commit = F.mse_loss(flat, zq.detach())
        zq_st = flat + (zq - flat).detach()
        p = counts / counts.sum().clamp(min=1)
        stats = {"perplexity": torch.exp(-(p * torch.log(p + 1e-10)).sum()),
                 "batch_usage": (counts > 0).float().mean()}
        return zq_st.reshape(b, t, d).permute(0, 2, 1), idx.reshape(b, t), commit, stats

    @torch.no_grad()
    def restart_dead(self, flat: torch.Tensor) -> int:
        dead = (self.cluster_size < self.dead_threshold) | (self.recent_use == 0)
        self.recent_use.zero_()
        n_dead = int(dead.sum())
        if n_dead:
            pick = torch.randint(0, flat.shape[0], (n_dead,), device=flat.device)
            new = flat[pick] + 1e-3 * flat.std() * torch.randn(n_dead, self.dim, device=flat.device)
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                torch.distributed.broadcast(new, 0)
            self.codebook[dead] = new
            self.embed_sum[dead] = new
            self.cluster_size[dead] = 1.0
        return n_dead


class VqVae(nn.Module):
    """Raw log-mel [B, 128, T] in and out (the normalisation is inside, as buffers)."""

    def __init__(self, ch=256, dim=64, codes=2048, blocks=2, decay=0.99, dead_threshold=1e-2):
        super().__init__()
        self.encoder = Encoder(ch, dim, blocks)
        self.decoder = Decoder(ch, dim, blocks)
        self.quantizer = EmaQuantizer(codes, dim, decay, dead_threshold)
        self.register_buffer("mel_mean", torch.tensor(-5.0))
        self.register_buffer("mel_std", torch.tensor(2.5))

    def encode(self, mel):
        return self.encoder((mel - self.mel_mean) / self.mel_std)

    def decode_latent(self, z):
        """Quantise a continuous latent to its nearest codes, then decode (VQ decode)."""
        b, d, t = z.shape
        idx = self.quantizer.nearest(z.permute(0, 2, 1).reshape(-1, d))
        zq = self.quantizer.codebook[idx].reshape(b, t, d).permute(0, 2, 1)
        return self.decoder(zq) * self.mel_std + self.mel_mean

    def forward(self, mel):
        z = self.encode(mel)
        zq, idx, commit, stats = self.quantizer(z)
        rec = self.decoder(zq) * self.mel_std + self.mel_mean
        return rec, z, idx, commit, stats


def build(cfg: dict) -> VqVae:
    m = cfg["model"]
    return VqVae(ch=m.get("channels", 256), dim=m.get("latent_dim", 64), codes=m.get("codes", 2048),
                 blocks=m.get("blocks", 2), decay=m.get("ema_decay", 0.99),
                 dead_threshold=m.get("dead_threshold", 1e-2))


def crop_batch(win: D.Windows, idx: np.ndarray, frames: int, rng: np.random.Generator) -> np.ndarray:
    """Random crops of `frames` (a multiple of 4) from the windows (the context bar only where real)."""
    out = np.empty((len(idx), frames, win.mel.shape[2]), dtype=np.float32)
    total = win.mel.shape[1]
    for j, i in enumerate(idx):
        lo = 0 if win.context_valid[i] else D.CONTEXT_FRAMES
        start = int(rng.integers(lo, total - frames + 1))
        out[j] = win.mel[i, start:start + frames]
    return out


def train(args, cfg: dict) -> dict:
    run = Run("vqvae", args, cfg)
    t = cfg["train"]
    win = D.load_windows(args.data, half=t.get("half_data", False), max_rows=t.get("max_rows"))
    train_set, held = D.split(win, t.get("held_back_every", 10))
    model = build(cfg)
    mel = train_set.mel[: min(len(train_set), 256)].astype(np.float32)
    model.mel_mean.fill_(float(mel.mean()))
    model.mel_std.fill_(float(mel.std()))
    opt = torch.optim.AdamW(model.parameters(), lr=t.get("lr", 3e-4), weight_decay=t.get("weight_decay", 0.0))
    ema = Ema(model, t.get("ema", 0.999))
    model, opt = run.accel.prepare(model, opt)
    run.modules, run.optimizers, run.emas = {"vqvae": model}, {"vqvae": opt}, {"vqvae": ema}
    run.maybe_resume()
    crop = int(cfg["model"].get("crop_frames", 192))
    assert crop % DOWNSAMPLE == 0
    batch, beta = int(t.get("batch", 16)), float(t.get("commitment", 0.25))
    restart_every = int(t.get("dead_code_every", 100))
    raw = run.unwrap("vqvae")
    run.log_text(f"{len(train_set)} training windows, {len(held)} held back; "
                 f"{sum(p.numel() for p in raw.parameters()) / 1e6:.2f} M parameters")
    while run.running():
        rng = D.step_rng(run.seed, run.step, run.rank)
        if run.step == 0 and not bool(raw.quantizer.initialised):
            init_idx = D.batch_indices(len(train_set), int(t.get("init_batch", 64)), run.seed, 2**31, run.rank)
            x0 = torch.from_numpy(crop_batch(train_set, init_idx, crop, rng)).transpose(1, 2).to(run.device)
            with torch.no_grad():
                z0 = raw.encode(x0)
            raw.quantizer.kmeans_init(z0.permute(0, 2, 1).reshape(-1, z0.shape[1]))
        idx = D.batch_indices(len(train_set), batch, run.seed, run.step, run.rank)
        x = torch.from_numpy(crop_batch(train_set, idx, crop, rng)).transpose(1, 2).to(run.device)
        model.train()
        rec, z, codes, commit, stats = model(x)
        l1 = (rec - x).abs().mean() / raw.mel_std
        loss = l1 + beta * commit
        opt.zero_grad(set_to_none=True)
        run.accel.backward(loss)
        run.accel.clip_grad_norm_(model.parameters(), t.get("grad_clip", 1.0))
        opt.step()
        run.step += 1
        ema.update(raw)
        restarted = 0
        if restart_every and run.step % restart_every == 0:
            restarted = raw.quantizer.restart_dead(z.detach().permute(0, 2, 1).reshape(-1, z.shape[1]))
        if run.should(t.get("log_every", 10)):
            s = {"loss": loss.item(), "recon_l1": (rec - x).abs().mean().item(), "commit": commit.item(),
                 "perplexity": stats["perplexity"].item(), "batch_usage": stats["batch_usage"].item(),
                 "codebook_usage": (raw.quantizer.cluster_size > raw.quantizer.dead_threshold).float().mean().item(),
                 "restarted": restarted}
            run.log(s)
            run.log_text(fmt(s))
        if run.should(t.get("ckpt_every", 500)):
            run.save()
    metrics = evaluate(ema.model, held if len(held) else train_set, crop_all=True)
    run.log({f"eval_{k}": v for k, v in metrics.items()})
    run.finish(metrics)
    return metrics


@torch.no_grad()
def evaluate(model: VqVae, win: D.Windows, crop_all: bool = True, max_windows: int = 64) -> dict:
    """Mel L1 (raw log-mel units) of the reconstruction and codebook usage over the windows' 4 bars."""
    model.eval()
    dev = next(model.parameters()).device
    l1s, used, n = [], torch.zeros(model.quantizer.codes, dtype=torch.bool), 0
    counts = torch.zeros(model.quantizer.codes)
    for i in range(0, min(len(win), max_windows), 8):
        x = torch.from_numpy(win.mel[i:i + 8, D.CONTEXT_FRAMES:].astype(np.float32)).transpose(1, 2).to(dev)
        rec, z, codes, _, _ = model(x)
        l1s.append((rec - x).abs().mean(dim=(1, 2)).cpu())
        c = torch.bincount(codes.flatten().cpu(), minlength=model.quantizer.codes).float()
        counts += c
        n += x.shape[0]
    p = counts / counts.sum()
    return {"mel_l1": float(torch.cat(l1s).mean()), "codebook_usage": float((counts > 0).float().mean()),
            "codes_used": int((counts > 0).sum()), "perplexity": float(torch.exp(-(p * torch.log(p + 1e-10)).sum())),
            "windows": n}
