"""Phrase mapper: normalised e_motion (104) → a 256-D query in e_phrase space, trained with
InfoNCE (CLIP-style, symmetric) against the e_phrase of the phrase playing. Until recorded
motion sessions exist it trains on synthetic motion (`motion.synthesize_bar`)."""

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from . import data as D
from . import motion as M
from .common import Ema, Run, fmt


class Mapper(nn.Module):
    """z-scored e_motion [B, 104] → query [B, 256] (unit length: compare by cosine)."""

    def __init__(self, hidden=512, layers=2, dropout=0.1):
        super().__init__()
        dims = [D.E_MOTION_DIMS] + [hidden] * layers
        body = []
        for a, b in zip(dims[:-1], dims[1:]):
            body += [nn.Linear(a, b), nn.LayerNorm(b), nn.GELU(), nn.Dropout(dropout)]
        self.body = nn.Sequential(*body)
        self.out = nn.Linear(dims[-1], D.E_PHRASE_DIMS)

    def forward(self, e_motion):
        return F.normalize(self.out(self.body(e_motion)), dim=-1)


def build(cfg):
    m = cfg["model"]
    return Mapper(m.get("hidden", 512), m.get("layers", 2), m.get("dropout", 0.1))


def info_nce(q, k, logit_scale, same=None):
    """Symmetric InfoNCE; `same[i, j]` marks pairs of the same phrase, which are not negatives."""
    logits = logit_scale * q @ k.t()
    if same is not None:
        eye = torch.eye(len(q), dtype=torch.bool, device=q.device)
        logits = logits.masked_fill(same & ~eye, float("-inf"))
    target = torch.arange(len(q), device=q.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def make_pairs(win: D.Windows, draws: int, seed: int, stats):
    """Per window, `draws` synthetic bars of motion: (raw e_motion [n·draws, 104], row index)."""
    em = [M.synthetic_e_motion(win.e_phrase, win.tempo, seed + 1000 * d, stats) for d in range(draws)]
    return np.concatenate(em), np.tile(np.arange(len(win)), draws)


def train(args, cfg):
    run = Run("mapper", args, cfg)
    t = cfg["train"]
    win = D.load_windows(args.data, max_rows=t.get("max_rows"))
    win.mel = win.mel[:, :0]  # the mapper needs no audio
    train_set, held = D.split(win, t.get("held_back_every", 10))
    stats = M.zscore_params(train_set.e_phrase)
    raw_em, rows = make_pairs(train_set, int(t.get("draws", 8)), run.seed, stats)
    norm = M.MotionNormalizer.fit(raw_em)
    em = norm(raw_em)
    model = build(cfg)
    model.register_buffer("motion_mean", torch.from_numpy(norm.mean))
    model.register_buffer("motion_std", torch.from_numpy(norm.std))
    logit_scale = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))
    holder = nn.Module()
    holder.mapper, holder.logit_scale = model, logit_scale
    opt = torch.optim.AdamW(holder.parameters(), lr=t.get("lr", 1e-3), weight_decay=t.get("weight_decay", 1e-4))
    ema = Ema(holder, t.get("ema", 0.99))
    holder, opt = run.accel.prepare(holder, opt)
    run.modules, run.optimizers, run.emas = {"mapper": holder}, {"mapper": opt}, {"mapper": ema}
    run.maybe_resume()
    raw = run.unwrap("mapper")
    e_phrase = torch.from_numpy(F.normalize(torch.from_numpy(train_set.e_phrase), dim=-1).numpy()).to(run.device)
    pid = torch.from_numpy(train_set.phrase_id.astype(np.int64)).to(run.device)
    em_t = torch.from_numpy(em).to(run.device)
    rows_t = torch.from_numpy(rows).to(run.device)
    batch = int(t.get("batch", 128))
    run.log_text(f"{len(train_set)} windows × {t.get('draws', 8)} synthetic bars, {len(held)} held back")
    while run.running():
        idx = torch.from_numpy(D.batch_indices(len(em), batch, run.seed, run.step, run.rank)).to(run.device)
        r = rows_t[idx]
        holder.train()
        q = holder.mapper(em_t[idx])
        k = e_phrase[r]
        same = pid[r][:, None] == pid[r][None, :]
        loss = info_nce(q, k, holder.logit_scale.exp().clamp(max=100), same)
        opt.zero_grad(set_to_none=True)
        run.accel.backward(loss)
        opt.step()
        run.step += 1
        ema.update(raw)
        if run.should(t.get("log_every", 50)):
            s = {"loss": loss.item(), "temperature": 1 / raw.logit_scale.exp().item()}
            run.log(s)
            run.log_text(fmt(s))
        if run.should(t.get("ckpt_every", 1000)):
            run.save()
    run.extra["motion_mean"] = norm.mean.tolist()
    run.extra["motion_std"] = norm.std.tolist()
    run.extra["ephrase_mean"] = stats[0].tolist()
    run.extra["ephrase_std"] = stats[1].tolist()
    metrics = evaluate(ema.model.mapper, held if len(held) else train_set, stats, run.seed + 99)
    run.log({f"eval_{k}": v for k, v in metrics.items()})
    run.finish(metrics)
    return metrics


@torch.no_grad()
def evaluate(model: Mapper, win: D.Windows, stats, seed: int) -> dict:
    """Retrieval of the playing phrase from one synthetic bar of motion among the set's
    distinct phrases: top-1 / top-5 accuracy, against chance."""
    model.eval()
    phrases, first = np.unique(win.phrase_id, return_index=True)
    raw_em = M.synthetic_e_motion(win.e_phrase, win.tempo, seed, stats)
    q = model((torch.from_numpy(raw_em) - model.motion_mean) / model.motion_std)
    keys = F.normalize(torch.from_numpy(win.e_phrase[first]), dim=-1)
    sim = q @ keys.t()
    truth = torch.from_numpy(np.searchsorted(phrases, win.phrase_id))
    rank = (sim > sim.gather(1, truth[:, None])).sum(1)
    return {"top1": float((rank < 1).float().mean()), "top5": float((rank < 5).float().mean()),
            "chance_top1": 1.0 / len(phrases), "chance_top5": min(1.0, 5.0 / len(phrases)),
            "phrases": int(len(phrases)), "queries": int(len(win))}
