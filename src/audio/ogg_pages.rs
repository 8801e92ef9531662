//! The page structure of an Ogg file, checked end to end.
//!
//! Every Ogg page carries a CRC-32, but symphonia's reader skips a page that fails it and
//! carries on: the packets on it are lost, and the file decodes shorter with no error (the
//! length check in `decode` only catches this when the damage lies before the last 64 KiB,
//! which symphonia scans to learn the length). Walking all pages here finds every damaged
//! byte, a file cut short, and a stream without its end-of-stream page.

use symphonia::core::checksum::Crc32;
use symphonia::core::io::Monitor;

/// Fixed part of a page header; the segment table follows.
const HEADER_LEN: usize = 27;

/// Checks that the file is a run of whole Ogg pages with correct checksums, and that every
/// logical stream that begins also ends. Returns a sentence saying what is wrong otherwise.
///
/// Allowed after the last page: zero padding and an ID3v1 tag (some taggers add one).
pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    let end = if bytes.len() >= 128 && bytes[bytes.len() - 128..].starts_with(b"TAG") {
        bytes.len() - 128
    } else {
        bytes.len()
    };
    let mut pos = 0;
    let mut open = Vec::<u32>::new();
    let mut pages = 0u64;
    while pos < end {
        let rest = &bytes[pos..end];
        if !rest.starts_with(b"OggS") {
            if pages > 0 && rest.iter().all(|&b| b == 0) {
                break;
            }
            if rest.len() < 4 && b"OggS".starts_with(rest) {
                return Err(format!(
                    "the file is cut short: it ends inside a page header at byte {pos}"
                ));
            }
            return Err(format!(
                "damaged data at byte {pos} of {}: no Ogg page starts where the previous one ends \
                 (after {pages} good pages)",
                bytes.len()
            ));
        }
        if rest.len() < HEADER_LEN || rest.len() < HEADER_LEN + usize::from(rest[26]) {
            return Err(format!(
                "the file is cut short: it ends inside a page header at byte {pos}"
            ));
        }
        let segments = &rest[HEADER_LEN..HEADER_LEN + usize::from(rest[26])];
        let page_len =
            HEADER_LEN + segments.len() + segments.iter().map(|&s| usize::from(s)).sum::<usize>();
        if page_len > rest.len() {
            return Err(format!(
                "the file is cut short: its last Ogg page (at byte {pos}) needs {page_len} bytes but \
                 only {} remain",
                rest.len()
            ));
        }
        let page = &rest[..page_len];
        if page[4] != 0 {
            return Err(format!(
                "damaged Ogg page header at byte {pos} (unknown version {})",
                page[4]
            ));
        }
        let stored = u32::from_le_bytes([page[22], page[23], page[24], page[25]]);
        let mut crc = Crc32::new(0);
        crc.process_buf_bytes(&page[..22]);
        crc.process_buf_bytes(&[0; 4]);
        crc.process_buf_bytes(&page[26..]);
        if crc.crc() != stored {
            return Err(format!(
                "damaged Ogg page at byte {pos} of {} (checksum mismatch)",
                bytes.len()
            ));
        }
        let (flags, serial) =
            (page[5], u32::from_le_bytes([page[14], page[15], page[16], page[17]]));
        if flags & 0x02 != 0 && !open.contains(&serial) {
            open.push(serial);
        }
        if flags & 0x04 != 0 {
            open.retain(|&s| s != serial);
        }
        pos += page_len;
        pages += 1;
    }
    if !open.is_empty() {
        return Err("the file is cut short: a stream has no end-of-stream page".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page with the given flags holding one packet of `body_len` bytes.
    fn page(flags: u8, serial: u32, body_len: u8) -> Vec<u8> {
        let mut p = b"OggS".to_vec();
        p.push(0);
        p.push(flags);
        p.extend_from_slice(&[0; 8]); // granule position
        p.extend_from_slice(&serial.to_le_bytes());
        p.extend_from_slice(&[0; 4]); // sequence
        p.extend_from_slice(&[0; 4]); // checksum, filled below
        p.push(1);
        p.push(body_len);
        p.extend(std::iter::repeat_n(0xA5, usize::from(body_len)));
        let mut crc = Crc32::new(0);
        crc.process_buf_bytes(&p);
        p[22..26].copy_from_slice(&crc.crc().to_le_bytes());
        p
    }

    fn file() -> Vec<u8> {
        [page(0x02, 7, 30), page(0x00, 7, 100), page(0x04, 7, 50)].concat()
    }

    #[test]
    fn whole_files_pass() {
        assert_eq!(check(&file()), Ok(()));
        let mut padded = file();
        padded.extend_from_slice(&[0; 10]);
        assert_eq!(check(&padded), Ok(()));
        // Chained streams.
        assert_eq!(check(&[file(), file()].concat()), Ok(()));
    }

    #[test]
    fn damage_is_found() {
        let f = file();
        for cut in [2, 20, 28, 40, f.len() - 1] {
            let err = check(&f[..cut]).unwrap_err();
            assert!(err.contains("cut short"), "{cut}: {err}");
        }
        // Cut exactly between pages: the stream never ends.
        let two_pages = page(0x02, 7, 30).len() + page(0x00, 7, 100).len();
        assert!(check(&f[..two_pages]).unwrap_err().contains("end-of-stream"));
        let mut flipped = f.clone();
        flipped[100] ^= 1;
        assert!(check(&flipped).unwrap_err().contains("checksum mismatch"));
        let mut junk = f;
        junk.extend_from_slice(b"junk");
        assert!(check(&junk).unwrap_err().contains("damaged data"));
    }
}
