"""ONNX export (opset 18, dynamic batch, fixed chunk length), `manifest.ron` and parity fixtures.

Every tensor is channel-first: mel [B, 128, T], latent [B, 64, T/4], STFT [B, 513, T].
After export each model is run in onnxruntime on the example inputs and compared with torch;
the largest difference is recorded in the manifest and must be below 1e-3 (relative to the
output's scale) or the export fails.
"""

import hashlib
import json
import logging
import math
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import data as D
from .common import load_checkpoint
from .mel import HOP, N_BINS, N_MELS, LogMel, istft

OPSET = 18
CHUNK_FRAMES = D.WINDOW_FRAMES  # 4 bars of mel on the beat grid
LATENT_FRAMES = CHUNK_FRAMES // 4
CONTEXT_LATENT = D.CONTEXT_FRAMES // 4
MANIFEST_VERSION = 1


class VqEncoderExport(nn.Module):
    def __init__(self, vq):
        super().__init__()
        self.vq = vq

    def forward(self, mel):
        return self.vq.encode(mel)


class VqDecoderExport(nn.Module):
    """latent → (nearest codes, their decoded mel): the VQ decode, codebook inside."""

    def __init__(self, vq):
        super().__init__()
        self.vq = vq

    def forward(self, latent):
        b, d, t = latent.shape
        flat = latent.permute(0, 2, 1).reshape(-1, d)
        cb = self.vq.quantizer.codebook
        dist = (flat * flat).sum(1, keepdim=True) - 2 * flat @ cb.t() + (cb * cb).sum(1)[None]
        idx = dist.argmin(1)
        zq = cb[idx].reshape(b, t, d).permute(0, 2, 1)
        mel = self.vq.decoder(zq) * self.vq.mel_std + self.vq.mel_mean
        return mel, idx.reshape(b, t)


class UNetExport(nn.Module):
    """The U-Net on the diffusion's scaled latent (the scale is in the manifest)."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, x_t, t, cond, context, context_mask):
        return self.unet(x_t, t, cond, context, context_mask)


def _to_numpy(x):
    return x.detach().cpu().numpy()


def export_onnx(module: nn.Module, inputs: dict, outputs: list[str], path: Path,
                dynamic_time: dict | None = None) -> None:
    """torch → ONNX with dim 0 of every input (and output) dynamic ("batch")."""
    module.eval()
    names = list(inputs)
    args = tuple(inputs.values())
    dynamic_axes = {n: {0: "batch"} for n in names + outputs}
    for n, axis in (dynamic_time or {}).items():
        dynamic_axes[n][axis] = "frames"
    try:
        from torch.export import Dim
        batch = Dim("batch", min=1, max=1024)
        shapes = {n: {0: batch} for n in names}
        if dynamic_time:
            frames = Dim("frames", min=8, max=65536)
            for n, axis in dynamic_time.items():
                if n in shapes:
                    shapes[n][axis] = frames
        torch.onnx.export(module, args, str(path), input_names=names, output_names=outputs,
                          opset_version=OPSET, dynamo=True, dynamic_shapes=shapes, external_data=False,
                          verbose=False)
    except Exception as e:  # the TorchScript exporter as a fallback
        print(f"  dynamo export of {path.name} failed ({type(e).__name__}: {str(e)[:200]}); "
              f"using the TorchScript exporter", flush=True)
        torch.onnx.export(module, args, str(path), input_names=names, output_names=outputs,
                          opset_version=OPSET, dynamo=False, dynamic_axes=dynamic_axes)


def check_onnx(path: Path, module: nn.Module, inputs: dict, outputs: list[str]) -> dict:
    """Run the ONNX file in onnxruntime, compare with torch; returns max abs diff per output."""
    import onnx
    import onnxruntime as ort
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    assert opset >= 17, f"{path.name}: opset {opset}"
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    feed = {k: _to_numpy(v) for k, v in inputs.items()}
    got = sess.run(outputs, feed)
    with torch.no_grad():
        want = module(*inputs.values())
    want = want if isinstance(want, tuple) else (want,)
    diffs = {}
    for name, g, w in zip(outputs, got, want):
        w = _to_numpy(w)
        assert g.shape == w.shape, f"{path.name}:{name} shape {g.shape} vs {w.shape}"
        if np.issubdtype(w.dtype, np.integer):
            diffs[name] = float((g != w).mean())
        else:
            diffs[name] = float(np.abs(g - w).max())
            tol = 1e-3 * max(1.0, float(np.abs(w).max()))
            assert diffs[name] <= tol, f"{path.name}:{name} onnxruntime differs from torch by {diffs[name]}"
    return diffs


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- RON ---------------------------------------------------------------------------------

def ron(value, indent=0) -> str:
    pad, inner = "    " * indent, "    " * (indent + 1)
    if isinstance(value, Struct):
        if not value.fields:
            return "()"
        body = ",\n".join(f"{inner}{k}: {ron(v, indent + 1)}" for k, v in value.fields.items())
        return f"(\n{body},\n{pad})"
    if isinstance(value, dict):
        if not value:
            return "{}"
        body = ",\n".join(f"{inner}{ron(str(k))}: {ron(v, indent + 1)}" for k, v in value.items())
        return f"{{\n{body},\n{pad}}}"
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in value) and len(value) <= 8:
            return "[" + ", ".join(ron(v) for v in value) + "]"
        body = ",\n".join(f"{inner}{ron(v, indent + 1)}" for v in value)
        return f"[\n{body},\n{pad}]" if value else "[]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "0.0"
        r = repr(float(value))
        return r if ("." in r or "e" in r) else r + ".0"
    if value is None:
        return "None"
    return json.dumps(str(value), ensure_ascii=False)  # a RON string: UTF-8, escapes \" \\ \n as Rust


class Struct:
    def __init__(self, **fields):
        self.fields = fields


def tensor(name, shape, dtype="f32"):
    return Struct(name=name, shape=[s if isinstance(s, str) else int(s) for s in shape], dtype=dtype)


# ---- export ------------------------------------------------------------------------------

def run_info(run_dir: Path) -> dict:
    p = run_dir / "summary.json"
    return json.loads(p.read_text()) if p.exists() else {}


def flat_metrics(m: dict) -> dict:
    return {k: float(v) for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def export(args) -> None:
    torch.set_grad_enabled(False)
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    runs, out = Path(args.runs), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = D.read_manifest(args.data)
    std_hash = manifest["standard_hash"]
    evals = json.loads(Path(args.eval).read_text()) if args.eval else {}
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)
    models, fixtures, extras = {}, {}, {}

    def record(key, files, inputs, outputs, run_dir, diffs, notes=None):
        info = run_info(run_dir)
        metrics = flat_metrics(info.get("metrics", {}))
        source = {"unet": "diffusion"}.get(key, key.split("_")[0])
        metrics.update({f"eval_{k}": v for k, v in flat_metrics(evals.get(source, {})).items()})
        models[key] = Struct(
            file=files, sha256=sha256(out / files), bytes=(out / files).stat().st_size,
            inputs=inputs, outputs=outputs,
            trained=Struct(steps=int(info.get("steps", 0)), seconds=float(info.get("seconds", 0.0)),
                           device=str(info.get("device", "")), data=str(info.get("data", args.data)),
                           command=str(info.get("command", ""))),
            metrics=metrics, onnx_max_abs_diff={k: float(v) for k, v in diffs.items()},
            notes=notes or "")

    # VQ-VAE
    vq = None
    if (runs / "vqvae" / "checkpoint.pt").exists():
        from .diffusion import load_vqvae
        vq, ck = load_vqvae(runs / "vqvae")
        d = vq.quantizer.dim
        mel = torch.randn(2, N_MELS, CHUNK_FRAMES, generator=g) * 2.0 - 5.0
        enc = VqEncoderExport(vq)
        export_onnx(enc, {"mel": mel}, ["latent"], out / "vqvae_encoder.onnx")
        diffs = check_onnx(out / "vqvae_encoder.onnx", enc, {"mel": mel}, ["latent"])
        record("vqvae_encoder", "vqvae_encoder.onnx", [tensor("mel", ["batch", N_MELS, CHUNK_FRAMES])],
               [tensor("latent", ["batch", d, LATENT_FRAMES])], runs / "vqvae", diffs,
               "raw log-mel in (the normalisation is inside); continuous latent out (not quantised)")
        lat = enc(mel)
        dec = VqDecoderExport(vq)
        export_onnx(dec, {"latent": lat}, ["mel", "tokens"], out / "vqvae_decoder.onnx")
        diffs = check_onnx(out / "vqvae_decoder.onnx", dec, {"latent": lat}, ["mel", "tokens"])
        record("vqvae_decoder", "vqvae_decoder.onnx", [tensor("latent", ["batch", d, LATENT_FRAMES])],
               [tensor("mel", ["batch", N_MELS, CHUNK_FRAMES]), tensor("tokens", ["batch", LATENT_FRAMES], "i64")],
               runs / "vqvae", diffs, f"quantises to the nearest of {vq.quantizer.codes} codes, then decodes")
        m_out, tokens = dec(lat)
        fixtures.update({"vqvae.mel": mel, "vqvae.latent": lat, "vqvae.decoded_mel": m_out,
                         "vqvae.tokens": tokens.to(torch.int64), "vqvae.codebook": vq.quantizer.codebook})

    # vocoder
    if (runs / "vocoder" / "checkpoint.pt").exists():
        from .vocoder import build as build_voc
        ck = load_checkpoint(runs / "vocoder")
        voc = build_voc(ck["config"])
        voc.load_state_dict(ck["emas"]["vocoder"])
        voc.eval()
        mel = torch.randn(2, N_MELS, CHUNK_FRAMES, generator=g) * 2.0 - 5.0
        export_onnx(voc, {"mel": mel}, ["mag", "phase"], out / "vocoder.onnx", dynamic_time={"mel": 2})
        diffs = check_onnx(out / "vocoder.onnx", voc, {"mel": mel}, ["mag", "phase"])
        record("vocoder", "vocoder.onnx", [tensor("mel", ["batch", N_MELS, "frames"])],
               [tensor("mag", ["batch", N_BINS, "frames"]), tensor("phase", ["batch", N_BINS, "frames"])],
               runs / "vocoder", diffs,
               "STFT of n_fft 1024, hop 250, periodic Hann, centre: S = mag·e^(i·phase); waveform = "
               "torch.istft(S, 1024, 250, window, center=True, length=frames·250) (window-square normalised "
               "overlap-add, the first 512 samples of the centred frame grid dropped)")
        # A real segment when the data has one, so the waveform fixture is meaningful.
        try:
            seg = D.load_segments(args.data, max_rows=1)
            real = torch.from_numpy(np.ascontiguousarray(seg.mel[:1].transpose(0, 2, 1)))[..., :96]
        except ValueError:
            real = mel[:1, :, :96]
        mag, phase = voc(real)
        fixtures.update({"vocoder.mel": real, "vocoder.mag": mag, "vocoder.phase": phase,
                         "vocoder.waveform": istft(mag, phase, real.shape[-1] * HOP)})

    # diffusion
    if (runs / "diffusion" / "checkpoint.pt").exists():
        from .diffusion import alpha_sigma, build as build_unet, ddim_sample, ddim_timesteps
        ck = load_checkpoint(runs / "diffusion")
        unet = build_unet(ck["config"])
        unet.load_state_dict(ck["emas"]["unet"])
        unet.eval()
        mode = ck["extra"].get("mode", "latent")
        c = unet.channels
        length = LATENT_FRAMES if mode == "latent" else CHUNK_FRAMES
        lc = CONTEXT_LATENT if mode == "latent" else D.CONTEXT_FRAMES
        ex = {"x_t": torch.randn(2, c, length, generator=g), "t": torch.tensor([0.3, 0.9]),
              "cond": torch.randn(2, D.COND_DIMS, generator=g), "context": torch.randn(2, c, lc, generator=g),
              "context_mask": torch.tensor([1.0, 0.0])}
        wrapped = UNetExport(unet)
        export_onnx(wrapped, ex, ["v"], out / "unet.onnx")
        diffs = check_onnx(out / "unet.onnx", wrapped, ex, ["v"])
        record("unet", "unet.onnx",
               [tensor("x_t", ["batch", c, length]), tensor("t", ["batch"]), tensor("cond", ["batch", D.COND_DIMS]),
                tensor("context", ["batch", c, lc]), tensor("context_mask", ["batch"])],
               [tensor("v", ["batch", c, length])], runs / "diffusion", diffs,
               "v-prediction at continuous t in [0, 1]; unconditional = cond all zeros; context_mask 1 = "
               "the context bar is real")
        scale = ck["extra"]["scale"]
        extras["diffusion"] = Struct(
            mode=mode, channels=c, frames=length, context_frames=lc,
            latent_scale=float(scale["std"]), mel_mean=float(scale.get("mel_mean", 0.0)),
            scaling="latent mode: x = encoder latent / latent_scale, decode x · latent_scale; mel mode: "
                    "x = (log-mel − mel_mean) / latent_scale",
            schedule=Struct(kind="cosine", s=0.008,
                            alpha_bar="cos²(π/2·(t+s)/(1+s)) / cos²(π/2·s/(1+s)), clamped to [0, 1]",
                            prediction="v"),
            sampler=Struct(kind="ddim", spacing="trailing: t_k = k/N for k = N..1, next (k−1)/N", eta=0.0,
                           default_steps=20,
                           guidance="v = v_u + g·(v_c − v_u), v_u with cond all zeros"),
            cond=[Struct(name="e_phrase", start=0, dims=D.E_PHRASE_DIMS, notes="standardised as the database"),
                  Struct(name="e_motion", start=256, dims=D.E_MOTION_DIMS,
                         notes="z-scored e_motion (zeros: no motion)"),
                  Struct(name="bar_position", start=360, dims=D.BAR_POS_DIMS,
                         notes="memsynth_train.data.bar_position_encoding(first_bar, phrase_bars)")],
            vqvae=str(ck["extra"].get("vqvae", "")))
        # One DDIM run with fixed noise, with and without guidance.
        gen = torch.Generator().manual_seed(7)
        noise = torch.randn(1, c, length, generator=gen)
        cond = torch.randn(1, D.COND_DIMS, generator=gen)
        context = torch.randn(1, c, lc, generator=gen)
        mask = torch.ones(1)
        steps, guidance = 4, 2.5
        fixtures.update({"ddim.noise": noise, "ddim.cond": cond, "ddim.context": context, "ddim.context_mask": mask,
                         "ddim.steps": torch.tensor([steps]), "ddim.guidance": torch.tensor([guidance]),
                         "ddim.out_guided": ddim_sample(unet, noise, cond, context, mask, steps, guidance),
                         "ddim.out_cond": ddim_sample(unet, noise, cond, context, mask, steps, 1.0)})
        ts = [t for t, _ in ddim_timesteps(20)] + [0.0]
        a, s = alpha_sigma(torch.tensor(ts, dtype=torch.float64))
        fixtures.update({"schedule.t20": torch.tensor(ts), "schedule.alpha": a.float(), "schedule.sigma": s.float()})
        fixtures["bar_position.first_bar_phrase_bars"] = torch.tensor([[0, 4], [1, 8], [5, 16], [12, 16]])
        fixtures["bar_position.code"] = torch.from_numpy(
            D.bar_position_encoding(np.array([0, 1, 5, 12]), np.array([4, 8, 16, 16])))

    # mapper
    if (runs / "mapper" / "checkpoint.pt").exists():
        from .mapper import build as build_map
        ck = load_checkpoint(runs / "mapper")
        holder_sd = ck["emas"]["mapper"]
        mp = build_map(ck["config"])
        mp.register_buffer("motion_mean", torch.zeros(D.E_MOTION_DIMS))
        mp.register_buffer("motion_std", torch.ones(D.E_MOTION_DIMS))
        mp.load_state_dict({k[len("mapper."):]: v for k, v in holder_sd.items() if k.startswith("mapper.")})
        mp.eval()
        x = torch.randn(2, D.E_MOTION_DIMS, generator=g)
        export_onnx(mp, {"e_motion": x}, ["query"], out / "mapper.onnx")
        diffs = check_onnx(out / "mapper.onnx", mp, {"e_motion": x}, ["query"])
        record("mapper", "mapper.onnx", [tensor("e_motion", ["batch", D.E_MOTION_DIMS])],
               [tensor("query", ["batch", D.E_PHRASE_DIMS])], runs / "mapper", diffs,
               "z-scored e_motion in; unit-length query out, compared by cosine with standardised e_phrase. "
               "Trained on synthetic motion (memsynth_train.motion) until recordings exist")
        fixtures.update({"mapper.e_motion": x, "mapper.query": mp(x)})

    if not models:
        raise SystemExit(f"no trained runs under {runs} (expected vqvae/, vocoder/, diffusion/, mapper/)")
    doc = Struct(
        format="memsynth-models", format_version=MANIFEST_VERSION, standard_hash=std_hash,
        opset=OPSET, layout="channel-first: mel [B, 128, T], latent [B, 64, T/4], STFT [B, 513, T]",
        chunk=Struct(mel_frames=CHUNK_FRAMES, latent_frames=LATENT_FRAMES, context_mel_frames=D.CONTEXT_FRAMES,
                     context_latent_frames=CONTEXT_LATENT),
        dataset=Struct(path=str(args.data), windows=int(manifest["counts"].get("windows", 0)),
                       vocoder_segments=int(manifest["counts"].get("vocoder_segments", 0)),
                       tracks=int(manifest["counts"].get("tracks", 0)),
                       phrases=int(manifest["counts"].get("phrases", 0)),
                       database_generation=int(manifest.get("database", {}).get("generation", 0)),
                       held_back="phrases whose id is a multiple of 10"),
        command=" ".join(["python -m memsynth_train"] + sys.argv[1:]),
        models=models, **extras)
    (out / "manifest.ron").write_text("// Written by `python -m memsynth_train export`: the models' contract with the "
                                      "Rust side.\n" + ron(doc) + "\n")
    print(f"wrote {', '.join(sorted(models))} and manifest.ron to {out}")
    if args.fixtures:
        from safetensors.torch import save_file
        fx = Path(args.fixtures)
        fx.mkdir(parents=True, exist_ok=True)
        if vq is not None or True:
            sr = 24000
            tt = torch.arange(sr // 2, dtype=torch.float32) / sr
            audio = 0.5 * torch.sin(2 * math.pi * 1000.0 * tt) + 0.1 * torch.randn(sr // 2, generator=g)
            fixtures["mel.audio"] = audio[None]
            fixtures["mel.log_mel"] = LogMel()(audio[None])
        tensors = {k: v.detach().contiguous().cpu() for k, v in fixtures.items()}
        save_file(tensors, str(fx / "parity.safetensors"),
                  metadata={"standard_hash": std_hash, "made_by": "python -m memsynth_train export --fixtures",
                            "ddim": "trailing spacing, eta 0, v-prediction, cosine schedule s=0.008; "
                                    "out_guided uses ddim.guidance, out_cond guidance 1"})
        print(f"wrote {len(tensors)} fixture tensors to {fx / 'parity.safetensors'}")
