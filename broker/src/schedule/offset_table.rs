//! `DelayOffsetTable`: how far each delay level's schedule queue has been delivered, persisted
//! as `config/delayOffset.json` in Java's format (`{"offsetTable":{1:0,2:5}}`, integer keys
//! unquoted as fastjson writes them).
//!
//! Owns the table and its dirty flag; not thread-safe (the schedule service keeps it under its
//! state lock).

use std::collections::BTreeMap;

use protocol::body::{DelayOffsetSerializeWrapper, JsonBody};

use crate::error::{Error, Result};
use crate::manager::config_file::{ConfigFile, DELAY_OFFSET_JSON};

/// Delay level → next schedule-queue offset to deliver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DelayOffsetTable {
    table: BTreeMap<i32, i64>,
    dirty: bool,
}

impl DelayOffsetTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The offset of `level`, if one was recorded.
    pub fn get(&self, level: i32) -> Option<i64> {
        self.table.get(&level).copied()
    }

    /// Records `offset` for `level`; marks the table dirty when it changes.
    pub fn set(&mut self, level: i32, offset: i64) {
        if self.table.insert(level, offset) != Some(offset) {
            self.dirty = true;
        }
    }

    /// The whole table.
    pub fn table(&self) -> &BTreeMap<i32, i64> {
        &self.table
    }
}

impl ConfigFile for DelayOffsetTable {
    const FILE_NAME: &'static str = DELAY_OFFSET_JSON;

    fn encode_json(&self) -> Vec<u8> {
        DelayOffsetSerializeWrapper {
            data_version: None,
            offset_table: self.table.clone(),
        }
        .encode_body()
    }

    fn decode_json(&mut self, bytes: &[u8]) -> Result<()> {
        let w = DelayOffsetSerializeWrapper::decode_body(bytes)
            .map_err(|e| Error::corrupt_table(DELAY_OFFSET_JSON, e.to_string()))?;
        self.table = w.offset_table;
        Ok(())
    }

    fn is_dirty(&self) -> bool {
        self.dirty
    }

    fn set_dirty(&mut self, dirty: bool) {
        self.dirty = dirty;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastjson_format_round_trip() {
        let mut t = DelayOffsetTable::new();
        assert!(!t.is_dirty());
        t.set(1, 0);
        t.set(2, 5);
        assert!(t.is_dirty());
        let json = t.encode_json();
        assert_eq!(json, b"{\"offsetTable\":{1:0,2:5}}");
        let mut back = DelayOffsetTable::new();
        back.decode_json(&json).unwrap();
        assert_eq!(back.table(), t.table());
        back.decode_json(b"{\"offsetTable\":{\"3\":7}}").unwrap();
        assert_eq!(back.get(3), Some(7), "quoted keys (standard JSON) too");
        assert!(back.decode_json(b"{\"offsetTable\":").is_err());
        assert_eq!(back.get(3), Some(7), "unchanged after a failed decode");
    }

    #[test]
    fn setting_the_same_offset_is_not_a_change() {
        let mut t = DelayOffsetTable::new();
        t.set(1, 3);
        t.set_dirty(false);
        t.set(1, 3);
        assert!(!t.is_dirty());
        t.set(1, 4);
        assert!(t.is_dirty());
    }
}
