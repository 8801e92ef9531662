//! The frame structure of an MP3 file, checked end to end.
//!
//! MPEG audio has no container and (usually) no checksums: symphonia's reader resynchronises
//! over damaged bytes and treats a file that stops in the middle of a frame as a clean end,
//! so a cut-off or overwritten MP3 would decode "fine". Walking the frame headers finds both:
//! every frame must start exactly where the previous one ends, and the last one must be whole.

/// Bit rates in kbit/s, indexed by the header's 4-bit bit-rate field (0 = free format).
const BITRATES_V1_L1: [u32; 15] =
    [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448];
const BITRATES_V1_L2: [u32; 15] =
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384];
const BITRATES_V1_L3: [u32; 15] =
    [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2_L1: [u32; 15] =
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256];
const BITRATES_V2_L23: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];

/// The length in bytes (header included) of the MPEG audio frame whose header starts `bytes`,
/// or `None` if `bytes` does not start with a valid, fixed-bit-rate frame header.
///
/// Free-format frames (bit-rate index 0) have no stated length and are not supported by
/// symphonia either, so they count as "no frame".
pub(crate) fn frame_len(bytes: &[u8]) -> Option<usize> {
    let &[b0, b1, b2, _] = bytes.get(..4)? else {
        return None;
    };
    if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
        return None;
    }
    let version = (b1 >> 3) & 0b11; // 0: MPEG-2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
    let layer = (b1 >> 1) & 0b11; // 0: reserved, 1: Layer III, 2: Layer II, 3: Layer I
    let bitrate_index = usize::from(b2 >> 4);
    let rate_index = usize::from((b2 >> 2) & 0b11);
    let padding = u32::from((b2 >> 1) & 1);
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    let mpeg1 = version == 3;
    let kbps = match (mpeg1, layer) {
        (true, 3) => BITRATES_V1_L1[bitrate_index],
        (true, 2) => BITRATES_V1_L2[bitrate_index],
        (true, _) => BITRATES_V1_L3[bitrate_index],
        (false, 3) => BITRATES_V2_L1[bitrate_index],
        (false, _) => BITRATES_V2_L23[bitrate_index],
    };
    let sample_rate = [44_100, 48_000, 32_000][rate_index] >> (3 - u32::from(version)).min(2);
    let bitrate = kbps * 1000;
    let len = match layer {
        3 => (12 * bitrate / sample_rate + padding) * 4,
        1 if !mpeg1 => 72 * bitrate / sample_rate + padding,
        _ => 144 * bitrate / sample_rate + padding,
    };
    Some(len as usize)
}

/// Where the ID3v2 tag starting at `pos` ends (possibly past the end of `bytes` if the file
/// is cut short), or `None` if `bytes[pos..]` does not start with a whole ID3v2 header.
pub(crate) fn skip_id3v2(bytes: &[u8], pos: usize) -> Option<usize> {
    let header = bytes.get(pos..pos + 10)?;
    if &header[0..3] != b"ID3" || header[3] == 0xFF || header[4] == 0xFF {
        return None;
    }
    let size = &header[6..10];
    if size.iter().any(|&b| b & 0x80 != 0) {
        return None;
    }
    let body = size.iter().fold(0usize, |acc, &b| (acc << 7) | usize::from(b));
    let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
    Some(pos + 10 + body + footer)
}

/// The end of the audio frames: the file's length less any trailing ID3v1 and APEv2 tags.
fn audio_end(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    loop {
        let tail = &bytes[..end];
        if end >= 128 && tail[end - 128..].starts_with(b"TAG") {
            end -= 128;
        } else if end >= 32 && tail[end - 32..].starts_with(b"APETAGEX") {
            let footer = &tail[end - 32..];
            let size =
                u32::from_le_bytes([footer[12], footer[13], footer[14], footer[15]]) as usize;
            let has_header = footer[23] & 0x80 != 0;
            let total = size.saturating_add(if has_header { 32 } else { 0 });
            if total < 32 || total > end {
                return end;
            }
            end -= total;
        } else {
            return end;
        }
    }
}

/// Checks that the MPEG frames of a whole MP3 file follow one another without gaps and that
/// the last one is complete. Returns a sentence saying what is wrong otherwise.
///
/// Allowed around the frames: ID3v2 tags (also between frames, as in joined files), zero
/// padding after a tag and at the very end, and trailing ID3v1 and APEv2 tags.
pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    let end = audio_end(bytes);
    let mut pos = 0;
    let mut frames = 0u64;
    while pos < end {
        let rest = &bytes[pos..end];
        if rest.starts_with(b"ID3") {
            match skip_id3v2(bytes, pos) {
                Some(tag_end) if tag_end <= end => {
                    pos = super::sniff::skip_zeros(&bytes[..end], tag_end);
                    continue;
                }
                _ => return Err(format!("the file is cut short inside an ID3 tag at byte {pos}")),
            }
        }
        if rest.len() >= 128 && rest.starts_with(b"TAG") && frames > 0 {
            // An ID3v1 tag left between two joined files.
            pos += 128;
            continue;
        }
        match frame_len(rest) {
            Some(len) if len <= rest.len() => {
                pos += len;
                frames += 1;
            }
            Some(len) => {
                return Err(format!(
                    "the file is cut short: its last MPEG frame (at byte {pos}) needs {len} bytes \
                     but only {} remain",
                    rest.len()
                ));
            }
            None if rest.iter().all(|&b| b == 0) => break,
            None if rest.len() < 4 => {
                return Err(format!(
                    "the file is cut short: it ends inside a frame header at byte {pos}"
                ));
            }
            None => {
                return Err(format!(
                    "damaged data at byte {pos} of {}: no MPEG frame starts where the previous \
                     one ends (after {frames} good frames)",
                    bytes.len()
                ));
            }
        }
    }
    if frames == 0 {
        return Err("no MPEG audio frame found".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417 bytes without padding, 418 with.
    const HDR: [u8; 4] = [0xFF, 0xFB, 0x90, 0x64];
    const HDR_PADDED: [u8; 4] = [0xFF, 0xFB, 0x92, 0x64];

    fn frame(header: [u8; 4]) -> Vec<u8> {
        let mut f = header.to_vec();
        f.resize(frame_len(&header).unwrap(), 0x55);
        f
    }

    #[test]
    fn frame_lengths_match_the_standard() {
        assert_eq!(frame_len(&HDR), Some(417));
        assert_eq!(frame_len(&HDR_PADDED), Some(418));
        // MPEG-2 Layer III, 64 kbit/s, 22.05 kHz: 72 * 64000 / 22050 = 208.
        assert_eq!(frame_len(&[0xFF, 0xF3, 0x80, 0xC4]), Some(208));
        // MPEG-2.5 Layer III, 8 kbit/s, 8 kHz: 72 * 8000 / 8000 = 72.
        assert_eq!(frame_len(&[0xFF, 0xE3, 0x18, 0xC4]), Some(72));
        // MPEG-1 Layer II, 192 kbit/s, 48 kHz: 144 * 192000 / 48000 = 576.
        assert_eq!(frame_len(&[0xFF, 0xFD, 0xA4, 0x04]), Some(576));
        // MPEG-1 Layer I, 384 kbit/s, 32 kHz: (12 * 384000 / 32000) * 4 = 576.
        assert_eq!(frame_len(&[0xFF, 0xFF, 0xC8, 0x04]), Some(576));
        // Free format, bad bit rate, reserved rate, reserved version and layer.
        for bad in [[0xFF, 0xFB, 0x00, 0], [0xFF, 0xFB, 0xF0, 0], [0xFF, 0xFB, 0x9C, 0]] {
            assert_eq!(frame_len(&bad), None);
        }
        assert_eq!(frame_len(&[0xFF, 0xEB, 0x90, 0]), None);
        assert_eq!(frame_len(&[0xFF, 0xF9, 0x90, 0]), None);
        assert_eq!(frame_len(&[0xFF, 0xFB]), None);
    }

    #[test]
    fn whole_files_pass() {
        let mut file = b"ID3\x03\x00\x00\x00\x00\x00\x04abcd\0\0".to_vec();
        for i in 0..5 {
            file.extend(frame(if i % 2 == 0 { HDR } else { HDR_PADDED }));
        }
        assert_eq!(check(&file), Ok(()));
        let mut tagged = file.clone();
        tagged.extend_from_slice(b"TAG");
        tagged.resize(tagged.len() + 125, b' ');
        assert_eq!(check(&tagged), Ok(()));
        let mut padded = file;
        padded.extend_from_slice(&[0; 300]);
        assert_eq!(check(&padded), Ok(()));
    }

    #[test]
    fn damage_is_found() {
        let mut file = Vec::new();
        for _ in 0..5 {
            file.extend(frame(HDR));
        }
        for cut in [1, 3, 100, 417 * 2 + 5, file.len() - 1] {
            let err = check(&file[..cut]).unwrap_err();
            assert!(err.contains("cut short"), "{cut}: {err}");
        }
        let mut garbage = file.clone();
        garbage[417 * 2..417 * 2 + 10].copy_from_slice(b"0123456789");
        let err = check(&garbage).unwrap_err();
        assert!(err.contains("damaged data at byte 834"), "{err}");
        assert!(check(b"").is_err());
    }
}
