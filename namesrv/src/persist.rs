//! `Persister`: a service thread that writes files for the event loop, which must never block on
//! the disk. The loop hands it the bytes; the thread keeps only the newest pending content per
//! path and writes it with [`write_atomically`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use protocol::util::atomic_file::write_atomically;

enum Job {
    Write(PathBuf, Vec<u8>),
    Stop,
}

/// Handle to the persist thread. Dropping it (or [`Persister::shutdown`]) writes what is pending
/// and joins the thread.
pub struct Persister {
    tx: Sender<Job>,
    thread: Option<JoinHandle<()>>,
}

impl Persister {
    /// Starts the thread.
    pub fn start() -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("persist".into())
            .spawn(move || run(rx))?;
        Ok(Persister {
            tx,
            thread: Some(thread),
        })
    }

    /// Queues `bytes` to replace the content of `path`. Never blocks.
    pub fn write(&self, path: PathBuf, bytes: Vec<u8>) {
        self.sender().write(path, bytes);
    }

    /// A cloneable sender for other owners (the event loop's processor).
    pub fn sender(&self) -> PersistSender {
        PersistSender {
            tx: self.tx.clone(),
        }
    }

    /// Writes everything pending and stops the thread.
    pub fn shutdown(&mut self) {
        let _ = self.tx.send(Job::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Persister {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Queues writes to a [`Persister`] thread; cheap to clone, never blocks.
#[derive(Clone)]
pub struct PersistSender {
    tx: Sender<Job>,
}

impl PersistSender {
    /// Queues `bytes` to replace the content of `path`.
    pub fn write(&self, path: PathBuf, bytes: Vec<u8>) {
        if self.tx.send(Job::Write(path, bytes)).is_err() {
            log::error!("persist thread is gone; a config change was not saved");
        }
    }
}

fn run(rx: Receiver<Job>) {
    let mut stop = false;
    while !stop {
        let Ok(first) = rx.recv() else { break };
        // Coalesce: only the newest content per path is written.
        let mut pending: HashMap<PathBuf, Vec<u8>> = HashMap::new();
        for job in std::iter::once(first).chain(rx.try_iter()) {
            match job {
                Job::Write(path, bytes) => {
                    pending.insert(path, bytes);
                }
                Job::Stop => stop = true,
            }
        }
        for (path, bytes) in pending {
            if let Err(e) = write_atomically(&path, &bytes) {
                log::error!("failed to write {}: {e}", path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_content_is_written_before_shutdown_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.json");
        let mut p = Persister::start().unwrap();
        for i in 0..100 {
            p.write(path.clone(), format!("v{i}").into_bytes());
        }
        p.shutdown();
        assert_eq!(std::fs::read(&path).unwrap(), b"v99");
    }
}
