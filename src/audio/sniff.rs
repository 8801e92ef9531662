//! What kind of file is this? A look at the first bytes, before any decoder sees them.
//!
//! Symphonia's probe scans up to 1 MB of a file for anything that looks like a container
//! marker, and the MPEG audio marker is only 11 bits long: random bytes, an image or a text
//! file often contain one and would be "decoded" as MP3 noise. So memsynth decides from the
//! file's start alone, the way the formats are meant to be recognised, and only hands files
//! that begin as WAV, FLAC, OGG or MP3 to symphonia.

use super::mp3_frames;

/// The container families memsynth reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// RIFF/RF64/BW64 WAVE.
    Wav,
    /// Native FLAC (`fLaC`), possibly after an ID3v2 tag.
    Flac,
    /// Ogg (`OggS`); the codec inside is checked later.
    Ogg,
    /// MPEG audio frames (MP3), possibly after an ID3v2 tag.
    Mpeg,
}

/// Why a file was not recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotAudio {
    /// It is some other, recognisable kind of file.
    Other(String),
    /// It starts like audio but ends before the audio begins.
    CutShort(String),
}

/// Classifies a file from its first bytes (`head` may be the whole file).
pub(crate) fn sniff(head: &[u8]) -> Result<Kind, NotAudio> {
    if head.len() >= 12 {
        let riff = &head[0..4];
        if matches!(riff, b"RIFF" | b"RIFX" | b"RF64" | b"BW64") {
            if &head[8..12] == b"WAVE" {
                return Ok(Kind::Wav);
            }
            let form = String::from_utf8_lossy(&head[8..12]).into_owned();
            return Err(NotAudio::Other(format!("a RIFF file of type '{form}', not WAVE")));
        }
    }
    if head.len() < 12 && [b"RIFF", b"RIFX", b"RF64", b"BW64"].iter().any(|m| head.starts_with(*m))
    {
        return Err(NotAudio::CutShort("the file ends inside its RIFF header".into()));
    }
    if head.starts_with(b"fLaC") {
        return Ok(Kind::Flac);
    }
    if head.starts_with(b"OggS") {
        return Ok(Kind::Ogg);
    }
    if head.starts_with(b"ID3") {
        let Some(after_tag) = mp3_frames::skip_id3v2(head, 0) else {
            return Err(NotAudio::CutShort("the file ends inside its ID3 tag".into()));
        };
        let start = skip_zeros(head, after_tag);
        if start >= head.len() {
            return Err(NotAudio::CutShort(
                "the file ends after its ID3 tag, before any audio".into(),
            ));
        }
        if head[start..].starts_with(b"fLaC") {
            return Ok(Kind::Flac);
        }
        if mp3_frames::frame_len(&head[start..]).is_some() {
            return Ok(Kind::Mpeg);
        }
        return Err(NotAudio::Other("an ID3 tag followed by neither MP3 nor FLAC audio".into()));
    }
    if mp3_frames::frame_len(head).is_some() {
        return Ok(Kind::Mpeg);
    }
    Err(NotAudio::Other(describe(head)))
}

/// The first index at or after `from` whose byte is not zero (or `bytes.len()`).
pub(crate) fn skip_zeros(bytes: &[u8], from: usize) -> usize {
    bytes[from.min(bytes.len())..].iter().position(|&b| b != 0).map_or(bytes.len(), |p| from + p)
}

/// Names common non-audio files so the message says what the file is instead.
fn describe(head: &[u8]) -> String {
    const KNOWN: &[(&[u8], usize, &str)] = &[
        (b"\x89PNG", 0, "a PNG image"),
        (b"\xFF\xD8\xFF", 0, "a JPEG image"),
        (b"GIF8", 0, "a GIF image"),
        (b"%PDF", 0, "a PDF document"),
        (b"PK\x03\x04", 0, "a ZIP archive"),
        (b"\x1F\x8B", 0, "a gzip archive"),
        (b"ftyp", 4, "an MP4/M4A/AAC file (convert it to FLAC, OGG or WAV)"),
        (b"FORM", 0, "an AIFF/IFF file (convert it to WAV or FLAC)"),
        (b"\x1A\x45\xDF\xA3", 0, "a Matroska/WebM file"),
        (b"wvpk", 0, "a WavPack file"),
        (b"MAC ", 0, "a Monkey's Audio file"),
        (b"\x30\x26\xB2\x75", 0, "a Windows Media file"),
    ];
    for (magic, at, name) in KNOWN {
        if head.len() >= at + magic.len() && &head[*at..at + magic.len()] == *magic {
            return (*name).to_string();
        }
    }
    if looks_like_text(head) {
        return "a text file".to_string();
    }
    let shown: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("unknown content starting with bytes {}", shown.join(" "))
}

/// UTF-8 without control characters other than whitespace.
fn looks_like_text(head: &[u8]) -> bool {
    // A multi-byte character may be cut at the end of the sniffed window.
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !text.is_empty() && text.chars().all(|c| !c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp3_header() -> [u8; 4] {
        // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding, joint stereo.
        [0xFF, 0xFB, 0x90, 0x64]
    }

    #[test]
    fn recognises_each_container() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        assert_eq!(sniff(&wav), Ok(Kind::Wav));
        wav[0..4].copy_from_slice(b"RF64");
        assert_eq!(sniff(&wav), Ok(Kind::Wav));
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Ok(Kind::Flac));
        assert_eq!(sniff(b"OggS\0\x02"), Ok(Kind::Ogg));
        assert_eq!(sniff(&mp3_header()), Ok(Kind::Mpeg));
    }

    #[test]
    fn id3_tag_is_skipped() {
        // ID3v2.4 tag with 10 bytes of body (syncsafe size 0x0A), then padding, then audio.
        let mut file = b"ID3\x04\x00\x00\x00\x00\x00\x0A".to_vec();
        file.extend_from_slice(&[0u8; 10]);
        file.extend_from_slice(&[0u8; 3]);
        let mut mp3 = file.clone();
        mp3.extend_from_slice(&mp3_header());
        assert_eq!(sniff(&mp3), Ok(Kind::Mpeg));
        let mut flac = file.clone();
        flac.extend_from_slice(b"fLaC");
        assert_eq!(sniff(&flac), Ok(Kind::Flac));
        assert!(matches!(sniff(&file), Err(NotAudio::CutShort(_))));
        assert!(matches!(sniff(&file[..8]), Err(NotAudio::CutShort(_))));
        let mut junk = file;
        junk.extend_from_slice(b"hello");
        assert!(matches!(sniff(&junk), Err(NotAudio::Other(_))));
    }

    #[test]
    fn names_what_it_is_not() {
        let other = |bytes: &[u8]| match sniff(bytes) {
            Err(NotAudio::Other(what)) => what,
            got => panic!("{got:?}"),
        };
        assert_eq!(other(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "a PNG image");
        assert_eq!(other(b"hello, this is not audio\n"), "a text file");
        assert!(other(b"RIFF\0\0\0\0AVI LIST").contains("'AVI '"));
        assert!(other(b"\0\0\0\x20ftypM4A ").contains("MP4"));
        assert!(other(&[1, 2, 3, 0xFE]).contains("01 02 03 fe"));
        // A lone MPEG sync with a reserved layer is not MP3.
        assert!(other(&[0xFF, 0xF9, 0x90, 0x64]).starts_with("unknown"));
    }
}
