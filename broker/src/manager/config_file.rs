//! `ConfigFile`: crash-safe load/save of one persisted table (RocketMQ `ConfigManager` +
//! `MixAll.string2File`), e.g. `<storePathRootDir>/config/consumerOffset.json`.
//!
//! Save: write `<name>.tmp`, fsync it, rename the current file to `<name>.bak`, rename the
//! temp file into place, fsync the directory. At every instant either the file or its `.bak`
//! holds a complete version, so load reads the file and falls back to `.bak` when the file is
//! missing or does not decode.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::segment::sync_dir;

/// One persisted table file. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    path: PathBuf,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

impl ConfigFile {
    /// `<store_root>/config/<name>`.
    pub fn in_store(store_root: &Path, name: &str) -> Self {
        ConfigFile {
            path: store_root.join("config").join(name),
        }
    }

    /// A file at an explicit path.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        ConfigFile { path: path.into() }
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The backup path (`<file>.bak`).
    pub fn backup_path(&self) -> PathBuf {
        with_suffix(&self.path, ".bak")
    }

    /// Durably replaces the file's content with `content`, keeping the previous version as
    /// `.bak`.
    pub fn save(&self, content: &str) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create config dir", dir, e))?;
        let tmp = with_suffix(&self.path, ".tmp");
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| Error::io("create temp config file", &tmp, e))?;
        f.write_all(content.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io("write temp config file", &tmp, e))?;
        drop(f);
        if self.path.exists() {
            std::fs::rename(&self.path, self.backup_path())
                .map_err(|e| Error::io("keep config backup", &self.path, e))?;
        }
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| Error::io("install config file", &self.path, e))?;
        sync_dir(dir)
    }

    fn read(path: &Path) -> Result<Option<String>> {
        match std::fs::read_to_string(path) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read config file", path, e)),
        }
    }

    /// Loads and decodes the file, falling back to `.bak` when the file is missing, empty or
    /// rejected by `decode`. `Ok(None)` when neither exists.
    pub fn load_with<T>(&self, decode: impl Fn(&str) -> Result<T>) -> Result<Option<T>> {
        let mut first_err = None;
        for path in [self.path.clone(), self.backup_path()] {
            match Self::read(&path)? {
                Some(s) if !s.trim().is_empty() => match decode(&s) {
                    Ok(v) => return Ok(Some(v)),
                    Err(e) => {
                        log::warn!("cannot decode {}: {e}", path.display());
                        first_err.get_or_insert(e);
                    }
                },
                _ => {}
            }
        }
        first_err.map_or(Ok(None), Err)
    }

    /// Saves `value` as pretty JSON.
    pub fn save_json<T: Serialize>(&self, value: &T) -> Result<()> {
        let s = serde_json::to_string_pretty(value).map_err(|e| Error::Json {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        self.save(&s)
    }

    /// Loads JSON (see [`ConfigFile::load_with`]).
    pub fn load_json<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        self.load_with(|s| {
            serde_json::from_str(s).map_err(|e| Error::Json {
                path: self.path.clone(),
                detail: e.to_string(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn save_keeps_backup_and_load_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let f = ConfigFile::in_store(dir.path(), "consumerOffset.json");
        assert_eq!(f.load_json::<BTreeMap<String, i64>>().unwrap(), None);
        let mut v = BTreeMap::new();
        v.insert("T@G".to_string(), 1i64);
        f.save_json(&v).unwrap();
        v.insert("T@G".to_string(), 2);
        f.save_json(&v).unwrap();
        assert!(f.backup_path().exists());
        assert_eq!(
            f.load_json::<BTreeMap<String, i64>>().unwrap().unwrap()["T@G"],
            2
        );
        // A torn main file: fall back to the previous version.
        std::fs::write(f.path(), "{\"T@G\": ").unwrap();
        assert_eq!(
            f.load_json::<BTreeMap<String, i64>>().unwrap().unwrap()["T@G"],
            1
        );
        // Main file missing (crash between the two renames).
        std::fs::remove_file(f.path()).unwrap();
        assert_eq!(
            f.load_json::<BTreeMap<String, i64>>().unwrap().unwrap()["T@G"],
            1
        );
        // Both unreadable: the error is reported.
        std::fs::write(f.backup_path(), "nope").unwrap();
        assert!(matches!(
            f.load_json::<BTreeMap<String, i64>>(),
            Err(Error::Json { .. })
        ));
    }
}
