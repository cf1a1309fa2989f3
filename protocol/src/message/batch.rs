//! The SEND_BATCH_MESSAGE body (wire reference §2.7): per-message records back to back.
//!
//! ```text
//! TOTALSIZE i32 (this record, incl. itself) | MAGIC i32 (client writes 0) | BODYCRC i32
//! (client writes 0) | FLAG i32 | BODYLEN i32 | BODY | PROPERTIESLEN i16 | PROPERTIES
//! ```
//! The broker stores each item as an independent message. Whether a request *is* a batch is
//! decided from the header (code 320 or `batch`/`m` parsed as a Java boolean), not here: the
//! C++ client's `m="1"` reads as false, and such a send is stored as one message whose body is
//! this encoding (trap 21).

use bytes::{BufMut, Bytes, BytesMut};

use super::Message;
use crate::error::{Error, Result};

const WHAT: &str = "batch body";
/// Fixed bytes of one batch item: everything but body and properties.
pub const BATCH_ITEM_FIXED_BYTES: usize = 22;

/// One message of a batch. `body` and `properties` share the request's allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// The user flag.
    pub flag: i32,
    /// Body bytes.
    pub body: Bytes,
    /// Properties in wire form (§5.3); each item carries its own UNIQ_KEY.
    pub properties: Bytes,
}

fn read_i32(buf: &[u8], pos: usize) -> Option<i32> {
    let b = buf.get(pos..pos.checked_add(4)?)?;
    Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn malformed(pos: usize, detail: impl std::fmt::Display) -> Error {
    Error::malformed(WHAT, format!("item at byte {pos}: {detail}"))
}

/// Decodes one item starting at `pos`; returns it and the position after it.
fn decode_item(body: &Bytes, pos: usize) -> Result<(BatchItem, usize)> {
    let total = read_i32(body, pos).ok_or_else(|| malformed(pos, "truncated header"))?;
    let end = usize::try_from(total)
        .ok()
        .filter(|&t| t >= BATCH_ITEM_FIXED_BYTES)
        .and_then(|t| pos.checked_add(t))
        .filter(|&e| e <= body.len())
        .ok_or_else(|| malformed(pos, format!("total size {total} does not fit")))?;
    let flag = read_i32(body, pos + 12).ok_or_else(|| malformed(pos, "truncated flag"))?;
    let body_len = read_i32(body, pos + 16).ok_or_else(|| malformed(pos, "truncated length"))?;
    let body_start = pos + 20;
    let body_end = usize::try_from(body_len)
        .ok()
        .and_then(|n| body_start.checked_add(n))
        .filter(|&e| e.checked_add(2).is_some_and(|p| p <= end))
        .ok_or_else(|| malformed(pos, format!("body length {body_len} does not fit")))?;
    let props_len = i16::from_be_bytes([body[body_end], body[body_end + 1]]);
    let props_start = body_end + 2;
    let props_end = usize::try_from(props_len)
        .ok()
        .map(|n| props_start + n)
        .filter(|&e| e == end)
        .ok_or_else(|| {
            malformed(
                pos,
                format!("properties length {props_len} disagrees with total size {total}"),
            )
        })?;
    let item = BatchItem {
        flag,
        body: body.slice(body_start..body_end),
        properties: body.slice(props_start..props_end),
    };
    Ok((item, end))
}

/// Decodes a batch body; bodies and properties are zero-copy slices of `body`. Each item's
/// TOTALSIZE must equal its field lengths exactly. An empty body yields no items.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchItem>> {
    let mut items = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let (item, next) = decode_item(body, pos)?;
        items.push(item);
        pos = next;
    }
    Ok(items)
}

/// Appends one batch item. Fails (writing nothing) if the properties exceed 32767 bytes or
/// the item exceeds 2 GiB.
pub fn encode_batch_item(
    flag: i32,
    body: &[u8],
    properties: &[u8],
    out: &mut BytesMut,
) -> Result<()> {
    let props_len = i16::try_from(properties.len()).map_err(|_| {
        Error::Encode(format!(
            "properties of {} bytes exceed 32767",
            properties.len()
        ))
    })?;
    let total = BATCH_ITEM_FIXED_BYTES + body.len() + properties.len();
    let total = i32::try_from(total)
        .map_err(|_| Error::Encode(format!("batch item of {total} bytes is too large")))?;
    out.reserve(total as usize);
    out.put_i32(total);
    out.put_i32(0); // magic: clients write 0
    out.put_i32(0); // body CRC: computed by the broker
    out.put_i32(flag);
    // Fits: total (which includes the body) fits an i32.
    out.put_i32(body.len() as i32);
    out.put_slice(body);
    out.put_i16(props_len);
    out.put_slice(properties);
    Ok(())
}

/// Appends every item (see [`encode_batch_item`]).
pub fn encode_batch(items: &[BatchItem], out: &mut BytesMut) -> Result<()> {
    for item in items {
        encode_batch_item(item.flag, &item.body, &item.properties, out)?;
    }
    Ok(())
}

/// Appends client messages as a batch body, each with its own properties string.
pub fn encode_message_batch(messages: &[Message], out: &mut BytesMut) -> Result<()> {
    for msg in messages {
        let props = msg.properties.to_bytes();
        encode_batch_item(msg.flag, &msg.body, &props, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_item() {
        let mut out = BytesMut::new();
        encode_batch_item(7, b"hi", b"a\x01b\x02", &mut out).unwrap();
        let expected: &[u8] = &[
            0, 0, 0, 28, // total = 22 + 2 + 4
            0, 0, 0, 0, // magic
            0, 0, 0, 0, // crc
            0, 0, 0, 7, // flag
            0, 0, 0, 2, b'h', b'i', // body
            0, 4, b'a', 1, b'b', 2, // properties
        ];
        assert_eq!(&out[..], expected);
        let items = decode_batch(&out.freeze()).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].flag, 7);
        assert_eq!(&items[0].body[..], b"hi");
        assert_eq!(&items[0].properties[..], b"a\x01b\x02");
    }

    #[test]
    fn inconsistent_lengths_are_errors() {
        let mut good = BytesMut::new();
        encode_batch_item(0, b"body", b"", &mut good).unwrap();
        let good = good.freeze();
        for (pos, value) in [(3usize, 25u8), (3, 27), (19, 5), (19, 3), (25, 1)] {
            let mut bad = good.to_vec();
            bad[pos] = value;
            assert!(decode_batch(&Bytes::from(bad)).is_err(), "{pos}={value}");
        }
        let mut negative = good.to_vec();
        negative[16] = 0xFF;
        assert!(decode_batch(&Bytes::from(negative)).is_err());
        assert!(decode_batch(&good.slice(..good.len() - 1)).is_err());
        assert_eq!(decode_batch(&Bytes::new()).unwrap(), vec![]);
    }

    #[test]
    fn messages_encode_as_items() {
        let msgs = [
            Message::new("t", "one").with_tags("A"),
            Message::new("t", "two").with_flag(3),
        ];
        let mut out = BytesMut::new();
        encode_message_batch(&msgs, &mut out).unwrap();
        let items = decode_batch(&out.freeze()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(&items[0].properties[..], b"TAGS\x01A\x02");
        assert_eq!((&items[1].body[..], items[1].flag), (&b"two"[..], 3));
    }
}
