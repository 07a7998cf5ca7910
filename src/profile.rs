//! The profile: one YAML file per kind of work (a department, a mail stream), SPEC §3.
//!
//! Loading is two-phase. First the YAML tree is checked against the profile's shape
//! ([`schema`]): unknown keys, wrong types, missing keys and out-of-range numbers are all
//! listed, each with its line and a hint. Then serde builds the typed [`Profile`] and
//! [`Profile::problems`] checks the meaning — regexes that compile, path templates that only use
//! defined fields and stay inside the store, key files that exist and load — again reporting
//! every problem at once, so `resiscan profile check` shows a profile writer all their mistakes
//! in one go. Serde ignores unknown keys on purpose: the shape check reports them, and the
//! meaning can still be checked in the same run.

pub(crate) mod schema;

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
pub struct ScanSettings {
    /// Minimum resolution in dpi; below it a page fails the gate. Default 300 (TR-03138 A.SC.3
    /// recommends 300 dpi for text).
    #[serde(default = "default_min_dpi", deserialize_with = "whole_number")]
    pub min_dpi: u32,
    /// Resolution to assume when a file does not carry one. Default: none — such a file fails.
    #[serde(default, deserialize_with = "optional_whole_number")]
    pub assume_dpi: Option<u32>,
    /// Default: keep.
    #[serde(default = "default_blank_policy")]
    pub blank_pages: BlankPolicy,
    /// Largest page the gate decodes, in megapixels; a larger header is refused as a
    /// decompression bomb. Default 150 (A3 at 600 dpi is ~70).
    #[serde(default = "default_max_megapixels", deserialize_with = "whole_number")]
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
pub struct OcrSettings {
    /// Tesseract languages, first one is the document language (`/Lang`). Default [deu].
    /// A single text is split at `+` and white space, as Tesseract writes it (`deu+eng`).
    #[serde(default = "default_languages", deserialize_with = "languages")]
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

/// A whole number however the profile writer typed it: `300`, `300.0` or `"300"`. The shape
/// check has already said what is wrong with anything else.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    use serde::de::Error as _;
    match schema::Node::deserialize(d)? {
        schema::Node::Int(i) => u32::try_from(i).map_err(|_| D::Error::custom("out of range")),
        schema::Node::Float(f) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => {
            Ok(f as u32)
        }
        schema::Node::Str(s) => {
            schema::whole_number_text(&s).ok_or_else(|| D::Error::custom("not a whole number"))
        }
        _ => Err(D::Error::custom("not a whole number")),
    }
}

fn optional_whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    use serde::de::Error as _;
    match schema::Node::deserialize(d)? {
        schema::Node::Null => Ok(None),
        schema::Node::Int(i) => u32::try_from(i)
            .map(Some)
            .map_err(|_| D::Error::custom("out of range")),
        schema::Node::Float(f) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => {
            Ok(Some(f as u32))
        }
        schema::Node::Str(s) => schema::whole_number_text(&s)
            .map(Some)
            .ok_or_else(|| D::Error::custom("not a whole number")),
        _ => Err(D::Error::custom("not a whole number")),
    }
}

/// `languages: [deu, eng]`, or one text: `deu`, `deu+eng`.
fn languages<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Spanned<Vec<String>>, D::Error> {
    use serde::de::Error as _;
    let node = Spanned::<schema::Node>::deserialize(d)?;
    let text = |n: &schema::Node| match n {
        schema::Node::Str(s) => Some(s.clone()),
        schema::Node::Int(i) => Some(i.to_string()),
        _ => None,
    };
    let list = match &node.value {
        schema::Node::Seq(items) => items
            .iter()
            .map(|i| text(&i.value).ok_or_else(|| D::Error::custom("not a language code")))
            .collect::<Result<Vec<_>, _>>()?,
        n => text(n)
            .ok_or_else(|| D::Error::custom("not a language code"))?
            .split(|c: char| c == '+' || c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    };
    Ok(Spanned::new(list, node.referenced, node.defined))
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
    /// An RFC 3161 timestamp authority: every signature gets a signature timestamp
    /// (PAdES B-T, CAdES-T; SPEC §7).
    #[serde(default)]
    pub timestamp: Option<Spanned<TimestampSettings>>,
    /// `embed`: every PDF gets a DSS (the chains and `crls`) appended after its signature,
    /// PAdES B-LT (SPEC §7); `none` (the default) leaves it out.
    #[serde(default)]
    pub revocation: Option<Spanned<Revocation>>,
    /// CRLs (PEM or DER) to embed with `revocation: embed`, each signed by an issuer in the
    /// signer's or the TSA's chain.
    #[serde(default)]
    pub crls: Vec<Spanned<PathBuf>>,
}

/// `signing.revocation` (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Revocation {
    None,
    Embed,
}

/// `signing.timestamp` (SPEC §7).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TimestampSettings {
    /// The TSA's RFC 3161 HTTP(S) URL.
    pub url: Spanned<String>,
    /// The TSA's trust anchor (its root certificate), PEM or DER; replies are checked on
    /// arrival against it.
    pub trust: Spanned<PathBuf>,
    /// Seconds one attempt may take (connect, send, reply); default 10.
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    /// Further attempts after a failed one; default 2.
    #[serde(default, deserialize_with = "optional_whole_number")]
    pub retries: Option<u32>,
}

/// Term lists of one file-plan entry. Terms match case-insensitively and umlaut-aware.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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
pub struct Retention {
    #[serde(deserialize_with = "whole_number")]
    pub years: u32,
}

/// One entry of the file plan (Aktenplan): an e-file and the rule that routes to it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EfileRule {
    pub id: Spanned<String>,
    #[serde(default)]
    pub title: String,
    #[serde(rename = "match", default)]
    pub matching: MatchRule,
    /// Index fields as written: name -> regex with one capture group (read from the text), or
    /// `{text: REGEX, barcode: REGEX}` (SPEC §6). Split into `fields` and `barcode_fields`
    /// when the profile is read.
    #[serde(default, rename = "fields")]
    pub field_specs: BTreeMap<String, Spanned<FieldSpec>>,
    /// Index fields read from the text: name -> regex with one capture group.
    #[serde(skip)]
    pub fields: BTreeMap<String, Spanned<String>>,
    /// Index fields read from a barcode on the document's pages: name -> regex with one
    /// capture group, matched against each barcode's whole text. A barcode value wins over
    /// the text's.
    #[serde(skip)]
    pub barcode_fields: BTreeMap<String, Spanned<String>>,
    /// Fields that must be found for the entry to match.
    #[serde(default)]
    pub require: Vec<Spanned<String>>,
    /// Store path template; `{field}` is replaced by the sanitised field value.
    pub path: Spanned<String>,
    #[serde(default)]
    pub retention: Option<Retention>,
}

/// One index field's patterns: the plain form `az: 'REGEX'` is `text` only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub barcode: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for FieldSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FieldSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a regex, or {text: REGEX, barcode: REGEX}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FieldSpec, E> {
                Ok(FieldSpec {
                    text: Some(unspanned(v.to_string())),
                    barcode: None,
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FieldSpec, A::Error> {
                let mut out = FieldSpec::default();
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "text" => out.text = Some(map.next_value()?),
                        "barcode" => out.barcode = Some(map.next_value()?),
                        other => {
                            return Err(serde::de::Error::unknown_field(
                                other,
                                &["text", "barcode"],
                            ));
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

/// `separation:` (SPEC §6): every batch entry is a stack that separator sheets split.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct SeparationSettings {
    /// What starts a new document: `patch_t`, `patch_2`, `patch_3`, `cover`, `barcode:TEXT`.
    #[serde(default)]
    pub split_on: Vec<Spanned<String>>,
    /// Keep separator sheets in the PDF (default false: they leave it; the note lists each).
    #[serde(default)]
    pub keep_sheets: bool,
}

/// One kind of separator sheet, as `split_on` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitOn {
    Patch(crate::barcode::patch::PatchCode),
    Cover,
    /// A sheet whose barcode reads exactly this text.
    Barcode(String),
}

impl SplitOn {
    /// `None` for a word `split_on` does not know (a problem at its line).
    pub fn parse(word: &str) -> Option<SplitOn> {
        use crate::barcode::patch::PatchCode;
        Some(match word {
            "patch_t" => SplitOn::Patch(PatchCode::PatchT),
            "patch_2" => SplitOn::Patch(PatchCode::Patch2),
            "patch_3" => SplitOn::Patch(PatchCode::Patch3),
            "cover" => SplitOn::Cover,
            w => match w.strip_prefix("barcode:") {
                Some(text) if !text.is_empty() => SplitOn::Barcode(text.to_string()),
                _ => return None,
            },
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct QaSettings {
    /// Visual-check sample in percent of a batch's documents; default by protection level:
    /// 5 / 25 / 100.
    #[serde(default)]
    pub sample_percent: Option<f64>,
}

/// A profile as written in its YAML file.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Profile {
    pub name: Spanned<String>,
    #[serde(default = "default_version", deserialize_with = "whole_number")]
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
    /// Stacks and separator sheets (SPEC §6); `None`: every entry is one document.
    #[serde(default)]
    pub separation: Option<SeparationSettings>,
    /// Where some keys that have no span of their own stand in the file, for problems.
    #[serde(skip)]
    located: Located,
}

/// Line and column of keys whose values are not [`Spanned`] (0, 0 when not in the file).
#[derive(Debug, Clone, Default)]
struct Located {
    integrity: (u64, u64),
    efiles: (u64, u64),
    separation: (u64, u64),
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

/// Every problem found, for `Err` results; prints one problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&list(&self.0))
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    #[error("cannot read profile {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "profile {} has {}:\n{}{}",
        path.display(),
        match problems.len() { 1 => "1 problem".to_string(), n => format!("{n} problems") },
        list(problems),
        if *meaning_unchecked {
            "\n  (regexes, paths and key files are checked once these are fixed)"
        } else {
            ""
        }
    )]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
        /// The structure was too broken to check the meaning as well.
        meaning_unchecked: bool,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {}", p.to_string().replace('\n', "\n  ")))
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

/// A profile file read and parsed, with the problems found so far; the config phase adds
/// its own (see `config::configure`) before [`Draft::finish`] says whether it is usable.
#[derive(Debug)]
pub struct Draft {
    /// `None` when the structure was too broken to read the profile at all.
    pub profile: Option<Profile>,
    pub problems: Vec<Problem>,
    pub path: PathBuf,
    pub base_dir: PathBuf,
    sha256: String,
}

impl Draft {
    /// Reads and parses the profile at `path` and checks its own meaning
    /// ([`Profile::problems`]).
    pub fn read(path: &Path) -> Result<Draft, ProfileError> {
        let bytes = std::fs::read(path).map_err(|cause| ProfileError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|e| ProfileError::Invalid {
            path: path.to_path_buf(),
            problems: vec![not_utf8(&bytes, &e)],
            meaning_unchecked: false,
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let (profile, mut problems) = read(text);
        if let Some(p) = &profile {
            problems.extend(p.check(&base_dir));
        }
        Ok(Draft {
            profile,
            problems,
            path: path.to_path_buf(),
            base_dir,
            sha256: crate::crypto::sha256_hex(&bytes),
        })
    }

    /// The profile, if no problem was found; else every problem, in file order.
    pub fn finish(self) -> Result<LoadedProfile, ProfileError> {
        let mut problems = self.problems;
        sort_problems(&mut problems);
        match self.profile {
            Some(profile) if problems.is_empty() => Ok(LoadedProfile {
                profile,
                path: self.path,
                base_dir: self.base_dir,
                sha256: self.sha256,
            }),
            Some(_) => Err(ProfileError::Invalid {
                path: self.path,
                problems,
                meaning_unchecked: false,
            }),
            None => Err(ProfileError::Invalid {
                path: self.path,
                problems,
                meaning_unchecked: true,
            }),
        }
    }
}

impl LoadedProfile {
    /// A path from the profile, resolved against the profile's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        self.base_dir.join(p)
    }
}

/// A profile saved in another encoding (Latin-1 from an old editor): say where.
fn not_utf8(bytes: &[u8], e: &std::str::Utf8Error) -> Problem {
    let before = &bytes[..e.valid_up_to()];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() as u64 + 1;
    Problem {
        line,
        column,
        message: "the file is not UTF-8 text".into(),
        hint: Some(
            "save the profile as UTF-8 (umlauts from a Windows editor are often Latin-1)".into(),
        ),
    }
}

/// Problems in file order; those without a line (a missing section) at the end.
fn sort_problems(problems: &mut [Problem]) {
    problems.sort_by_key(|p| (p.line == 0, p.line, p.column));
}

/// Parses profile YAML; the error lists every structural problem with its location.
pub fn parse(text: &str) -> Result<Profile, Problems> {
    match read(text) {
        (Some(profile), problems) if problems.is_empty() => Ok(profile),
        (_, mut problems) => {
            sort_problems(&mut problems);
            Err(Problems(problems))
        }
    }
}

/// The typed profile when serde could build one, and every structural problem.
fn read(text: &str) -> (Option<Profile>, Vec<Problem>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let tree = match schema::read_tree(text) {
        Ok(t) => t,
        Err(p) => return (None, vec![p]),
    };
    let mut problems = schema::structure_problems(&tree);
    let profile = match serde_saphyr::from_str_with_options::<Profile>(text, schema::yaml_options())
    {
        Ok(mut p) => {
            for rule in &mut p.efiles {
                rule.split_field_specs();
            }
            p.located = Located {
                integrity: schema::key_location(&tree, &["protection", "integrity"]),
                efiles: schema::key_location(&tree, &["efiles"]),
                separation: schema::key_location(&tree, &["separation"]),
            };
            Some(p)
        }
        Err(e) => {
            // The shape check should have found it; if not, serde's own words are better
            // than nothing.
            if problems.is_empty() {
                let mut p = schema::yaml_error_problem(&e, text);
                p.message = p.message.trim_start_matches("not valid YAML: ").to_string();
                problems.push(p);
            }
            None
        }
    };
    (profile, problems)
}

/// A problem at the place `s` was read from.
pub(crate) fn at<T>(s: &Spanned<T>, message: String, hint: Option<&str>) -> Problem {
    Problem {
        line: s.referenced.line(),
        column: s.referenced.column(),
        message,
        hint: hint.map(str::to_string),
    }
}

impl EfileRule {
    /// Fills `fields` and `barcode_fields` from `field_specs`; a plain `az: 'REGEX'` has no
    /// span of its own inside the spec, so it takes the spec's.
    pub(crate) fn split_field_specs(&mut self) {
        self.fields.clear();
        self.barcode_fields.clear();
        for (name, spec) in &self.field_specs {
            let located = |s: &Spanned<String>| {
                if s.referenced == serde_saphyr::Location::UNKNOWN {
                    Spanned::new(s.value.clone(), spec.referenced, spec.defined)
                } else {
                    s.clone()
                }
            };
            if let Some(t) = &spec.value.text {
                self.fields.insert(name.clone(), located(t));
            }
            if let Some(b) = &spec.value.barcode {
                self.barcode_fields.insert(name.clone(), located(b));
            }
        }
    }

    /// Whether the rule defines the field, from the text or a barcode.
    pub fn defines_field(&self, name: &str) -> bool {
        self.fields.contains_key(name) || self.barcode_fields.contains_key(name)
    }
}

impl Profile {
    /// The separator kinds `separation.split_on` lists (unknown words left out: they are
    /// problems of the profile).
    pub fn split_on(&self) -> Vec<SplitOn> {
        self.separation
            .iter()
            .flat_map(|s| &s.split_on)
            .filter_map(|w| SplitOn::parse(w.value.trim()))
            .collect()
    }

    /// Whether pages must be searched for barcodes or patch codes at all: only with
    /// `separation` or a field with a `barcode` pattern. Other profiles pay nothing.
    pub fn reads_barcodes(&self) -> bool {
        self.separation.is_some() || self.efiles.iter().any(|r| !r.barcode_fields.is_empty())
    }

    fn separation_problems(&self, out: &mut Vec<Problem>) {
        let Some(sep) = &self.separation else { return };
        if sep.split_on.is_empty() {
            out.push(Problem {
                line: self.located.separation.0,
                column: self.located.separation.1,
                message: "separation.split_on is empty: nothing would split a stack".into(),
                hint: Some(
                    "list what starts a document, e.g. split_on: [patch_t, cover], or remove \
                     separation:"
                        .into(),
                ),
            });
        }
        for w in &sep.split_on {
            if SplitOn::parse(w.value.trim()).is_none() {
                out.push(at(
                    w,
                    format!(
                        "separation.split_on '{}' is not one of patch_t, patch_2, patch_3, \
                         cover, barcode:TEXT",
                        w.value
                    ),
                    Some("e.g. split_on: [patch_t, cover, \"barcode:PATCHT\"]"),
                ));
            }
        }
    }

    /// A problem at the `protection: {integrity: …}` value (line 0 when not in the file).
    pub(crate) fn at_integrity(&self, message: String, hint: &str) -> Problem {
        Problem {
            line: self.located.integrity.0,
            column: self.located.integrity.1,
            message,
            hint: Some(hint.to_string()),
        }
    }

    /// The problems of the profile's own meaning, in file order: empty or duplicate names,
    /// unsupported values, missing Tesseract models. What needs the stage objects (regexes,
    /// path templates, the signing identity, the protection level's rules) is checked by the
    /// config phase, which builds them (`config::problems`).
    pub fn problems(&self, base_dir: &Path) -> Vec<Problem> {
        let mut out = self.check(base_dir);
        sort_problems(&mut out);
        out
    }

    fn check(&self, base_dir: &Path) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.name.value.trim().is_empty() {
            out.push(at(
                &self.name,
                "name is empty".into(),
                Some("name the kind of work, e.g. name: stadtkasse-vollstreckung; every transfer note records it"),
            ));
        }
        if !self.pdf.pdfa.value.trim().eq_ignore_ascii_case("2b") {
            out.push(at(
                &self.pdf.pdfa,
                format!(
                    "pdf.pdfa '{}' is not supported: resiscan writes PDF/A-2b only",
                    self.pdf.pdfa.value
                ),
                Some("write pdfa: 2b, or leave the pdf section out (2b is the default)"),
            ));
        }
        self.language_problems(base_dir, &mut out);
        self.efile_problems(&mut out);
        self.separation_problems(&mut out);
        out
    }

    fn language_problems(&self, base_dir: &Path, out: &mut Vec<Problem>) {
        let langs = &self.ocr.languages;
        if langs.value.is_empty() {
            out.push(at(
                langs,
                "ocr.languages is empty".into(),
                Some("name at least one Tesseract language, e.g. [deu]"),
            ));
        }
        let dir = tessdata_dir(self.ocr.tessdata.as_ref().map(|t| base_dir.join(&t.value)));
        if let (Some(t), Some(d)) = (&self.ocr.tessdata, &dir)
            && !d.is_dir()
        {
            out.push(at(
                t,
                format!("ocr.tessdata {} is not a folder", d.display()),
                Some("relative paths are relative to the profile's folder"),
            ));
            return;
        }
        if self.ocr.detect_orientation
            && let Some(d) = &dir
            && !d.join("osd.traineddata").exists()
        {
            // Without it every page that needs turning would quarantine its document.
            let message = format!(
                "ocr.detect_orientation needs Tesseract's osd.traineddata, which is not in {}",
                d.display()
            );
            let hint = "install it (Debian: apt-get install tesseract-ocr-osd), or set \
                        ocr.detect_orientation: false";
            out.push(match &self.ocr.tessdata {
                Some(t) => at(t, message, Some(hint)),
                None => at(langs, message, Some(hint)),
            });
        }
        for lang in &langs.value {
            if lang.is_empty()
                || !lang
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                out.push(at(
                    langs,
                    format!("'{lang}' is not a Tesseract language code"),
                    Some("codes look like deu, eng, frk"),
                ));
            } else if let Some(dir) = &dir
                && !dir.join(format!("{lang}.traineddata")).exists()
            {
                out.push(at(
                    langs,
                    format!("no Tesseract model for '{lang}' in {}", dir.display()),
                    Some(&format!(
                        "install it (Debian: apt-get install tesseract-ocr-{lang}), or remove it from ocr.languages"
                    )),
                ));
            }
        }
    }

    fn efile_problems(&self, out: &mut Vec<Problem>) {
        if self.efiles.is_empty() {
            out.push(Problem {
                line: self.located.efiles.0,
                column: self.located.efiles.1,
                message: "the file plan (efiles) is empty: every document would go to the \
                          unclassified folder"
                    .into(),
                hint: Some(
                    "add at least one entry: efiles: [{id: …, match: {all: […]}, path: …}]".into(),
                ),
            });
        }
        let mut seen = BTreeMap::new();
        for rule in &self.efiles {
            let id = &rule.id.value;
            if id.trim().is_empty() {
                out.push(at(
                    &rule.id,
                    "e-file id is empty".into(),
                    Some("give each entry a short unique id, e.g. id: vollstreckung"),
                ));
            }
            if let Some(first_line) = seen.insert(id.trim().to_string(), rule.id.referenced.line())
            {
                out.push(at(
                    &rule.id,
                    format!("e-file id '{id}' is used twice (first on line {first_line})"),
                    Some("ids must be unique: the store and index refer to them"),
                ));
            }
            for (list, name) in [
                (&rule.matching.all, "all"),
                (&rule.matching.any, "any"),
                (&rule.matching.none, "none"),
            ] {
                if list.iter().any(|t| t.trim().is_empty()) {
                    out.push(at(
                        &rule.id,
                        format!("e-file '{id}': match.{name} has an empty term"),
                        Some("remove the \"\" from the list: an empty term matches nothing"),
                    ));
                }
            }
            let has_terms = |list: &[String]| list.iter().any(|t| !t.trim().is_empty());
            if !has_terms(&rule.matching.all)
                && !has_terms(&rule.matching.any)
                && rule.matching.regex.is_empty()
            {
                out.push(at(
                    &rule.id,
                    format!("e-file '{id}' has no match terms (all, any or regex)"),
                    Some("an entry without terms would match every document"),
                ));
            }
            for (name, spec) in &rule.field_specs {
                if spec.value.text.is_none() && spec.value.barcode.is_none() {
                    out.push(at(
                        spec,
                        format!("e-file '{id}': field '{name}' has neither text nor barcode"),
                        Some("write e.g. az: {text: 'AZ:?\\s*(\\S+)', barcode: '^(\\S+)$'}"),
                    ));
                }
            }
            for req in &rule.require {
                if !rule.defines_field(&req.value) {
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
        }
    }

    /// The visual-QA sample share in percent: the profile's, or the protection level's default.
    pub fn sample_percent(&self) -> f64 {
        self.qa
            .sample_percent
            .unwrap_or_else(|| self.protection.integrity.default_sample_percent())
    }
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
        assert!(e.0[0].message.contains("unknown key 'protecton'"), "{e}");
        assert_eq!(e.0[0].line, 4, "{e}");
    }

    #[test]
    fn semantic_problems_are_all_reported_with_lines() {
        let bad = GOOD
            .replace(r#"'Nr\.?\s*(\d+)'"#, r#"'Nr(\d+'"#)
            .replace("require: [nr]", "require: [az]")
            .replace("{nr}", "{kz}");
        let p = parse(&bad).unwrap();
        let problems = crate::config::problems(&p, Path::new("."));
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
        let problems = crate::config::problems(&parse(&bad).unwrap(), Path::new("."));
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("demo identity is refused"))
        );
    }

    fn problems_of(text: &str) -> Vec<String> {
        match read(text) {
            (Some(p), mut problems) => {
                problems.extend(crate::config::problems(&p, Path::new(".")));
                problems.iter().map(|p| p.to_string()).collect()
            }
            (None, problems) => problems.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn with_field(regex: &str) -> String {
        GOOD.replace(r#"'Nr\.?\s*(\d+)'"#, &format!("'{regex}'"))
    }

    fn with_path(path: &str) -> String {
        GOOD.replace(r#""10 A/{nr}""#, &format!("\"{path}\""))
    }

    #[test]
    fn the_shape_check_and_serde_know_the_same_keys() {
        // Every key serde writes for a full profile is one the shape check knows, and the
        // other way round: the two descriptions of SPEC §3 cannot drift apart unnoticed.
        let full = GOOD.to_string()
            + "    retention: {years: 10}\nunit: u\nprocedure_doc: p\nscan: {min_dpi: 300, assume_dpi: 300, blank_pages: drop, max_megapixels: 150}\nocr: {languages: [deu], min_confidence: 60, detect_orientation: true, tessdata: /tmp}\npdf: {pdfa: 2b}\nunclassified: _K\nqa: {sample_percent: 5}\nseparation: {split_on: [patch_t], keep_sheets: true}\n";
        let full = full.replace(
            "signing: {demo: true}",
            "signing: {certificate: c, key: k, chain: [x], demo: false, timestamp: {url: u, trust: t, timeout_seconds: 5, retries: 1}, revocation: embed, crls: [c.crl]}",
        );
        let p = parse(&full).unwrap();
        let json = serde_json::to_value(&p).unwrap();
        fn compare(v: &serde_json::Value, keys: &[schema::Key], at: &str) {
            let obj = v
                .as_object()
                .unwrap_or_else(|| panic!("{at} is not an object"));
            let mut serde_keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            let mut schema_keys: Vec<&str> = keys.iter().map(|k| k.name).collect();
            serde_keys.sort();
            schema_keys.sort();
            assert_eq!(serde_keys, schema_keys, "keys of {at}");
            for k in keys {
                match &k.shape {
                    schema::Shape::Record(inner) => compare(&obj[k.name], inner, k.name),
                    schema::Shape::List(schema::Shape::Record(inner)) => {
                        compare(&obj[k.name][0], inner, k.name)
                    }
                    _ => {}
                }
            }
        }
        compare(&json, schema::PROFILE, "profile");
    }

    #[test]
    fn separation_and_barcode_fields_parse_next_to_the_plain_form() {
        let text = GOOD.replace(
            "      nr: 'Nr\\.?\\s*(\\d+)'\n",
            "      nr: 'Nr\\.?\\s*(\\d+)'\n      az: {text: 'AZ:?\\s*(VB-\\d+)', barcode: '^(VB-\\d+)$'}\n      bc: {barcode: '^K(\\d+)$'}\n",
        ) + "separation:\n  split_on: [patch_t, patch_2, cover, \"barcode:PATCHT\"]\n  keep_sheets: true\n";
        let p = parse(&text).unwrap();
        let rule = &p.efiles[0];
        assert_eq!(rule.fields.keys().collect::<Vec<_>>(), ["az", "nr"]);
        assert_eq!(rule.barcode_fields.keys().collect::<Vec<_>>(), ["az", "bc"]);
        assert_eq!(
            rule.fields["nr"].referenced.line(),
            12,
            "plain form keeps its line"
        );
        assert_eq!(rule.barcode_fields["bc"].referenced.line(), 14);
        assert_eq!(
            p.split_on(),
            [
                SplitOn::Patch(crate::barcode::patch::PatchCode::PatchT),
                SplitOn::Patch(crate::barcode::patch::PatchCode::Patch2),
                SplitOn::Cover,
                SplitOn::Barcode("PATCHT".into()),
            ]
        );
        assert!(p.separation.as_ref().unwrap().keep_sheets);
        assert!(p.reads_barcodes());
        assert!(
            !parse(GOOD).unwrap().reads_barcodes(),
            "no separation, no barcode field"
        );
        assert!(problems_of(&text).is_empty(), "{:?}", problems_of(&text));
    }

    #[test]
    fn separation_and_field_mistakes_have_their_lines() {
        let text = GOOD.replace(
            "    require: [nr]\n",
            "      az: {txt: 'AZ (x)'}\n      bc: {barcode: '^K\\d+$'}\n    require: [nr]\n",
        ) + "separation:\n  split_on: [patch_t, patch_x, \"barcode:\"]\n  keep_sheets: yes please\n";
        let all = problems_of(&text).join("\n");
        assert!(all.contains("line 13") && all.contains("txt"), "{all}");
        assert!(
            all.contains("line 19") && all.contains("keep_sheets"),
            "{all}"
        );
        let text = GOOD.replace(
            "    require: [nr]\n",
            "      bc: {barcode: '^K\\d+$'}\n    require: [nr]\n",
        ) + "separation:\n  split_on: [patch_t, patch_x, \"barcode:\"]\n";
        let all = problems_of(&text).join("\n");
        assert!(
            all.contains("line 17") && all.contains("'patch_x' is not one of"),
            "{all}"
        );
        assert!(all.contains("'barcode:' is not one of"), "{all}");
        assert!(
            all.contains("line 13") && all.contains("field 'bc'") && all.contains("capture"),
            "{all}"
        );
        let empty = GOOD.to_string() + "separation: {split_on: []}\n";
        let all = problems_of(&empty).join("\n");
        assert!(
            all.contains("line 15") && all.contains("split_on is empty"),
            "{all}"
        );
    }

    #[test]
    fn structural_and_semantic_mistakes_are_listed_together() {
        let bad = GOOD
            .replace("version: 2", "versoin: 2")
            .replace("require: [nr]", "require: [nr, az]");
        let all = problems_of(&bad);
        assert_eq!(all.len(), 2, "{all:#?}");
        assert!(all[0].contains("line 3") && all[0].contains("did you mean 'version'"));
        assert!(all[1].contains("'az'"), "{all:#?}");
        assert!(parse(&bad).is_err(), "an unknown key must fail parse");
    }

    #[test]
    fn look_ahead_and_back_references_are_explained_with_field_and_line() {
        let p = problems_of(&with_field(r"Nr(?=\d)(\d+)"));
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].starts_with("line 12, column 11: e-file 'a': field 'nr'"),
            "{}",
            p[0]
        );
        assert!(
            p[0].contains("look-around") && p[0].contains("(at '(?=')"),
            "{}",
            p[0]
        );
        assert!(
            p[0].contains("hint: the Rust regex crate has no look-ahead"),
            "{}",
            p[0]
        );
        let p = problems_of(&with_field(r"(\d)\1"));
        assert!(p[0].contains("back-references"), "{}", p[0]);
    }

    #[test]
    fn a_field_regex_needs_exactly_one_group() {
        let none = problems_of(&with_field(r"Nr\d+"));
        assert!(none[0].contains("no capture group"), "{none:?}");
        let two = problems_of(&with_field(r"(Nr)\s*(\d+)"));
        assert!(two[0].contains("2 capture groups"), "{two:?}");
        assert!(problems_of(&with_field(r"(?:Nr|No)\s*(\d+)")).is_empty());
    }

    #[test]
    fn path_templates_that_filing_would_refuse_or_change_are_problems() {
        for (path, expect) in [
            ("10 A/{nr", "not closed"),
            ("10 A/{}", "empty {}"),
            ("10 A/ .. /{nr}", "leave the folder"),
            ("../{nr}", "leave the folder"),
            ("/abs/{nr}", "absolute"),
            ("10 A/.hidden/{nr}", "written as '_hidden'"),
            ("10 A/CON/{nr}", "written as '_CON'"),
            ("_batches/{nr}", "keeps for itself"),
            ("_Klaerung/{nr}", "unclassified folder"),
            ("10 A/{unknown}", "{unknown}"),
        ] {
            let p = problems_of(&with_path(path));
            assert!(
                p.len() == 1 && p[0].contains(expect) && p[0].starts_with("line 14"),
                "{path}: {p:#?}"
            );
        }
        for ok in [
            "10 A/{nr}/",
            "10 A//{nr}",
            "10 Ämter/Größe ß/{nr}",
            "{year}/{month}/{batch}/{efile}",
        ] {
            assert!(problems_of(&with_path(ok)).is_empty(), "{ok}");
        }
    }

    #[test]
    fn the_unclassified_folder_must_be_a_plain_folder_of_its_own() {
        for bad in [".resiscan", "_batches", "a/b", "", " x", "CON"] {
            let p = problems_of(&format!("{GOOD}unclassified: \"{bad}\"\n"));
            assert!(
                p.len() == 1 && p[0].contains("unclassified folder"),
                "{bad}: {p:?}"
            );
        }
        assert!(problems_of(&format!("{GOOD}unclassified: \"Klärung offen\"\n")).is_empty());
    }

    #[test]
    fn an_empty_file_plan_or_an_empty_term_is_a_problem() {
        let empty = problems_of(&GOOD[..GOOD.find("efiles:").unwrap()]);
        assert!(
            empty[0].contains("file plan (efiles) is empty"),
            "{empty:?}"
        );
        let listed =
            problems_of(&(GOOD[..GOOD.find("efiles:").unwrap()].to_string() + "efiles: []\n"));
        assert!(listed[0].starts_with("line 7, column 9"), "{listed:?}");
        let term = problems_of(&GOOD.replace(r#"["Rechnung"]"#, r#"["Rechnung", ""]"#));
        assert!(term[0].contains("empty term"), "{term:?}");
    }

    #[test]
    fn sehr_hoch_is_refused_by_profile_check_as_by_ingest() {
        let p = problems_of(&GOOD.replace("integrity: normal", "integrity: sehr_hoch"));
        assert!(
            p.iter()
                .any(|p| p.starts_with("line 5, column 25") && p.contains("qualified timestamp")),
            "{p:?}"
        );
    }

    #[test]
    fn numbers_and_lists_are_read_the_way_people_write_them() {
        let p = parse(&GOOD.replace(
            "signing:",
            "scan: {min_dpi: 300.0, assume_dpi: \"200\"}\nocr: {languages: deu+eng}\nsigning:",
        ))
        .unwrap();
        assert_eq!(p.scan.min_dpi, 300);
        assert_eq!(p.scan.assume_dpi, Some(200));
        assert_eq!(p.ocr.languages.value, ["deu", "eng"]);
        let half = problems_of(&GOOD.replace("signing:", "scan: {min_dpi: 300.5}\nsigning:"));
        assert!(half[0].contains("whole number"), "{half:?}");
    }

    #[test]
    fn sample_percent_must_be_above_0_and_at_most_100_as_qa_sample_requires() {
        for (value, ok) in [
            ("0", false),
            ("100", true),
            ("150", false),
            ("-1", false),
            ("0.5", true),
        ] {
            let p = problems_of(&format!("{GOOD}qa: {{sample_percent: {value}}}\n"));
            assert_eq!(p.is_empty(), ok, "{value}: {p:?}");
            if !ok {
                assert!(
                    p[0].starts_with("line 15") && p[0].contains("outside 0..100"),
                    "{p:?}"
                );
            }
        }
    }

    #[test]
    fn a_tessdata_folder_without_osd_is_a_problem_while_orientation_is_detected() {
        let t = tempfile::tempdir().unwrap();
        let Some(system) = tessdata_dir(None) else {
            return; // no Tesseract data on this machine
        };
        std::os::unix::fs::symlink(
            system.join("deu.traineddata"),
            t.path().join("deu.traineddata"),
        )
        .unwrap();
        let with = |extra: &str| {
            let text = GOOD.replace(
                "signing:",
                &format!("ocr: {{tessdata: {}{extra}}}\nsigning:", t.path().display()),
            );
            crate::config::problems(&parse(&text).unwrap(), Path::new("."))
        };
        let p = with("");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].message.contains("osd.traineddata") && p[0].line == 6,
            "{}",
            p[0]
        );
        assert!(with(", detect_orientation: false").is_empty());
    }

    #[test]
    fn unsupported_pdfa_levels_are_problems_with_their_line() {
        for level in ["3b", "1b", "2u"] {
            let p = problems_of(
                &GOOD.replace("signing:", &format!("pdf: {{pdfa: {level}}}\nsigning:")),
            );
            assert!(
                p.len() == 1 && p[0].starts_with("line 6") && p[0].contains("PDF/A-2b only"),
                "{level}: {p:?}"
            );
        }
        assert!(problems_of(&GOOD.replace("signing:", "pdf: {pdfa: 2b}\nsigning:")).is_empty());
    }

    #[test]
    fn bom_crlf_and_latin1_files() {
        let crlf = format!("\u{feff}{}", GOOD.replace('\n', "\r\n"));
        assert!(problems_of(&crlf).is_empty());
        let mut latin1 = GOOD.replace("Stadt Leipzig", "Stadt Muenchen").into_bytes();
        let at = latin1.windows(2).position(|w| w == b"ue").unwrap();
        latin1.splice(at..at + 2, [0xfc]);
        let e = std::str::from_utf8(&latin1).unwrap_err();
        let p = not_utf8(&latin1, &e);
        assert_eq!((p.line, p.column), (4, 23), "{p}");
    }

    #[test]
    fn a_key_file_that_is_not_a_key_is_a_problem_at_the_key_line() {
        let t = tempfile::tempdir().unwrap();
        crate::crypto::keygen::generate(
            "CN=T,O=S",
            crate::crypto::keygen::KeyKind::EcP256,
            30,
            t.path(),
        )
        .unwrap();
        std::fs::write(t.path().join("garbage.pk8"), "not a key").unwrap();
        let good = GOOD.replace(
            "signing: {demo: true}",
            "signing:\n  certificate: cert.pem\n  key: key.pk8.pem",
        );
        let p = parse(&good).unwrap();
        let mut problems = Vec::new();
        let signer = crate::config::signing::signing_identity(&p, t.path(), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(signer.unwrap().subject(), "CN=T, O=S");
        let bad = parse(&good.replace("key.pk8.pem", "garbage.pk8")).unwrap();
        let problems = crate::config::problems(&bad, t.path());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 8, "{}", problems[0]);
        assert!(problems[0].message.contains("unusable"), "{}", problems[0]);
        let swapped = parse(
            &good
                .replace("cert.pem", "KEY")
                .replace("key.pk8.pem", "cert.pem")
                .replace("KEY", "key.pk8.pem"),
        )
        .unwrap();
        assert_eq!(crate::config::problems(&swapped, t.path())[0].line, 7);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn parsing_arbitrary_text_never_panics(text in "\\PC{0,400}") {
            if let Ok(p) = parse(&text) {
                let _ = crate::config::problems(&p, Path::new("/nonexistent"));
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
                let _ = crate::config::problems(&p, Path::new("/nonexistent"));
            }
        }
    }
}
