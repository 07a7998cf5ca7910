//! Store paths from a profile's `path` template (SPEC §4: "Fields put into a path are
//! sanitised, whatever the OCR read").
//!
//! Promise: whatever a field value holds, [`render_path`] returns a relative path of plain
//! folder names that stays inside the store and that Linux, Windows file shares and the DMS
//! import can all hold: no `/` or `\`, no `.`/`..`, no leading dot (hidden files, and our own
//! temp names start with one), no control characters, none of `<>:"|?*` (forbidden on
//! Windows), no Windows device name (CON, PRN, AUX, NUL, COM1–9, LPT1–9, also with an
//! extension), no trailing dot or space (Windows drops them), at most
//! [`MAX_SEGMENT_BYTES`] bytes per folder name, never empty.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use super::StoreError;

/// Longest folder name we write, in bytes (well under the usual 255 so the document's own
/// file name and suffixes fit beside it on any file system).
pub const MAX_SEGMENT_BYTES: usize = 100;

/// What an unusable or empty value becomes.
const PLACEHOLDER: &str = "_";

/// A file-plan entry's `path` template, parsed once (the only parser of templates): folder
/// names made of literal text and `{field}`s. The config phase parses every entry's template
/// and keeps it; filing renders it with the document's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    source: String,
    /// Non-empty folders in order, each as typed (trimmed of nothing) and as parts.
    folders: Vec<Folder>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Folder {
    typed: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// A field name, trimmed (`{ year }` is `year`).
    Field(String),
}

impl PathTemplate {
    /// Parses `template`; refuses an absolute path, a typed `.`/`..` folder and an unclosed
    /// `{`. Empty folders (`a//b`, a trailing `/`) are skipped.
    pub fn parse(template: &str) -> Result<PathTemplate, StoreError> {
        let bad = |reason: String| StoreError::BadTemplate {
            template: template.to_string(),
            reason,
        };
        if template.starts_with('/') || template.starts_with('\\') {
            return Err(bad(
                "the path is absolute; it must be relative to the store".into(),
            ));
        }
        let mut folders = Vec::new();
        for typed in template.split(['/', '\\']) {
            if typed.trim().is_empty() {
                continue;
            }
            if !typed.contains('{') && (typed.trim() == "." || typed.trim() == "..") {
                return Err(bad(format!("'{typed}' would leave the folder")));
            }
            let mut parts = Vec::new();
            let mut rest = typed;
            while let Some(start) = rest.find('{') {
                if start > 0 {
                    parts.push(Part::Text(rest[..start].to_string()));
                }
                let after = &rest[start + 1..];
                let end = after
                    .find('}')
                    .ok_or_else(|| bad("a '{' is not closed".into()))?;
                parts.push(Part::Field(after[..end].trim().to_string()));
                rest = &after[end + 1..];
            }
            if !rest.is_empty() {
                parts.push(Part::Text(rest.to_string()));
            }
            folders.push(Folder {
                typed: typed.to_string(),
                parts,
            });
        }
        if folders.is_empty() {
            return Err(bad("the path is empty".into()));
        }
        Ok(PathTemplate {
            source: template.to_string(),
            folders,
        })
    }

    /// The template as written in the profile.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The `{field}` names it uses, in order (an empty `{}` is an empty name).
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.folders.iter().flat_map(|f| {
            f.parts.iter().filter_map(|p| match p {
                Part::Field(name) => Some(name.as_str()),
                Part::Text(_) => None,
            })
        })
    }

    /// Each folder as typed, and as it reads with every field replaced by a plain stand-in
    /// (`x`): what sanitising must leave unchanged for the folder to be written as typed.
    pub fn folders_with_stand_ins(&self) -> impl Iterator<Item = (&str, String)> {
        self.folders.iter().map(|f| {
            let stand_in = f
                .parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => t.as_str(),
                    Part::Field(_) => "x",
                })
                .collect();
            (f.typed.as_str(), stand_in)
        })
    }

    /// Renders the template: each `{field}` is replaced by the sanitised value from `fields`
    /// (the pipeline adds the built-ins `year`, `month`, `batch`, `efile`); each folder name
    /// is then sanitised as a whole. A field missing from `fields` is an error.
    pub fn render(&self, fields: &BTreeMap<String, String>) -> Result<PathBuf, StoreError> {
        let mut out = PathBuf::new();
        for folder in &self.folders {
            let mut seg = String::new();
            for part in &folder.parts {
                match part {
                    Part::Text(t) => seg.push_str(t),
                    Part::Field(name) => {
                        let value = fields.get(name).ok_or_else(|| StoreError::UnknownField {
                            template: self.source.clone(),
                            field: name.clone(),
                        })?;
                        seg.push_str(&sanitised_value(value));
                    }
                }
            }
            out.push(sanitised_path_segment(&seg));
        }
        Ok(out)
    }
}

/// Parses and renders `template` in one go (see [`PathTemplate`]).
pub fn render_path(
    template: &str,
    fields: &BTreeMap<String, String>,
) -> Result<PathBuf, StoreError> {
    PathTemplate::parse(template)?.render(fields)
}

/// A value made safe to stand inside a folder name: separators, control characters and
/// characters Windows forbids become `_`; white space runs become one space.
fn sanitised_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.nfc() {
        let c = match c {
            '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c if c.is_control() => '_',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(c);
    }
    out
}

/// One folder name that is safe whatever `value` holds (see the module doc for the rules).
pub fn sanitised_path_segment(value: &str) -> String {
    let mut s = sanitised_value(value).trim().to_string();
    // A leading dot hides the folder and "."/".." walk the tree: write "_" for it.
    if s.starts_with('.') {
        s.replace_range(0..1, PLACEHOLDER);
    }
    if s.len() > MAX_SEGMENT_BYTES {
        let mut cut = MAX_SEGMENT_BYTES;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    // Windows strips trailing dots and spaces, which would merge "a." with "a".
    let trimmed = s.trim_end_matches(['.', ' ']).len();
    s.truncate(trimmed);
    if s.is_empty() {
        return PLACEHOLDER.to_string();
    }
    if is_windows_device_name(&s) {
        s.insert_str(0, PLACEHOLDER);
    }
    s
}

/// Names at the top of the store that belong to resiscan itself (SPEC §4). A folder a field
/// value renders to one of them, at any depth, is refused ([`filing_problem`]): at the top it
/// would collide with the store's own files, deeper it would read as one to a person or a
/// script walking the store. Compared case-insensitively (Windows file shares fold case).
pub const STORE_OWN_NAMES: &[&str] = &[
    "_batches",
    "_chain",
    ".resiscan",
    "index.sqlite",
    "index.sqlite-wal",
    "index.sqlite-shm",
    "index.sqlite-journal",
];

/// Longest file or folder name the file systems a store lives on take (ext4, XFS, NTFS: 255
/// bytes of UTF-8 on Linux).
pub const MAX_NAME_BYTES: usize = 255;

/// Longest absolute path Linux takes (`PATH_MAX` 4096 with its terminating NUL).
pub const MAX_PATH_BYTES: usize = 4095;

/// The longest suffix a document's files get ([`super::DocPaths`]); the PDF is built as
/// `<doc id>.pdf.tmp` first, which is shorter.
const LONGEST_DOC_SUFFIX: &str = ".transfer.yaml.p7s";

/// Why document `doc_id` cannot be filed in store folder `folder` (store-relative) of the
/// store at `root`, or `None`: a folder that names one of the store's own files
/// ([`STORE_OWN_NAMES`], or the unclassified folder `unclassified` below the top of an
/// e-file's path), or a file name or path longer than the file system takes. The document is
/// quarantined with this reason; the run goes on (it is not the store's fault).
pub fn filing_problem(
    root: &Path,
    folder: &str,
    doc_id: &str,
    unclassified: &str,
) -> Option<String> {
    let in_unclassified = folder.split('/').next() == Some(unclassified);
    for (depth, name) in folder.split('/').filter(|n| !n.is_empty()).enumerate() {
        let own = STORE_OWN_NAMES
            .iter()
            .any(|own| own.eq_ignore_ascii_case(name));
        let unclassified_here =
            name.eq_ignore_ascii_case(unclassified.trim()) && !(depth == 0 && in_unclassified);
        if own || unclassified_here {
            return Some(format!(
                "its e-file path '{folder}' has a folder '{name}', a name the store keeps for \
                 its own files{}; a field value made it: correct the value and file the \
                 document again",
                if unclassified_here {
                    " (the unclassified folder)"
                } else {
                    ""
                }
            ));
        }
        if name.len() > MAX_NAME_BYTES {
            return Some(format!(
                "its e-file path has a folder name of {} bytes; the file system takes at most \
                 {MAX_NAME_BYTES}",
                name.len()
            ));
        }
    }
    if let Some(reason) = doc_name_problem(doc_id) {
        return Some(reason);
    }
    let longest = root
        .join(folder)
        .join(format!("{doc_id}{LONGEST_DOC_SUFFIX}"));
    let bytes = longest.as_os_str().len();
    if bytes > MAX_PATH_BYTES {
        return Some(format!(
            "its files' path would be {bytes} bytes long ({}); the file system takes at most \
             {MAX_PATH_BYTES}",
            longest.display()
        ));
    }
    None
}

/// Why the files of document `doc_id` cannot be named (`<id>.transfer.yaml.p7s` longer than
/// a file name may be), or `None`. Checked before any page is processed.
pub fn doc_name_problem(doc_id: &str) -> Option<String> {
    let bytes = doc_id.len() + LONGEST_DOC_SUFFIX.len();
    (bytes > MAX_NAME_BYTES).then(|| {
        format!(
            "its document id '{doc_id}' ({} bytes: batch id and entry name) is too long for a \
             file name: '{doc_id}{LONGEST_DOC_SUFFIX}' would be {bytes} bytes, the file system \
             takes at most {MAX_NAME_BYTES}; give the batch a shorter id or the entry a shorter \
             name",
            doc_id.len()
        )
    })
}

/// CON, PRN, AUX, NUL, COM1–9, LPT1–9 (any case, with or without an extension) name devices on
/// Windows and cannot be folder names there.
fn is_windows_device_name(s: &str) -> bool {
    let stem = s
        .split('.')
        .next()
        .unwrap_or(s)
        .trim_end()
        .to_ascii_uppercase();
    match stem.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" => true,
        _ => {
            // Windows also treats the superscript digits ¹²³ as device numbers.
            let tail = stem
                .strip_prefix("COM")
                .or_else(|| stem.strip_prefix("LPT"));
            tail.is_some_and(|t| {
                matches!(
                    t,
                    "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "¹" | "²" | "³"
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Component, Path};

    fn render(template: &str, value: &str) -> PathBuf {
        let fields = BTreeMap::from([("az".to_string(), value.to_string())]);
        render_path(template, &fields).unwrap()
    }

    fn assert_safe(p: &Path) {
        let parts: Vec<Component> = p.components().collect();
        assert!(!parts.is_empty());
        for c in parts {
            let Component::Normal(name) = c else {
                panic!("{} has a non-normal component {c:?}", p.display());
            };
            let name = name.to_str().unwrap();
            assert!(
                !name.is_empty() && name.len() <= MAX_SEGMENT_BYTES,
                "{name:?}"
            );
            assert!(
                !name.starts_with('.') && !name.ends_with(['.', ' ']),
                "{name:?}"
            );
            assert!(
                !name.chars().any(|c| c.is_control() || c == '\\'),
                "{name:?}"
            );
            assert!(!is_windows_device_name(name), "{name:?}");
        }
    }

    #[test]
    fn a_normal_value_is_kept() {
        assert_eq!(
            render("20 Stadtkasse/20.3 Vollstreckung/{az}", "VB-2026-00417"),
            PathBuf::from("20 Stadtkasse/20.3 Vollstreckung/VB-2026-00417")
        );
    }

    #[test]
    fn hostile_values_stay_inside_one_folder_name() {
        let long = "x".repeat(300);
        let umlauts = "ä".repeat(300);
        for hostile in [
            "../../etc",
            "a/b",
            "a\\b",
            "\u{0}",
            "CON",
            "con.txt",
            "LPT1",
            "COM9 ",
            long.as_str(),
            umlauts.as_str(),
            "...",
            "..",
            ".",
            "",
            "   ",
            "x. . .",
            "\n\r\t",
            "a:b*c?d\"e<f>g|h",
        ] {
            let p = render("20/{az}", hostile);
            assert_safe(&p);
            assert_eq!(p.components().count(), 2, "{hostile:?} -> {}", p.display());
        }
        assert_eq!(render("20/{az}", "a/b"), PathBuf::from("20/a_b"));
        assert_eq!(
            render("20/{az}", "../../etc"),
            PathBuf::from("20/_._.._etc")
        );
        assert_eq!(render("20/{az}", "CON"), PathBuf::from("20/_CON"));
        assert_eq!(render("20/{az}", ".."), PathBuf::from("20/_"));
        assert_eq!(render("20/{az}", ""), PathBuf::from("20/_"));
        let cut = render("{az}", &umlauts);
        assert_eq!(cut.to_str().unwrap().len(), MAX_SEGMENT_BYTES);
    }

    #[test]
    fn a_field_value_cannot_rejoin_a_template_dot_dot() {
        // "{az}." with az = "." would make "..": sanitised as a whole segment.
        let p = render("{az}.", ".");
        assert_safe(&p);
    }

    #[test]
    fn template_errors_name_the_reason() {
        let fields = BTreeMap::new();
        let e = render_path("20/{kz}", &fields).unwrap_err();
        assert!(e.to_string().contains("kz"), "{e}");
        assert!(render_path("/etc/{x}", &fields).is_err());
        assert!(render_path("a/../b", &fields).is_err());
        assert!(render_path("a/{x", &fields).is_err());
        assert!(render_path("//", &fields).is_err());
    }

    #[test]
    fn a_template_knows_its_fields_and_folders_as_typed() {
        let t = PathTemplate::parse("20 A//{ az }-{year}/x{}/").unwrap();
        assert_eq!(t.fields().collect::<Vec<_>>(), ["az", "year", ""]);
        let folders: Vec<(&str, String)> = t.folders_with_stand_ins().collect();
        assert_eq!(
            folders,
            [
                ("20 A", "20 A".to_string()),
                ("{ az }-{year}", "x-x".to_string()),
                ("x{}", "xx".to_string()),
            ]
        );
        assert_eq!(t.as_str(), "20 A//{ az }-{year}/x{}/");
        // `{..}` is a field, not a typed `..`: its value is sanitised like any other.
        assert!(PathTemplate::parse("{..}").is_ok());
        assert!(PathTemplate::parse(" .. ").is_err());
    }

    #[test]
    fn a_folder_named_like_the_stores_own_files_is_refused_at_any_depth() {
        let root = Path::new("/s");
        for folder in [
            "index.sqlite",
            "20/INDEX.sqlite",
            "20/_batches/x",
            "a/_chain",
            "20/Unclassified",
        ] {
            let why = filing_problem(root, folder, "b1_0001", "Unclassified").unwrap();
            assert!(why.contains("the store keeps for its own files"), "{why}");
            assert!(!why.contains("ree space"), "{why}");
        }
        assert!(filing_problem(root, "Unclassified/b1", "b1_0001", "Unclassified").is_none());
        assert!(filing_problem(root, "20/Akte.pdf", "b1_0001", "Unclassified").is_none());
    }

    #[test]
    fn a_name_or_path_too_long_for_the_file_system_is_refused() {
        let root = Path::new("/s");
        let id = format!("{}_{}", "b".repeat(120), "e".repeat(120));
        let why = filing_problem(root, "20", &id, "U").unwrap();
        assert!(why.contains("too long for a file name"), "{why}");
        assert!(doc_name_problem(&"x".repeat(237)).is_none());
        assert!(doc_name_problem(&"x".repeat(238)).is_some());
        let deep = vec!["f".repeat(100); 41].join("/");
        let why = filing_problem(root, &deep, "b1_0001", "U").unwrap();
        assert!(why.contains("the file system takes at most 4095"), "{why}");
    }

    proptest::proptest! {
        #[test]
        fn any_value_renders_to_a_safe_path_inside_the_store(v in "\\PC{0,300}") {
            let p = render("20/{az}", &v);
            assert_safe(&p);
            proptest::prop_assert_eq!(p.components().count(), 2);
        }
    }
}
