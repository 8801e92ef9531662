//! Beat-tracking metrics, ported from mir_eval 0.8.2's `beat.py` so that they give the same
//! numbers (within 1e-6, checked against mir_eval's own test data in `tests/eval_beats.rs`).
//!
//! Beat times are seconds in increasing order. As in mir_eval, beats before 5 s are usually
//! removed first ([`trim_beats`]; [`evaluate`] does it for you), since listeners and trackers
//! both need a few seconds to settle on a beat.
//!
//! The metrics (Davies, Degara & Plumbley, "Evaluation Methods for Musical Audio Beat
//! Tracking Algorithms", QMUL C4DM-TR-09-06, 2009):
//!
//! - [`f_measure`]: an estimate is correct within ±70 ms of a reference beat, each matched once.
//! - [`cemgil`]: a Gaussian score of each reference beat's distance to the nearest estimate.
//! - [`goto`]: 1 when a long enough stretch of beats is accurate, else 0.
//! - [`p_score`]: McKinney's cross-correlation of the two beat trains around lag zero.
//! - [`continuity`]: CMLc, CMLt, AMLc and AMLt, the longest and the total correctly tracked
//!   share of beats, at the annotated metrical level or at any of double tempo, half tempo
//!   or off-beat.
//! - [`information_gain`]: how far the histogram of beat errors is from uniform.
//! - [`downbeat_f_measure`]: mir_eval has no downbeat metric; this is [`f_measure`] applied
//!   to downbeat times.
//!
//! Where mir_eval warns and returns 0 (empty beat lists, one beat where intervals are
//! needed), these functions return 0 silently. Where mir_eval raises (decreasing beats,
//! times above 30000 s) or would crash or return NaN for a bad parameter, they return
//! [`Error::InvalidParameter`]. Unlike mir_eval they also reject NaN and infinite times,
//! which mir_eval lets through into NaN scores.
//!
//! ```
//! use memsynth::eval::beats;
//!
//! let reference: Vec<f64> = (10..60).map(|i| i as f64 * 0.5).collect();
//! let estimated: Vec<f64> = reference.iter().map(|t| t + 0.02).collect();
//! let scores = beats::evaluate(&reference, &estimated)?;
//! assert_eq!(scores.f_measure, 1.0);
//! assert_eq!(scores.amlt, 1.0);
//! # Ok::<(), memsynth::Error>(())
//! ```

use serde::Serialize;

use crate::eval::matching::match_events;
use crate::{Error, Result};

/// Beats before this time (seconds) are ignored by [`evaluate`] (mir_eval's default).
pub const MIN_BEAT_TIME: f64 = 5.0;
/// Beat times above this (seconds) are rejected, as mir_eval does, to catch times given in
/// milliseconds or samples.
pub const MAX_BEAT_TIME: f64 = 30000.0;
/// Half-width (seconds) of the window within which an estimate counts as correct in
/// [`f_measure`].
pub const F_MEASURE_WINDOW: f64 = 0.07;
/// Standard deviation (seconds) of the Gaussian error window of [`cemgil`].
pub const CEMGIL_SIGMA: f64 = 0.04;
/// Largest beat error, as a fraction of the half inter-beat interval, that [`goto`] counts
/// as correct.
pub const GOTO_THRESHOLD: f64 = 0.35;
/// [`goto`]'s bound on the mean absolute beat error of the correct stretch.
pub const GOTO_MU: f64 = 0.2;
/// [`goto`]'s bound on the standard deviation of the beat errors of the correct stretch.
pub const GOTO_SIGMA: f64 = 0.2;
/// [`p_score`]'s correlation window, as a fraction of the median inter-beat interval.
pub const P_SCORE_THRESHOLD: f64 = 0.2;
/// [`continuity`]'s largest beat offset, as a fraction of the inter-beat interval.
pub const CONTINUITY_PHASE_THRESHOLD: f64 = 0.175;
/// [`continuity`]'s largest relative difference between estimated and reference intervals.
pub const CONTINUITY_PERIOD_THRESHOLD: f64 = 0.175;
/// Number of bins of [`information_gain`]'s beat error histogram.
pub const INFORMATION_GAIN_BINS: usize = 41;

/// Every beat metric at mir_eval's default parameters, as [`evaluate`] returns them.
///
/// Serializes with mir_eval's key names (`"F-measure"`, `"Any Metric Level Total"`, …) so
/// that its JSON can be compared directly with `mir_eval.beat.evaluate` output.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BeatScores {
    /// [`f_measure`] with a 70 ms window.
    #[serde(rename = "F-measure")]
    pub f_measure: f64,
    /// [`cemgil`] at the annotated metrical level.
    #[serde(rename = "Cemgil")]
    pub cemgil: f64,
    /// [`cemgil`], best over the metrical variations.
    #[serde(rename = "Cemgil Best Metric Level")]
    pub cemgil_best_metric_level: f64,
    /// [`goto`]: 0 or 1.
    #[serde(rename = "Goto")]
    pub goto: f64,
    /// [`p_score`].
    #[serde(rename = "P-score")]
    pub p_score: f64,
    /// Correct metric level, continuous: [`ContinuityScores::cmlc`].
    #[serde(rename = "Correct Metric Level Continuous")]
    pub cmlc: f64,
    /// Correct metric level, total: [`ContinuityScores::cmlt`].
    #[serde(rename = "Correct Metric Level Total")]
    pub cmlt: f64,
    /// Any metric level, continuous: [`ContinuityScores::amlc`].
    #[serde(rename = "Any Metric Level Continuous")]
    pub amlc: f64,
    /// Any metric level, total: [`ContinuityScores::amlt`].
    #[serde(rename = "Any Metric Level Total")]
    pub amlt: f64,
    /// [`information_gain`] with 41 bins.
    #[serde(rename = "Information gain")]
    pub information_gain: f64,
}

/// Cemgil's accuracy, as [`cemgil`] returns it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CemgilScores {
    /// Against the reference beats as annotated.
    pub score: f64,
    /// The best over the annotated beats, off-beat, double tempo and both half tempos.
    pub best_metric_level: f64,
}

/// The continuity-based scores, as [`continuity`] returns them. Each is a share of
/// `max(reference.len(), estimated.len())` beats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ContinuityScores {
    /// Correct metric level, continuous: the longest run of correct beats.
    pub cmlc: f64,
    /// Correct metric level, total: all correct beats, runs or not.
    pub cmlt: f64,
    /// Any metric level, continuous: the best CMLc over the annotated beats, off-beat,
    /// double tempo and both half tempos.
    pub amlc: f64,
    /// Any metric level, total: the best CMLt over the same variations.
    pub amlt: f64,
}

/// Checks beat lists as mir_eval's `validate` does: times in non-decreasing order (repeated
/// times are allowed), none above [`MAX_BEAT_TIME`]. Also rejects NaN and infinite times.
///
/// Every metric calls this first. Empty lists are valid (they score 0).
///
/// # Errors
///
/// [`Error::InvalidParameter`] naming `reference_beats` or `estimated_beats` and the first
/// bad beat.
pub fn validate(reference: &[f64], estimated: &[f64]) -> Result<()> {
    validate_beats("reference_beats", reference)?;
    validate_beats("estimated_beats", estimated)
}

fn validate_beats(name: &'static str, beats: &[f64]) -> Result<()> {
    let invalid = |reason: String| Err(Error::InvalidParameter { name, reason });
    for (i, &t) in beats.iter().enumerate() {
        if !t.is_finite() {
            return invalid(format!("beat {i} is {t}; beat times must be finite seconds"));
        }
        if t > MAX_BEAT_TIME {
            return invalid(format!(
                "beat {i} is at {t} s, above the {MAX_BEAT_TIME} s limit; are the times in seconds?"
            ));
        }
        if i > 0 && t < beats[i - 1] {
            return invalid(format!(
                "beat {i} at {t} s comes before beat {} at {} s; sort the beat times",
                i - 1,
                beats[i - 1]
            ));
        }
    }
    Ok(())
}

/// The beats at or after `min_time` seconds (mir_eval's `trim_beats`; its default, and
/// [`evaluate`]'s, is [`MIN_BEAT_TIME`]).
pub fn trim_beats(beats: &[f64], min_time: f64) -> Vec<f64> {
    beats.iter().copied().filter(|&t| t >= min_time).collect()
}

/// Every metric at mir_eval's default parameters, after trimming both lists at
/// [`MIN_BEAT_TIME`], like `mir_eval.beat.evaluate`.
///
/// # Errors
///
/// As [`validate`] and [`p_score`].
pub fn evaluate(reference: &[f64], estimated: &[f64]) -> Result<BeatScores> {
    let reference = trim_beats(reference, MIN_BEAT_TIME);
    let estimated = trim_beats(estimated, MIN_BEAT_TIME);
    let (r, e) = (reference.as_slice(), estimated.as_slice());
    let cemgil = cemgil(r, e, CEMGIL_SIGMA)?;
    let continuity = continuity(r, e, CONTINUITY_PHASE_THRESHOLD, CONTINUITY_PERIOD_THRESHOLD)?;
    Ok(BeatScores {
        f_measure: f_measure(r, e, F_MEASURE_WINDOW)?,
        cemgil: cemgil.score,
        cemgil_best_metric_level: cemgil.best_metric_level,
        goto: goto(r, e, GOTO_THRESHOLD, GOTO_MU, GOTO_SIGMA)?,
        p_score: p_score(r, e, P_SCORE_THRESHOLD)?,
        cmlc: continuity.cmlc,
        cmlt: continuity.cmlt,
        amlc: continuity.amlc,
        amlt: continuity.amlt,
        information_gain: information_gain(r, e, INFORMATION_GAIN_BINS)?,
    })
}

/// F-measure of the estimated beats: an estimate is correct when it lies within `window`
/// seconds (mir_eval's default: [`F_MEASURE_WINDOW`], 70 ms) of a reference beat, each beat
/// matched at most once ([`match_events`]). 0 if either list is empty.
///
/// # Errors
///
/// As [`validate`].
pub fn f_measure(reference: &[f64], estimated: &[f64], window: f64) -> Result<f64> {
    validate(reference, estimated)?;
    if reference.is_empty() || estimated.is_empty() {
        return Ok(0.0);
    }
    let matched = match_events(reference, estimated, window).len() as f64;
    let precision = matched / estimated.len() as f64;
    let recall = matched / reference.len() as f64;
    if precision == 0.0 && recall == 0.0 {
        return Ok(0.0);
    }
    Ok(2.0 * precision * recall / (precision + recall))
}

/// Downbeat F-measure: [`f_measure`] applied to downbeat times.
///
/// mir_eval has no downbeat metric; the usual practice, followed here, is the beat
/// F-measure with the same 70 ms window on the downbeats alone. Trim the lists with
/// [`trim_beats`] first if the first seconds should not count.
///
/// # Errors
///
/// As [`validate`].
pub fn downbeat_f_measure(reference: &[f64], estimated: &[f64], window: f64) -> Result<f64> {
    f_measure(reference, estimated, window)
}

/// Cemgil's accuracy: each reference beat scores `exp(-d² / 2σ²)` for the distance `d` to
/// its nearest estimate, and the sum is divided by the mean of the two list lengths, so that
/// extra estimates cost too. `sigma`: mir_eval's default is [`CEMGIL_SIGMA`] (40 ms).
/// 0 if either list is empty.
///
/// # Errors
///
/// As [`validate`].
pub fn cemgil(reference: &[f64], estimated: &[f64], sigma: f64) -> Result<CemgilScores> {
    validate(reference, estimated)?;
    if reference.is_empty() || estimated.is_empty() {
        return Ok(CemgilScores { score: 0.0, best_metric_level: 0.0 });
    }
    let accuracies = metric_variations(reference).map(|variation| {
        let mut accuracy = 0.0;
        for &beat in &variation {
            let distance =
                estimated.iter().map(|&e| (beat - e).abs()).fold(f64::INFINITY, f64::min);
            accuracy += (-(distance * distance) / (2.0 * sigma * sigma)).exp();
        }
        accuracy / (0.5 * (estimated.len() + variation.len()) as f64)
    });
    Ok(CemgilScores { score: accuracies[0], best_metric_level: max(&accuracies) })
}

/// Goto's score: 1 if the beat errors (relative to half the inter-beat interval) stay below
/// `threshold` over a stretch of more than a quarter of the reference beats, and that
/// stretch's errors have mean absolute value below `mu` and standard deviation below
/// `sigma`; else 0. mir_eval's defaults: [`GOTO_THRESHOLD`], [`GOTO_MU`], [`GOTO_SIGMA`].
/// 0 if either list is empty.
///
/// # Errors
///
/// As [`validate`]; [`Error::InvalidParameter`] if `threshold` is not below 1 (mir_eval
/// then fails with an `IndexError`).
pub fn goto(
    reference: &[f64],
    estimated: &[f64],
    threshold: f64,
    mu: f64,
    sigma: f64,
) -> Result<f64> {
    // The first and last reference beats keep an error of 1 and must count as incorrect:
    // the track search below starts from them.
    if threshold >= 1.0 || threshold.is_nan() {
        return Err(Error::InvalidParameter {
            name: "goto_threshold",
            reason: format!("{threshold} is not below 1; use a fraction such as 0.35"),
        });
    }
    validate(reference, estimated)?;
    if reference.is_empty() || estimated.is_empty() {
        return Ok(0.0);
    }
    let n = reference.len();
    // Beat errors as a fraction of half the interval on the side of the estimate; 1 (wrong)
    // unless exactly one estimate lies in the beat's window, and always 1 for the first and
    // last reference beats, which have no window.
    let mut beat_error = vec![1.0; n];
    for k in 1..n.saturating_sub(1) {
        let previous_interval = 0.5 * (reference[k] - reference[k - 1]);
        let window_min = reference[k] - previous_interval;
        let next_interval = 0.5 * (reference[k + 1] - reference[k]);
        let window_max = reference[k] + next_interval;
        let mut in_window = estimated.iter().filter(|&&e| e >= window_min && e < window_max);
        if let (Some(&e), None) = (in_window.next(), in_window.next()) {
            let offset = e - reference[k];
            beat_error[k] =
                if offset < 0.0 { offset / previous_interval } else { offset / next_interval };
        }
    }
    let incorrect: Vec<usize> = (0..n).filter(|&k| beat_error[k].abs() > threshold).collect();
    let track: Option<&[f64]> = if incorrect.len() < 3 {
        // Every inner beat is correct. mir_eval's slice `[first + 1 : last - 1]` leaves out
        // the last correct beat as well; with one reference beat its stop is -1, which Python
        // reads as "one before the end", and the slice is empty.
        let start = incorrect[0] + 1;
        let stop = incorrect[incorrect.len() - 1] as isize - 1;
        Some(if stop > start as isize { &beat_error[start..stop as usize] } else { &[] })
    } else {
        let gaps: Vec<usize> = incorrect.windows(2).map(|w| w[1] - w[0]).collect();
        let longest = gaps.iter().copied().max().unwrap_or(0);
        let first_longest = gaps.iter().position(|&g| g == longest).unwrap_or(0);
        // The stretch must cover more than a quarter of the inner beats; mir_eval's slice
        // then includes the incorrect beats at both of its ends.
        ((longest - 1) as f64 > 0.25 * (n - 2) as f64)
            .then(|| &beat_error[incorrect[first_longest]..=incorrect[first_longest + 1]])
    };
    let Some(track) = track else {
        return Ok(0.0);
    };
    // numpy's mean of an empty track and sample deviation of one value are NaN, and NaN
    // passes no threshold.
    if track.len() < 2 {
        return Ok(0.0);
    }
    let mean_abs = track.iter().map(|e| e.abs()).sum::<f64>() / track.len() as f64;
    let mean = track.iter().sum::<f64>() / track.len() as f64;
    let std = (track.iter().map(|e| (e - mean) * (e - mean)).sum::<f64>()
        / (track.len() - 1) as f64)
        .sqrt();
    Ok(if mean_abs < mu && std < sigma { 1.0 } else { 0.0 })
}

/// McKinney's P-score: the two beat lists become impulse trains on a 10 ms grid, and their
/// cross-correlation is summed over lags within `threshold` times the median reference
/// interval (mir_eval's default: [`P_SCORE_THRESHOLD`]), divided by the longer list's
/// length. 0 if either list has fewer than two beats.
///
/// # Errors
///
/// As [`validate`]; [`Error::InvalidParameter`] if all reference beats fall on the same
/// 10 ms step, so that there is no reference interval (mir_eval fails on this too).
pub fn p_score(reference: &[f64], estimated: &[f64], threshold: f64) -> Result<f64> {
    validate(reference, estimated)?;
    if reference.len() <= 1 || estimated.len() <= 1 {
        return Ok(0.0);
    }
    // Both lists are sorted, so their first beats are their minima.
    let offset = reference[0].min(estimated[0]);
    // Impulse positions on the 10 ms grid: ceil of the time after the offset, as mir_eval
    // computes them; beats on the same step make one impulse.
    let impulses = |beats: &[f64]| {
        let mut steps: Vec<i64> =
            beats.iter().map(|&t| ((t - offset) * 100.0).ceil() as i64).collect();
        steps.dedup();
        steps
    };
    let reference_steps = impulses(reference);
    let estimated_steps = impulses(estimated);

    let mut intervals: Vec<i64> = reference_steps.windows(2).map(|w| w[1] - w[0]).collect();
    if intervals.is_empty() {
        return Err(Error::InvalidParameter {
            name: "reference_beats",
            reason: format!(
                "all {} reference beats fall within one 10 ms step, so they have no interval",
                reference.len()
            ),
        });
    }
    intervals.sort_unstable();
    let middle = intervals.len() / 2;
    let median = if intervals.len() % 2 == 1 {
        intervals[middle] as f64
    } else {
        (intervals[middle - 1] + intervals[middle]) as f64 / 2.0
    };
    // np.round rounds halves to even.
    let window = (threshold * median).round_ties_even() as i64;

    // The correlation of two 0/1 trains, summed over lags -window..=window, counts the pairs
    // of impulses at most `window` steps apart; counting them directly gives the same
    // integer without building the trains.
    let correlation: usize = reference_steps
        .iter()
        .map(|&r| {
            let start = estimated_steps.partition_point(|&e| e < r - window);
            let end = estimated_steps.partition_point(|&e| e <= r + window);
            end.saturating_sub(start)
        })
        .sum();
    Ok(correlation as f64 / reference.len().max(estimated.len()) as f64)
}

/// The continuity-based scores CMLc, CMLt, AMLc and AMLt.
///
/// An estimated beat is correct when its nearest reference beat is still unused, its
/// distance to it is below `phase_threshold` times the reference interval, and the
/// estimated interval differs from the reference interval by less than `period_threshold`
/// times the latter (mir_eval's defaults: [`CONTINUITY_PHASE_THRESHOLD`],
/// [`CONTINUITY_PERIOD_THRESHOLD`]). "Continuous" scores take the longest run of correct
/// beats, "total" scores all of them; "any metric level" takes the best over the reference
/// as annotated, off-beat, double tempo and both half tempos. 0 if either list has fewer
/// than two beats.
///
/// # Errors
///
/// As [`validate`].
pub fn continuity(
    reference: &[f64],
    estimated: &[f64],
    phase_threshold: f64,
    period_threshold: f64,
) -> Result<ContinuityScores> {
    validate(reference, estimated)?;
    if reference.len() <= 1 || estimated.len() <= 1 {
        return Ok(ContinuityScores { cmlc: 0.0, cmlt: 0.0, amlc: 0.0, amlt: 0.0 });
    }
    let scores = metric_variations(reference).map(|variation| {
        continuity_at_level(&variation, estimated, phase_threshold, period_threshold)
    });
    let continuous = scores.map(|(c, _)| c);
    let total = scores.map(|(_, t)| t);
    Ok(ContinuityScores {
        cmlc: continuous[0],
        cmlt: total[0],
        amlc: max(&continuous),
        amlt: max(&total),
    })
}

/// (continuous, total) accuracy against one metrical variation of the reference.
fn continuity_at_level(
    reference: &[f64],
    estimated: &[f64],
    phase_threshold: f64,
    period_threshold: f64,
) -> (f64, f64) {
    let mut used = vec![false; reference.len()];
    // mir_eval sizes the success list by the longer of the two lists, not by the estimates:
    // the scores are shares of that length, so missing estimates count against them.
    let n_beats = reference.len().max(estimated.len());
    let mut success = vec![false; n_beats];
    for m in 0..estimated.len() {
        let nearest = nearest_index(reference, estimated[m]);
        if used[nearest] {
            continue;
        }
        let min_difference = (estimated[m] - reference[nearest]).abs();
        let (phase, period) = if m == 0 || nearest == 0 {
            // At the first estimate or the first reference there is no previous interval:
            // look forward, or backward from the last beat.
            let reference_interval = if nearest + 1 < reference.len() {
                reference[nearest + 1] - reference[nearest]
            } else if nearest > 0 {
                reference[nearest] - reference[nearest - 1]
            } else {
                // A one-beat variation: mir_eval's `reference_beats[nearest - 1]` wraps to
                // the same beat, so the interval is 0.
                0.0
            };
            let estimated_interval = if m + 1 < estimated.len() {
                estimated[m + 1] - estimated[m]
            } else {
                estimated[m] - estimated[m - 1]
            };
            // A zero reference interval (repeated or single reference beats) gets mir_eval's
            // special values instead of a division by zero.
            if reference_interval == 0.0 {
                let phase = if min_difference == 0.0 { 1.0 } else { f64::INFINITY };
                let period = if estimated_interval == 0.0 { 0.0 } else { f64::INFINITY };
                (phase, period)
            } else {
                (
                    (min_difference / reference_interval).abs(),
                    (1.0 - estimated_interval / reference_interval).abs(),
                )
            }
        } else {
            // Here mir_eval divides without the special case: a zero interval gives an
            // infinite or NaN ratio, which fails the thresholds just the same.
            let reference_interval = reference[nearest] - reference[nearest - 1];
            let estimated_interval = estimated[m] - estimated[m - 1];
            (
                (min_difference / reference_interval).abs(),
                (1.0 - estimated_interval / reference_interval).abs(),
            )
        };
        if phase < phase_threshold && period < period_threshold {
            used[nearest] = true;
            success[m] = true;
        }
    }
    let mut longest_run = 0;
    let mut run = 0;
    for &s in &success {
        run = if s { run + 1 } else { 0 };
        longest_run = longest_run.max(run);
    }
    let correct = success.iter().filter(|&&s| s).count();
    (longest_run as f64 / n_beats as f64, correct as f64 / n_beats as f64)
}

/// Information gain: one minus the entropy of the histogram of beat errors (relative to the
/// inter-beat interval, in `bins` bins over one beat; mir_eval's default
/// [`INFORMATION_GAIN_BINS`]) divided by its maximum `log2(bins)`. The errors are taken both
/// ways, estimates against references and references against estimates, and the worse of
/// the two counts. 0 if either list has fewer than two beats.
///
/// If every beat error is undefined (all reference beats at the same time), the score is
/// NaN, as in mir_eval.
///
/// # Errors
///
/// As [`validate`]; [`Error::InvalidParameter`] if `bins` is below 2 (mir_eval returns
/// NaN). An even count is allowed, though no bin is then centred on zero error.
pub fn information_gain(reference: &[f64], estimated: &[f64], bins: usize) -> Result<f64> {
    if bins < 2 {
        return Err(Error::InvalidParameter {
            name: "bins",
            reason: format!("{bins} bins cannot show a distribution; use an odd count such as 41"),
        });
    }
    validate(reference, estimated)?;
    if reference.len() <= 1 || estimated.len() <= 1 {
        return Ok(0.0);
    }
    let forward_entropy = beat_error_entropy(reference, estimated, bins);
    let backward_entropy = beat_error_entropy(estimated, reference, bins);
    let norm = (bins as f64).log2();
    // The larger entropy, the less informative direction, sets the score. The Beat
    // Evaluation Toolbox does not normalise by `norm`; mir_eval does.
    let entropy =
        if forward_entropy > backward_entropy { forward_entropy } else { backward_entropy };
    Ok((norm - entropy) / norm)
}

/// Entropy (bits) of the histogram of the errors of `estimated` against `reference`, each
/// error a fraction of the inter-beat interval wrapped into (-0.5, 0.5].
fn beat_error_entropy(reference: &[f64], estimated: &[f64], bins: usize) -> f64 {
    let last = reference.len() - 1;
    let mut counts = vec![0usize; bins];
    // numpy.linspace(-0.5, 0.5, bins + 1), computed the same way.
    let step = 1.0 / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step - 0.5).collect();
    edges[bins] = 0.5;

    for &beat in estimated {
        let closest = nearest_index(reference, beat);
        let error = beat - reference[closest];
        // mir_eval sets a first-beat interval with a separate `if` that the following
        // if/else always overwrites, so a beat closest to the first reference beat but
        // before it takes `reference[0] - reference[-1]`: Python's index -1 is the last
        // beat. The interval is then negative, and so is the error: the ratio stays small.
        let interval = if closest == last {
            0.5 * (reference[last] - reference[last - 1])
        } else if error < 0.0 {
            let previous = if closest == 0 { reference[last] } else { reference[closest - 1] };
            0.5 * (reference[closest] - previous)
        } else {
            0.5 * (reference[closest + 1] - reference[closest])
        };
        let beat_error = python_mod(0.5 * error / interval + 0.5, -1.0) + 0.5;
        // np.histogram with explicit edges: bins are half-open [a, b) except the last,
        // which is closed; values outside the edges and NaN (from a zero interval) are
        // dropped.
        let below = edges.partition_point(|&edge| edge <= beat_error);
        if (1..=bins).contains(&below) {
            counts[below - 1] += 1;
        } else if beat_error == edges[bins] {
            counts[bins - 1] += 1;
        }
    }

    let total = counts.iter().sum::<usize>() as f64;
    // Empty bins contribute 0 (mir_eval sets them to 1 so that p·log2(p) is 0); with no
    // counted error at all, p is 0/0 = NaN, as in mir_eval.
    -counts
        .iter()
        .map(|&c| c as f64 / total)
        .map(|p| if p == 0.0 { 0.0 } else { p * p.log2() })
        .sum::<f64>()
}

/// The reference at the five metrical levels mir_eval compares against: as annotated,
/// off-beat (halfway between beats), double tempo, half tempo on the odd beats (1st, 3rd, …)
/// and half tempo on the even beats.
fn metric_variations(reference: &[f64]) -> [Vec<f64>; 5] {
    // np.interp halfway between beats k and k + 1, written as numpy evaluates it so the
    // numbers agree to the last bit.
    let halfway = |k: usize| (reference[k + 1] - reference[k]) * 0.5 + reference[k];
    let double: Vec<f64> = (0..(2 * reference.len()).saturating_sub(1))
        .map(|i| if i % 2 == 0 { reference[i / 2] } else { halfway(i / 2) })
        .collect();
    let off_beat = double.iter().skip(1).step_by(2).copied().collect();
    let half_odd = reference.iter().step_by(2).copied().collect();
    let half_even = reference.iter().skip(1).step_by(2).copied().collect();
    [reference.to_vec(), off_beat, double, half_odd, half_even]
}

/// Index of the beat nearest to `time`, the first one on ties (numpy's `argmin`). A linear
/// scan, like mir_eval's, keeps that tie rule obvious; beat lists are short.
fn nearest_index(beats: &[f64], time: f64) -> usize {
    let mut best = 0;
    for (i, &b) in beats.iter().enumerate() {
        if (time - b).abs() < (time - beats[best]).abs() {
            best = i;
        }
    }
    best
}

/// Python's `%` for floats (numpy's `np.mod`): the result takes the divisor's sign.
fn python_mod(a: f64, b: f64) -> f64 {
    let remainder = a % b;
    if remainder == 0.0 {
        0.0f64.copysign(b)
    } else if (remainder < 0.0) != (b < 0.0) {
        remainder + b
    } else {
        remainder
    }
}

/// Largest of the scores (none is NaN: the inputs were validated).
fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 bpm from 5 s to 35 s.
    fn grid() -> Vec<f64> {
        (0..51).map(|i| 5.0 + 0.6 * i as f64).collect()
    }

    fn all(reference: &[f64], estimated: &[f64]) -> BeatScores {
        evaluate(reference, estimated).unwrap()
    }

    #[test]
    fn identical_beats_score_one_everywhere() {
        let beats = grid();
        let s = all(&beats, &beats);
        for (name, value) in [
            ("f_measure", s.f_measure),
            ("cemgil", s.cemgil),
            ("cemgil_best_metric_level", s.cemgil_best_metric_level),
            ("goto", s.goto),
            ("p_score", s.p_score),
            ("cmlc", s.cmlc),
            ("cmlt", s.cmlt),
            ("amlc", s.amlc),
            ("amlt", s.amlt),
            ("information_gain", s.information_gain),
        ] {
            assert!((value - 1.0).abs() < 1e-12, "{name} = {value}");
        }
    }

    #[test]
    fn shifted_by_100_ms_is_outside_the_f_measure_window() {
        let beats = grid();
        let shifted: Vec<f64> = beats.iter().map(|t| t + 0.1).collect();
        let s = all(&beats, &shifted);
        assert_eq!(s.f_measure, 0.0);
        // Cemgil: exp(-0.1² / (2 · 0.04²)) per beat.
        assert!((s.cemgil - (-0.01f64 / 0.0032).exp()).abs() < 1e-12, "{}", s.cemgil);
        // 100 ms is 1/6 of the 600 ms interval, under continuity's 0.175 phase threshold,
        // and within P-score's window of 0.2 · 60 = 12 grid steps.
        assert_eq!((s.cmlt, s.amlt, s.p_score), (1.0, 1.0, 1.0));
    }

    #[test]
    fn double_tempo_is_correct_at_any_metric_level_only() {
        let beats = grid();
        // Every reference beat and every midpoint, over the same span.
        let double: Vec<f64> = (0..101).map(|i| 5.0 + 0.3 * i as f64).collect();
        let s = continuity(&beats, &double, 0.175, 0.175).unwrap();
        assert_eq!((s.cmlc, s.cmlt), (0.0, 0.0));
        assert!((s.amlc - 1.0).abs() < 1e-12 && (s.amlt - 1.0).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn half_tempo_and_off_beat_are_any_metric_level() {
        let beats = grid();
        let half: Vec<f64> = beats.iter().copied().step_by(2).collect();
        let s = continuity(&beats, &half, 0.175, 0.175).unwrap();
        assert_eq!((s.cmlt, s.amlt), (0.0, 1.0));
        // Off-beat: the 50 midpoints are exactly the off-beat variation.
        let off: Vec<f64> = beats.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        let s = continuity(&beats, &off, 0.175, 0.175).unwrap();
        assert_eq!((s.cmlt, s.amlt), (0.0, 1.0));
    }

    #[test]
    fn empty_lists_score_zero() {
        let beats = grid();
        let zero = BeatScores {
            f_measure: 0.0,
            cemgil: 0.0,
            cemgil_best_metric_level: 0.0,
            goto: 0.0,
            p_score: 0.0,
            cmlc: 0.0,
            cmlt: 0.0,
            amlc: 0.0,
            amlt: 0.0,
            information_gain: 0.0,
        };
        assert_eq!(all(&beats, &[]), zero);
        assert_eq!(all(&[], &beats), zero);
        assert_eq!(all(&[], &[]), zero);
    }

    /// Values from mir_eval 0.8.2 (`mir_eval.beat.<metric>(np.array(r), np.array(e))`).
    #[test]
    fn single_beats_follow_mir_eval() {
        assert_eq!(f_measure(&[1.0], &[1.0], 0.07).unwrap(), 1.0);
        assert_eq!(
            cemgil(&[1.0], &[1.0], 0.04).unwrap(),
            CemgilScores { score: 1.0, best_metric_level: 1.0 }
        );
        assert_eq!(goto(&[1.0], &[1.0], 0.35, 0.2, 0.2).unwrap(), 0.0);
        assert_eq!(p_score(&[1.0], &[1.0], 0.2).unwrap(), 0.0);
        assert_eq!(information_gain(&[1.0], &[1.0], 41).unwrap(), 0.0);
        let c = cemgil(&[1.0, 2.0, 3.0], &[1.0], 0.04).unwrap();
        assert_eq!(c.score, 0.5);
        assert!((c.best_metric_level - 2.0 / 3.0).abs() < 1e-15);
        // Goto needs a track of at least two inner beats.
        let upto = |n: usize| (1..=n).map(|i| i as f64).collect::<Vec<_>>();
        assert_eq!(goto(&upto(4), &upto(4), 0.35, 0.2, 0.2).unwrap(), 0.0);
        assert_eq!(goto(&upto(5), &upto(5), 0.35, 0.2, 0.2).unwrap(), 1.0);
    }

    /// Repeated times are valid in mir_eval; values from mir_eval 0.8.2.
    #[test]
    fn repeated_beats_follow_mir_eval() {
        let reference = [1.0, 2.0, 2.0, 3.0];
        let estimated = [2.1, 3.0];
        let c = continuity(&reference, &estimated, 0.175, 0.175).unwrap();
        assert_eq!((c.cmlc, c.cmlt, c.amlc, c.amlt), (0.25, 0.25, 1.0, 1.0));
        let ig = information_gain(&reference, &estimated, 41).unwrap();
        assert!((ig - 0.7200213831415849).abs() < 1e-12, "{ig}");
        let s = [1.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let c = cemgil(&s, &[1.0, 2.0, 3.0, 4.0, 5.0], 0.04).unwrap();
        assert!((c.score - 1.0909090909090908).abs() < 1e-12);
        // All reference beats at one time: every beat error is undefined.
        assert!(information_gain(&[1.0, 1.0], &[1.0, 1.0], 41).unwrap().is_nan());
    }

    #[test]
    fn invalid_input_is_an_error() {
        assert!(f_measure(&[2.0, 1.0], &[1.0], 0.07).is_err());
        assert!(f_measure(&[1.0], &[f64::NAN], 0.07).is_err());
        assert!(f_measure(&[1.0, 30001.0], &[1.0], 0.07).is_err());
        assert!(goto(&[1.0], &[1.0], 1.0, 0.2, 0.2).is_err());
        assert!(information_gain(&[1.0, 2.0], &[1.0, 2.0], 1).is_err());
        assert!(p_score(&[5.001, 5.002], &[5.0, 6.0], 0.2).is_err());
    }

    #[test]
    fn trim_keeps_beats_from_min_time() {
        assert_eq!(trim_beats(&[4.9, 5.0, 5.1], 5.0), vec![5.0, 5.1]);
    }

    #[test]
    fn python_mod_takes_the_divisor_sign() {
        assert_eq!(python_mod(0.25, -1.0), -0.75);
        assert_eq!(python_mod(-0.25, -1.0), -0.25);
        assert!(python_mod(1.0, -1.0).is_sign_negative());
    }
}
