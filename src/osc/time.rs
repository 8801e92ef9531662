//! OSC time tags: which one a message inherits from its bundles, and how far apart two are.
//!
//! The server maps OSC time to its sample clock with an anchor, a pair (OSC time, sample
//! index) it takes when the output starts and re-takes now and then against the system
//! clock: `sample = anchor.sample + seconds_between(anchor.time, t) × rate`
//! ([`SampleAnchor::sample_at`]). `rosc`'s `SystemTime` conversion and its `Display` for
//! [`OscTime`] panic on times before 1970, so none of that is used on received tags.

use rosc::OscTime;

/// The special time tag "immediately" (seconds 0, fraction 1).
pub const IMMEDIATE: OscTime = OscTime { seconds: 0, fractional: 1 };

/// Whether a time tag means "immediately".
pub fn is_immediate(t: OscTime) -> bool {
    t == IMMEDIATE
}

/// The time a bundle's contents inherit: the bundle's own tag, except that "immediately"
/// inherits the enclosing bundle's time and a tag earlier than the enclosing one is raised
/// to it (OSC 1.0: a contained bundle's tag must not be earlier than its container's).
/// `None` means immediately.
pub fn effective_time(enclosing: Option<OscTime>, tag: OscTime) -> Option<OscTime> {
    if is_immediate(tag) {
        return enclosing;
    }
    match enclosing {
        Some(outer) if tag < outer => Some(outer),
        _ => Some(tag),
    }
}

/// `to − from` in seconds (negative when `to` is earlier). Exact to the fraction's 2⁻³² s;
/// does not handle the 2036 era wrap.
pub fn seconds_between(from: OscTime, to: OscTime) -> f64 {
    let secs = i64::from(to.seconds) - i64::from(from.seconds);
    let frac = i64::from(to.fractional) - i64::from(from.fractional);
    secs as f64 + frac as f64 / 4_294_967_296.0
}

/// A point where OSC time and the sample clock are known to coincide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleAnchor {
    /// The OSC time of the anchor.
    pub time: OscTime,
    /// The output sample index at that time.
    pub sample: u64,
    /// The output's sample rate, Hz.
    pub rate_hz: f64,
}

impl SampleAnchor {
    /// The sample index at which a message tagged `t` is due; `None` (immediately) stays
    /// `None`. Times before the anchor give the anchor's sample or less, never below 0:
    /// late messages are applied at once.
    pub fn sample_at(&self, t: Option<OscTime>) -> Option<u64> {
        let t = t?;
        let offset = (seconds_between(self.time, t) * self.rate_hz).round();
        let sample = self.sample as f64 + offset;
        // `as` saturates: negative → 0, beyond u64 → u64::MAX, NaN → 0.
        Some(sample as u64)
    }

    /// The anchor moved to `time`, a quarter of the way from where this one predicts the
    /// sample to `measured`: the output's position is only known to a block, so one
    /// reading is jittery, while the two clocks drift apart by parts per million.
    pub fn retake(&self, time: OscTime, measured: u64) -> SampleAnchor {
        let predicted = seconds_between(self.time, time) * self.rate_hz + self.sample as f64;
        let sample = predicted + (measured as f64 - predicted) / 4.0;
        SampleAnchor { time, sample: sample.max(0.0).round() as u64, rate_hz: self.rate_hz }
    }
}

/// Seconds between 1900 (OSC's epoch) and 1970 (Unix's).
const UNIX_EPOCH_OSC_SECONDS: u64 = 2_208_988_800;

/// OSC time `unix_seconds` after 1970 (the caller reads the system clock).
pub fn from_unix(unix_seconds: f64) -> OscTime {
    let whole = unix_seconds.floor();
    let seconds = (whole as u64 + UNIX_EPOCH_OSC_SECONDS) as u32; // wraps in 2036, as OSC does
    let fractional = ((unix_seconds - whole) * 4_294_967_296.0) as u32;
    OscTime { seconds, fractional }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn t(seconds: u32, fractional: u32) -> OscTime {
        OscTime { seconds, fractional }
    }

    #[test]
    fn inner_immediate_inherits_and_earlier_is_raised() {
        assert_eq!(effective_time(None, IMMEDIATE), None);
        assert_eq!(effective_time(Some(t(10, 0)), IMMEDIATE), Some(t(10, 0)));
        assert_eq!(effective_time(Some(t(10, 0)), t(9, 5)), Some(t(10, 0)));
        assert_eq!(effective_time(Some(t(10, 0)), t(11, 0)), Some(t(11, 0)));
        assert_eq!(effective_time(None, t(0, 0)), Some(t(0, 0)));
    }

    #[test]
    fn half_a_second_at_48k_is_24000_samples() {
        assert_eq!(seconds_between(t(5, 0), t(4, 1 << 31)), -0.5);
        let anchor = SampleAnchor { time: t(100, 0), sample: 1_000, rate_hz: 48_000.0 };
        assert_eq!(anchor.sample_at(Some(t(100, 1 << 31))), Some(25_000));
        assert_eq!(anchor.sample_at(Some(t(0, 0))), Some(0));
        assert_eq!(anchor.sample_at(None), None);
    }

    #[test]
    fn a_retaken_anchor_moves_a_quarter_of_the_way() {
        let anchor = SampleAnchor { time: t(100, 0), sample: 1_000, rate_hz: 48_000.0 };
        // One second later the anchor predicts 49 000; the output says 49 400.
        let next = anchor.retake(t(101, 0), 49_400);
        assert_eq!(next, SampleAnchor { time: t(101, 0), sample: 49_100, rate_hz: 48_000.0 });
    }

    #[test]
    fn unix_time_converts_to_osc_time() {
        assert_eq!(from_unix(0.5), t(2_208_988_800, 1 << 31));
        let late = from_unix(1_800_000_000.25);
        assert_eq!(seconds_between(from_unix(1_800_000_000.0), late), 0.25);
    }
}
