"""Latent diffusion: a 1-D U-Net over time predicting v (Salimans & Ho 2022) on the VQ-VAE's
continuous latent (64 × 192 for four bars; `mode: mel` diffuses the normalised log-mel,
128 × 768, for comparison). FiLM conditioning from cond = e_phrase 256 ‖ e_motion 104 ‖
bar position 16 (`data.bar_position_encoding`), cosine schedule, classifier-free guidance by
condition dropout (the unconditional cond is all zeros), the previous bar as masked context
channels, EMA weights; and the DDIM sampler the Rust one is tested against.

Continuous time t ∈ [0, 1]: ᾱ(t) = cos²(π/2 · (t + s)/(1 + s)) / cos²(π/2 · s/(1 + s)), s = 0.008,
α = √ᾱ, σ = √(1 − ᾱ); x_t = α x₀ + σ ε; v = α ε − σ x₀.

U-Net input (inside the model): the context bar and the 4 bars side by side in time,
[context ‖ x_t] (L_c + L frames), with 2C + 1 channels: x_t (zeros over the context frames),
the clean context (× context_mask, zeros over the 4 bars) and a channel that is
context_mask over the context frames and 0 elsewhere. The output keeps the last L frames.
"""

import math

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from . import data as D
from . import motion as M
from .common import Ema, Run, fmt, load_checkpoint
from .layers import groups_for, timestep_embedding

COSINE_S = 0.008


def alpha_sigma(t: torch.Tensor):
    """Cosine schedule: (α, σ) at continuous t ∈ [0, 1]."""
    f = torch.cos((t + COSINE_S) / (1 + COSINE_S) * math.pi / 2) ** 2
    f0 = math.cos(COSINE_S / (1 + COSINE_S) * math.pi / 2) ** 2
    abar = (f / f0).clamp(0.0, 1.0)
    return abar.sqrt(), (1 - abar).sqrt()


class FiLMRes(nn.Module):
    def __init__(self, cin, cout, emb):
        super().__init__()
        self.n1 = nn.GroupNorm(groups_for(cin), cin)
        self.c1 = nn.Conv1d(cin, cout, 3, padding=1)
        self.film = nn.Linear(emb, 2 * cout)
        self.n2 = nn.GroupNorm(groups_for(cout), cout)
        self.c2 = nn.Conv1d(cout, cout, 3, padding=1)
        self.skip = nn.Conv1d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.film(emb)[:, :, None].chunk(2, dim=1)
        h = self.n2(h) * (1 + scale) + shift
        h = self.c2(F.silu(h))
        return self.skip(x) + h


class Attention1d(nn.Module):
    def __init__(self, ch, heads=4):
        super().__init__()
        self.norm = nn.GroupNorm(groups_for(ch), ch)
        self.attn = nn.MultiheadAttention(ch, heads, batch_first=True)

    def forward(self, x):
        h = self.norm(x).transpose(1, 2)
        h, _ = self.attn(h, h, h, need_weights=False)
        return x + h.transpose(1, 2)


class UNet1d(nn.Module):
    def __init__(self, channels=64, base=128, mults=(1, 2, 2, 4), blocks=2, cond_dim=D.COND_DIMS,
                 emb=256, attention=True):
        super().__init__()
        self.channels = channels
        self.levels = len(mults)
        self.t_mlp = nn.Sequential(nn.Linear(base, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.c_mlp = nn.Sequential(nn.Linear(cond_dim, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.base = base
        self.inp = nn.Conv1d(2 * channels + 1, base, 3, padding=1)
        self.down = nn.ModuleList()
        chans, ch = [base], base
        for i, m in enumerate(mults):
            for _ in range(blocks):
                self.down.append(FiLMRes(ch, base * m, emb))
                ch = base * m
                chans.append(ch)
            if i < len(mults) - 1:
                self.down.append(nn.Conv1d(ch, ch, 4, stride=2, padding=1))
                chans.append(ch)
        self.mid1 = FiLMRes(ch, ch, emb)
        self.mid_attn = Attention1d(ch) if attention else nn.Identity()
        self.mid2 = FiLMRes(ch, ch, emb)
        self.up = nn.ModuleList()
        for i, m in reversed(list(enumerate(mults))):
            for _ in range(blocks + 1):
                self.up.append(FiLMRes(ch + chans.pop(), base * m, emb))
                ch = base * m
            if i > 0:
                self.up.append(nn.Upsample(scale_factor=2, mode="nearest"))
        self.out = nn.Sequential(nn.GroupNorm(groups_for(ch), ch), nn.SiLU(), nn.Conv1d(ch, channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x_t, t, cond, context, context_mask):
        """x_t [B, C, L], t [B], cond [B, 376], context [B, C, Lc], context_mask [B] → v [B, C, L]."""
        b, c, length = x_t.shape
        lc = context.shape[-1]
        m = context_mask.reshape(b, 1, 1).to(x_t.dtype)
        zc = torch.zeros_like(context)
        zx = torch.zeros_like(x_t)
        h = torch.cat([
            torch.cat([zc, x_t], -1),
            torch.cat([context * m, zx], -1),
            torch.cat([m.expand(b, 1, lc), zx[:, :1]], -1)], 1)
        emb = self.t_mlp(timestep_embedding(t, self.base)) + self.c_mlp(cond)
        h = self.inp(h)
        skips = [h]
        for layer in self.down:
            h = layer(h, emb) if isinstance(layer, FiLMRes) else layer(h)
            skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for layer in self.up:
            if isinstance(layer, FiLMRes):
                h = layer(torch.cat([h, skips.pop()], 1), emb)
            else:
                h = layer(h)
        return self.out(h)[..., lc:]


def build(cfg) -> UNet1d:
    m = cfg["model"]
    channels = 128 if m.get("mode", "latent") == "mel" else m.get("latent_dim", 64)
    return UNet1d(channels=channels, base=m.get("base", 128), mults=tuple(m.get("mults", (1, 2, 2, 4))),
                  blocks=m.get("blocks", 2), emb=m.get("emb", 256), attention=m.get("attention", True))


# ---- sampler ----------------------------------------------------------------------------

def ddim_timesteps(steps: int) -> list[tuple[float, float]]:
    """Trailing spacing: (t, t_next) pairs from t = 1 down to t_next = 0 in `steps` equal
    steps (the first step starts from pure noise at t = 1)."""
    return [((steps - i) / steps, (steps - i - 1) / steps) for i in range(steps)]


@torch.no_grad()
def ddim_sample(model, noise, cond, context, context_mask, steps=20, guidance=1.0):
    """DDIM, η = 0, v-prediction, classifier-free guidance v = v_u + g (v_c − v_u) with the
    unconditional cond all zeros (g = 1: conditional only, one model call per step)."""
    x = noise
    b = x.shape[0]
    for t, t_next in ddim_timesteps(steps):
        tt = torch.full((b,), t, dtype=x.dtype, device=x.device)
        if guidance == 1.0:
            v = model(x, tt, cond, context, context_mask)
        else:
            v2 = model(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([cond, torch.zeros_like(cond)]),
                       torch.cat([context, context]), torch.cat([context_mask, context_mask]))
            v_c, v_u = v2[:b], v2[b:]
            v = v_u + guidance * (v_c - v_u)
        a, s = alpha_sigma(torch.tensor(t, dtype=torch.float64))
        an, sn = alpha_sigma(torch.tensor(t_next, dtype=torch.float64))
        a, s, an, sn = (float(v_) for v_ in (a, s, an, sn))
        x0 = a * x - s * v
        eps = s * x + a * v
        x = an * x0 + sn * eps
    return x


# ---- data -------------------------------------------------------------------------------

class Targets:
    """What the U-Net learns from: per window, the (scaled) sequence [C, L_c + L] and cond parts."""

    def __init__(self, seq, context_valid, e_phrase, e_motion, bar_code, phrase_id, lc):
        self.seq, self.context_valid, self.e_phrase = seq, context_valid, e_phrase
        self.e_motion, self.bar_code, self.phrase_id, self.lc = e_motion, bar_code, phrase_id, lc

    def __len__(self):
        return len(self.seq)


@torch.no_grad()
def encode_windows(win: D.Windows, mode: str, vq=None, scale: float | None = None, batch: int = 16):
    """[n, C, L_c + L] float32 sequences and the scale that gives them unit standard deviation."""
    if mode == "mel":
        seq = np.ascontiguousarray(win.mel.astype(np.float32).transpose(0, 2, 1))
        return seq, {"mel_mean": float(seq.mean()) if scale is None else scale["mel_mean"],
                     "std": float(seq.std()) if scale is None else scale["std"]}
    parts = []
    for i in range(0, len(win), batch):
        mel = torch.from_numpy(win.mel[i:i + batch].astype(np.float32)).transpose(1, 2)
        parts.append(vq.encode(mel).numpy())
    seq = np.concatenate(parts)
    return seq, {"std": float(seq.std()) if scale is None else scale["std"]}


def normalise(seq, scale, mode):
    if mode == "mel":
        return (seq - scale["mel_mean"]) / scale["std"]
    return seq / scale["std"]


def load_vqvae(path):
    from .vqvae import build as build_vq
    ck = load_checkpoint(path)
    vq = build_vq(ck["config"])
    vq.load_state_dict(ck["emas"]["vqvae"])
    return vq.eval(), ck


def train(args, cfg):
    run = Run("diffusion", args, cfg)
    t, m = cfg["train"], cfg["model"]
    mode = m.get("mode", "latent")
    win = D.load_windows(args.data, max_rows=t.get("max_rows"))
    train_set, held = D.split(win, t.get("held_back_every", 10))
    vq = None
    if mode == "latent":
        vq_path = args.vqvae or m.get("vqvae")
        if not vq_path:
            raise SystemExit("latent mode needs --vqvae RUN_DIR (or model.vqvae in the config)")
        vq, _ = load_vqvae(vq_path)
        run.extra["vqvae"] = str(vq_path)
    seq, scale = encode_windows(train_set, mode, vq)
    seq = normalise(seq, scale, mode)
    run.extra["scale"] = scale
    run.extra["mode"] = mode
    lc = D.CONTEXT_FRAMES // (1 if mode == "mel" else 4)
    stats = M.zscore_params(train_set.e_phrase)
    raw_em = M.synthetic_e_motion(train_set.e_phrase, train_set.tempo, run.seed, stats)
    norm = M.MotionNormalizer.fit(raw_em)
    run.extra["motion_mean"], run.extra["motion_std"] = norm.mean.tolist(), norm.std.tolist()
    data = Targets(seq, train_set.context_valid, train_set.e_phrase, norm(raw_em), train_set.bar_code(),
                   train_set.phrase_id, lc)
    model = build(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=t.get("lr", 2e-4), weight_decay=t.get("weight_decay", 0.0))
    ema = Ema(model, t.get("ema", 0.999))
    model, opt = run.accel.prepare(model, opt)
    run.modules, run.optimizers, run.emas = {"unet": model}, {"unet": opt}, {"unet": ema}
    run.maybe_resume()
    raw = run.unwrap("unet")
    p_uncond, p_motion, p_noctx = (float(t.get(k, d)) for k, d in
                                   (("cond_dropout", 0.1), ("motion_prob", 0.5), ("context_dropout", 0.1)))
    batch = int(t.get("batch", 16))
    run.log_text(f"{mode} mode, {len(data)} windows ({len(held)} held back), sequence {seq.shape[1:]}, "
                 f"scale {scale}; {sum(p.numel() for p in raw.parameters()) / 1e6:.2f} M parameters")
    while run.running():
        idx = D.batch_indices(len(data), batch, run.seed, run.step, run.rank)
        x, v_loss = step_batch(data, idx, run.device, p_uncond, p_motion, p_noctx)
        model.train()
        loss = v_loss(model)
        opt.zero_grad(set_to_none=True)
        run.accel.backward(loss)
        run.accel.clip_grad_norm_(model.parameters(), t.get("grad_clip", 1.0))
        opt.step()
        run.step += 1
        ema.update(raw)
        if run.should(t.get("log_every", 50)):
            s = {"loss": loss.item()}
            run.log(s)
            run.log_text(fmt(s))
        if run.should(t.get("ckpt_every", 1000)):
            run.save()
    metrics = {}
    if len(held):
        hseq, _ = encode_windows(held, mode, vq, scale)
        hdata = Targets(normalise(hseq, scale, mode), held.context_valid, held.e_phrase,
                        norm(M.synthetic_e_motion(held.e_phrase, held.tempo, run.seed + 1, stats)),
                        held.bar_code(), held.phrase_id, lc)
        metrics = evaluate(ema.model, hdata)
    run.log({f"eval_{k}": v for k, v in metrics.items()})
    run.finish(metrics)
    return metrics


def cond_of(data: Targets, idx, motion_on):
    em = data.e_motion[idx] * motion_on[:, None]
    return np.concatenate([data.e_phrase[idx], em, data.bar_code[idx]], 1).astype(np.float32)


def step_batch(data: Targets, idx, device, p_uncond, p_motion, p_noctx):
    """A training batch; returns (x0, a closure computing the v-loss with a given model).
    Randomness (t, noise, dropouts) comes from torch's global RNG, restored on resume."""
    seq = torch.from_numpy(data.seq[idx]).to(device)
    context, x0 = seq[..., :data.lc], seq[..., data.lc:]
    b = len(idx)
    motion_on = (torch.rand(b) < p_motion).numpy().astype(np.float32)
    cond = torch.from_numpy(cond_of(data, idx, motion_on)).to(device)
    keep = (torch.rand(b) >= p_uncond).float().to(device)
    cond = cond * keep[:, None]
    mask = torch.from_numpy(data.context_valid[idx].astype(np.float32)).to(device)
    mask = mask * (torch.rand(b) >= p_noctx).float().to(device)
    t = torch.rand(b, device=device)
    noise = torch.randn_like(x0)
    a, s = alpha_sigma(t)
    a, s = a[:, None, None], s[:, None, None]
    x_t = a * x0 + s * noise
    v = a * noise - s * x0

    def v_loss(model):
        return F.mse_loss(model(x_t, t, cond, context, mask), v)

    return x0, v_loss


@torch.no_grad()
def evaluate(model, data: Targets, max_items: int = 32, seed: int = 0) -> dict:
    """Held-back v-loss at fixed t, and x₀ error of a 20-step DDIM sample against the
    real continuation (conditional, guidance 1 and 2.5; unconditional)."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    n = min(len(data), max_items)
    idx = np.arange(n)
    seq = torch.from_numpy(data.seq[idx])
    context, x0 = seq[..., :data.lc], seq[..., data.lc:]
    cond = torch.from_numpy(cond_of(data, idx, np.ones(n, np.float32)))
    mask = torch.from_numpy(data.context_valid[idx].astype(np.float32))
    out = {}
    for tv in (0.1, 0.5, 0.9):
        t = torch.full((n,), tv)
        noise = torch.randn(x0.shape, generator=g)
        a, s = alpha_sigma(t)
        x_t = a[:, None, None] * x0 + s[:, None, None] * noise
        v = a[:, None, None] * noise - s[:, None, None] * x0
        out[f"v_mse_t{tv}"] = float(F.mse_loss(model(x_t, t, cond, context, mask), v))
    noise = torch.randn(x0.shape, generator=g)
    for name, c, gs in (("cond", cond, 1.0), ("cfg2.5", cond, 2.5), ("uncond", torch.zeros_like(cond), 1.0)):
        x = ddim_sample(model, noise, c, context, mask, steps=20, guidance=gs)
        out[f"ddim20_{name}_x0_mse"] = float(F.mse_loss(x, x0))
        out[f"ddim20_{name}_std"] = float(x.std())
    out["items"] = n
    return out

