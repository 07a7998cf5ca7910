//! The profile: one YAML file per kind of work (a department, a mail stream), SPEC §3.
//!
//! Loading is two-phase. Serde reads the structure and refuses unknown keys and wrong types
//! (the first such error, with its line and column). Then [`Profile::problems`] checks the
//! meaning — regexes that compile, path templates that only use defined fields, key files that
//! exist — and reports every problem at once, each with its line, so `resiscan profile check`
//! shows a profile writer all their mistakes in one go.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// TR-03138 protection requirement (Schutzbedarf) for integrity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Normal,
    Hoch,
    SehrHoch,
}

impl Level {
    /// Default visual-QA sample share in percent (A.SC.8; A.AM.IN.H.7 wants more at "hoch"
    /// and every document at "sehr hoch").
    pub fn default_sample_percent(self) -> f64 {
        match self {
            Level::Normal => 5.0,
            Level::Hoch => 25.0,
            Level::SehrHoch => 100.0,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Normal => "normal",
            Level::Hoch => "hoch",
            Level::SehrHoch => "sehr_hoch",
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Protection {
    pub integrity: Level,
}

/// What to do with a page the quality gate finds blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlankPolicy {
    /// Keep the page in the PDF.
    Keep,
    /// Leave it out of the PDF; the transfer note names it.
    Drop,
    /// Keep it and flag the document for a person.
    Flag,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSettings {
    /// Minimum resolution in dpi; below it a page fails the gate. Default 300 (TR-03138 A.SC.3
    /// recommends 300 dpi for text).
    #[serde(default = "default_min_dpi")]
    pub min_dpi: u32,
    /// Resolution to assume when a file does not carry one. Default: none — such a file fails.
    #[serde(default)]
    pub assume_dpi: Option<u32>,
    /// Default: keep.
    #[serde(default = "default_blank_policy")]
    pub blank_pages: BlankPolicy,
    /// Largest page the gate decodes, in megapixels; a larger header is refused as a
    /// decompression bomb. Default 150 (A3 at 600 dpi is ~70).
    #[serde(default = "default_max_megapixels")]
    pub max_megapixels: u32,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            min_dpi: default_min_dpi(),
            assume_dpi: None,
            blank_pages: default_blank_policy(),
            max_megapixels: default_max_megapixels(),
        }
    }
}

fn default_min_dpi() -> u32 {
    300
}
fn default_blank_policy() -> BlankPolicy {
    BlankPolicy::Keep
}
fn default_max_megapixels() -> u32 {
    150
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OcrSettings {
    /// Tesseract languages, first one is the document language (`/Lang`). Default [deu].
    #[serde(default = "default_languages")]
    pub languages: Spanned<Vec<String>>,
    /// Mean word confidence (0–100) below which a page is flagged for review. Default 60.
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f32,
    /// Detect upside-down and sideways pages (Tesseract OSD). Default true.
    #[serde(default = "default_true")]
    pub detect_orientation: bool,
    /// tessdata folder. Default: the library's own (Debian: /usr/share/tesseract-ocr/5/tessdata).
    #[serde(default)]
    pub tessdata: Option<Spanned<PathBuf>>,
}

impl Default for OcrSettings {
    fn default() -> Self {
        OcrSettings {
            languages: default_languages(),
            min_confidence: default_min_confidence(),
            detect_orientation: true,
            tessdata: None,
        }
    }
}

fn default_languages() -> Spanned<Vec<String>> {
    unspanned(vec!["deu".to_string()])
}
fn default_min_confidence() -> f32 {
    60.0
}
fn default_true() -> bool {
    true
}

/// A value that did not come from the file (a default), with an unknown location.
fn unspanned<T>(value: T) -> Spanned<T> {
    Spanned::new(
        value,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PdfSettings {
    /// PDF/A part and conformance; only "2b" is written. Default "2b".
    #[serde(default = "default_pdfa")]
    pub pdfa: Spanned<String>,
}

impl Default for PdfSettings {
    fn default() -> Self {
        PdfSettings {
            pdfa: default_pdfa(),
        }
    }
}

fn default_pdfa() -> Spanned<String> {
    unspanned("2b".to_string())
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SigningSettings {
    /// Signer certificate, PEM or DER; may be a bundle that also holds the chain (and even
    /// the key): the certificate matching the key is the signer.
    #[serde(default)]
    pub certificate: Option<Spanned<PathBuf>>,
    /// Unencrypted private key, PKCS#8, PKCS#1 or SEC1, PEM or DER; EC P-256, EC P-384
    /// (signed with SHA-384) or RSA >= 2048.
    #[serde(default)]
    pub key: Option<Spanned<PathBuf>>,
    /// Issuing CA and root certificates, in any order and as separate files or bundles;
    /// certificates not on the signer's issuer path are left out with a warning.
    #[serde(default)]
    pub chain: Vec<Spanned<PathBuf>>,
    /// Use a generated identity, kept per store and marked untrusted in every note.
    #[serde(default)]
    pub demo: bool,
}

/// Term lists of one file-plan entry. Terms match case-insensitively and umlaut-aware.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRule {
    /// Every term must occur.
    #[serde(default)]
    pub all: Vec<String>,
    /// At least one must occur when the list is not empty; each one found adds to the score.
    #[serde(default)]
    pub any: Vec<String>,
    /// None may occur.
    #[serde(default)]
    pub none: Vec<String>,
    /// Regular expressions; each one that matches adds to the score, one is required when
    /// `all` and `any` are empty.
    #[serde(default)]
    pub regex: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    pub years: u32,
}

/// One entry of the file plan (Aktenplan): an e-file and the rule that routes to it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EfileRule {
    pub id: Spanned<String>,
    #[serde(default)]
    pub title: String,
    #[serde(rename = "match", default)]
    pub matching: MatchRule,
    /// Index fields: name -> regex with one capture group.
    #[serde(default)]
    pub fields: BTreeMap<String, Spanned<String>>,
    /// Fields that must be found for the entry to match.
    #[serde(default)]
    pub require: Vec<Spanned<String>>,
    /// Store path template; `{field}` is replaced by the sanitised field value.
    pub path: Spanned<String>,
    #[serde(default)]
    pub retention: Option<Retention>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QaSettings {
    /// Visual-check sample in percent of a batch's documents; default by protection level:
    /// 5 / 25 / 100.
    #[serde(default)]
    pub sample_percent: Option<f64>,
}

/// A profile as written in its YAML file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: Spanned<String>,
    #[serde(default = "default_version")]
    pub version: u32,
    pub organisation: String,
    /// Organisational unit (A.NB.4 a), optional.
    #[serde(default)]
    pub unit: Option<String>,
    pub protection: Protection,
    /// Reference to the procedure documentation (Verfahrensdokumentation, A.NB.4 b).
    #[serde(default)]
    pub procedure_doc: Option<String>,
    #[serde(default)]
    pub scan: ScanSettings,
    #[serde(default)]
    pub ocr: OcrSettings,
    #[serde(default)]
    pub pdf: PdfSettings,
    #[serde(default)]
    pub signing: Option<Spanned<SigningSettings>>,
    #[serde(default)]
    pub efiles: Vec<EfileRule>,
    /// Store folder for documents no entry matches. Default "_Klaerung".
    #[serde(default = "default_unclassified")]
    pub unclassified: Spanned<String>,
    #[serde(default)]
    pub qa: QaSettings,
}

fn default_version() -> u32 {
    1
}
fn default_unclassified() -> Spanned<String> {
    unspanned("_Klaerung".to_string())
}

/// A problem in a profile, with where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1-based line; 0 when unknown.
    pub line: u64,
    /// 1-based column; 0 when unknown.
    pub column: u64,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}", self.message)?,
            (l, 0) => write!(f, "line {l}: {}", self.message)?,
            (l, c) => write!(f, "line {l}, column {c}: {}", self.message)?,
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("profile {path} has {} problem(s):\n{}", problems.len(), list(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A profile that passed every check, with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedProfile {
    pub profile: Profile,
    /// The profile file as given.
    pub path: PathBuf,
    /// Folder relative paths in the profile are resolved against.
    pub base_dir: PathBuf,
    /// SHA-256 of the file's bytes, recorded in every transfer note.
    pub sha256: String,
}

impl LoadedProfile {
    /// Reads, parses and checks the profile at `path`; every problem found is in the error.
    pub fn load(path: &Path) -> Result<LoadedProfile, ProfileError> {
        let bytes = std::fs::read(path).map_err(|source| ProfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |problems| ProfileError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            invalid(vec![Problem {
                line: 0,
                column: 0,
                message: format!("not UTF-8 text: {e}"),
                hint: Some("save the profile as UTF-8".into()),
            }])
        })?;
        let profile = parse(text).map_err(|p| invalid(vec![p]))?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let problems = profile.problems(&base_dir);
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        Ok(LoadedProfile {
            profile,
            path: path.to_path_buf(),
            base_dir,
            sha256: crate::crypto::sha256_hex(&bytes),
        })
    }

    /// A path from the profile, resolved against the profile's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        self.base_dir.join(p)
    }
}

/// Parses profile YAML; a structural error comes back as one problem with its location.
pub fn parse(text: &str) -> Result<Profile, Problem> {
    serde_saphyr::from_str::<Profile>(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let message = first_line(&e.to_string());
        let hint = structural_hint(&message);
        Problem {
            line,
            column,
            message,
            hint,
        }
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

fn structural_hint(message: &str) -> Option<String> {
    if message.contains("unknown field") {
        Some("check the spelling; SPEC §3 lists every key a profile may have".into())
    } else if message.contains("missing field") {
        Some("this key is required".into())
    } else if message.contains("unknown variant") {
        Some("use one of the listed values".into())
    } else if message.contains("invalid type") {
        Some(
            "the value has the wrong type (a list where a word is expected, or the reverse)".into(),
        )
    } else {
        None
    }
}

fn at<T>(s: &Spanned<T>, message: String, hint: Option<&str>) -> Problem {
    Problem {
        line: s.referenced.line(),
        column: s.referenced.column(),
        message,
        hint: hint.map(str::to_string),
    }
}

/// The `{field}` names a path template uses.
pub fn template_fields(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].trim().to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

impl Profile {
    /// Every semantic problem of the profile, in file order.
    pub fn problems(&self, base_dir: &Path) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.name.value.trim().is_empty() {
            out.push(at(&self.name, "name is empty".into(), None));
        }
        if !self.pdf.pdfa.value.eq_ignore_ascii_case("2b") {
            out.push(at(
                &self.pdf.pdfa,
                format!("pdf.pdfa '{}' is not supported", self.pdf.pdfa.value),
                Some("resiscan writes PDF/A-2b; use pdfa: 2b"),
            ));
        }
        if self.ocr.languages.value.is_empty() {
            out.push(at(
                &self.ocr.languages,
                "ocr.languages is empty".into(),
                Some("name at least one Tesseract language, e.g. [deu]"),
            ));
        }
        for lang in &self.ocr.languages.value {
            if lang.is_empty()
                || !lang
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                out.push(at(
                    &self.ocr.languages,
                    format!("'{lang}' is not a Tesseract language code"),
                    Some("codes look like deu, eng, frk"),
                ));
            } else if let Some(dir) = tessdata_dir(self.ocr.tessdata.as_ref().map(|t| {
                if t.value.is_absolute() {
                    t.value.clone()
                } else {
                    base_dir.join(&t.value)
                }
            })) && !dir.join(format!("{lang}.traineddata")).exists()
            {
                out.push(at(
                    &self.ocr.languages,
                    format!("no Tesseract model for '{lang}' in {}", dir.display()),
                    Some("install it, e.g. apt-get install tesseract-ocr-<lang>"),
                ));
            }
        }
        if !(0.0..=100.0).contains(&self.ocr.min_confidence) {
            out.push(Problem {
                line: 0,
                column: 0,
                message: format!(
                    "ocr.min_confidence {} is outside 0..100",
                    self.ocr.min_confidence
                ),
                hint: None,
            });
        }
        if let Some(p) = self.qa.sample_percent
            && !(0.0..=100.0).contains(&p)
        {
            out.push(Problem {
                line: 0,
                column: 0,
                message: format!("qa.sample_percent {p} is outside 0..100"),
                hint: None,
            });
        }
        self.signing_problems(base_dir, &mut out);
        self.efile_problems(&mut out);
        if let Err(reason) = check_store_segment(&self.unclassified.value) {
            out.push(at(
                &self.unclassified,
                format!(
                    "unclassified folder '{}': {reason}",
                    self.unclassified.value
                ),
                Some("use a plain folder name such as _Klaerung"),
            ));
        }
        out.sort_by_key(|p| (p.line, p.column));
        out
    }

    fn signing_problems(&self, base_dir: &Path, out: &mut Vec<Problem>) {
        let Some(signing) = &self.signing else {
            out.push(Problem {
                line: 0,
                column: 0,
                message: "no signing section".into(),
                hint: Some(
                    "give signing.certificate and signing.key, or `signing: {demo: true}` for trials"
                        .into(),
                ),
            });
            return;
        };
        let s = &signing.value;
        if s.demo {
            if s.certificate.is_some() || s.key.is_some() {
                out.push(at(
                    signing,
                    "signing.demo is true but a certificate or key is also given".into(),
                    Some("remove demo: true to sign with the given key"),
                ));
            }
            if self.protection.integrity >= Level::Hoch {
                out.push(at(
                    signing,
                    format!(
                        "a demo identity is refused at protection '{}'",
                        self.protection.integrity
                    ),
                    Some("TR-03138 A.AM.IN.H.1: protection hoch needs a real signing certificate"),
                ));
            }
            return;
        }
        for (what, file) in [("certificate", &s.certificate), ("key", &s.key)] {
            match file {
                None => out.push(at(
                    signing,
                    format!("signing.{what} is missing"),
                    Some("give both certificate and key, or demo: true"),
                )),
                Some(f) => check_file(base_dir, f, &format!("signing.{what}"), out),
            }
        }
        for f in &s.chain {
            check_file(base_dir, f, "signing.chain entry", out);
        }
    }

    fn efile_problems(&self, out: &mut Vec<Problem>) {
        let mut seen = BTreeMap::new();
        for rule in &self.efiles {
            let id = &rule.id.value;
            if id.trim().is_empty() {
                out.push(at(&rule.id, "e-file id is empty".into(), None));
            }
            if let Some(first_line) = seen.insert(id.clone(), rule.id.referenced.line()) {
                out.push(at(
                    &rule.id,
                    format!("e-file id '{id}' is used twice (first on line {first_line})"),
                    Some("ids must be unique: the store and index refer to them"),
                ));
            }
            for pattern in &rule.matching.regex {
                if let Err(e) = crate::classify::compile_pattern(&pattern.value) {
                    out.push(at(
                        pattern,
                        format!("e-file '{id}': bad regex: {}", first_line(&e.to_string())),
                        Some("regex syntax as in the Rust regex crate; escape \\ inside '...'"),
                    ));
                }
            }
            if rule.matching.all.is_empty()
                && rule.matching.any.is_empty()
                && rule.matching.regex.is_empty()
            {
                out.push(at(
                    &rule.id,
                    format!("e-file '{id}' has no match terms (all, any or regex)"),
                    Some("an entry without terms would match every document"),
                ));
            }
            for (name, pattern) in &rule.fields {
                match crate::classify::compile_pattern(&pattern.value) {
                    Err(e) => out.push(at(
                        pattern,
                        format!(
                            "e-file '{id}': field '{name}': bad regex: {}",
                            first_line(&e.to_string())
                        ),
                        Some("regex syntax as in the Rust regex crate; escape \\ inside '...'"),
                    )),
                    Ok(re) if re.captures_len() < 2 => out.push(at(
                        pattern,
                        format!("e-file '{id}': field '{name}': the regex has no capture group"),
                        Some("put the value in parentheses: 'Aktenzeichen:?\\s*(\\S+)'"),
                    )),
                    Ok(_) => {}
                }
            }
            for req in &rule.require {
                if !rule.fields.contains_key(&req.value) {
                    out.push(at(
                        req,
                        format!(
                            "e-file '{id}': require names field '{}' that no regex defines",
                            req.value
                        ),
                        Some("add it under fields: or remove it from require:"),
                    ));
                }
            }
            for field in template_fields(&rule.path.value) {
                if !rule.fields.contains_key(&field)
                    && !BUILTIN_PATH_FIELDS.contains(&field.as_str())
                {
                    out.push(at(
                        &rule.path,
                        format!(
                            "e-file '{id}': path uses {{{field}}} but no regex under fields: defines it"
                        ),
                        Some(&format!(
                            "define fields.{field}, or use one of {}",
                            BUILTIN_PATH_FIELDS.join(", ")
                        )),
                    ));
                }
            }
            if rule.path.value.trim().is_empty() {
                out.push(at(
                    &rule.path,
                    format!("e-file '{id}': path is empty"),
                    None,
                ));
            }
            for seg in rule.path.value.split('/') {
                if seg == ".." || seg == "." {
                    out.push(at(
                        &rule.path,
                        format!("e-file '{id}': path contains '{seg}'"),
                        Some("paths stay inside the store"),
                    ));
                }
            }
            if rule.path.value.starts_with('/') {
                out.push(at(
                    &rule.path,
                    format!("e-file '{id}': path is absolute"),
                    Some("paths are relative to the store folder"),
                ));
            }
        }
    }

    /// The visual-QA sample share in percent: the profile's, or the protection level's default.
    pub fn sample_percent(&self) -> f64 {
        self.qa
            .sample_percent
            .unwrap_or_else(|| self.protection.integrity.default_sample_percent())
    }
}

/// Fields every path template may use besides the entry's own index fields.
pub const BUILTIN_PATH_FIELDS: &[&str] = &["year", "month", "batch", "efile"];

fn check_file(base_dir: &Path, f: &Spanned<PathBuf>, what: &str, out: &mut Vec<Problem>) {
    let full = base_dir.join(&f.value);
    if !full.is_file() {
        out.push(at(
            f,
            format!("{what} {} does not exist", full.display()),
            Some("paths are relative to the profile's folder; make a trial identity with `resiscan keygen`"),
        ));
    }
}

fn check_store_segment(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("empty");
    }
    if s.contains('/') || s.contains('\\') || s == ".." || s == "." {
        return Err("must be one folder name");
    }
    Ok(())
}

/// The tessdata folder Tesseract will use: the profile's, `TESSDATA_PREFIX`, or Debian's.
pub fn tessdata_dir(configured: Option<PathBuf>) -> Option<PathBuf> {
    if let Some(dir) = configured {
        return Some(dir);
    }
    if let Some(prefix) = std::env::var_os("TESSDATA_PREFIX") {
        return Some(PathBuf::from(prefix));
    }
    [
        "/usr/share/tesseract-ocr/5/tessdata",
        "/usr/share/tesseract-ocr/4.00/tessdata",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name: test
version: 2
organisation: "Stadt Leipzig"
protection: {integrity: normal}
signing: {demo: true}
efiles:
  - id: a
    title: A
    match: {all: ["Rechnung"]}
    fields:
      nr: 'Nr\.?\s*(\d+)'
    require: [nr]
    path: "10 A/{nr}"
"#;

    #[test]
    fn a_good_profile_parses_with_defaults() {
        let p = parse(GOOD).unwrap();
        assert_eq!(p.name.value, "test");
        assert_eq!(p.scan.min_dpi, 300);
        assert_eq!(p.unclassified.value, "_Klaerung");
        assert_eq!(p.efiles[0].path.referenced.line(), 14);
        assert!(
            p.problems(Path::new("."))
                .iter()
                .all(|x| !x.message.contains("e-file"))
        );
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let bad = GOOD.replace("version: 2", "version: 2\nprotecton: x");
        let e = parse(&bad).unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        assert_eq!(e.line, 4, "{e}");
    }

    #[test]
    fn semantic_problems_are_all_reported_with_lines() {
        let bad = GOOD
            .replace(r#"'Nr\.?\s*(\d+)'"#, r#"'Nr(\d+'"#)
            .replace("require: [nr]", "require: [az]")
            .replace("{nr}", "{kz}");
        let p = parse(&bad).unwrap();
        let problems = p.problems(Path::new("."));
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert!(
            problems.iter().any(|p| p.message.contains("bad regex")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.message.contains("'az'")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.message.contains("{kz}")),
            "{problems:?}"
        );
        assert!(
            lines.contains(&12) && lines.contains(&13) && lines.contains(&14),
            "{lines:?}"
        );
    }

    #[test]
    fn demo_identity_is_refused_at_hoch() {
        let bad = GOOD.replace("integrity: normal", "integrity: hoch");
        let problems = parse(&bad).unwrap().problems(Path::new("."));
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("demo identity is refused"))
        );
    }

    #[test]
    fn template_fields_are_found() {
        assert_eq!(template_fields("20/{az}/x{ year }"), vec!["az", "year"]);
        assert!(template_fields("plain").is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn parsing_arbitrary_text_never_panics(text in "\\PC{0,400}") {
            if let Ok(p) = parse(&text) {
                let _ = p.problems(Path::new("/nonexistent"));
            }
        }

        #[test]
        fn mutated_good_profiles_never_panic(pos in 0usize..400, byte in proptest::prelude::any::<u8>()) {
            let mut bytes = GOOD.as_bytes().to_vec();
            let i = pos % bytes.len();
            bytes[i] = byte;
            if let Ok(text) = std::str::from_utf8(&bytes)
                && let Ok(p) = parse(text)
            {
                let _ = p.problems(Path::new("/nonexistent"));
            }
        }
    }
}
