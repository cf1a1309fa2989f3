//! The only `unsafe` code in the workspace: thin, safe wrappers over the two system calls the
//! remoting runtime needs beyond what `std` and `mio` offer.
//!
//! - [`sendfile`]: copy a file range straight from the page cache to a socket (the zero-copy
//!   pull path). Linux uses `sendfile(2)`; other systems fall back to a positioned read into a
//!   buffer followed by a plain write.
//! - [`read_into_spare`]: `read(2)` into a [`BytesMut`]'s spare capacity, so the read buffer is
//!   never zero-filled before every read (on non-unix systems: zero-fill and `Read`).
//!
//! Each `unsafe` block carries a `// SAFETY:` comment; both wrappers are tested below.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;

use bytes::BytesMut;

/// Largest count passed to one `sendfile(2)` call (Linux transfers at most 0x7ffff000 bytes).
const MAX_SENDFILE_BYTES: usize = 0x7fff_f000;

/// Copies up to `len` bytes of `file`, starting at `offset`, to the socket `out`. Returns the
/// number of bytes written, which may be less than `len` (the socket buffer filled up); `0`
/// means `offset` is at or past the end of the file. A full socket buffer is reported as
/// [`io::ErrorKind::WouldBlock`]. The file's own cursor is not used or moved.
#[cfg(target_os = "linux")]
pub fn sendfile<S>(out: &S, file: &File, offset: u64, len: usize) -> io::Result<usize>
where
    S: std::os::fd::AsRawFd,
    for<'a> &'a S: io::Write,
{
    use std::os::fd::AsRawFd;

    let mut off = libc::off_t::try_from(offset).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file offset {offset} is out of range"),
        )
    })?;
    let count = len.min(MAX_SENDFILE_BYTES);
    // SAFETY: both descriptors are open for the duration of the call because `out` and `file`
    // are borrowed; `off` is a valid, exclusively borrowed off_t that the kernel updates; the
    // kernel reads at most `count` bytes from the file and touches no user memory besides `off`.
    let n = unsafe { libc::sendfile(out.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        // n is non-negative and at most `count`, so it fits in usize.
        Ok(n as usize)
    }
}

/// Copies up to `len` bytes of `file`, starting at `offset`, to `out` (portable fallback: a
/// positioned read into a buffer of at most 64 KiB, then one write). Same contract as the Linux
/// version: short counts are normal, `0` means end of file, a full socket is `WouldBlock`.
#[cfg(not(target_os = "linux"))]
pub fn sendfile<S>(out: &S, file: &File, offset: u64, len: usize) -> io::Result<usize>
where
    for<'a> &'a S: io::Write,
{
    use std::io::Write;

    let mut buf = vec![0u8; len.min(64 * 1024)];
    let n = read_at(file, &mut buf, offset)?;
    if n == 0 {
        return Ok(0);
    }
    // Bytes read but not written are simply read again next time, from the advanced offset.
    let mut w: &S = out;
    w.write(&buf[..n])
}

#[cfg(all(not(target_os = "linux"), unix))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Reads once from `src` into the spare capacity of `buf` (at most `max` bytes), appending to
/// its contents. The caller reserves capacity first; with no spare capacity or `max == 0` this
/// returns `Ok(0)` without a system call, so callers must not read `Ok(0)` as end of stream
/// unless they made room. Errors (`WouldBlock`, `Interrupted`, ...) are returned unchanged.
#[cfg(unix)]
pub fn read_into_spare<S>(src: &S, buf: &mut BytesMut, max: usize) -> io::Result<usize>
where
    S: std::os::fd::AsRawFd,
{
    let spare = buf.spare_capacity_mut();
    let count = spare.len().min(max);
    if count == 0 {
        return Ok(0);
    }
    // SAFETY: `spare` points to `count` writable bytes owned by `buf`, which is exclusively
    // borrowed for the whole call; `read(2)` writes at most `count` bytes there and nothing
    // else; the descriptor stays open because `src` is borrowed.
    let n = unsafe { libc::read(src.as_raw_fd(), spare.as_mut_ptr().cast(), count) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // n is non-negative and at most `count`.
    let n = n as usize;
    // SAFETY: the kernel initialised exactly `n <= count` bytes right after the current length,
    // all within the capacity, so the new length covers only initialised bytes.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

/// Portable version of [`read_into_spare`]: zero-fills the spare room, then `Read`s into it.
#[cfg(not(unix))]
pub fn read_into_spare<S>(src: &S, buf: &mut BytesMut, max: usize) -> io::Result<usize>
where
    for<'a> &'a S: io::Read,
{
    use std::io::Read;

    let start = buf.len();
    let count = (buf.capacity() - start).min(max);
    if count == 0 {
        return Ok(0);
    }
    buf.resize(start + count, 0);
    let mut r: &S = src;
    let result = r.read(&mut buf[start..]);
    let n = *result.as_ref().unwrap_or(&0);
    buf.truncate(start + n);
    result
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
    fn sendfile_copies_the_exact_range() {
        let mut file = tempfile::tempfile().unwrap();
        let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        file.write_all(&content).unwrap();
        let (tx, mut rx) = socket_pair();
        let (offset, len) = (12_345u64, 50_000usize);
        let mut sent = 0;
        while sent < len {
            let n = sendfile(&tx, &file, offset + sent as u64, len - sent).unwrap();
            assert!(n > 0);
            sent += n;
        }
        let mut got = vec![0u8; len];
        rx.read_exact(&mut got).unwrap();
        assert_eq!(&got[..], &content[offset as usize..offset as usize + len]);
        // At end of file nothing is sent.
        assert_eq!(sendfile(&tx, &file, content.len() as u64, 10).unwrap(), 0);
    }

    #[test]
    fn read_into_spare_appends_without_zeroing() {
        let (mut tx, rx) = socket_pair();
        tx.write_all(b"hello world").unwrap();
        let mut buf = BytesMut::with_capacity(64);
        buf.extend_from_slice(b">");
        let mut total = 0;
        while total < 11 {
            total += read_into_spare(&rx, &mut buf, 5).unwrap();
        }
        assert_eq!(&buf[..], b">hello world");
        let mut full = BytesMut::new();
        assert_eq!(read_into_spare(&rx, &mut full, 10).unwrap(), 0);
        rx.set_nonblocking(true).unwrap();
        buf.reserve(16);
        let err = read_into_spare(&rx, &mut buf, 16).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }
}
