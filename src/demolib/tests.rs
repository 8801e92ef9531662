//! The demo library's tests: the plan's promises (keys, styles, tempi, lengths, sections),
//! the ground truth's grid, determinism, and one full track rendered and written.

use std::collections::BTreeSet;

use super::*;

fn default_plan() -> Vec<TrackSpec> {
    plan(&DemoLibraryOptions::default())
}

/// A short version of a track (intro, A and B of 2 bars each) for the tests that render
/// many times.
fn short(spec: &TrackSpec) -> TrackSpec {
    let sections = [SectionKind::Intro, SectionKind::A, SectionKind::B]
        .iter()
        .enumerate()
        .map(|(i, &kind)| Section { kind, start_bar: 2 * i, bars: 2 })
        .collect();
    TrackSpec { sections, ..spec.clone() }
}

/// Checks what every plan promises, for any seed.
fn check_plan(specs: &[TrackSpec]) {
    let keys: BTreeSet<usize> = specs.iter().map(|s| s.key.index()).collect();
    assert_eq!(keys.len(), 24, "every key once");
    for spec in specs {
        let minutes = spec.duration() / 60.0;
        assert!((2.0..=4.0).contains(&minutes), "{}: {minutes:.2} min", spec.stem());
        assert!((80.0..=170.0).contains(&spec.tempo), "{}: {} BPM", spec.stem(), spec.tempo);
        assert!((0.1..=0.5).contains(&spec.offset), "{}: offset {}", spec.stem(), spec.offset);
        let lengths: BTreeSet<usize> = spec.sections.iter().map(|s| s.bars).collect();
        assert_eq!(lengths, BTreeSet::from([4, 8, 16]), "{}: section lengths", spec.stem());
        let mut next = 0;
        for (i, section) in spec.sections.iter().enumerate() {
            assert_eq!(section.start_bar, next, "{}: sections are contiguous", spec.stem());
            next += section.bars;
            if i > 0 {
                assert_ne!(
                    section.kind,
                    spec.sections[i - 1].kind,
                    "{}: a boundary changes the section",
                    spec.stem()
                );
            }
        }
        assert_eq!(spec.sections.first().map(|s| s.kind), Some(SectionKind::Intro));
        assert_eq!(spec.sections.last().map(|s| s.kind), Some(SectionKind::Outro));
    }
}

#[test]
fn default_plan_uses_every_key_once_and_keeps_its_promises() {
    let specs = default_plan();
    assert_eq!(specs.len(), 24);
    check_plan(&specs);
}

#[test]
fn plans_keep_their_promises_for_many_seeds() {
    for seed in 0..40 {
        check_plan(&plan(&DemoLibraryOptions { tracks: 24, seed }));
    }
}

#[test]
fn default_plan_has_every_style_and_spreads_tempi() {
    let specs = default_plan();
    let styles: BTreeSet<&str> = specs.iter().map(|s| s.style.name()).collect();
    assert!(styles.len() >= 4);
    for style in Style::ALL {
        let tempi: Vec<f64> = specs.iter().filter(|s| s.style == style).map(|s| s.tempo).collect();
        assert!(tempi.len() >= 3, "{}: {} tracks", style.name(), tempi.len());
        let (low, high) = style.tempo_range();
        assert!(
            tempi.iter().all(|&t| (low as f64..=high as f64).contains(&t)),
            "{}: {tempi:?}",
            style.name()
        );
    }
    let tempi: Vec<f64> = specs.iter().map(|s| s.tempo).collect();
    for band in [80.0..110.0, 110.0..140.0, 140.0..171.0] {
        let n = tempi.iter().filter(|&&t| band.contains(&t)).count();
        assert!(n >= 4, "{n} tracks in {band:?} BPM: {tempi:?}");
    }
    let distinct: BTreeSet<u64> = tempi.iter().map(|&t| t as u64).collect();
    assert!(distinct.len() >= 16, "tempi too alike: {tempi:?}");
}

#[test]
fn plan_is_deterministic_prefix_stable_and_seeded() {
    let specs = default_plan();
    assert_eq!(specs, default_plan());
    assert_eq!(plan(&DemoLibraryOptions { tracks: 5, seed: 7 }), specs[..5]);
    let other = plan(&DemoLibraryOptions { tracks: 24, seed: 8 });
    assert_ne!(other, specs);
    let names: BTreeSet<String> = specs.iter().map(TrackSpec::stem).collect();
    assert_eq!(names.len(), 24, "file names are unique");
    assert!(names.iter().all(|n| n.is_ascii() && !n.contains(['#', ' ', '/'])));
}

#[test]
fn beats_follow_the_tempo_and_downbeats_start_sections() {
    for spec in default_plan() {
        let truth = spec.ground_truth();
        let beat = 60.0 / truth.tempo;
        assert_eq!(truth.beats.len(), spec.bars() * 4);
        assert!((truth.beats[0] - spec.offset).abs() < 1e-6);
        for pair in truth.beats.windows(2) {
            assert!((pair[1] - pair[0] - beat).abs() < 2e-6, "{}: uneven beats", truth.title);
        }
        let every_fourth: Vec<f64> = truth.beats.iter().step_by(4).copied().collect();
        assert_eq!(truth.downbeats, every_fourth);
        let mut end = truth.beats[0];
        for section in &truth.sections {
            assert_eq!(
                section.start, truth.downbeats[section.start_bar],
                "{}: section on a downbeat",
                truth.title
            );
            assert!((section.start - end).abs() < 1e-9, "{}: sections are contiguous", truth.title);
            assert!((section.end - section.start - section.bars as f64 * 4.0 * beat).abs() < 2e-6);
            end = section.end;
        }
        assert!((end - truth.beats.last().copied().unwrap_or(0.0) - beat).abs() < 2e-6);
        assert!(truth.duration > end + 1.0, "a tail after the last bar");
        assert_eq!(truth.time_signature, [4, 4]);
        assert_eq!(Key::from_index(truth.key_index).map(Key::name), Some(truth.key.clone()));
    }
}

#[test]
fn truth_round_trips_through_json() {
    let truth = default_plan()[0].ground_truth();
    let json = serde_json::to_string(&truth).expect("serialises");
    assert!(json.contains("\"time_signature\":[4,4]"));
    let back: GroundTruth = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, truth);
}

#[test]
fn keys_are_named_and_indexed() {
    let f_sharp_minor = Key::from_index(18).expect("a key");
    assert_eq!(f_sharp_minor, Key { tonic: 6, mode: Mode::Minor });
    assert_eq!(f_sharp_minor.name(), "F# minor");
    assert_eq!(f_sharp_minor.file_name(), "Fsharp-minor");
    assert_eq!(Key::from_index(0).map(Key::name).as_deref(), Some("C major"));
    assert_eq!(Key::from_index(24), None);
    for i in 0..24 {
        assert_eq!(Key::from_index(i).map(Key::index), Some(i));
    }
    // The dominant of A minor is E major (with the leading tone G#), of C major G major.
    let a_minor = Key { tonic: 9, mode: Mode::Minor };
    assert_eq!(a_minor.chord(4, false).tones, vec![4, 8, 11]);
    assert_eq!(a_minor.chord(0, false).tones, vec![9, 0, 4]);
    assert_eq!(Key { tonic: 0, mode: Mode::Major }.chord(4, true).tones, vec![7, 11, 2, 5]);
}

#[test]
fn every_section_starts_on_the_tonic_except_builds_and_the_track_ends_on_it() {
    for spec in default_plan() {
        let mut rng = rng(spec.seed, Stream::Render(spec.index));
        let chords = render::harmony(&spec, &mut rng);
        assert_eq!(chords.len(), spec.bars());
        for section in spec.sections.iter().filter(|s| s.kind != SectionKind::Build) {
            assert_eq!(chords[section.start_bar].degree, 0, "{}: {:?}", spec.stem(), section.kind);
        }
        assert_eq!(chords.last().map(|c| c.degree), Some(0));
        let tonic = chords.iter().filter(|c| c.degree == 0).count();
        assert!(
            tonic * 4 >= chords.len(),
            "{}: the tonic in {tonic} of {} bars",
            spec.stem(),
            chords.len()
        );
    }
}

#[test]
fn rendering_is_deterministic_and_seeded() {
    let specs = default_plan();
    let spec = short(&specs[0]);
    let (first, truth) = render(&spec);
    let (second, _) = render(&spec);
    assert_eq!(first.len(), spec.frames() * 2);
    assert_eq!(truth.duration, spec.duration());
    assert!(first == second, "the same spec renders the same samples");
    let other = TrackSpec { seed: 8, ..spec.clone() };
    assert!(render(&other).0 != first, "another seed renders other notes");
}

#[test]
fn every_style_renders_within_full_scale_and_silent_before_beat_one() {
    let specs = default_plan();
    for style in Style::ALL {
        let spec = short(specs.iter().find(|s| s.style == style).expect("every style is planned"));
        let (audio, _) = render(&spec);
        let before = (spec.offset * SAMPLE_RATE as f64) as usize * 2;
        assert!(
            audio[..before].iter().all(|&x| x == 0.0),
            "{}: silent before beat 1",
            style.name()
        );
        let peak = audio.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        assert!(peak <= 0.9, "{}: peak {peak}", style.name());
        assert!(peak > 0.3, "{}: peak {peak}", style.name());
    }
}

#[test]
fn zero_tracks_is_an_invalid_parameter() {
    let out = std::env::temp_dir().join("memsynth-demolib-never-written");
    let result = write_library(&out, &DemoLibraryOptions { tracks: 0, seed: 7 }, |_, _, _| {});
    assert!(matches!(result, Err(crate::Error::InvalidParameter { name: "tracks", .. })));
    assert!(!out.exists());
}

/// One whole track, written and read back: a 16-bit stereo WAV of the truth's length,
/// within full scale, and never quiet for a whole section.
#[test]
fn written_track_matches_its_truth_and_sounds_in_every_section() {
    let out = std::env::temp_dir().join(format!("memsynth-demolib-test-{}", std::process::id()));
    let options = DemoLibraryOptions { tracks: 1, seed: 7 };
    let mut calls = Vec::new();
    let paths = write_library(&out, &options, |done, total, stem| {
        calls.push((done, total, stem.to_string()))
    })
    .expect("the library is written");
    let spec = &plan(&options)[0];
    assert_eq!(paths, vec![out.join(format!("{}.wav", spec.stem()))]);
    assert_eq!(calls, vec![(1, 1, spec.stem())]);

    let truth: GroundTruth = serde_json::from_str(
        &std::fs::read_to_string(out.join(format!("{}.json", spec.stem())))
            .expect("the truth is written"),
    )
    .expect("the truth parses");
    assert_eq!(truth, spec.ground_truth());
    let index: LibraryIndex = serde_json::from_str(
        &std::fs::read_to_string(out.join("library.json")).expect("the index is written"),
    )
    .expect("the index parses");
    assert_eq!(index.tracks.len(), 1);
    assert_eq!(index.tracks[0].audio, format!("{}.wav", spec.stem()));

    let mut reader = hound::WavReader::open(&paths[0]).expect("a WAV file");
    let wav = reader.spec();
    assert_eq!((wav.channels, wav.sample_rate, wav.bits_per_sample), (2, 32_000, 16));
    let samples: Vec<f32> =
        reader.samples::<i16>().map(|s| s.expect("a sample") as f32 / 32768.0).collect();
    assert_eq!(samples.len(), spec.frames() * 2);
    assert!((samples.len() as f64 / 2.0 / 32_000.0 - truth.duration).abs() < 1e-5);
    assert!(samples.iter().all(|x| x.abs() <= 0.9), "a limiter keeps peaks under -1 dBFS");
    for section in &truth.sections {
        let range = (section.start * 32_000.0) as usize * 2..(section.end * 32_000.0) as usize * 2;
        let energy = samples[range.clone()].iter().map(|x| x * x).sum::<f32>() / range.len() as f32;
        let rms_db = 10.0 * energy.log10();
        assert!(rms_db > -40.0, "{} at {:.1} s: {rms_db:.1} dBFS", section.label, section.start);
    }
    std::fs::remove_dir_all(&out).expect("the test folder is removed");
}

#[test]
fn titles_do_not_repeat() {
    let specs = plan(&DemoLibraryOptions { tracks: 100, seed: 7 });
    let titles: BTreeSet<&str> = specs.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles.len(), 100);
}
