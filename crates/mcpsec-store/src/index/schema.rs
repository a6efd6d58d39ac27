//! The tantivy schema for events. Metadata fields start with `_` so they never clash
//! with the event's own fields, which live in the JSON field `_fields` and are the
//! default target of `name:value` queries.

use tantivy::schema::DateTimePrecision;
use tantivy::schema::{
    DateOptions, FAST, Field, INDEXED, IndexRecordOption, JsonObjectOptions, STORED, STRING,
    Schema, TEXT, TextFieldIndexing,
};

/// Field handles of the event schema.
#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub seq: Field,
    pub tenant: Field,
    pub time: Field,
    pub received: Field,
    pub source: Field,
    pub format: Field,
    pub text: Field,
    pub fields: Field,
    pub doc: Field,
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let date = DateOptions::default()
        .set_indexed()
        .set_fast()
        .set_precision(DateTimePrecision::Microseconds);
    let json = JsonObjectOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("default")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_expand_dots_enabled();
    let f = Fields {
        id: b.add_text_field("_id", STRING),
        seq: b.add_u64_field("_seq", INDEXED | FAST | STORED),
        tenant: b.add_text_field("_tenant", STRING),
        time: b.add_date_field("_time", date.clone()),
        received: b.add_date_field("_received", date),
        source: b.add_text_field("_source", STRING),
        format: b.add_text_field("_format", STRING),
        text: b.add_text_field("_text", TEXT),
        fields: b.add_json_field("_fields", json),
        doc: b.add_bytes_field("_doc", STORED),
    };
    (b.build(), f)
}
