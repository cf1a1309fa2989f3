//! Crash-safe replacement of small files (persisted tables: KV config, topics, offsets).
//!
//! [`write_atomically`] writes `<path>.tmp`, fsyncs it, keeps the previous file as `<path>.bak`,
//! renames the temp file over `<path>` and fsyncs the directory. A crash at any point leaves
//! either the old or the new content under `<path>` (or, between the two renames, the old one
//! under `<path>.bak`), never a torn file. [`read_with_backup`] reads `<path>` and falls back to
//! `<path>.bak` when the main file is missing or empty.
//!
//! These calls block on the disk: never call them on an event-loop thread.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Replaces the content of `path` with `bytes` atomically (see the module docs).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        fs::create_dir_all(dir)?;
    }
    let tmp = with_suffix(path, ".tmp");
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    if path.exists() {
        fs::copy(path, with_suffix(path, ".bak"))?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = dir {
        // Persist the rename itself. Opening a directory read-only and fsyncing it is the POSIX
        // way; failure is reported because the caller may have acknowledged nothing yet.
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Reads `path`, or `<path>.bak` when `path` is missing or empty. `Ok(None)` when neither exists.
pub fn read_with_backup(path: &Path) -> io::Result<Option<Vec<u8>>> {
    for candidate in [path.to_path_buf(), with_suffix(path, ".bak")] {
        match fs::read(&candidate) {
            Ok(bytes) if !bytes.is_empty() => return Ok(Some(bytes)),
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replace_and_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/topics.json");
        assert_eq!(read_with_backup(&path).unwrap(), None);
        write_atomically(&path, b"one").unwrap();
        assert_eq!(read_with_backup(&path).unwrap().unwrap(), b"one");
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read(with_suffix(&path, ".bak")).unwrap(), b"one");
        assert!(!with_suffix(&path, ".tmp").exists());
    }

    #[test]
    fn falls_back_to_backup_when_main_is_lost_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.json");
        write_atomically(&path, b"old").unwrap();
        write_atomically(&path, b"new").unwrap();
        fs::write(&path, b"").unwrap();
        assert_eq!(read_with_backup(&path).unwrap().unwrap(), b"old");
        fs::remove_file(&path).unwrap();
        assert_eq!(read_with_backup(&path).unwrap().unwrap(), b"old");
    }
}
