//! Sending stored records to a client: zero-copy file regions (sendfile) or, with
//! `transferMsgByHeap`, one copied body. Shared by PULL_MESSAGE, QUERY_MESSAGE and
//! VIEW_MESSAGE_BY_ID.

use std::sync::Arc;

use bytes::BytesMut;
use protocol::remoting::FileRegion;

use crate::store::MessageRegion;

/// One zero-copy region per contiguous run of records in the same segment file.
pub fn file_regions(messages: &[MessageRegion]) -> Vec<FileRegion> {
    let mut regions: Vec<FileRegion> = Vec::new();
    for m in messages {
        let r = &m.region;
        if let Some(last) = regions.last_mut() {
            if Arc::ptr_eq(&last.file, &r.file) && last.position + last.len == r.position {
                last.len += u64::from(r.len);
                continue;
            }
        }
        regions.push(FileRegion::new(
            Arc::clone(&r.file),
            r.position,
            u64::from(r.len),
        ));
    }
    regions
}

/// The records copied into one body (`transferMsgByHeap=true`).
pub fn heap_body(messages: &[MessageRegion]) -> std::io::Result<bytes::Bytes> {
    let total: usize = messages.iter().map(|m| m.size as usize).sum();
    let mut body = BytesMut::with_capacity(total);
    for m in messages {
        body.extend_from_slice(&m.region.read()?);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FileRegion as StoreRegion;
    use std::fs::File;

    fn region(file: &Arc<File>, position: u64, len: u32) -> MessageRegion {
        MessageRegion {
            queue_offset: 0,
            phy_offset: position,
            size: len,
            tags_code: 0,
            region: StoreRegion {
                file: Arc::clone(file),
                position,
                len,
            },
        }
    }

    #[test]
    fn contiguous_records_of_one_file_share_a_region() {
        let dir = tempfile::tempdir().unwrap();
        let a = Arc::new(File::create(dir.path().join("a")).unwrap());
        let b = Arc::new(File::create(dir.path().join("b")).unwrap());
        let msgs = [
            region(&a, 0, 10),
            region(&a, 10, 5),
            region(&a, 30, 5),
            region(&b, 35, 7),
            region(&b, 42, 1),
        ];
        let got: Vec<(u64, u64)> = file_regions(&msgs)
            .iter()
            .map(|r| (r.position, r.len))
            .collect();
        assert_eq!(got, [(0, 15), (30, 5), (35, 8)]);
        assert!(file_regions(&[]).is_empty());
    }
}
