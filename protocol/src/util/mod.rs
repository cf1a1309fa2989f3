//! Small helpers shared by every binary: the `key=value` config-file parser, crash-safe file replacement and the clock.

pub mod atomic_file;
pub mod clock;
pub mod properties_file;
