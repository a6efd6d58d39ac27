//! The shared vocabulary of mcpsec: events, tenants, field paths and error codes.
//!
//! Key design decision: an [`Event`] keeps the fields it arrived with, untouched, in
//! [`Event::fields`]; everything mcpsec adds (id, tenant, times, source, format) lives
//! beside them, never inside. Normalizers may only *read* the original fields to find the
//! event time or the shape, so what a user sent is always what they can search.

mod error;
mod event;
mod path;
mod time;

pub use error::{ErrorCode, MAX_ERROR_DETAIL};
pub use event::{Event, EventFormat, SourceInfo, TenantId};
pub use path::{FieldPath, get_path};
pub use time::{parse_timestamp, to_rfc3339};
