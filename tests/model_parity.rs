//! The Rust sampler, schedule, condition code, VQ decode and vocoder (inverse STFT included)
//! against the training code's own, on the same inputs.
//!
//! Fixtures: `tests/fixtures/model/parity.safetensors` and the tiny models beside it, made by
//! `tests/fixtures/model/make_model_fixtures.py` from the training package (its
//! `ddim_sample`, `mel.istft`, `alpha_sigma`, `bar_position_encoding`) with the networks in
//! onnxruntime. The export's own torch-side fixtures are checked too: `models/fixtures/`
//! (shipped models, committed) and `target/training-ci/fixtures/` when `bash training/ci.sh`
//! has run.
//!
//! Tolerances (max absolute difference; values are O(1) unless said), with what was measured
//! on the tiny CI models (x86-64, onnxruntime 1.32 from the wheel, one intra-op thread):
//! - schedule α, σ: 1e-12 — the same closed form in f64 on both sides.
//! - bar-position code: 1e-6 — f64 trigonometry rounded to f32 on both sides.
//! - iSTFT head alone: 1e-6 × max(1, max |y|) — f32 FFTs of size 1024 on both sides
//!   (pocketfft vs realfft, other summation orders); measured 1.3e-7.
//! - DDIM with the networks in onnxruntime: 1e-5 — the same library, thread count and batches
//!   give the same v for the same x, and the update is the same f32 arithmetic in the same
//!   order; measured 0 (bit-identical) for 3, 4 and 20 steps, guided, conditional,
//!   unconditional, with and without context. The margin covers libm/FMA differences that
//!   the network may amplify over 20 steps on another CPU.
//! - VQ decode: 1e-5 on the log-mel (measured 0); tokens identical.
//! - vocoder network + iSTFT: 1e-5 on samples within ±1 (measured 3.7e-8).
//! - against torch (the export's own fixtures: `models/fixtures/` for the shipped models,
//!   `target/training-ci/fixtures/` after training/ci.sh): DDIM 1e-4 — adds the exporter's
//!   torch-vs-ONNX gap per U-Net call (the export allows 1e-3 relative) compounded over 4
//!   steps; measured 2.7e-5 (shipped) and 9.5e-7 (tiny). VQ decode 1e-4 (measured 2.6e-6),
//!   iSTFT on torch's magnitude and phase 1e-5 (1.5e-7), vocoder network + iSTFT 1e-5
//!   (6.3e-7).
//!
//! A test that needs ONNX Runtime's library prints why and passes when the library is absent
//! (`bash scripts/test.sh` installs the onnxruntime wheel; or set ORT_DYLIB_PATH). A test that
//! needs the committed fixtures fails if they are missing: they are part of the repository.

use std::path::{Path, PathBuf};

use memsynth::dsp::{N_BINS, N_MELS};
use memsynth::model::cond::bar_position;
use memsynth::model::ddim::{Ddim, SampleShape};
use memsynth::model::noise::GaussianNoise;
use memsynth::model::runtime;
use memsynth::model::schedule::{CosineSchedule, ddim_timesteps};
use memsynth::model::unet::UNet;
use memsynth::model::vocoder::{Vocoder, VocosHead};
use memsynth::model::vqvae::VqDecoder;
use memsynth::model::{Manifest, Models, Request, Threads};
use safetensors::{Dtype, SafeTensors};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model")
}

struct Fixture {
    bytes: Vec<u8>,
}

impl Fixture {
    fn open(path: &Path) -> Self {
        Self {
            bytes: std::fs::read(path).unwrap_or_else(|e| {
                panic!("{}: {e} (run tests/fixtures/model/make_model_fixtures.py)", path.display())
            }),
        }
    }

    fn tensors(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("a safetensors file")
    }

    fn f64s(&self, name: &str) -> Vec<f64> {
        let st = self.tensors();
        let t = st.tensor(name).unwrap_or_else(|_| panic!("fixture tensor {name}"));
        match t.dtype() {
            Dtype::F32 => t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
                .collect(),
            Dtype::F64 => t
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect(),
            Dtype::I64 => t
                .data()
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64)
                .collect(),
            other => panic!("{name}: dtype {other:?}"),
        }
    }

    fn f32s(&self, name: &str) -> Vec<f32> {
        self.f64s(name).into_iter().map(|x| x as f32).collect()
    }

    fn metadata(&self, key: &str) -> String {
        let (_, meta) = SafeTensors::read_metadata(&self.bytes).unwrap();
        meta.metadata().as_ref().and_then(|m| m.get(key).cloned()).unwrap_or_default()
    }
}

fn fixture() -> Fixture {
    Fixture::open(&fixture_dir().join("parity.safetensors"))
}

/// ONNX Runtime, or `None` with the reason printed.
fn ort_available(test: &str) -> bool {
    match runtime::init() {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            false
        }
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

const ONE_THREAD: Threads = Threads { intra_op: 1 };

#[test]
fn schedule_matches_the_python_schedule() {
    let fx = fixture();
    let ts = fx.f64s("schedule.t20");
    let (alpha, sigma) = (fx.f64s("schedule.alpha"), fx.f64s("schedule.sigma"));
    let steps = ddim_timesteps(20);
    for (i, (t, _)) in steps.iter().enumerate() {
        assert_eq!(*t, ts[i], "time step {i}");
    }
    let s = CosineSchedule::default();
    for ((t, a), sg) in ts.iter().zip(&alpha).zip(&sigma) {
        let (ra, rs) = s.alpha_sigma(*t);
        assert!(
            (ra - a).abs() < 1e-12 && (rs - sg).abs() < 1e-12,
            "t {t}: ({ra}, {rs}) vs ({a}, {sg})"
        );
    }
}

#[test]
fn bar_position_code_matches_the_python_code() {
    let fx = fixture();
    let args = fx.f64s("bar_position.first_bar_phrase_bars");
    let code = fx.f32s("bar_position.code");
    for (i, wn) in args.chunks_exact(2).enumerate() {
        let got = bar_position(wn[0] as usize, wn[1] as usize);
        let want = &code[i * 16..(i + 1) * 16];
        assert!(max_abs_diff(&got, want) < 1e-6, "w {} n {}: {got:?} vs {want:?}", wn[0], wn[1]);
    }
}

#[test]
fn istft_head_matches_torch_istft() {
    let fx = fixture();
    let (mag, phase, want) =
        (fx.f32s("istft.mag"), fx.f32s("istft.phase"), fx.f32s("istft.waveform"));
    let frames = mag.len() / N_BINS;
    let mut got = vec![0.0; VocosHead::output_len(frames)];
    VocosHead::new().process(&mag, &phase, &mut got).unwrap();
    let scale = want.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    let err = max_abs_diff(&got, &want);
    println!("iSTFT head vs torch.istft: max abs diff {err:.2e} (max |y| {scale:.2})");
    assert!(err <= 1e-6 * scale, "{err}");
}

#[test]
fn fixture_models_are_for_this_feature_standard() {
    let fx = fixture();
    let manifest = Manifest::load(&fixture_dir().join("models")).expect("fixture manifest");
    assert_eq!(manifest.doc.standard_hash, fx.metadata("standard_hash"));
    assert_eq!(manifest.doc.standard_hash, memsynth::dsp::standard_hash());
}

fn shape_of(manifest: &Manifest) -> SampleShape {
    let d = manifest.diffusion().unwrap();
    SampleShape {
        channels: d.channels,
        frames: d.frames,
        context_frames: d.context_frames,
        cond_dims: 376,
    }
}

#[test]
fn ddim_matches_the_python_sampler() {
    if !ort_available("ddim_matches_the_python_sampler") {
        return;
    }
    let fx = fixture();
    let manifest = Manifest::load(&fixture_dir().join("models")).unwrap();
    let mut unet = UNet::open(&manifest, ONE_THREAD).unwrap();
    let shape = shape_of(&manifest);
    assert_eq!(unet.shape(), shape);
    let (noise, cond, context) =
        (fx.f32s("ddim.noise"), fx.f32s("ddim.cond"), fx.f32s("ddim.context"));
    for (name, steps, guidance, mask) in [
        ("guided4", 4, 2.5, 1.0),
        ("cond4", 4, 1.0, 1.0),
        ("guided20_nocontext", 20, 2.5, 0.0),
        ("uncond3", 3, 0.0, 1.0),
    ] {
        let got = Ddim::new(steps, guidance)
            .unwrap()
            .sample(&mut unet, shape, &noise, &cond, &context, mask)
            .unwrap();
        let want = fx.f32s(&format!("ddim.{name}"));
        let err = max_abs_diff(&got, &want);
        println!("DDIM {name}: max abs diff {err:.2e}");
        assert!(err < 1e-5, "{name}: {err}");
    }
}

#[test]
fn vq_decode_matches_python() {
    if !ort_available("vq_decode_matches_python") {
        return;
    }
    let fx = fixture();
    let manifest = Manifest::load(&fixture_dir().join("models")).unwrap();
    let scale = manifest.diffusion().unwrap().latent_scale;
    let fixture_scale: f64 = fx.metadata("latent_scale").parse().unwrap();
    assert!((scale as f64 - fixture_scale).abs() < 1e-6 * fixture_scale);
    let latent: Vec<f32> = fx.f32s("ddim.guided4").iter().map(|x| x * scale).collect();
    let decoded = VqDecoder::open(&manifest, ONE_THREAD).unwrap().decode(&latent).unwrap();
    let frames = decoded.mel.len() / N_MELS;
    let head: Vec<f32> =
        (0..N_MELS).flat_map(|m| decoded.mel[m * frames..m * frames + 96].to_vec()).collect();
    let err = max_abs_diff(&head, &fx.f32s("vqvae.decoded_mel_head"));
    println!("VQ decode: max abs diff {err:.2e}");
    assert!(err < 1e-5, "{err}");
    let tokens: Vec<i64> = fx.f64s("vqvae.tokens").into_iter().map(|x| x as i64).collect();
    assert_eq!(decoded.tokens, tokens);
}

#[test]
fn vocoder_waveform_matches_python() {
    if !ort_available("vocoder_waveform_matches_python") {
        return;
    }
    let fx = fixture();
    let manifest = Manifest::load(&fixture_dir().join("models")).unwrap();
    let mut vocoder = Vocoder::open(&manifest, ONE_THREAD).unwrap();
    let got = vocoder.waveform(&fx.f32s("vocoder.mel")).unwrap();
    let err = max_abs_diff(&got, &fx.f32s("vocoder.waveform"));
    println!("vocoder + iSTFT: max abs diff {err:.2e}");
    assert!(err < 1e-5, "{err}");
}

/// Rust (networks in onnxruntime) against the export's own fixtures (networks in torch) of
/// the models in `models_dir`; prints what was compared.
fn torch_parity(models_dir: &Path, fixture: &Path) {
    if !fixture.is_file() {
        eprintln!("SKIPPED torch parity: {} absent", fixture.display());
        return;
    }
    let fx = Fixture::open(fixture);
    let manifest = match Manifest::load(models_dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("SKIPPED torch parity: {e}");
            return;
        }
    };
    let mut unet = UNet::open(&manifest, ONE_THREAD).unwrap();
    let shape = shape_of(&manifest);
    let (noise, cond, context) =
        (fx.f32s("ddim.noise"), fx.f32s("ddim.cond"), fx.f32s("ddim.context"));
    let mask = fx.f32s("ddim.context_mask")[0];
    let steps = fx.f64s("ddim.steps")[0] as usize;
    let guidance = fx.f32s("ddim.guidance")[0];
    for (name, g) in [("out_guided", guidance), ("out_cond", 1.0)] {
        let got = Ddim::new(steps, g)
            .unwrap()
            .sample(&mut unet, shape, &noise, &cond, &context, mask)
            .unwrap();
        let err = max_abs_diff(&got, &fx.f32s(&format!("ddim.{name}")));
        println!("{}: DDIM vs torch {name}: max abs diff {err:.2e}", models_dir.display());
        assert!(err < 1e-4, "{name}: {err}");
    }
    // VQ decode of the first latent of the fixture.
    let latent = fx.f32s("vqvae.latent");
    let want_mel = fx.f32s("vqvae.decoded_mel");
    let decoded = VqDecoder::open(&manifest, ONE_THREAD)
        .unwrap()
        .decode(&latent[..latent.len() / 2])
        .unwrap();
    let err = max_abs_diff(&decoded.mel, &want_mel[..want_mel.len() / 2]);
    println!("{}: VQ decode vs torch: max abs diff {err:.2e}", models_dir.display());
    assert!(err < 1e-4, "{err}");
    let tokens: Vec<i64> = fx.f64s("vqvae.tokens").into_iter().map(|x| x as i64).collect();
    assert_eq!(decoded.tokens, tokens[..tokens.len() / 2]);
    // The iSTFT alone on torch's magnitude and phase, then network + iSTFT end to end.
    let (mag, phase) = (fx.f32s("vocoder.mag"), fx.f32s("vocoder.phase"));
    let want = fx.f32s("vocoder.waveform");
    let mut got = vec![0.0; want.len()];
    VocosHead::new().process(&mag, &phase, &mut got).unwrap();
    let err = max_abs_diff(&got, &want);
    println!("{}: iSTFT head vs torch.istft: max abs diff {err:.2e}", models_dir.display());
    assert!(err < 1e-5, "{err}");
    let got =
        Vocoder::open(&manifest, ONE_THREAD).unwrap().waveform(&fx.f32s("vocoder.mel")).unwrap();
    let err = max_abs_diff(&got, &want);
    println!("{}: vocoder + iSTFT vs torch: max abs diff {err:.2e}", models_dir.display());
    assert!(err < 1e-5, "{err}");
}

/// The shipped models against the fixtures their export wrote (`models/fixtures/`).
#[test]
fn shipped_models_match_their_torch_fixtures() {
    if !ort_available("shipped_models_match_their_torch_fixtures") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    torch_parity(&root.join("models"), &root.join("models/fixtures/parity.safetensors"));
}

/// The tiny models `training/ci.sh` trains, against its torch-side fixtures.
#[test]
fn training_ci_models_match_their_torch_fixtures() {
    if !ort_available("training_ci_models_match_their_torch_fixtures") {
        return;
    }
    let ci = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/training-ci");
    torch_parity(&ci.join("models"), &ci.join("fixtures/parity.safetensors"));
}

#[test]
fn generation_is_deterministic_for_a_seed_and_follows_the_tempo() {
    if !ort_available("generation_is_deterministic_for_a_seed_and_follows_the_tempo") {
        return;
    }
    let mut models = Models::load(&fixture_dir().join("models"), ONE_THREAD).unwrap();
    let e_phrase = GaussianNoise::new(5).vec(256);
    let req = Request {
        e_phrase,
        e_motion: vec![None, Some(vec![0.5; 104])],
        bars: 5,
        steps: 3,
        guidance: 2.5,
        tempo: Some(96.0),
        seed: 11,
    };
    let clock = || std::time::Duration::ZERO;
    let a = models.generate(&req, &clock).unwrap();
    let b = models.generate(&req, &clock).unwrap();
    assert_eq!(a.audio, b.audio, "same seed, same samples");
    // 5 bars = 2 chunks; 5 · 192 grid frames at 96 BPM = 1200 frames of hop 250.
    assert_eq!(a.latents.len(), 2);
    assert_eq!(a.grid_mel.len(), N_MELS * 960);
    assert_eq!(a.mel.len(), N_MELS * 1200);
    assert_eq!(a.audio.len(), 1200 * 250);
    assert!(a.audio.iter().all(|x| x.is_finite()));
    let c = models.generate(&Request { seed: 12, ..req }, &clock).unwrap();
    assert_ne!(a.audio, c.audio, "another seed, other samples");
}
