//! Small helpers shared by every binary: the `key=value` config-file parser and the clock.

pub mod clock;
pub mod properties_file;
