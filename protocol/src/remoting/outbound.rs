//! What a connection sends: [`Outbound`] items (bytes or a file region) in a per-connection
//! [`WriteQueue`] that writes with gathered `writev` calls and `sendfile`, resuming partial
//! writes exactly where they stopped.
//!
//! Owned by one connection on the event-loop thread; not thread-safe. `broker::ha` reuses these
//! types for its own link.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, IoSlice};
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};

use super::sys;
use crate::command::RemotingCommand;

/// At most this many byte items go into one `writev` call.
pub const MAX_IOVECS: usize = 64;

/// Bodies up to this size are copied next to their header (one iovec per frame); larger bodies
/// are queued as their own item without a copy.
const INLINE_BODY_MAX_BYTES: usize = 4 * 1024;

/// Capacity step of the header-encoding scratch buffer.
const SCRATCH_BYTES: usize = 16 * 1024;

/// A range of a file sent with `sendfile` (the zero-copy path for pulled messages).
#[derive(Debug, Clone)]
pub struct FileRegion {
    /// The open file (shared with the store; the region never moves its cursor).
    pub file: Arc<File>,
    /// Byte offset of the first byte to send.
    pub position: u64,
    /// Number of bytes to send.
    pub len: u64,
}

impl FileRegion {
    /// A region of `len` bytes of `file` starting at `position`.
    pub fn new(file: Arc<File>, position: u64, len: u64) -> Self {
        FileRegion {
            file,
            position,
            len,
        }
    }
}

/// One queued piece of outgoing data.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// Bytes in memory (encoded headers, small bodies, large bodies by reference).
    Bytes(Bytes),
    /// A file range, sent with `sendfile`.
    File(FileRegion),
}

impl Outbound {
    /// Bytes still to send.
    pub fn len(&self) -> u64 {
        match self {
            Outbound::Bytes(b) => b.len() as u64,
            Outbound::File(r) => r.len,
        }
    }

    /// True when nothing is left to send.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An encoded frame ready to queue: header (plus a small body inline), an optional large body,
/// then file regions. Built on any thread, queued on the loop thread.
#[derive(Debug, Clone)]
pub(crate) struct EncodedFrame {
    pub(crate) head: Bytes,
    pub(crate) body: Option<Bytes>,
    pub(crate) regions: Vec<FileRegion>,
}

impl EncodedFrame {
    /// Encodes `cmd` into a buffer of its own (for frames built off the loop thread).
    pub(crate) fn encode_alone(
        cmd: &RemotingCommand,
        regions: Vec<FileRegion>,
    ) -> crate::Result<EncodedFrame> {
        let inline = if cmd.body.len() <= INLINE_BODY_MAX_BYTES {
            cmd.body.len()
        } else {
            0
        };
        let mut buf = BytesMut::with_capacity(1024 + inline);
        Self::encode(cmd, regions, &mut buf)
    }

    /// Encodes `cmd` (its body follows the header, then `regions`), using `scratch` for the
    /// header so that many small frames share one allocation.
    pub(crate) fn encode(
        cmd: &RemotingCommand,
        regions: Vec<FileRegion>,
        scratch: &mut BytesMut,
    ) -> crate::Result<EncodedFrame> {
        let region_bytes: u64 = regions.iter().map(|r| r.len).sum();
        let body_len = usize::try_from(cmd.body.len() as u64 + region_bytes).map_err(|_| {
            crate::Error::Encode(format!("body of {region_bytes} file bytes is too large"))
        })?;
        if scratch.capacity() - scratch.len() < 1024 {
            scratch.reserve(SCRATCH_BYTES);
        }
        scratch.clear();
        cmd.encode_header(body_len, scratch)?;
        let inline = cmd.body.len() <= INLINE_BODY_MAX_BYTES;
        if inline {
            scratch.extend_from_slice(&cmd.body);
        }
        let head = scratch.split().freeze();
        let body = (!inline).then(|| cmd.body.clone());
        Ok(EncodedFrame {
            head,
            body,
            regions,
        })
    }
}

/// Result of one [`WriteQueue::write_to`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteProgress {
    /// Bytes handed to the kernel by this call.
    pub written_bytes: usize,
    /// True when the queue is now empty; false when the socket would block.
    pub drained: bool,
}

/// A connection's queue of outgoing data, with a running byte count used for back-pressure.
#[derive(Debug, Default)]
pub struct WriteQueue {
    items: VecDeque<Outbound>,
    queued_bytes: u64,
    scratch: BytesMut,
}

impl WriteQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an item (empty items are dropped).
    pub fn push(&mut self, item: Outbound) {
        if item.is_empty() {
            return;
        }
        self.queued_bytes += item.len();
        self.items.push_back(item);
    }

    /// Encodes `cmd` and appends it: header and small body in one item, a large body by
    /// reference (no copy).
    pub fn push_command(&mut self, cmd: &RemotingCommand) -> crate::Result<()> {
        self.push_command_with_files(cmd, Vec::new())
    }

    /// Encodes `response`'s header for a body of `response.body` followed by `regions`, and
    /// appends header, inline body, then the file regions (sent with `sendfile`).
    pub fn push_command_with_files(
        &mut self,
        response: &RemotingCommand,
        regions: Vec<FileRegion>,
    ) -> crate::Result<()> {
        let frame = EncodedFrame::encode(response, regions, &mut self.scratch)?;
        self.push_frame(frame);
        Ok(())
    }

    pub(crate) fn push_frame(&mut self, frame: EncodedFrame) {
        self.push(Outbound::Bytes(frame.head));
        if let Some(body) = frame.body {
            self.push(Outbound::Bytes(body));
        }
        for region in frame.regions {
            self.push(Outbound::File(region));
        }
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> u64 {
        self.queued_bytes
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Drops everything queued.
    pub fn clear(&mut self) {
        self.items.clear();
        self.queued_bytes = 0;
    }

    /// Writes as much as the socket takes: consecutive byte items go out in one gathered write
    /// (up to [`MAX_IOVECS`]), file regions through [`sys::sendfile`]. Stops when the queue is
    /// empty or the socket would block (`drained == false`); `Interrupted` is retried; any other
    /// error is returned (the connection is then unusable).
    pub fn write_to<S>(&mut self, out: &S) -> io::Result<WriteProgress>
    where
        S: WriteTarget,
        for<'a> &'a S: io::Write,
    {
        let mut written_bytes = 0;
        while !self.items.is_empty() {
            let result = match self.items.front() {
                Some(Outbound::File(region)) => self.send_region(out, region.clone()),
                _ => self.write_gathered(out),
            };
            match result {
                Ok(n) => written_bytes += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(WriteProgress {
                        written_bytes,
                        drained: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(WriteProgress {
            written_bytes,
            drained: true,
        })
    }

    fn write_gathered<S>(&mut self, out: &S) -> io::Result<usize>
    where
        for<'a> &'a S: io::Write,
    {
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let mut count = 0;
        for item in self.items.iter().take(MAX_IOVECS) {
            match item {
                Outbound::Bytes(b) => {
                    slices[count] = IoSlice::new(b);
                    count += 1;
                }
                Outbound::File(_) => break,
            }
        }
        let mut w: &S = out;
        let n = io::Write::write_vectored(&mut w, &slices[..count])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "socket accepted no bytes",
            ));
        }
        self.consume(n);
        Ok(n)
    }

    fn send_region<S>(&mut self, out: &S, region: FileRegion) -> io::Result<usize>
    where
        S: WriteTarget,
        for<'a> &'a S: io::Write,
    {
        let want = usize::try_from(region.len).unwrap_or(usize::MAX);
        let n = out.send_file(&region.file, region.position, want)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "file region at {} ({} bytes left) lies beyond the end of the file",
                    region.position, region.len
                ),
            ));
        }
        self.consume(n);
        Ok(n)
    }

    /// Removes `n` written bytes from the front, splitting a partially written item.
    fn consume(&mut self, mut n: usize) {
        self.queued_bytes -= n as u64;
        while n > 0 {
            let Some(front) = self.items.front_mut() else {
                return;
            };
            let len = front.len();
            if (n as u64) < len {
                match front {
                    Outbound::Bytes(b) => b.advance(n),
                    Outbound::File(r) => {
                        r.position += n as u64;
                        r.len -= n as u64;
                    }
                }
                return;
            }
            n -= len as usize;
            self.items.pop_front();
        }
    }
}

/// A socket [`WriteQueue::write_to`] can `sendfile` into (implemented for mio's and std's
/// `TcpStream`).
pub trait WriteTarget {
    /// Sends up to `len` bytes of `file` from `offset`; see [`sys::sendfile`].
    fn send_file(&self, file: &File, offset: u64, len: usize) -> io::Result<usize>;
}

impl WriteTarget for mio::net::TcpStream {
    fn send_file(&self, file: &File, offset: u64, len: usize) -> io::Result<usize> {
        sys::sendfile(self, file, offset, len)
    }
}

impl WriteTarget for std::net::TcpStream {
    fn send_file(&self, file: &File, offset: u64, len: usize) -> io::Result<usize> {
        sys::sendfile(self, file, offset, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (b, _) = listener.accept().unwrap();
        (a, b)
    }

    #[test]
    fn consume_splits_items_exactly() {
        let mut q = WriteQueue::new();
        q.push(Outbound::Bytes(Bytes::from_static(b"abc")));
        q.push(Outbound::Bytes(Bytes::new()));
        q.push(Outbound::Bytes(Bytes::from_static(b"defg")));
        assert_eq!(q.queued_bytes(), 7);
        q.consume(4);
        assert_eq!(q.queued_bytes(), 3);
        match q.items.front() {
            Some(Outbound::Bytes(b)) => assert_eq!(&b[..], b"efg"),
            other => panic!("unexpected front {other:?}"),
        }
        q.consume(3);
        assert!(q.is_empty());
    }

    #[test]
    fn mixed_bytes_and_regions_arrive_in_order() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"0123456789ABCDEF").unwrap();
        let file = Arc::new(file);
        let (tx, mut rx) = socket_pair();
        tx.set_nonblocking(true).unwrap();
        let mut q = WriteQueue::new();
        q.push(Outbound::Bytes(Bytes::from_static(b"<")));
        q.push(Outbound::File(FileRegion::new(file.clone(), 2, 3)));
        q.push(Outbound::File(FileRegion::new(file.clone(), 10, 6)));
        q.push(Outbound::Bytes(Bytes::from_static(b">")));
        let progress = q.write_to(&tx).unwrap();
        assert_eq!(
            progress,
            WriteProgress {
                written_bytes: 11,
                drained: true
            }
        );
        let mut got = [0u8; 11];
        rx.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"<234ABCDEF>");
    }

    #[test]
    fn region_past_end_of_file_is_an_error() {
        let file = Arc::new(tempfile::tempfile().unwrap());
        let (tx, _rx) = socket_pair();
        let mut q = WriteQueue::new();
        q.push(Outbound::File(FileRegion::new(file, 0, 5)));
        let err = q.write_to(&tx).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn command_frames_decode_back() {
        let cmd = RemotingCommand::request_raw(17).with_body(vec![7u8; 10_000]);
        let mut q = WriteQueue::new();
        q.push_command(&cmd).unwrap();
        assert_eq!(q.items.len(), 2, "a large body is queued by reference");
        let mut wire = BytesMut::new();
        for item in &q.items {
            match item {
                Outbound::Bytes(b) => wire.extend_from_slice(b),
                Outbound::File(_) => unreachable!(),
            }
        }
        let payload = crate::frame::split(&mut wire, 1 << 20).unwrap().unwrap();
        assert_eq!(RemotingCommand::decode(payload).unwrap(), cmd);
    }
}
