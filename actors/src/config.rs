//! `configs/server.ron`: the audio device and the OSC listener `memsynth serve` uses.
//! Every field has a default, so the file may name only what differs; command-line flags
//! override the file. A file that does not parse or names an unknown field stops the
//! server before it opens anything, with the line and column.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// Where the server's configuration is read from unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "configs/server.ron";

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// The output.
    pub audio: AudioConfig,
    /// The OSC listener.
    pub osc: OscConfig,
}

/// Which sound system plays the master output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Host {
    /// The system's default (ALSA on Linux).
    #[default]
    Default,
    /// A running JACK server (cpal's JACK host).
    Jack,
    /// No device: the clock runs on the paced null output.
    None,
}

/// The `audio` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudioConfig {
    /// The sound system.
    pub host: Host,
    /// Output device id as `memsynth doctor` lists it; the host's default if absent.
    pub device: Option<String>,
    /// Frames per callback (64..=8192): smaller is less latency and more risk of dropouts.
    /// JACK ignores it and uses the server's period.
    pub buffer_frames: u32,
}

impl Default for AudioConfig {
    fn default() -> Self {
        Self { host: Host::Default, device: None, buffer_frames: 512 }
    }
}

/// The `osc` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OscConfig {
    /// Address to listen on: `"127.0.0.1"` (this machine only) or `"0.0.0.0"` (phones on
    /// the network too).
    pub bind: IpAddr,
    /// UDP port.
    pub port: u16,
    /// Client addresses allowed to send besides this machine; empty: anyone who reaches
    /// the bound address. Set it when binding to the network on a shared Wi-Fi.
    pub allow: Vec<IpAddr>,
}

impl Default for OscConfig {
    fn default() -> Self {
        Self { bind: Ipv4Addr::LOCALHOST.into(), port: 9000, allow: Vec::new() }
    }
}

impl ServerConfig {
    /// Reads `path`; a missing file at the default path means the defaults.
    pub fn load(path: &Path, explicit: bool) -> anyhow::Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Self::parse(&text)
            .with_context(|| format!("{} is not a valid server config", path.display()))
    }

    /// Parses and checks the text of a config file.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Self = ron::from_str(text).map_err(|e| {
            anyhow::anyhow!("line {}, column {}: {}", e.span.start.line, e.span.start.col, e.code)
        })?;
        let frames = config.audio.buffer_frames;
        if !(64..=8192).contains(&frames) {
            anyhow::bail!("audio.buffer_frames is {frames}; use 64..=8192 (512 is a safe start)");
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_is_the_defaults_spelled_out() {
        let text = include_str!("../../configs/server.ron");
        assert_eq!(ServerConfig::parse(text).unwrap(), ServerConfig::default());
    }

    #[test]
    fn a_short_file_keeps_the_other_defaults() {
        let c = ServerConfig::parse(
            r#"(osc: (bind: "0.0.0.0", allow: ["192.168.1.23"]), audio: (host: Jack))"#,
        )
        .unwrap();
        assert_eq!(c.osc.port, 9000);
        assert_eq!(c.osc.allow, ["192.168.1.23".parse::<IpAddr>().unwrap()]);
        assert_eq!(c.audio.host, Host::Jack);
        assert_eq!(c.audio.buffer_frames, 512);
    }

    #[test]
    fn mistakes_name_the_place() {
        let e = ServerConfig::parse("(osc: (prot: 9001))").unwrap_err().to_string();
        assert!(e.contains("line 1, column") && e.contains("prot"), "{e}");
        let e = ServerConfig::parse("(audio: (buffer_frames: 7))").unwrap_err().to_string();
        assert!(e.contains("buffer_frames"), "{e}");
        assert!(ServerConfig::parse(r#"(osc: (bind: "my laptop"))"#).is_err());
    }
}
