//! `batch.yaml`: what only the scan station knows (SPEC §2, TR-03138 A.NB.4 a).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Scanner {
    #[serde(default)]
    pub make: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub serial: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
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

/// A manifest as read, with what was odd about it but did not stop the batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedManifest {
    pub manifest: BatchManifest,
    /// Unknown keys (a newer station writes more than we know), a `scanned_at` that is not
    /// RFC 3339: each with its line.
    pub notices: Vec<String>,
}

/// The keys `batch.yaml` has (SPEC §2, plus `unit` and `expected.pages`).
const KEYS: &[(&str, &[&str])] = &[
    ("id", &[]),
    ("operator", &[]),
    ("unit", &[]),
    ("station", &[]),
    ("scanner", &["make", "model", "serial"]),
    ("scanned_at", &[]),
    ("expected", &["documents", "pages"]),
    ("anomalies", &[]),
];

impl BatchManifest {
    /// Parses `batch.yaml`. Broken YAML or a wrong type is an error naming the line (the batch
    /// id and operator cannot be trusted then, and a wrong id would file every document again
    /// under new names); an unknown key or an odd `scanned_at` is only a notice: the scan
    /// station's software may write more than resiscan knows, and that must not stop a night.
    pub fn parse(bytes: &[u8]) -> Result<ParsedManifest, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            format!("line {line}: not UTF-8 text; save batch.yaml as UTF-8")
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim().is_empty() {
            return Ok(ParsedManifest::default());
        }
        let tree = crate::profile::schema::read_tree(text).map_err(|p| p.to_string())?;
        let mut notices = unknown_keys(&tree);
        let mut m: BatchManifest =
            serde_saphyr::from_str_with_options(text, crate::profile::schema::yaml_options())
                .map_err(|e| {
                    let p = crate::profile::schema::yaml_error_problem(&e, text);
                    let mut p = p;
                    p.message = p.message.trim_start_matches("not valid YAML: ").to_string();
                    p.to_string()
                })?;
        if let Some(t) = m.scanned_at.clone() {
            match rfc3339_scanned_at(&t) {
                Some(normalised) => m.scanned_at = Some(normalised),
                None => notices.push(format!(
                    "scanned_at '{t}' is not an RFC 3339 time (e.g. 2026-11-24T16:02:11+01:00); \
                     recorded as written"
                )),
            }
        }
        Ok(ParsedManifest {
            manifest: m,
            notices,
        })
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

/// `scanned_at` as RFC 3339: as written when it is, with the date and time separated by a
/// space instead of `T` (a common station format) made proper; `None` when it is neither (a
/// time without a zone cannot be placed on the time line without guessing).
fn rfc3339_scanned_at(t: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let t = t.trim();
    let b = t.as_bytes();
    let t = if b.len() > 10 && b[10] == b' ' && t.is_char_boundary(11) {
        format!("{}T{}", &t[..10], &t[11..])
    } else {
        t.to_string()
    };
    time::OffsetDateTime::parse(&t, &Rfc3339).ok().map(|_| t)
}

fn unknown_keys(tree: &serde_saphyr::Spanned<crate::profile::schema::Node>) -> Vec<String> {
    use crate::profile::schema::Node;
    let mut out = Vec::new();
    let Node::Map(entries) = &tree.value else {
        return out;
    };
    let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
    for (k, v) in entries {
        let Node::Str(name) = &k.value else { continue };
        match KEYS.iter().find(|(key, _)| key == name) {
            None => out.push(format!(
                "line {}: unknown key '{name}' ignored (batch.yaml knows {})",
                k.referenced.line(),
                known.join(", ")
            )),
            Some((key, inner)) if !inner.is_empty() => {
                if let Node::Map(sub) = &v.value {
                    for (sk, _) in sub {
                        if let Node::Str(sname) = &sk.value
                            && !inner.contains(&sname.as_str())
                        {
                            out.push(format!(
                                "line {}: unknown key '{key}.{sname}' ignored ({key} knows {})",
                                sk.referenced.line(),
                                inner.join(", ")
                            ));
                        }
                    }
                }
            }
            Some(_) => {}
        }
    }
    out
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
        .unwrap()
        .manifest;
        assert_eq!(m.expected.unwrap().documents, Some(24));
        assert_eq!(m.scanner.unwrap().model.as_deref(), Some("fi-7600"));
        assert_eq!(m.scanned_at.as_deref(), Some("2026-11-24T16:02:11+01:00"));
    }

    #[test]
    fn anomalies_match_by_stem() {
        let m = BatchManifest::parse(b"anomalies: {\"0007\": \"Kopie\"}")
            .unwrap()
            .manifest;
        assert_eq!(m.anomaly_for("0007.tif"), Some("Kopie"));
        assert_eq!(m.anomaly_for("0007"), Some("Kopie"));
        assert_eq!(m.anomaly_for("0008.tif"), None);
    }

    #[test]
    fn an_unknown_key_is_a_notice_with_its_line_not_an_error() {
        let p =
            BatchManifest::parse(b"id: x\noprator: y\nscanner: {make: F, colour: rot}\n").unwrap();
        assert_eq!(p.manifest.id.as_deref(), Some("x"));
        assert_eq!(p.notices.len(), 2, "{:?}", p.notices);
        assert!(
            p.notices[0].starts_with("line 2: unknown key 'oprator'"),
            "{:?}",
            p.notices
        );
        assert!(p.notices[1].contains("'scanner.colour'"), "{:?}", p.notices);
    }

    #[test]
    fn broken_yaml_or_a_wrong_type_is_an_error_with_its_line() {
        let e = BatchManifest::parse(b"id: x\nexpected: {documents: [1\n").unwrap_err();
        assert!(e.starts_with("line "), "{e}");
        let e =
            BatchManifest::parse(b"id: x\nexpected: {documents: vierundzwanzig}\n").unwrap_err();
        assert!(e.starts_with("line 2"), "{e}");
    }

    #[test]
    fn scanned_at_in_other_formats_is_kept_with_a_notice() {
        let p = BatchManifest::parse(b"scanned_at: 2026-11-24 16:02:11+01:00").unwrap();
        assert_eq!(
            p.manifest.scanned_at.as_deref(),
            Some("2026-11-24T16:02:11+01:00")
        );
        assert!(p.notices.is_empty());
        for odd in [
            "yesterday",
            "24.11.2026 16:02",
            "2026-11-24T16:02:11",
            "2026-11-24",
        ] {
            let p = BatchManifest::parse(format!("scanned_at: \"{odd}\"").as_bytes()).unwrap();
            assert_eq!(p.manifest.scanned_at.as_deref(), Some(odd));
            assert!(p.notices[0].contains("not an RFC 3339 time"), "{odd}");
        }
    }
}
