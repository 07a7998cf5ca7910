//! The QA addendum file (`_batches/<id>/qa-addendum.yaml`): its format and the QA state its
//! entries add up to. `qa` writes it, `verify` checks it; both take the format from here, so
//! neither depends on the other for it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::note::Signer;

/// The batch note an addendum completes, in the batch folder.
pub(crate) const NOTE_FILE: &str = "transfer-note.yaml";
/// The addendum itself, beside the batch note.
pub(crate) const ADDENDUM_FILE: &str = "qa-addendum.yaml";

/// Format tag of the addendum.
pub const ADDENDUM_FORMAT: &str = "resiscan-qa-addendum/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QaResult {
    /// Image and content match the original.
    Ok,
    /// They do not; the document is marked for rescan.
    Rejected,
}

/// One inspection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaEntry {
    pub doc: String,
    pub result: QaResult,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// Pseudonym of the inspecting person.
    pub inspector: String,
    /// RFC 3339.
    pub time: String,
    /// SHA-256 of the PDF as inspected (checked against the note before recording).
    pub pdf_sha256: String,
    /// Whether the document was in the recorded selection; `false` is an "outside sample"
    /// check, recorded but not counted towards the sample.
    pub in_sample: bool,
}

/// The batch note the addendum completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteReference {
    pub file: String,
    pub sha256: String,
}

/// The addendum as written and signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaAddendum {
    pub format: String,
    pub batch: String,
    pub batch_note: NoteReference,
    /// The seed of the recorded selection (`qa-selection.json`), so the draw can be redone.
    pub selection_seed: u64,
    /// The documents selected for inspection; with `entries` they determine `qa_state`.
    pub selected: Vec<String>,
    /// Every decision in the order recorded; for a document checked twice the later counts.
    pub entries: Vec<QaEntry>,
    /// "visual sample: X of Y inspected, Z rejected[: ids]" — what the entries add up to.
    pub qa_state: String,
    pub signer: Signer,
    pub signed_at: String,
}

/// The latest decision per document.
pub(crate) fn latest_by_doc(entries: &[QaEntry]) -> BTreeMap<String, QaEntry> {
    let mut latest = BTreeMap::new();
    for e in entries {
        latest.insert(e.doc.clone(), e.clone());
    }
    latest
}

/// The QA state sentence for a selection and the decisions recorded so far.
pub(crate) fn qa_state(selected: &[String], entries: &[QaEntry]) -> String {
    let latest = latest_by_doc(entries);
    let inspected = selected
        .iter()
        .filter(|d| latest.contains_key(d.as_str()))
        .count();
    let rejected: Vec<&str> = latest
        .values()
        .filter(|e| e.result == QaResult::Rejected)
        .map(|e| e.doc.as_str())
        .collect();
    let outside = latest.values().filter(|e| !e.in_sample).count();
    let mut s = format!(
        "visual sample: {inspected} of {} inspected, {} rejected",
        selected.len(),
        rejected.len()
    );
    if !rejected.is_empty() {
        s.push_str(&format!(": {}", rejected.join(", ")));
    }
    if outside > 0 {
        s.push_str(&format!("; {outside} outside sample"));
    }
    s
}

impl QaAddendum {
    /// The exact bytes written and signed.
    pub fn to_yaml(&self) -> Result<Vec<u8>, String> {
        let body = serde_saphyr::to_string(self).map_err(|e| e.to_string())?;
        Ok(
            format!("# QA-Nachtrag zum Transfervermerk (BSI TR-03138 A.SC.8, A.NB.4 e)\n{body}")
                .into_bytes(),
        )
    }

    pub fn from_yaml(bytes: &[u8]) -> Result<QaAddendum, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }
}
