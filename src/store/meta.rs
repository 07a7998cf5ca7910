//! `<doc-id>.meta.json` beside every filed PDF (SPEC §4): what the DMS import needs without
//! parsing the transfer note — e-file, index fields, retention date, hashes, status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::classify::Classification;
use crate::note::{DocumentRecord, Filing};
use crate::outcome::Fate;

/// The format tag, so a DMS import can refuse a layout it does not know.
pub const META_FORMAT: &str = "resiscan-meta/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub format: String,
    pub doc_id: String,
    pub batch_id: String,
    /// The e-file, or `None` for an unclassified document.
    pub efile: Option<MetaEfile>,
    /// No file-plan entry matched: the document waits for clarification (Klärung).
    pub unclassified: bool,
    /// Store-relative folder of the document's files.
    pub folder: String,
    pub classification: MetaClassification,
    /// Index fields (Verschlagwortung): name -> value as filed and as OCR read it.
    pub index_fields: BTreeMap<String, MetaField>,
    /// RFC 3339, UTC.
    pub filed_at: String,
    /// Keep until this ISO date (filing date + the entry's retention years); `None` when the
    /// entry sets no retention or the document is unclassified.
    pub retention_until: Option<String>,
    pub hashes: MetaHashes,
    /// filed | unclassified | already_filed | duplicate | quarantined (the document's fate).
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaEfile {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaClassification {
    pub score: Option<f64>,
    pub runner_up: Option<String>,
    /// The runner-up scored the same; the file-plan order decided.
    pub ambiguous: bool,
    /// What decided it: terms, regexes, fields.
    pub decided_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaField {
    pub value: String,
    /// Exactly what the OCR text said (differs from `value` after an OCR-slip correction).
    pub raw: String,
    /// Where the value was read (SPEC §6): `text`, `barcode` or `cover` (the transfer note's
    /// `decided_by` says the same in words). `null` only when the meta record was built
    /// without the classification (older records read back have no key at all).
    #[serde(default)]
    pub source: Option<crate::classify::FieldSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaHashes {
    /// SHA-256 of the signed PDF.
    pub pdf: Option<String>,
    /// SHA-256 of the document's transfer note (YAML).
    pub transfer_note: String,
    pub sources: Vec<MetaSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaSource {
    pub file: String,
    pub sha256: String,
}

impl Meta {
    /// The meta record of a document filed at `filed_at` with the transfer note whose SHA-256
    /// is `note_sha256`. Index fields come from the classification (value and raw reading),
    /// else from the record (raw = value).
    pub fn new(
        record: &DocumentRecord,
        batch_id: &str,
        classification: Option<&Classification>,
        filing: &Filing,
        note_sha256: &str,
        filed_at: time::OffsetDateTime,
    ) -> Meta {
        let decision = classification.and_then(Classification::decision);
        let index_fields = match decision {
            Some(d) if !d.fields.is_empty() => d
                .fields
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        MetaField {
                            value: v.value.clone(),
                            raw: v.raw.clone(),
                            source: Some(v.source),
                        },
                    )
                })
                .collect(),
            _ => record
                .index_fields
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        MetaField {
                            value: v.clone(),
                            raw: v.clone(),
                            source: None,
                        },
                    )
                })
                .collect(),
        };
        Meta {
            format: META_FORMAT.to_string(),
            doc_id: record.id.clone(),
            batch_id: batch_id.to_string(),
            efile: filing.efile.as_ref().map(|id| MetaEfile {
                id: id.clone(),
                title: filing.title.clone().unwrap_or_default(),
            }),
            unclassified: filing.efile.is_none(),
            folder: filing.folder.clone(),
            classification: MetaClassification {
                score: filing.score,
                runner_up: filing.runner_up.clone(),
                ambiguous: filing.ambiguous,
                decided_by: filing.decided_by.clone(),
            },
            index_fields,
            filed_at: crate::machine::rfc3339(filed_at),
            retention_until: filing.retention_until.clone(),
            hashes: MetaHashes {
                pdf: record.pdf_sha256.clone(),
                transfer_note: note_sha256.to_string(),
                sources: record
                    .sources
                    .iter()
                    .map(|s| MetaSource {
                        file: s.file.clone(),
                        sha256: s.sha256.clone(),
                    })
                    .collect(),
            },
            status: fate_name(record.fate).to_string(),
        }
    }
}

fn fate_name(f: Fate) -> &'static str {
    match f {
        Fate::Filed => "filed",
        Fate::AlreadyFiled => "already_filed",
        Fate::Duplicate => "duplicate",
        Fate::Unclassified => "unclassified",
        Fate::Quarantined => "quarantined",
    }
}

/// The last day of a retention period of `years` from `filed` (BGB §188 (2)/(3): the day of
/// the same number in the last year; when that month is shorter — 29 February — its last day).
pub fn retention_until(filed: time::Date, years: u32) -> Option<time::Date> {
    let year = filed.year().checked_add(i32::try_from(years).ok()?)?;
    time::Date::from_calendar_date(year, filed.month(), filed.day())
        .or_else(|_| time::Date::from_calendar_date(year, filed.month(), 28))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn record() -> DocumentRecord {
        DocumentRecord {
            id: "b1-0001".into(),
            entry: "0001".into(),
            fate: Fate::Filed,
            reason: None,
            sources: vec![crate::note::SourceFile {
                file: "0001.tif".into(),
                sha256: "aa".repeat(32),
                bytes: 10,
                pages: 1,
            }],
            pages: vec![],
            dropped_pages: vec![],
            flags: vec![],
            anomaly: None,
            mean_ocr_confidence: Some(91.0),
            pdf: Some("20/VB/b1-0001.pdf".into()),
            pdf_sha256: Some("bb".repeat(32)),
            filing: None,
            index_fields: BTreeMap::from([("az".into(), "VB-2026-00417".into())]),
            separator_sheets: Vec::new(),
        }
    }

    fn filing(efile: Option<&str>) -> Filing {
        Filing {
            efile: efile.map(str::to_string),
            title: efile.map(|_| "Vollstreckungsverfahren".to_string()),
            folder: "20/VB".into(),
            score: Some(4.0),
            decided_by: vec!["term 'Vollstreckung'".into()],
            runner_up: Some("stundung".into()),
            ambiguous: false,
            retention_until: Some("2036-11-25".into()),
        }
    }

    #[test]
    fn meta_round_trips_and_carries_hashes_and_fields() {
        let m = Meta::new(
            &record(),
            "b1",
            None,
            &filing(Some("vollstreckung")),
            &"cc".repeat(32),
            datetime!(2026-11-25 01:02:03 +01:00),
        );
        assert_eq!(m.filed_at, "2026-11-25T00:02:03Z");
        assert!(!m.unclassified);
        assert_eq!(m.efile.as_ref().unwrap().id, "vollstreckung");
        assert_eq!(m.index_fields["az"].raw, "VB-2026-00417");
        assert_eq!(m.hashes.sources[0].file, "0001.tif");
        assert_eq!(m.status, "filed");
        let json = serde_json::to_string_pretty(&m).unwrap();
        let back: Meta = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn unclassified_meta_has_null_efile_and_the_flag() {
        let m = Meta::new(
            &record(),
            "b1",
            None,
            &filing(None),
            "x",
            datetime!(2026-01-01 0:00 UTC),
        );
        let v: serde_json::Value = serde_json::to_value(&m).unwrap();
        assert!(v["efile"].is_null());
        assert_eq!(v["unclassified"], true);
    }

    #[test]
    fn raw_and_corrected_field_values_come_from_the_classification() {
        let efiles = crate::profile::parse(
            "name: t\norganisation: o\nprotection: {integrity: normal}\nefiles:\n  - id: v\n    match: {all: [Mahnung]}\n    fields: {az: 'Az\\s*(\\d{4})'}\n    path: x\n",
        )
        .unwrap()
        .efiles;
        let c = crate::classify::Classifier::new(&efiles)
            .unwrap()
            .classify("Mahnung Az 2O26");
        let m = Meta::new(
            &record(),
            "b1",
            Some(&c),
            &filing(Some("v")),
            "x",
            datetime!(2026-01-01 0:00 UTC),
        );
        assert_eq!(m.index_fields["az"].value, "2026");
        assert_eq!(m.index_fields["az"].raw, "2O26");
        assert_eq!(
            m.index_fields["az"].source,
            Some(crate::classify::FieldSource::Text)
        );
    }

    #[test]
    fn each_field_says_where_it_was_read() {
        let efiles = crate::profile::parse(
            "name: t\norganisation: o\nprotection: {integrity: normal}\nefiles:\n  - id: v\n    match: {all: [Mahnung]}\n    fields:\n      az: {text: 'Az\\s*(\\d{4})', barcode: '^AZ(\\d{4})$'}\n      nr: 'Nr\\s*(\\d{3})'\n    path: x\n",
        )
        .unwrap()
        .efiles;
        let c = crate::classify::Classifier::new(&efiles)
            .unwrap()
            .classify_with_barcodes("Mahnung Az 1111 Nr 123", &["AZ2222".to_string()]);
        let m = Meta::new(
            &record(),
            "b1",
            Some(&c),
            &filing(Some("v")),
            "x",
            datetime!(2026-01-01 0:00 UTC),
        );
        let v: serde_json::Value = serde_json::to_value(&m).unwrap();
        assert_eq!(v["index_fields"]["az"]["value"], "2222", "{v}");
        assert_eq!(v["index_fields"]["az"]["source"], "barcode");
        assert_eq!(v["index_fields"]["nr"]["source"], "text");
        // A meta.json written before the key existed still reads.
        let mut old = v.clone();
        old["index_fields"]["az"]
            .as_object_mut()
            .unwrap()
            .remove("source");
        let back: Meta = serde_json::from_value(old).unwrap();
        assert_eq!(back.index_fields["az"].source, None);
    }

    #[test]
    fn retention_ends_on_the_same_day_or_the_end_of_february() {
        assert_eq!(
            retention_until(date!(2026 - 11 - 25), 10),
            Some(date!(2036 - 11 - 25))
        );
        assert_eq!(
            retention_until(date!(2024 - 02 - 29), 1),
            Some(date!(2025 - 02 - 28))
        );
        assert_eq!(
            retention_until(date!(2024 - 02 - 29), 4),
            Some(date!(2028 - 02 - 29))
        );
        assert_eq!(retention_until(date!(2024 - 01 - 01), u32::MAX), None);
    }
}
