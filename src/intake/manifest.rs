//! `batch.yaml`: what only the scan station knows (SPEC §2, TR-03138 A.NB.4 a).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scanner {
    #[serde(default)]
    pub make: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub serial: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// How many documents the station counted (completeness check, A.NB.3).
    #[serde(default)]
    pub documents: Option<usize>,
    /// How many pages, when the station counts them.
    #[serde(default)]
    pub pages: Option<usize>,
}

/// The batch manifest. Every field is optional; what is missing is recorded as missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchManifest {
    #[serde(default)]
    pub id: Option<String>,
    /// Pseudonym of the responsible person.
    #[serde(default)]
    pub operator: Option<String>,
    /// Organisational unit, when the station knows it better than the profile.
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub station: Option<String>,
    #[serde(default)]
    pub scanner: Option<Scanner>,
    /// RFC 3339 time the scanning finished, as the station recorded it.
    #[serde(default)]
    pub scanned_at: Option<String>,
    #[serde(default)]
    pub expected: Option<Expected>,
    /// Entry name (with or without extension) -> what the operator noticed on the paper.
    #[serde(default)]
    pub anomalies: BTreeMap<String, String>,
}

impl BatchManifest {
    /// Parses `batch.yaml`; the error names the line and what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<BatchManifest, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
        if text.trim().is_empty() {
            return Ok(BatchManifest::default());
        }
        let m: BatchManifest = serde_saphyr::from_str(text).map_err(|e| {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("").to_string();
            match e.location() {
                Some(l) => format!("line {}, column {}: {first}", l.line(), l.column()),
                None => first,
            }
        })?;
        if let Some(t) = &m.scanned_at {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map_err(|e| format!("scanned_at '{t}' is not an RFC 3339 time: {e}"))?;
        }
        Ok(m)
    }

    /// The anomaly the operator noted for an entry, looked up by full name or by stem.
    pub fn anomaly_for(&self, entry_name: &str) -> Option<&str> {
        self.anomalies
            .get(entry_name)
            .or_else(|| {
                let stem = entry_name.rsplit_once('.').map(|(s, _)| s)?;
                self.anomalies.get(stem)
            })
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_parses() {
        let m = BatchManifest::parse(
            br#"
id: 2026-11-24-poststelle-03
operator: "ps-0417"
station: "Scanplatz 3, Lecos ScanCenter"
scanner: {make: "Fujitsu", model: "fi-7600", serial: "A12B345"}
scanned_at: 2026-11-24T16:02:11+01:00
expected: {documents: 24}
anomalies: {"0007": "Original bereits Kopie", "0012": "Seite 2 eingerissen"}
"#,
        )
        .unwrap();
        assert_eq!(m.expected.unwrap().documents, Some(24));
        assert_eq!(m.scanner.unwrap().model.as_deref(), Some("fi-7600"));
        assert_eq!(m.scanned_at.as_deref(), Some("2026-11-24T16:02:11+01:00"));
    }

    #[test]
    fn anomalies_match_by_stem() {
        let m = BatchManifest::parse(b"anomalies: {\"0007\": \"Kopie\"}").unwrap();
        assert_eq!(m.anomaly_for("0007.tif"), Some("Kopie"));
        assert_eq!(m.anomaly_for("0007"), Some("Kopie"));
        assert_eq!(m.anomaly_for("0008.tif"), None);
    }

    #[test]
    fn a_typo_is_reported_with_its_line() {
        let e = BatchManifest::parse(b"id: x\noprator: y\n").unwrap_err();
        assert!(e.starts_with("line 2"), "{e}");
    }

    #[test]
    fn a_bad_time_is_refused() {
        assert!(BatchManifest::parse(b"scanned_at: yesterday").is_err());
    }
}
