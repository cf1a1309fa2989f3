//! Length-prefixed framing.
//!
//! Two phases, as in mini-redis: [`check`] looks at buffered bytes and answers "a whole frame is
//! here, this long", "need more bytes" (`Ok(None)`, not an error) or "this connection is sending
//! garbage" (`Err`); [`split`] then takes the frame out of the buffer without copying.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{Error, Result};

/// Default maximum frame size, as Java's `com.rocketmq.remoting.frameMaxLength`: 16 MiB.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Smallest legal `total_len`: the type/header-length word alone.
const MIN_TOTAL_LEN: usize = 4;

/// Inspects `buf`. Returns `Ok(Some(n))` when its first `n` bytes are one whole frame (length
/// prefix included), `Ok(None)` when more bytes are needed, and `Err` when the length prefix is
/// negative, too small to hold the header-length word, or larger than `max_frame_bytes`.
pub fn check(buf: &[u8], max_frame_bytes: usize) -> Result<Option<usize>> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let total = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if total < 0 || (total as usize) < MIN_TOTAL_LEN {
        return Err(Error::malformed(
            "frame",
            format!("length prefix {total} is below the minimum of {MIN_TOTAL_LEN}"),
        ));
    }
    let total = total as usize;
    if total > max_frame_bytes {
        return Err(Error::FrameTooLarge {
            len_bytes: total,
            max_bytes: max_frame_bytes,
        });
    }
    let whole = 4 + total;
    Ok((buf.len() >= whole).then_some(whole))
}

/// Takes one whole frame off the front of `buf` and returns its payload (the bytes after the
/// length prefix), or `Ok(None)` when the frame is not complete yet. No copy: the payload shares
/// `buf`'s allocation.
pub fn split(buf: &mut BytesMut, max_frame_bytes: usize) -> Result<Option<Bytes>> {
    match check(buf, max_frame_bytes)? {
        None => Ok(None),
        Some(whole) => {
            let mut frame = buf.split_to(whole);
            frame.advance(4);
            Ok(Some(frame.freeze()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_is_not_an_error() {
        assert_eq!(check(&[], 100), Ok(None));
        assert_eq!(check(&[0, 0, 0], 100), Ok(None));
        assert_eq!(check(&[0, 0, 0, 8, 1, 2, 3], 100), Ok(None));
        assert_eq!(check(&[0, 0, 0, 4, 1, 2, 3, 4, 9], 100), Ok(Some(8)));
    }

    #[test]
    fn bad_lengths_are_errors() {
        assert!(matches!(
            check(&[0xFF, 0xFF, 0xFF, 0xFF], 100),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            check(&[0, 0, 0, 3], 100),
            Err(Error::Malformed { .. })
        ));
        assert_eq!(
            check(&[0, 0, 0, 101], 100),
            Err(Error::FrameTooLarge {
                len_bytes: 101,
                max_bytes: 100
            })
        );
    }

    #[test]
    fn split_takes_exactly_one_frame() {
        let mut buf = BytesMut::from(&[0u8, 0, 0, 4, 1, 2, 3, 4, 0, 0][..]);
        let payload = split(&mut buf, 100).unwrap().unwrap();
        assert_eq!(&payload[..], &[1, 2, 3, 4]);
        assert_eq!(&buf[..], &[0, 0]);
        assert_eq!(split(&mut buf, 100), Ok(None));
    }
}
