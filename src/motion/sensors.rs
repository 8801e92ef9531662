//! From decoded phone messages to one set of 13 SI channels: [`SensorState`].
//!
//! The decoder ([`crate::osc::command`]) already scales each format to SI units (g → m/s²);
//! what differs between senders beyond units is handled here: the sign convention of
//! Android's accelerometer (Sensors2OSC), which senders give gravity or attitude and which
//! have to have it derived, and quaternions and Euler angles turned into roll, pitch and
//! yaw. The conversions are listed in the table of the [module docs](super).

use std::f32::consts::PI;

use crate::osc::{MotionKind, MotionSample, Sender};

/// Number of channels the encoder reads.
pub const CHANNELS: usize = 13;

/// The channels, in order: name and unit.
pub const CHANNEL_NAMES: [&str; CHANNELS] = [
    "accel_x",
    "accel_y",
    "accel_z",
    "gyro_x",
    "gyro_y",
    "gyro_z",
    "grav_x",
    "grav_y",
    "grav_z",
    "roll",
    "pitch",
    "yaw",
    "accel_mag",
];

/// First channel of the acceleration (gravity removed), m/s².
pub const ACCEL: usize = 0;
/// First channel of the rotation rate, rad/s.
pub const ROT: usize = 3;
/// First channel of gravity, m/s², pointing towards the earth in device coordinates.
pub const GRAVITY: usize = 6;
/// First channel of roll, pitch, yaw (rad, unwrapped: continuous across ±π).
pub const ANGLES: usize = 9;
/// The acceleration magnitude channel, m/s².
pub const ACCEL_MAG: usize = 12;

/// A sender's own reading counts as present for this long (seconds) after it arrived; after
/// that, the derived value takes over again (a phone whose gravity sensor was switched off).
pub const FRESH_SECONDS: f64 = 1.0;

/// Time constant of the low-pass that estimates gravity from a raw accelerometer (seconds).
pub const GRAVITY_TAU_SECONDS: f64 = 0.5;

/// The latest SI value of every channel, updated message by message.
#[derive(Debug, Clone)]
pub struct SensorState {
    rate: u32,
    /// Channel values (angles unwrapped).
    values: [f32; CHANNELS],
    /// The last wrapped roll, pitch, yaw, to unwrap the next.
    wrapped: Option<[f32; 3]>,
    /// Gravity estimated from raw accelerometer readings.
    gravity_estimate: Option<[f32; 3]>,
    last_raw_at: Option<u64>,
    gravity_at: Option<u64>,
    user_accel_at: Option<u64>,
    attitude_at: Option<u64>,
}

impl SensorState {
    /// Everything at 0, timestamps on a `rate` Hz sample clock.
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            values: [0.0; CHANNELS],
            wrapped: None,
            gravity_estimate: None,
            last_raw_at: None,
            gravity_at: None,
            user_accel_at: None,
            attitude_at: None,
        }
    }

    /// The channel values now.
    pub fn values(&self) -> &[f32; CHANNELS] {
        &self.values
    }

    fn fresh(&self, at: u64, seen: Option<u64>) -> bool {
        let window = (FRESH_SECONDS * f64::from(self.rate)) as u64;
        seen.is_some_and(|s| at.saturating_sub(s) <= window)
    }

    /// Takes one reading that arrived at sample `at` (non-decreasing from call to call).
    pub fn update(&mut self, at: u64, sample: &MotionSample) {
        let v = sample.values;
        // CoreMotion's convention (gravity points to the earth; a phone lying face up reads
        // z = −9.81) is memsynth's; Android reports the reaction force (+9.81), so its
        // accelerometer, gravity and linear acceleration change sign.
        let sign = if sample.sender == Sender::Sensors2Osc { -1.0 } else { 1.0 };
        let xyz = [v[0] * sign, v[1] * sign, v[2] * sign];
        match sample.kind {
            MotionKind::Accel => {
                self.set_accel(xyz);
                self.user_accel_at = Some(at);
            }
            MotionKind::RawAccel => self.raw_accel(at, xyz),
            MotionKind::Gyro => self.values[ROT..ROT + 3].copy_from_slice(&v[..3]),
            MotionKind::Gravity => {
                self.values[GRAVITY..GRAVITY + 3].copy_from_slice(&xyz);
                self.gravity_at = Some(at);
                if !self.fresh(at, self.attitude_at) {
                    self.tilt_from_gravity();
                }
            }
            MotionKind::Quat => {
                self.set_angles(quat_to_euler(v));
                self.attitude_at = Some(at);
            }
            MotionKind::Attitude => {
                // Sent as pitch, roll, yaw.
                self.set_angles([v[1], v[0], v[2]]);
                self.attitude_at = Some(at);
            }
        }
    }

    fn set_accel(&mut self, a: [f32; 3]) {
        self.values[ACCEL..ACCEL + 3].copy_from_slice(&a);
        self.values[ACCEL_MAG] = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    }

    /// A reading with gravity included: gravity is the sender's own if fresh, else a
    /// low-pass estimate; the acceleration is the reading minus gravity unless the sender
    /// also sends its own.
    fn raw_accel(&mut self, at: u64, raw: [f32; 3]) {
        let dt =
            self.last_raw_at.map_or(0.0, |t| at.saturating_sub(t) as f64 / f64::from(self.rate));
        self.last_raw_at = Some(at);
        let alpha = (1.0 - (-dt / GRAVITY_TAU_SECONDS).exp()) as f32;
        let estimate = match self.gravity_estimate {
            None => raw,
            Some(g) => [0, 1, 2].map(|k| g[k] + alpha * (raw[k] - g[k])),
        };
        self.gravity_estimate = Some(estimate);
        if !self.fresh(at, self.gravity_at) {
            self.values[GRAVITY..GRAVITY + 3].copy_from_slice(&estimate);
            if !self.fresh(at, self.attitude_at) {
                self.tilt_from_gravity();
            }
        }
        if !self.fresh(at, self.user_accel_at) {
            let g = [self.values[GRAVITY], self.values[GRAVITY + 1], self.values[GRAVITY + 2]];
            self.set_accel([raw[0] - g[0], raw[1] - g[1], raw[2] - g[2]]);
        }
    }

    /// Roll and pitch from gravity (yaw cannot be seen in it and is kept).
    fn tilt_from_gravity(&mut self) {
        let up = [-self.values[GRAVITY], -self.values[GRAVITY + 1], -self.values[GRAVITY + 2]];
        if up.iter().all(|&c| c == 0.0) {
            return;
        }
        let roll = up[1].atan2(up[2]);
        let pitch = (-up[0]).atan2((up[1] * up[1] + up[2] * up[2]).sqrt());
        let yaw = self.wrapped.map_or(0.0, |w| w[2]);
        self.set_angles([roll, pitch, yaw]);
    }

    /// Sets roll, pitch, yaw (wrapped, rad), unwrapping them against the previous ones so a
    /// turn through ±π is a small step, not a jump of 2π.
    fn set_angles(&mut self, angles: [f32; 3]) {
        match self.wrapped {
            None => self.values[ANGLES..ANGLES + 3].copy_from_slice(&angles),
            Some(prev) => {
                for k in 0..3 {
                    self.values[ANGLES + k] += wrap(angles[k] - prev[k]);
                }
            }
        }
        self.wrapped = Some(angles);
    }
}

/// `x` wrapped into (−π, π].
pub fn wrap(x: f32) -> f32 {
    let y = (x + PI).rem_euclid(2.0 * PI) - PI;
    if y == -PI { PI } else { y }
}

/// Roll, pitch, yaw (rad; aerospace Z-Y-X order) of a w x y z quaternion, normalised first.
/// A zero quaternion gives zeros.
pub fn quat_to_euler(q: [f32; 4]) -> [f32; 3] {
    let n = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
    if n.is_nan() || n < 1e-9 {
        return [0.0; 3];
    }
    let [w, x, y, z] = q.map(|c| c / n);
    let roll = (2.0 * (w * x + y * z)).atan2(1.0 - 2.0 * (x * x + y * y));
    let pitch = (2.0 * (w * y - z * x)).clamp(-1.0, 1.0).asin();
    let yaw = (2.0 * (w * z + x * y)).atan2(1.0 - 2.0 * (y * y + z * z));
    [roll, pitch, yaw]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osc::address::STANDARD_GRAVITY;
    use crate::osc::{Command, parse_message};
    use rosc::{OscMessage, OscType};

    fn decode(addr: &str, args: &[f32]) -> MotionSample {
        let msg = OscMessage {
            addr: addr.to_string(),
            args: args.iter().map(|&v| OscType::Float(v)).collect(),
        };
        match parse_message(&msg) {
            Ok(Some(Command::Motion(m))) => m,
            other => panic!("{addr}: {other:?}"),
        }
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn each_format_lands_in_si_with_coremotion_signs() {
        // A phone lying face up, still: every format must agree on gravity.
        let mut touch = SensorState::new(48_000);
        touch.update(0, &decode("/accxyz", &[0.0, 0.0, -1.0]));
        let mut zig = SensorState::new(48_000);
        zig.update(0, &decode("/ZIGSIM/p1/gravity", &[0.0, 0.0, -1.0]));
        let mut gyrosc = SensorState::new(48_000);
        gyrosc.update(0, &decode("/gyrosc/grav", &[0.0, 0.0, -1.0]));
        let mut android = SensorState::new(48_000);
        android.update(0, &decode("/gravity", &[0.0, 0.0, STANDARD_GRAVITY]));
        for s in [&touch, &zig, &gyrosc, &android] {
            let g = &s.values()[GRAVITY..GRAVITY + 3];
            assert!(close(g[2], -STANDARD_GRAVITY) && close(g[0], 0.0), "{g:?}");
            // Flat: no roll, no pitch.
            assert!(close(s.values()[ANGLES], 0.0) && close(s.values()[ANGLES + 1], 0.0));
        }
        // The raw accelerometer at rest is all gravity: no acceleration is left.
        assert!(close(touch.values()[ACCEL_MAG], 0.0));

        // User acceleration: ZIG SIM in g, Sensors2OSC in m/s² with Android's sign.
        let mut zig = SensorState::new(48_000);
        zig.update(0, &decode("/ZIGSIM/p1/accel", &[0.5, 0.0, 0.0]));
        assert!(close(zig.values()[ACCEL], 0.5 * STANDARD_GRAVITY));
        let mut android = SensorState::new(48_000);
        android.update(0, &decode("/linearacceleration", &[2.0, 0.0, 0.0]));
        assert!(close(android.values()[ACCEL], -2.0));
        assert!(close(android.values()[ACCEL_MAG], 2.0));

        // Rotation rate is rad/s everywhere.
        let mut gyrosc = SensorState::new(48_000);
        gyrosc.update(0, &decode("/gyrosc/rrate", &[0.1, 0.2, 0.3]));
        assert!(close(gyrosc.values()[ROT + 2], 0.3));
    }

    #[test]
    fn quaternions_and_euler_angles_agree() {
        // 90° about z (yaw), ZIG SIM sends x y z w.
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let mut zig = SensorState::new(48_000);
        zig.update(0, &decode("/ZIGSIM/p1/quaternion", &[0.0, 0.0, h, h]));
        assert!(close(zig.values()[ANGLES + 2], PI / 2.0), "{:?}", zig.values());
        // GyrOSC's /gyrosc/gyro is attitude: pitch, roll, yaw.
        let mut gyrosc = SensorState::new(48_000);
        gyrosc.update(0, &decode("/gyrosc/gyro", &[0.1, 0.2, 0.3]));
        assert_eq!(&gyrosc.values()[ANGLES..ANGLES + 3], &[0.2, 0.1, 0.3]);
        // Rotation vector (Android): 60° about x.
        let (s, c) = (PI / 6.0).sin_cos();
        let mut android = SensorState::new(48_000);
        android.update(0, &decode("/rotationvector", &[s, 0.0, 0.0, c]));
        assert!(close(android.values()[ANGLES], PI / 3.0));
    }

    #[test]
    fn yaw_is_unwrapped_through_pi() {
        let mut s = SensorState::new(48_000);
        let at = |yaw: f32| MotionSample {
            sender: Sender::Memsynth,
            kind: MotionKind::Attitude,
            values: [0.0, 0.0, yaw, 0.0],
            len: 3,
        };
        s.update(0, &at(3.0));
        s.update(1, &at(-3.0));
        // −3 is 2π − 6 ≈ 0.283 rad further on, not 6 rad back.
        assert!(close(s.values()[ANGLES + 2], 3.0 + 2.0 * PI - 6.0), "{}", s.values()[11]);
    }

    #[test]
    fn raw_accelerometer_gravity_is_low_passed() {
        let mut s = SensorState::new(48_000);
        let raw = |z: f32| decode("/accxyz", &[0.0, 0.0, z]);
        s.update(0, &raw(-1.0));
        // A 0.1 s jolt of +1 g: mostly acceleration, gravity barely moves.
        s.update(4_800, &raw(0.0));
        assert!(s.values()[ACCEL + 2] > 0.75 * STANDARD_GRAVITY, "{:?}", s.values());
        assert!(s.values()[GRAVITY + 2] < -0.75 * STANDARD_GRAVITY);
    }
}
