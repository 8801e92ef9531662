//! OSC: the address space, the decoder from packets to [`Command`]s, and the replies.
//!
//! A pure codec: no sockets, threads or clocks. The UDP server (an actor in
//! `memsynth-actors`) hands each datagram to [`decode_packet`], applies or schedules the
//! commands, sends each error back as `/error` ([`encode_error`]), and keeps
//! [`Counters`]. Nothing here panics on any input bytes; [`fuzz_one`] is the fuzz target.
//!
//! ```
//! use memsynth::osc::{Command, decode_packet, encode_reply};
//!
//! let packet = encode_reply("/transport/tempo", vec![rosc::OscType::Int(128)]);
//! let decoded = decode_packet(&packet);
//! assert_eq!(decoded.items[0].value, Ok(Command::Tempo(128.0)));
//! assert_eq!(decoded.items[0].time, None); // not in a bundle: immediately
//! ```
//!
//! # Addresses
//!
//! The table in code is [`ADDRESSES`]; discovery serves it as an OSCQuery tree
//! ([`address::to_json`]). Type tags are what memsynth sends; when receiving, a float also
//! takes `i`, `h` or `d`, and an int also takes `h` or a whole `f`/`d`. Button addresses
//! (marked ●) also take one number or bool: 0/false is a TouchOSC button's release and is
//! ignored, anything else triggers.
//!
//! | Address | Arguments | Meaning |
//! |---|---|---|
//! | `/transport/play` ● | | start on the next bar |
//! | `/transport/stop` ● | | stop at the end of the bar |
//! | `/transport/tempo` | `f` BPM 40–240 | tempo, from the next bar |
//! | `/transport/tap` ● | | tap tempo, one tap per beat |
//! | `/motion/accel` | `fff` m/s² | acceleration, gravity removed |
//! | `/motion/rawaccel` | `fff` m/s² | accelerometer reading, gravity included |
//! | `/motion/gyro` | `fff` rad/s | rotation rate |
//! | `/motion/gravity` | `fff` m/s² | gravity vector |
//! | `/motion/quat` | `ffff` w x y z | attitude quaternion |
//! | `/motion/attitude` | `fff` rad | pitch, roll, yaw |
//! | `/motion/calibrate` ● | | calibrate the motion normalizer on the next 4 bars |
//! | `/conductor/mode` | `s` generate\|retrieve\|hybrid | where phrases come from |
//! | `/conductor/steps` | `i` 1–200 | model sampling steps |
//! | `/conductor/guidance` | `f` 0–20 | model guidance scale |
//! | `/conductor/seed` | `i` ≥ 0 (or `h`) | model seed |
//! | `/retrieval/k` | `i` 1–64 | phrases per query |
//! | `/retrieval/weights` | `fff` ≥ 0, not all 0 | rhythm, harmony, timbre weights |
//! | `/retrieval/phrase` | `i` phrase id | query with a stored phrase |
//! | `/mixer/gain` | `s f` channel, 0–4 | linear channel gain |
//! | `/mixer/xfade` | `f` 0–16 beats | cross-fade of the next switch |
//! | `/patch/load` | `s` file name | load `patches/<name>` on the next bar |
//! | `/patch/set` | `s f` parameter, value | set a running patch's parameter |
//! | `/patch/get` | `s` parameter | answered by `/patch/value s f` |
//! | `/record/start` | `[s]` file name | record to `recordings/<name>` |
//! | `/record/stop` ● | | stop recording |
//! | `/record/motion` | `i [s]` 1/0, file name | record raw motion to `recordings/<name>` (JSON lines) / stop |
//! | `/status` | | answered by `/status i f i i i i` |
//! | `/subscribe` | `[i]` port | push to this port (0/none: sender's) |
//! | `/unsubscribe` | | stop pushes |
//!
//! Sent by the server (sending them to it is an error):
//!
//! | Address | Arguments | Meaning |
//! |---|---|---|
//! | `/status` | `i f i i i i` | playing 0/1, tempo, bar, beat, phrase id (−1 none), underruns |
//! | `/beat` | `i` | beat in the bar, from 0 (push) |
//! | `/bar` | `i` | bars since play, from 0 (push) |
//! | `/phrase` | `i f` | phrase id, cosine distance to the query (push) |
//! | `/levels` | `f f` | output peak, RMS in dBFS (push) |
//! | `/error` | `s` | what was wrong (reply and push) |
//! | `/patch/value` | `s f` | reply to `/patch/get` |
//! | `/motion/query` | `i i f f f` | motion set the query: updates, motion messages received, rhythm/harmony/timbre distance from the anchor (push) |
//!
//! Names: `/patch/load` and `/record/start` take a plain file name only (no `/`, `\`,
//! `..`, NUL, control characters or `:`, no leading dot, no trailing dot or space), so a
//! name cannot leave its folder. Channel names and parameter paths are ASCII letters,
//! digits, `_`, `-` and `.`.
//!
//! # Phones
//!
//! Phone apps are accepted in their own formats and decode to [`Command::Motion`] in SI
//! units, with the [`Sender`] recorded. 1 g = 9.80665 m/s².
//!
//! | App | Address | Sends | Decoded as |
//! |---|---|---|---|
//! | TouchOSC (mk1 layouts) | `/accxyz` | `fff` accelerometer in g, gravity included | raw accel × 9.80665 |
//! | ZIG SIM | `/ZIGSIM/<id>/accel` | `fff` user acceleration in g | accel × 9.80665 |
//! | ZIG SIM | `/ZIGSIM/<id>/gyro` | `fff` rad/s | gyro |
//! | ZIG SIM | `/ZIGSIM/<id>/gravity` | `fff` g | gravity × 9.80665 |
//! | ZIG SIM | `/ZIGSIM/<id>/quaternion` | `ffff` x y z w | quat, reordered to w x y z |
//! | GyrOSC | `/gyrosc/accel` | `fff` g | accel × 9.80665 |
//! | GyrOSC | `/gyrosc/gyro` | `fff` pitch, roll, yaw in rad (an attitude, not a rate) | attitude |
//! | GyrOSC | `/gyrosc/rrate` | `fff` rad/s | gyro |
//! | GyrOSC | `/gyrosc/grav` | `fff` g | gravity × 9.80665 |
//! | GyrOSC | `/gyrosc/quat` | `ffff` w x y z | quat |
//! | Sensors2OSC | `/accelerometer` | `fff` m/s², gravity included | raw accel |
//! | Sensors2OSC | `/linearacceleration` | `fff` m/s² | accel |
//! | Sensors2OSC | `/gyroscope` | `fff` rad/s | gyro |
//! | Sensors2OSC | `/gravity` | `fff` m/s² | gravity |
//! | Sensors2OSC | `/rotationvector` | `fff[f[f]]` x, y, z (axis·sin θ/2), cos θ/2, accuracy | quat w x y z (w = √(1−x²−y²−z²) if absent) |
//! | Sensors2OSC | `/gamerotationvector` | as `/rotationvector` | quat |
//!
//! Sources and doubts. ZIG SIM's documentation gives accel and gravity in g, gyro in rad/s
//! and the quaternion as x y z w; one older write-up says degrees for gyro, and older ZIG SIM
//! versions send `/<id>/accel` without the `/ZIGSIM` prefix (not accepted). Sensors2OSC from
//! 0.3.0 sends one message per sensor with Android's values (SI units); earlier versions sent
//! one float per axis (`/accelerometer/X`), not accepted. GyrOSC's units follow iOS
//! CoreMotion (g, rad/s, rad); that `/gyrosc/gyro` is an attitude and `/gyrosc/rrate` the
//! rate is how its users read it; whether `/gyrosc/accel` has gravity removed and the w-first
//! quaternion order are from compatible clones, not checked on the app. TouchOSC mk1 sends
//! the raw accelerometer in g on iOS; its Android version is not checked.
//!
//! # Time tags
//!
//! Every decoded message carries the time tag of its innermost bundle ([`Timed::time`];
//! `None` = immediately: not in a bundle, or tagged 1). An inner bundle tagged
//! "immediately" inherits its container's time, and one earlier than its container is raised
//! to it (OSC 1.0). The server maps OSC time to its sample clock, the master clock, through
//! an anchor ([`SampleAnchor`]): a pair (OSC time, sample index) taken from the system clock
//! when the output starts and re-taken periodically to follow drift. A command due at a
//! future sample waits in the server's queue and is applied in the control block that
//! contains that sample; commands in one bundle apply together; late or immediate commands
//! apply at once. Bar-quantised commands (`/transport/play`, `/patch/load`, …) then wait for
//! the bar line as usual.

pub mod address;
pub mod codec;
pub mod command;
pub mod time;

pub use address::{ADDRESSES, Access, Endpoint, Entry};
pub use codec::{
    Counters, Decoded, Status, Timed, decode_packet, encode_bar, encode_beat, encode_bundle,
    encode_error, encode_levels, encode_packet, encode_patch_value, encode_phrase, encode_reply,
    encode_status, fuzz_one,
};
pub use command::{
    Command, CommandError, ConductorMode, ErrorKind, MotionKind, MotionSample, Sender,
    parse_message,
};
pub use time::SampleAnchor;

#[cfg(test)]
mod tests {
    use super::*;

    /// The address table in these docs is written by hand; it must list every address.
    #[test]
    fn module_docs_list_every_address() {
        let docs = include_str!("mod.rs");
        for entry in ADDRESSES {
            assert!(docs.contains(&format!("`{}`", entry.path)), "{} missing", entry.path);
        }
    }
}
