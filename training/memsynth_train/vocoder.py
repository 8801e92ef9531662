"""Vocos-style vocoder: log-mel [B, 128, T] → STFT magnitude and phase [B, 513, T] (one STFT
frame per mel frame: n_fft 1024, hop 250). The inverse STFT is not part of the model (the Rust
side runs it; `mel.istft` is the reference). Trained with mel L1 and a multi-resolution STFT
loss, then adversarially with multi-period and multi-resolution discriminators; Griffin-Lim
is the baseline."""

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from . import data as D
from .common import Ema, Run, fmt
from .layers import ConvNeXt1d
from .mel import HOP, N_BINS, N_FFT, N_MELS, LogMel, istft, mel_filterbank


class Vocoder(nn.Module):
    """Raw log-mel in; `mag` (linear, ≤ 100) and `phase` (radians, any real) out."""

    def __init__(self, dim=384, blocks=8, mult=3):
        super().__init__()
        self.register_buffer("mel_mean", torch.tensor(-5.0))
        self.register_buffer("mel_std", torch.tensor(2.5))
        self.embed = nn.Conv1d(N_MELS, dim, 7, padding=3)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.blocks = nn.ModuleList([ConvNeXt1d(dim, mult, 1.0 / blocks) for _ in range(blocks)])
        self.final_norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, 2 * N_BINS)

    def forward(self, mel):
        x = self.embed((mel - self.mel_mean) / self.mel_std)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        for b in self.blocks:
            x = b(x)
        h = self.head(self.final_norm(x.transpose(1, 2))).transpose(1, 2)
        log_mag, phase = h[:, :N_BINS], h[:, N_BINS:]
        mag = torch.exp(log_mag).clamp(max=100.0)
        return mag, phase

    def waveform(self, mel):
        mag, phase = self(mel)
        return istft(mag, phase, mel.shape[-1] * HOP)


# ---- losses -----------------------------------------------------------------------------

RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


def stft_mag(x, n_fft, hop):
    w = torch.hann_window(n_fft, device=x.device)
    return torch.stft(x, n_fft, hop, n_fft, w, return_complex=True).abs().clamp(min=1e-7)


def mr_stft_loss(y_hat, y, resolutions=RESOLUTIONS):
    """Multi-resolution STFT loss (Yamamoto et al. 2020): spectral convergence + log-magnitude L1,
    averaged over the resolutions. Also the eval's 'MR-STFT distance'."""
    total = 0.0
    for n_fft, hop in resolutions:
        a, b = stft_mag(y_hat, n_fft, hop), stft_mag(y, n_fft, hop)
        sc = torch.linalg.norm(b - a, dim=(1, 2)) / torch.linalg.norm(b, dim=(1, 2)).clamp(min=1e-7)
        total = total + sc.mean() + (a.log() - b.log()).abs().mean()
    return total / len(resolutions)


class PeriodDisc(nn.Module):
    def __init__(self, period, ch):
        super().__init__()
        self.period = period
        chans = [1, ch, ch * 2, ch * 4, ch * 4]
        self.convs = nn.ModuleList([
            nn.utils.parametrizations.weight_norm(nn.Conv2d(chans[i], chans[i + 1], (5, 1), (3, 1), (2, 0)))
            for i in range(len(chans) - 1)])
        self.post = nn.utils.parametrizations.weight_norm(nn.Conv2d(chans[-1], 1, (3, 1), 1, (1, 0)))

    def forward(self, x):
        b, t = x.shape
        if t % self.period:
            x = F.pad(x, (0, self.period - t % self.period), mode="reflect")
        x = x.view(b, 1, -1, self.period)
        feats = []
        for c in self.convs:
            x = F.leaky_relu(c(x), 0.1)
            feats.append(x)
        x = self.post(x)
        feats.append(x)
        return x.flatten(1), feats


class ResolutionDisc(nn.Module):
    def __init__(self, n_fft, hop, ch):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.convs = nn.ModuleList([
            nn.utils.parametrizations.weight_norm(nn.Conv2d(1, ch, (7, 5), (2, 2), (3, 2))),
            nn.utils.parametrizations.weight_norm(nn.Conv2d(ch, ch, (5, 3), (2, 1), (2, 1))),
            nn.utils.parametrizations.weight_norm(nn.Conv2d(ch, ch, (5, 3), (2, 1), (2, 1))),
            nn.utils.parametrizations.weight_norm(nn.Conv2d(ch, ch, 3, 1, 1))])
        self.post = nn.utils.parametrizations.weight_norm(nn.Conv2d(ch, 1, 3, 1, 1))

    def forward(self, x):
        x = stft_mag(x, self.n_fft, self.hop).pow(0.5)[:, None]
        feats = []
        for c in self.convs:
            x = F.leaky_relu(c(x), 0.1)
            feats.append(x)
        x = self.post(x)
        feats.append(x)
        return x.flatten(1), feats


class Discriminators(nn.Module):
    """Multi-period (HiFi-GAN) and multi-resolution (UnivNet/Vocos) discriminators."""

    def __init__(self, periods=(2, 3, 5, 7, 11), ch=16):
        super().__init__()
        self.discs = nn.ModuleList([PeriodDisc(p, ch) for p in periods] +
                                   [ResolutionDisc(n, h, ch * 2) for n, h in RESOLUTIONS])

    def forward(self, x):
        return [d(x) for d in self.discs]


def d_hinge(real, fake):
    return sum(F.relu(1 - r).mean() + F.relu(1 + f).mean() for (r, _), (f, _) in zip(real, fake)) / len(real)


def g_hinge(fake):
    return sum(F.relu(1 - f).mean() for f, _ in fake) / len(fake)


def feature_matching(real, fake):
    total, n = 0.0, 0
    for (_, fr), (_, ff) in zip(real, fake):
        for a, b in zip(fr, ff):
            total = total + (a.detach() - b).abs().mean()
            n += 1
    return total / max(n, 1)


# ---- Griffin-Lim baseline ---------------------------------------------------------------

@torch.no_grad()
def griffin_lim(mel: torch.Tensor, iters: int = 32) -> torch.Tensor:
    """Log-mel → waveform: the mel's pseudo-inverse gives a magnitude, Griffin-Lim a phase."""
    fb = torch.from_numpy(mel_filterbank()).to(mel.device)
    mag = (torch.linalg.pinv(fb) @ mel.exp()).clamp(min=0.0)
    length = mel.shape[-1] * HOP
    window = torch.hann_window(N_FFT, device=mel.device)
    g = torch.Generator(device="cpu").manual_seed(0)
    phase = (torch.rand(mag.shape, generator=g) * 2 * np.pi).to(mel.device)
    for _ in range(iters):
        y = istft(mag, phase, length)
        spec = torch.stft(y, N_FFT, HOP, N_FFT, window, center=True, pad_mode="constant", return_complex=True)
        phase = spec.angle()[..., : mag.shape[-1]]
    return istft(mag, phase, length)


# ---- training ---------------------------------------------------------------------------

def build(cfg: dict) -> Vocoder:
    m = cfg["model"]
    return Vocoder(dim=m.get("dim", 384), blocks=m.get("blocks", 8), mult=m.get("mult", 3))


def crop(seg: D.Segments, idx, frames, rng):
    total = seg.mel.shape[1]
    mels = np.empty((len(idx), N_MELS, frames), dtype=np.float32)
    wavs = np.empty((len(idx), frames * HOP), dtype=np.float32)
    for j, i in enumerate(idx):
        f = int(rng.integers(0, total - frames + 1))
        mels[j] = seg.mel[i, f:f + frames].T
        wavs[j] = seg.audio[i, f * HOP:(f + frames) * HOP]
    return torch.from_numpy(mels), torch.from_numpy(wavs)


def train(args, cfg: dict) -> dict:
    run = Run("vocoder", args, cfg)
    t, m = cfg["train"], cfg["model"]
    seg = D.load_segments(args.data, max_rows=t.get("max_rows"))
    train_set, held = D.split(seg, t.get("held_back_every", 10))
    gen = build(cfg)
    sample = train_set.mel[: min(len(train_set), 256)]
    gen.mel_mean.fill_(float(sample.mean()))
    gen.mel_std.fill_(float(sample.std()))
    disc = Discriminators(tuple(m.get("periods", (2, 3, 5, 7, 11))), m.get("disc_channels", 16))
    lr = t.get("lr", 5e-4)
    opt_g = torch.optim.AdamW(gen.parameters(), lr=lr, betas=(0.8, 0.9))
    opt_d = torch.optim.AdamW(disc.parameters(), lr=lr, betas=(0.8, 0.9))
    ema = Ema(gen, t.get("ema", 0.999))
    gen, disc, opt_g, opt_d = run.accel.prepare(gen, disc, opt_g, opt_d)
    run.modules = {"vocoder": gen, "disc": disc}
    run.optimizers = {"vocoder": opt_g, "disc": opt_d}
    run.emas = {"vocoder": ema}
    run.maybe_resume()
    logmel = LogMel().to(run.device)
    frames, batch = int(m.get("crop_frames", 64)), int(t.get("batch", 8))
    adv_start = int(t.get("adversarial_start", 10**9))
    w_mel, w_stft = float(t.get("mel_weight", 45.0)), float(t.get("mrstft_weight", 1.0))
    raw = run.unwrap("vocoder")
    run.log_text(f"{len(train_set)} training segments, {len(held)} held back; "
                 f"{sum(p.numel() for p in raw.parameters()) / 1e6:.2f} M parameters (generator), "
                 f"{sum(p.numel() for p in run.unwrap('disc').parameters()) / 1e6:.2f} M (discriminators); "
                 f"adversarial from step {adv_start}")
    while run.running():
        rng = D.step_rng(run.seed, run.step, run.rank)
        idx = D.batch_indices(len(train_set), batch, run.seed, run.step, run.rank)
        mel, wav = (x.to(run.device) for x in crop(train_set, idx, frames, rng))
        gen.train()
        mag, phase = gen(mel)
        y_hat = istft(mag, phase, wav.shape[-1])
        adversarial = run.step >= adv_start
        s = {}
        if adversarial:
            d_loss = d_hinge(disc(wav), disc(y_hat.detach()))
            opt_d.zero_grad(set_to_none=True)
            run.accel.backward(d_loss)
            run.accel.clip_grad_norm_(disc.parameters(), t.get("grad_clip", 10.0))
            opt_d.step()
            s["d_loss"] = d_loss.item()
        mel_l1 = (logmel(y_hat)[..., : mel.shape[-1]] - logmel(wav)[..., : mel.shape[-1]]).abs().mean()
        stft_l = mr_stft_loss(y_hat, wav)
        g_loss = w_mel * mel_l1 + w_stft * stft_l
        if adversarial:
            real, fake = disc(wav), disc(y_hat)
            adv, fm = g_hinge(fake), feature_matching(real, fake)
            g_loss = g_loss + adv + 2.0 * fm
            s.update(g_adv=adv.item(), fm=fm.item())
        opt_g.zero_grad(set_to_none=True)
        run.accel.backward(g_loss)
        run.accel.clip_grad_norm_(gen.parameters(), t.get("grad_clip", 10.0))
        opt_g.step()
        run.step += 1
        ema.update(raw)
        if run.should(t.get("log_every", 10)):
            s.update(g_loss=g_loss.item(), mel_l1=mel_l1.item(), mrstft=stft_l.item())
            run.log(s)
            run.log_text(fmt(s))
        if run.should(t.get("ckpt_every", 500)):
            run.save()
    metrics = evaluate(ema.model, held if len(held) else train_set, max_items=int(t.get("eval_items", 16)))
    run.log({f"eval_{k}": v for k, v in metrics.items()})
    run.finish(metrics)
    return metrics


@torch.no_grad()
def evaluate(model: Vocoder, seg: D.Segments, max_items: int = 16, gl_iters: int = 32) -> dict:
    """MR-STFT distance and mel L1 (vs the reference audio) of the vocoder and of Griffin-Lim."""
    model.eval()
    dev = next(model.parameters()).device
    logmel = LogMel().to(dev)
    acc = {"vocoder_mrstft": [], "vocoder_mel_l1": [], "griffin_lim_mrstft": [], "griffin_lim_mel_l1": []}
    n = min(len(seg), max_items)
    for i in range(0, n, 4):
        mel = torch.from_numpy(np.ascontiguousarray(seg.mel[i:min(i + 4, n)].transpose(0, 2, 1))).to(dev)
        wav = torch.from_numpy(seg.audio[i:min(i + 4, n)]).to(dev)
        ref = logmel(wav)[..., : mel.shape[-1]]
        for name, y in (("vocoder", model.waveform(mel)), ("griffin_lim", griffin_lim(mel, gl_iters))):
            acc[f"{name}_mrstft"].append(float(mr_stft_loss(y, wav)) * y.shape[0])
            acc[f"{name}_mel_l1"].append(float((logmel(y)[..., : mel.shape[-1]] - ref).abs().mean()) * y.shape[0])
    out = {k: sum(v) / n for k, v in acc.items()}
    out["segments"] = n
    return out
