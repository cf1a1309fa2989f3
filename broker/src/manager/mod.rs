//! Managers of the broker's persisted tables (topics, consumer offsets, subscription groups,
//! delay offsets). For now only the shared file helper they all use.

pub mod config_file;

pub use config_file::ConfigFile;
