//! Motion: phone sensors → e_motion (104-D) → a query near the music.
//!
//! ```text
//! OSC message ─► MotionSample (SI, crate::osc) ─► SensorState (13 channels, signs, derived
//!   gravity and tilt) ─► Encoder (100 Hz grid; one bar → 13 × 8 features) ─► Normalizer
//!   (running z-scores, /motion/calibrate) ─► MotionMapper (LinearMap or a model) + anchor
//!   phrase ─► QuerySmoother (τ = motion.smoothing) ─► standardised query (256-D)
//!   ─► conductor.set_query
//! ```
//!
//! [`MotionInput`] runs the first three stages; it is fed each reading with its time on the
//! output's sample clock (48 kHz: arrival time live, `t · 48000` after play in a replayed
//! recording) and asked for an e_motion on every beat line, over the bar that ends there.
//! [`mapper`] turns it into a query. Nothing here has a clock or a thread, so the same
//! inputs give the same queries: a render with a motion recording is deterministic.
//!
//! # What the running patch's `motion` section sets
//!
//! The same three settings, taken on the bar line the patch applies on, in `memsynth serve`
//! (the conductor tells the MotionInput and PhraseMapper actors) and in `memsynth render`
//! (its offline engine), through the same code:
//!
//! - `senders`: the formats listened to (all five by default). A reading from a format not
//!   listed is dropped before the sensor state: it neither moves the query nor counts as
//!   received (`/motion/query`'s count), and `/record/motion` still records it (a recording
//!   is the raw stream; replaying it under another patch filters again). The format is the
//!   address family (TouchOSC `/accxyz`, ZIG SIM `/ZIGSIM/…`, GyrOSC `/gyrosc/…`,
//!   Sensors2OSC's Android names, memsynth's `/motion/…`), not the phone.
//! - `smoothing`: the time constant τ, seconds (0–5, default 0.25), of an exponential
//!   smoothing of the mapped query ([`smoothing`]). The query is updated on each beat line;
//!   each update moves the smoothed query by `α = 1 − exp(−Δt/τ)` of the way to the new one,
//!   `Δt` the time since the previous update on the output's sample clock, so a step in the
//!   motion is followed to `1 − e^(−t/τ)` after `t` seconds at any tempo (63 % after τ).
//!   It runs in z-score space before standardising; 0 follows every update at once.
//! - `mapper`: `Linear([...])` terms become a [`LinearMap`]; `Model(file)` stands for the
//!   learned mapper (until the server runs it, the default linear map steers, and the log
//!   says so). A map that cannot be built leaves the running one in place.
//!
//! # Units, per sender
//!
//! Decoding ([`crate::osc::command`]) scales each format to SI; [`SensorState`] then fixes
//! the signs and derives what a sender does not send. memsynth's convention is CoreMotion's:
//! gravity points towards the earth in device coordinates (a phone lying face up has gravity
//! (0, 0, −9.81) m/s²); device axes are x right, y to the top of the screen, z out of it
//! (the same on iOS and Android).
//!
//! | sender | address | sent as | to SI | lands in |
//! |---|---|---|---|---|
//! | TouchOSC | `/accxyz` | g, gravity included (iOS UIAccelerometer) | × 9.80665 | raw accel: gravity = low-pass (τ 0.5 s), accel = raw − gravity, roll/pitch from gravity |
//! | ZIG SIM | `/ZIGSIM/<id>/accel` | g, user acceleration (gravity removed) | × 9.80665 | accel |
//! | ZIG SIM | `/ZIGSIM/<id>/gyro` | rad/s (CoreMotion, bias removed) | × 1 | rotation rate |
//! | ZIG SIM | `/ZIGSIM/<id>/gravity` | g | × 9.80665 | gravity |
//! | ZIG SIM | `/ZIGSIM/<id>/quaternion` | x y z w | reordered w x y z | roll, pitch, yaw |
//! | GyrOSC | `/gyrosc/accel` | g (taken as gravity removed) | × 9.80665 | accel |
//! | GyrOSC | `/gyrosc/gyro` | rad: pitch, roll, yaw (attitude, not a rate) | × 1 | roll, pitch, yaw |
//! | GyrOSC | `/gyrosc/rrate` | rad/s | × 1 | rotation rate |
//! | GyrOSC | `/gyrosc/grav` | g | × 9.80665 | gravity |
//! | GyrOSC | `/gyrosc/quat` | w x y z | × 1 | roll, pitch, yaw |
//! | Sensors2OSC | `/accelerometer` | m/s², gravity included, Android sign (+9.81 face up) | × −1 | raw accel (as TouchOSC) |
//! | Sensors2OSC | `/linearacceleration` | m/s², Android sign | × −1 | accel |
//! | Sensors2OSC | `/gyroscope` | rad/s | × 1 | rotation rate |
//! | Sensors2OSC | `/gravity` | m/s², Android sign | × −1 | gravity |
//! | Sensors2OSC | `/rotationvector`, `/gamerotationvector` | x y z [cos θ/2] (w derived if absent) | w x y z | roll, pitch, yaw |
//! | memsynth | `/motion/accel`, `/motion/rawaccel`, `/motion/gravity` | m/s², CoreMotion sign | × 1 | accel / raw accel / gravity |
//! | memsynth | `/motion/gyro` | rad/s | × 1 | rotation rate |
//! | memsynth | `/motion/quat` (w x y z), `/motion/attitude` (pitch, roll, yaw rad) | | × 1 | roll, pitch, yaw |
//!
//! Sources: ZIG SIM's motion page (accel and gravity "in G's", gyro "radians per second",
//! quaternion "x, y, z, w"); Sensors2OSC's page ("real physical values", i.e. Android's
//! `SensorEvent` units: m/s², rad/s). GyrOSC publishes no unit table: g and rad/s as
//! CoreMotion gives them is assumed. Quaternions become roll, pitch, yaw in the aerospace
//! Z-Y-X order after normalising. A sender's own gravity or attitude wins while it is fresh
//! (sent in the last second); otherwise gravity is the raw accelerometer low-passed and roll
//! and pitch come from it (yaw is then held). Senders with no gyroscope leave rotation at 0.
//! Angles are unwrapped on the grid (a turn through ±π is continuous); their means are
//! reported wrapped to (−π, π].
//!
//! # e_motion: the 104 dimensions
//!
//! Dimension `8·c + f` is feature `f` of channel `c`, over the bar (4 beats at the tempo
//! in force) that ends on the beat line where it is encoded:
//!
//! | c | channel | unit | dims |
//! |---|---|---|---|
//! | 0–2 | `accel_x`, `accel_y`, `accel_z`: acceleration, gravity removed | m/s² | 0–23 |
//! | 3–5 | `gyro_x`, `gyro_y`, `gyro_z`: rotation rate | rad/s | 24–47 |
//! | 6–8 | `grav_x`, `grav_y`, `grav_z`: gravity (towards the earth) | m/s² | 48–71 |
//! | 9–11 | `roll`, `pitch`, `yaw` (unwrapped) | rad | 72–95 |
//! | 12 | `accel_mag`: length of the acceleration | m/s² | 96–103 |
//!
//! | f | feature | meaning |
//! |---|---|---|
//! | 0 | `mean` | mean over the bar (channel unit; angles wrapped) |
//! | 1 | `deviation` | standard deviation over the bar |
//! | 2 | `range` | largest − smallest value |
//! | 3 | `jerk` | mean absolute time derivative on the 100 Hz grid (total variation per second, unit/s; for acceleration, the jerk) |
//! | 4 | `beat_energy` | share (0–1) of the bar's variance at the beat frequency and its harmonics (bins 4, 8, 12, … of the bar resampled to 256 points: 4, 8, … cycles per bar); ≈ 1 for motion periodic with the beat (or its eighths), low off the tempo |
//! | 5 | `dominant_freq` | frequency of the strongest bin of that spectrum, Hz (resolution: one cycle per bar) |
//! | 6 | `centroid` | power-weighted mean frequency of that spectrum, Hz |
//! | 7 | `zero_crossings` | crossings of the bar's mean per second |
//!
//! Spectral features are 0 for a channel that does not move. The normalizer
//! ([`normalizer`]) turns each dimension into a z-score against the performer's running
//! statistics before mapping; the raw values are available as [`MotionInput::raw`].
//!
//! ```
//! use memsynth::motion::{MotionInput, NormalizerConfig, E_MOTION_DIMS};
//! use memsynth::osc::{MotionKind, MotionSample, Sender};
//!
//! let mut input = MotionInput::new(48_000, NormalizerConfig::default());
//! for k in 0..100u64 {
//!     // A phone at 50 Hz, bouncing at 2 Hz: on the beat at 120 BPM.
//!     let t = k as f32 / 50.0;
//!     let up = (2.0 * std::f32::consts::PI * 2.0 * t).sin();
//!     let sample = MotionSample {
//!         sender: Sender::Memsynth,
//!         kind: MotionKind::Accel,
//!         values: [0.0, 0.0, up, 0.0],
//!         len: 3,
//!     };
//!     input.push(k * 960, &sample);
//! }
//! let e = input.encode(96_000, 120.0).expect("a bar of motion");
//! assert_eq!(e.len(), E_MOTION_DIMS);
//! assert!(input.raw()[2 * 8 + 4] > 0.9); // accel_z.beat_energy
//! ```

pub mod encoder;
pub mod input;
pub mod mapper;
pub mod normalizer;
pub mod sensors;
pub mod smoothing;

pub use encoder::{E_MOTION_DIMS, Encoder, FEATURE_NAMES, FEATURES, GRID_HZ};
pub use input::{MotionInput, UPDATES_PER_BAR};
pub use mapper::{LinearMap, MotionMapper, anchor_z, standardise_z};
pub use normalizer::{Normalizer, NormalizerConfig};
pub use sensors::{CHANNEL_NAMES, CHANNELS, SensorState};
pub use smoothing::QuerySmoother;
