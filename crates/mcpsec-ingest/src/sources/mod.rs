//! Sources that push events into the [`crate::Pipeline`] on their own: syslog listeners
//! and file tails. (HTTP ingest lives in the server crate and uses [`crate::body`].)

mod common;
pub mod file;
pub mod syslog;

pub use file::{FileSourceConfig, FileTail, StartAt, spawn_file_source};
pub use syslog::{SyslogConfig, SyslogListener};
