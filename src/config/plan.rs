//! The file plan's half of the config phase: every entry's regexes and path template are
//! checked by building what classification and filing use — the [`Classifier`] and one
//! [`PathTemplate`] per entry — once; each problem names its line in the profile.

use std::collections::BTreeMap;

use crate::classify::{Classifier, ClassifyError};
use crate::profile::{EfileRule, Problem, Profile, at};
use crate::store::PathTemplate;
use serde_saphyr::Spanned;

/// The compiled file plan: what the classify stage runs and where filing puts a document.
#[derive(Debug)]
pub struct FilePlan {
    pub classifier: Classifier,
    /// Each entry's parsed `path`, by e-file id.
    pub templates: BTreeMap<String, PathTemplate>,
}

/// Builds the file plan of `profile`; every problem found goes into `out`, and the plan comes
/// back only when there was none.
pub(crate) fn file_plan(profile: &Profile, out: &mut Vec<Problem>) -> Option<FilePlan> {
    let before = out.len();
    let mut templates = BTreeMap::new();
    for rule in &profile.efiles {
        let id = &rule.id.value;
        for pattern in &rule.matching.regex {
            if let Err(e) = crate::classify::compile_pattern(&pattern.value) {
                out.push(regex_problem(
                    pattern,
                    &format!("e-file '{id}': match.regex"),
                    &e,
                ));
            }
        }
        for (name, pattern) in rule.fields.iter().chain(&rule.barcode_fields) {
            match crate::classify::compile_pattern(&pattern.value) {
                    Err(e) => out.push(regex_problem(
                        pattern,
                        &format!("e-file '{id}': field '{name}'"),
                        &e,
                    )),
                    Ok(re) if re.captures_len() < 2 => out.push(at(
                        pattern,
                        format!("e-file '{id}': field '{name}': the regex has no capture group"),
                        Some("put the value in parentheses: 'Aktenzeichen:?\\s*(\\S+)'"),
                    )),
                    Ok(re) if re.captures_len() > 2 => out.push(at(
                        pattern,
                        format!(
                            "e-file '{id}': field '{name}': the regex has {} capture groups; \
                             the value is taken from exactly one",
                            re.captures_len() - 1
                        ),
                        Some("keep ( ) around the value only; make the other groups non-capturing: (?:…)"),
                    )),
                    Ok(_) => {}
                }
        }
        if let Some(t) = path_template(rule, &profile.unclassified.value, out) {
            templates.insert(id.clone(), t);
        }
    }
    let classifier = match Classifier::new_each(&profile.efiles) {
        Ok(c) => Some(c),
        Err(errors) => {
            for (i, e) in errors {
                let rule = &profile.efiles[i];
                let regexes_compile = rule
                    .matching
                    .regex
                    .iter()
                    .chain(rule.fields.values())
                    .chain(rule.barcode_fields.values())
                    .all(|p| crate::classify::compile_pattern(&p.value).is_ok());
                // A regex that does not compile, no capture group and an unknown required
                // field are said above and by the profile itself, at their own lines.
                if regexes_compile
                    && !matches!(
                        e,
                        ClassifyError::NoCaptureGroup { .. }
                            | ClassifyError::UnknownRequiredField { .. }
                    )
                {
                    // The classifier also builds OCR-tolerant and anchored forms of each
                    // regex; one of those failed (the size limit, usually).
                    out.push(at(
                        &rule.id,
                        format!("{e}"),
                        Some("simplify the pattern (fewer or smaller repetitions)"),
                    ));
                }
            }
            None
        }
    };
    if let Err(reason) = check_unclassified(&profile.unclassified.value) {
        out.push(at(
            &profile.unclassified,
            format!(
                "unclassified folder '{}': {reason}",
                profile.unclassified.value
            ),
            Some("use a plain folder name such as _Klaerung"),
        ));
    }
    match classifier {
        Some(classifier) if out.len() == before => Some(FilePlan {
            classifier,
            templates,
        }),
        _ => None,
    }
}

/// A regex the `regex` crate refuses, said plainly: what it does not support, where in the
/// pattern, and how to write it instead.
fn regex_problem(pattern: &Spanned<String>, what: &str, e: &regex::Error) -> Problem {
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let reason = lines
        .iter()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_else(|| lines.first().copied().unwrap_or("invalid"))
        .trim()
        .to_string();
    // "regex parse error:\n    PATTERN\n    ^^^\nerror: ..." — quote the marked part.
    let marked = match (lines.get(1), lines.get(2)) {
        (Some(pat), Some(carets)) if carets.trim().chars().all(|c| c == '^') => {
            let from = carets.find('^').unwrap_or(0);
            let len = carets.trim().chars().count();
            pat.get(from..).and_then(|rest| {
                let part: String = rest.chars().take(len).collect();
                (!part.is_empty()).then_some(part)
            })
        }
        _ => None,
    };
    let lower = reason.to_lowercase();
    let hint = if lower.contains("look-around") || lower.contains("look-ahead") {
        "the Rust regex crate has no look-ahead or look-behind ((?=…), (?!…), (?<=…)): match the \
         surrounding text instead and put only the value in ( )"
    } else if lower.contains("backreference") || lower.contains("back-reference") {
        "the Rust regex crate has no back-references (\\1): write the repeated part out"
    } else if lower.contains("unclosed") || lower.contains("unopened") {
        "a ( [ or { is not closed (or one too many is closed); to match it literally write \\( \\[ \\{"
    } else if lower.contains("escape") {
        "check the backslashes; in single quotes write \\d, in double quotes \\\\d"
    } else {
        "regex syntax as in the Rust regex crate (docs.rs/regex); write regexes in 'single quotes'"
    };
    Problem {
        line: pattern.referenced.line(),
        column: pattern.referenced.column(),
        message: format!(
            "{what}: bad regex: {reason}{}",
            marked.map(|m| format!(" (at '{m}')")).unwrap_or_default()
        ),
        hint: Some(hint.into()),
    }
}

/// Fields every path template may use besides the entry's own index fields.
pub const BUILTIN_PATH_FIELDS: &[&str] = &["year", "month", "batch", "efile"];

/// Top-level names in the store that belong to resiscan itself (SPEC §4).
const RESERVED_STORE_NAMES: &[&str] = &[
    "_batches",
    "_chain",
    ".resiscan",
    "index.sqlite",
    "index.sqlite-wal",
    "index.sqlite-shm",
    "index.sqlite-journal",
];

/// What is wrong with an e-file's `path` template: anything filing would refuse, fields no
/// regex defines, folder names that would be written differently from how they are typed,
/// and the store's own folders. Returns the parsed template when it is usable.
fn path_template(
    rule: &EfileRule,
    unclassified: &str,
    out: &mut Vec<Problem>,
) -> Option<PathTemplate> {
    let id = &rule.id.value;
    let template = &rule.path.value;
    let mut push = |message: String, hint: &str| {
        out.push(at(
            &rule.path,
            format!("e-file '{id}': {message}"),
            Some(hint),
        ))
    };
    if template.trim().is_empty() {
        push(
            "path is empty".into(),
            "give the e-file's folder in the store, e.g. \"20 Stadtkasse/{az}\"",
        );
        return None;
    }
    let parsed = match PathTemplate::parse(template) {
        Ok(t) => t,
        Err(e) => {
            let reason = match e {
                crate::store::StoreError::BadTemplate { reason, .. } => reason,
                other => other.to_string(),
            };
            let hint = if template.starts_with(['/', '\\']) || template.get(1..3) == Some(":\\") {
                "paths are relative to the store folder: remove the leading / (or drive letter)"
            } else {
                "paths stay inside the store: no '.' or '..' folders, every { closed by }"
            };
            push(format!("path '{template}': {reason}"), hint);
            return None;
        }
    };
    let mut unknown = false;
    for field in parsed.fields() {
        if field.is_empty() {
            push(
                "path has an empty {}".into(),
                "write a field name inside the braces, e.g. {az}, or remove them",
            );
            unknown = true;
        } else if !rule.defines_field(field) && !BUILTIN_PATH_FIELDS.contains(&field) {
            push(
                format!("path uses {{{field}}} but no regex under fields: defines it"),
                &format!(
                    "define fields.{field}, or use one of {}",
                    BUILTIN_PATH_FIELDS.join(", ")
                ),
            );
            unknown = true;
        }
    }
    if unknown {
        return None;
    }
    // Folder names as typed: sanitising would silently change these.
    let mut changed = false;
    for (typed, stand_in) in parsed.folders_with_stand_ins() {
        let written = crate::store::sanitised_path_segment(&stand_in);
        if written != stand_in {
            push(
                format!("folder name '{typed}' in path would be written as '{written}'"),
                "folder names may not start with '.', end with '.' or a space, hold <>:\"|?* or \
                 be a Windows device name (CON, NUL, COM1, …)",
            );
            changed = true;
        }
    }
    let first = template
        .split(['/', '\\'])
        .find(|s| !s.trim().is_empty())
        .unwrap_or("")
        .trim();
    if RESERVED_STORE_NAMES.contains(&first) {
        push(
            format!("path starts with '{first}', which the store keeps for itself"),
            "choose another top folder (SPEC §4: _batches/ holds the batch notes and reports)",
        );
        return None;
    } else if first == unclassified.trim() {
        push(
            format!("path starts with '{first}', the unclassified folder"),
            "filed and unclassified documents would mix; choose another top folder",
        );
        return None;
    }
    (!changed).then_some(parsed)
}

/// The unclassified folder: one plain folder name at the top of the store, written as typed,
/// and not one of the store's own.
pub(crate) fn check_unclassified(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("empty".into());
    }
    if s.contains('/') || s.contains('\\') || s.trim() == ".." || s.trim() == "." {
        return Err("must be one folder name".into());
    }
    if RESERVED_STORE_NAMES.contains(&s.trim()) {
        return Err("the store keeps this name for itself".into());
    }
    let written = crate::store::sanitised_path_segment(s);
    if written != s {
        return Err(format!(
            "would be written as '{written}' (no leading '.', trailing '.' or space, <>:\"|?* or device names)"
        ));
    }
    Ok(())
}
