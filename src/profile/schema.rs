//! The profile's shape, checked before serde reads it, so that `profile check` can list every
//! structural mistake at once (serde stops at the first one) and say each in the profile
//! writer's words: which key, on which line, what was expected, and what to write instead.
//!
//! The YAML is first read into a plain tree of [`Node`]s with their locations (aliases and
//! merge keys already resolved by the YAML reader, so the tree is what serde will see), then
//! walked against [`PROFILE`], a description of SPEC §3 plus our documented extensions. Serde
//! stays the one that builds the typed [`super::Profile`]; a unit test keeps the two in step.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{MessageFormatter as _, Spanned};

use super::Problem;

/// A YAML value as written, with every child's location.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl Node {
    /// How the value reads in a message: the scalar itself, or what kind of thing it is.
    fn describe(&self) -> String {
        match self {
            Node::Null => "nothing".into(),
            Node::Bool(b) => b.to_string(),
            Node::Int(i) => i.to_string(),
            Node::Float(f) => f.to_string(),
            Node::Str(s) => format!("'{s}'"),
            Node::Seq(_) => "a list".into(),
            Node::Map(_) => "a mapping (key: value pairs)".into(),
        }
    }

    /// The scalar's text, for keys and words.
    fn scalar_text(&self) -> Option<String> {
        match self {
            Node::Bool(b) => Some(b.to_string()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(f.to_string()),
            Node::Str(s) => Some(s.clone()),
            Node::Null | Node::Seq(_) | Node::Map(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Int(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Int(v.into()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
                Ok(Node::Int(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
                Ok(i128::try_from(v).map_or(Node::Float(v as f64), Node::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Node>>()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<Node>>()? {
                    let value = map.next_value::<Spanned<Node>>()?;
                    entries.push((key, value));
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(NodeVisitor)
    }
}

/// What a value must look like.
#[derive(Debug)]
pub(crate) enum Shape {
    /// A single value, read as text (numbers and words alike).
    Text,
    /// A whole number in `min..=max` (`300`, `300.0`, `"300"`).
    Whole(u32, u32),
    /// A number in `min..=max` (`60`, `5.5`, `"5"`).
    Number(f64, f64),
    /// A share in percent above 0 and at most 100: the visual-QA sample (TR-03138 A.SC.8
    /// wants one; `qa sample` refuses 0).
    SamplePercent,
    /// true or false.
    Flag,
    /// One of these words.
    Word(&'static [&'static str]),
    /// A list of values of one shape.
    List(&'static Shape),
    /// A list of words, or one text (Tesseract's `deu+eng` also works).
    TextOrList,
    /// A mapping with these keys.
    Record(&'static [Key]),
    /// A mapping with free keys (names the writer chooses), values of one shape.
    Table(&'static Shape),
    /// One text, or a mapping with these keys (`az: 'REGEX'` or `az: {text: …, barcode: …}`).
    TextOrRecord(&'static [Key]),
}

#[derive(Debug)]
pub(crate) struct Key {
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
    /// `key: null` (or `key:` with nothing) is allowed and means "not given".
    pub nullable: bool,
    /// An example for the hint when the key is missing or has the wrong shape.
    pub example: &'static str,
}

const fn key(name: &'static str, shape: Shape, example: &'static str) -> Key {
    Key {
        name,
        shape,
        required: false,
        nullable: false,
        example,
    }
}

const fn required(name: &'static str, shape: Shape, example: &'static str) -> Key {
    Key {
        name,
        shape,
        required: true,
        nullable: false,
        example,
    }
}

const fn nullable(name: &'static str, shape: Shape, example: &'static str) -> Key {
    Key {
        name,
        shape,
        required: false,
        nullable: true,
        example,
    }
}

const PROTECTION: &[Key] = &[required(
    "integrity",
    Shape::Word(&["normal", "hoch", "sehr_hoch"]),
    "integrity: hoch",
)];

const SCAN: &[Key] = &[
    key("min_dpi", Shape::Whole(0, 4800), "min_dpi: 300"),
    nullable("assume_dpi", Shape::Whole(1, 4800), "assume_dpi: 300"),
    key(
        "blank_pages",
        Shape::Word(&["keep", "drop", "flag"]),
        "blank_pages: drop",
    ),
    key(
        "max_megapixels",
        Shape::Whole(1, 10_000),
        "max_megapixels: 150",
    ),
];

const OCR: &[Key] = &[
    key("languages", Shape::TextOrList, "languages: [deu, eng]"),
    key(
        "min_confidence",
        Shape::Number(0.0, 100.0),
        "min_confidence: 60",
    ),
    key(
        "detect_orientation",
        Shape::Flag,
        "detect_orientation: true",
    ),
    nullable(
        "tessdata",
        Shape::Text,
        "tessdata: /usr/share/tesseract-ocr/5/tessdata",
    ),
];

const PDF: &[Key] = &[key("pdfa", Shape::Text, "pdfa: 2b")];

const SIGNING: &[Key] = &[
    nullable(
        "certificate",
        Shape::Text,
        "certificate: keys/scancenter.crt.pem",
    ),
    nullable("key", Shape::Text, "key: keys/scancenter.key.pk8"),
    key(
        "chain",
        Shape::List(&Shape::Text),
        "chain: [keys/ca.crt.pem]",
    ),
    key("demo", Shape::Flag, "demo: true"),
    nullable(
        "timestamp",
        Shape::Record(TIMESTAMP),
        "timestamp: {url: \"http://tsa.example.de/tsp\", trust: keys/tsa-root.pem}",
    ),
    key(
        "revocation",
        Shape::Word(&["none", "embed"]),
        "revocation: embed",
    ),
    key(
        "crls",
        Shape::List(&Shape::Text),
        "crls: [keys/ca.crl, keys/tsa-ca.crl]",
    ),
];

/// `signing.timestamp` (SPEC §7), plus `timeout_seconds` and `retries`.
const TIMESTAMP: &[Key] = &[
    required("url", Shape::Text, "url: \"http://tsa.example.de/tsp\""),
    required("trust", Shape::Text, "trust: keys/tsa-root.pem"),
    key(
        "timeout_seconds",
        Shape::Number(0.1, 600.0),
        "timeout_seconds: 10",
    ),
    key("retries", Shape::Whole(0, 10), "retries: 2"),
];

const MATCH: &[Key] = &[
    key("all", Shape::List(&Shape::Text), "all: [\"Vollstreckung\"]"),
    key(
        "any",
        Shape::List(&Shape::Text),
        "any: [\"Ratenzahlung\", \"Pfändung\"]",
    ),
    key("none", Shape::List(&Shape::Text), "none: [\"Werbung\"]"),
    key("regex", Shape::List(&Shape::Text), "regex: ['VB-\\d{4}']"),
];

/// At least a year: a retention of 0 years would let the DMS delete a document the day it is
/// filed, which is never what a file plan means.
const RETENTION: &[Key] = &[required("years", Shape::Whole(1, 1000), "years: 10")];

/// SPEC §6: a field read from the text, a barcode, or both.
const FIELD: &[Key] = &[
    key(
        "text",
        Shape::Text,
        "text: 'Aktenzeichen:?\\s*(VB-\\d{4}-\\d{5})'",
    ),
    key("barcode", Shape::Text, "barcode: '^(VB-\\d{4}-\\d{5})$'"),
];

/// SPEC §6: stacks split by separator sheets.
const SEPARATION: &[Key] = &[
    key(
        "split_on",
        Shape::List(&Shape::Text),
        "split_on: [patch_t, cover, \"barcode:PATCHT\"]",
    ),
    key("keep_sheets", Shape::Flag, "keep_sheets: false"),
];

const EFILE: &[Key] = &[
    required("id", Shape::Text, "id: vollstreckung"),
    key("title", Shape::Text, "title: \"Vollstreckungsverfahren\""),
    key(
        "match",
        Shape::Record(MATCH),
        "match: {all: [\"Vollstreckung\"]}",
    ),
    key(
        "fields",
        Shape::Table(&Shape::TextOrRecord(FIELD)),
        "fields: {az: 'Aktenzeichen:?\\s*(VB-\\d{4}-\\d{5})'}",
    ),
    key("require", Shape::List(&Shape::Text), "require: [az]"),
    required("path", Shape::Text, "path: \"20 Stadtkasse/{az}\""),
    nullable(
        "retention",
        Shape::Record(RETENTION),
        "retention: {years: 10}",
    ),
];

const QA: &[Key] = &[nullable(
    "sample_percent",
    Shape::SamplePercent,
    "sample_percent: 5",
)];

/// SPEC §3, plus `unit`, `scan.max_megapixels`, `ocr.detect_orientation`, `ocr.tessdata`.
pub(crate) const PROFILE: &[Key] = &[
    required("name", Shape::Text, "name: stadtkasse-vollstreckung"),
    key("version", Shape::Whole(0, u32::MAX), "version: 3"),
    required(
        "organisation",
        Shape::Text,
        "organisation: \"Stadt Leipzig, Stadtkasse\"",
    ),
    nullable("unit", Shape::Text, "unit: \"Vollstreckungsbehörde\""),
    required(
        "protection",
        Shape::Record(PROTECTION),
        "protection: {integrity: normal}",
    ),
    nullable(
        "procedure_doc",
        Shape::Text,
        "procedure_doc: \"Verfahrensdokumentation Scannen v2.1\"",
    ),
    key("scan", Shape::Record(SCAN), "scan: {min_dpi: 300}"),
    key("ocr", Shape::Record(OCR), "ocr: {languages: [deu]}"),
    key("pdf", Shape::Record(PDF), "pdf: {pdfa: 2b}"),
    nullable(
        "signing",
        Shape::Record(SIGNING),
        "signing: {certificate: keys/cert.pem, key: keys/key.pk8.pem}",
    ),
    key(
        "efiles",
        Shape::List(&Shape::Record(EFILE)),
        "efiles: [{id: a, match: {all: [\"Rechnung\"]}, path: \"10 Rechnungen\"}]",
    ),
    key("unclassified", Shape::Text, "unclassified: \"_Klaerung\""),
    key("qa", Shape::Record(QA), "qa: {sample_percent: 5}"),
    nullable(
        "separation",
        Shape::Record(SEPARATION),
        "separation: {split_on: [patch_t, cover], keep_sheets: false}",
    ),
];

/// Reads `text` as a YAML tree; a syntax error comes back as one problem.
pub(crate) fn read_tree(text: &str) -> Result<Spanned<Node>, Problem> {
    serde_saphyr::from_str_with_options::<Spanned<Node>>(text, yaml_options())
        .map_err(|e| yaml_error_problem(&e, text))
}

/// The parser's limits for files people write (profiles, `batch.yaml`): serde-saphyr's
/// defaults (250,000 nodes, about 8,000 e-files), but aliases may replay at most 50,000 events,
/// a twentieth of the default. A file plan uses an alias for shared defaults here and there;
/// an alias bomb of 400 bytes used to expand to the node limit, 0.4 s and 90 MB every time it
/// was read (found fuzzing, issue #6).
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.alias_limits.max_total_replayed_events = 50_000;
    options
}

/// Every structural mistake of a profile tree, in file order.
pub(crate) fn structure_problems(tree: &Spanned<Node>) -> Vec<Problem> {
    let mut out = Vec::new();
    match &tree.value {
        Node::Null => out.push(problem(
            tree,
            "the profile is empty".into(),
            Some("start from profiles/demo.yaml".into()),
        )),
        Node::Map(_) => check_record(tree, PROFILE, "", &mut out),
        other => out.push(problem(
            tree,
            format!(
                "a profile is a mapping of keys (name: …, organisation: …), not {}",
                other.describe()
            ),
            Some("start from profiles/demo.yaml".into()),
        )),
    }
    out
}

/// Line and column of the value at `path` (keys from the top), (0, 0) when it is not there.
pub(crate) fn key_location(tree: &Spanned<Node>, path: &[&str]) -> (u64, u64) {
    let mut node = tree;
    for key in path {
        let Node::Map(entries) = &node.value else {
            return (0, 0);
        };
        match entries
            .iter()
            .find(|(k, _)| k.value == Node::Str((*key).into()))
        {
            Some((_, v)) => node = v,
            None => return (0, 0),
        }
    }
    (node.referenced.line(), node.referenced.column())
}

fn problem(at: &Spanned<Node>, message: String, hint: Option<String>) -> Problem {
    Problem {
        line: at.referenced.line(),
        column: at.referenced.column(),
        message,
        hint,
    }
}

fn joined(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn check_record(node: &Spanned<Node>, keys: &[Key], path: &str, out: &mut Vec<Problem>) {
    let Node::Map(entries) = &node.value else {
        return;
    };
    let mut seen: Vec<&str> = Vec::new();
    for (k, v) in entries {
        let Some(name) = k.value.scalar_text() else {
            out.push(problem(
                k,
                format!("a key in {} is not a plain word", where_(path)),
                None,
            ));
            continue;
        };
        match keys.iter().find(|key| key.name == name) {
            Some(key) => {
                seen.push(key.name);
                check_value(v, key, &joined(path, key.name), out);
            }
            None => out.push(unknown_key(k, &name, keys, path)),
        }
    }
    for key in keys
        .iter()
        .filter(|k| k.required && !seen.contains(&k.name))
    {
        out.push(problem(
            node,
            format!("{} has no '{}'", where_(path), key.name),
            Some(format!("'{}' is required, e.g. {}", key.name, key.example)),
        ));
    }
}

fn where_(path: &str) -> String {
    if path.is_empty() {
        "the profile".into()
    } else {
        path.to_string()
    }
}

fn unknown_key(k: &Spanned<Node>, name: &str, keys: &[Key], path: &str) -> Problem {
    let names: Vec<&str> = keys.iter().map(|k| k.name).collect();
    let suggestion = closest(name, &names)
        .map(|s| format!("did you mean '{s}'? "))
        .unwrap_or_default();
    problem(
        k,
        format!("unknown key '{name}' in {}", where_(path)),
        Some(format!(
            "{suggestion}{} takes: {}",
            where_(path),
            names.join(", ")
        )),
    )
}

fn check_value(v: &Spanned<Node>, key: &Key, path: &str, out: &mut Vec<Problem>) {
    if v.value == Node::Null {
        if !key.nullable {
            out.push(problem(
                v,
                format!("{path} has no value"),
                Some(format!("write e.g. {}, or leave the key out", key.example)),
            ));
        }
        return;
    }
    check_shape(v, &key.shape, path, key.example, out);
}

fn check_shape(
    v: &Spanned<Node>,
    shape: &Shape,
    path: &str,
    example: &str,
    out: &mut Vec<Problem>,
) {
    let wrong = |what: &str| {
        problem(
            v,
            format!("{path} must be {what}, not {}", v.value.describe()),
            Some(format!("write e.g. {example}")),
        )
    };
    match shape {
        Shape::Text => {
            if v.value.scalar_text().is_none() {
                out.push(wrong("a single value"));
            }
        }
        Shape::Whole(min, max) => match whole_value(&v.value) {
            Some(n) if (i128::from(*min)..=i128::from(*max)).contains(&n) => {}
            Some(n) => out.push(out_of_range(v, path, &n.to_string(), min, max, example)),
            None => out.push(wrong("a whole number")),
        },
        Shape::Number(min, max) => match number_value(&v.value) {
            Some(n) if (*min..=*max).contains(&n) => {}
            Some(n) => out.push(out_of_range(v, path, &n.to_string(), min, max, example)),
            None => out.push(wrong("a number")),
        },
        Shape::SamplePercent => match number_value(&v.value) {
            Some(n) if n > 0.0 && n <= 100.0 => {}
            Some(n) => out.push(problem(
                v,
                format!("{path} {n} is outside 0..100 (above 0, at most 100)"),
                Some(
                    "TR-03138 A.SC.8 needs a visual-check sample: give a share above 0, or leave \
                     the key out for the protection level's default (5 / 25 / 100)"
                        .into(),
                ),
            )),
            None => out.push(wrong("a number")),
        },
        Shape::Flag => {
            if !matches!(v.value, Node::Bool(_)) {
                out.push(wrong("true or false"));
            }
        }
        Shape::Word(words) => match v.value.scalar_text() {
            Some(w) if words.contains(&w.as_str()) => {}
            Some(w) => {
                let hint = match words.iter().find(|x| x.eq_ignore_ascii_case(w.trim())) {
                    Some(x) => format!("did you mean '{x}'? (lower case)"),
                    None => match closest(&w, words) {
                        Some(x) => format!("did you mean '{x}'?"),
                        None => format!("use one of {}", words.join(", ")),
                    },
                };
                out.push(problem(
                    v,
                    format!("{path} '{w}' is not one of {}", words.join(", ")),
                    Some(hint),
                ));
            }
            None => out.push(wrong(&format!("one of {}", words.join(", ")))),
        },
        Shape::List(item) => match &v.value {
            Node::Seq(items) => {
                for (i, it) in items.iter().enumerate() {
                    let p = format!("{path}[{}]", i + 1);
                    if it.value == Node::Null {
                        out.push(problem(
                            it,
                            format!("{p} is empty"),
                            Some("remove the empty '-' entry".into()),
                        ));
                    } else {
                        check_shape(it, item, &list_item_path(&p, it), example, out);
                    }
                }
            }
            _ => out.push(wrong("a list")),
        },
        Shape::TextOrList => match &v.value {
            Node::Seq(items) => {
                for (i, it) in items.iter().enumerate() {
                    check_shape(
                        it,
                        &Shape::Text,
                        &format!("{path}[{}]", i + 1),
                        example,
                        out,
                    );
                }
            }
            n if n.scalar_text().is_some() => {}
            _ => out.push(wrong("a list")),
        },
        Shape::Record(keys) => match &v.value {
            Node::Map(_) => check_record(v, keys, path, out),
            _ => out.push(wrong("a mapping (key: value pairs)")),
        },
        Shape::TextOrRecord(keys) => match &v.value {
            Node::Map(_) => check_record(v, keys, path, out),
            n if n.scalar_text().is_some() => {}
            _ => out.push(wrong("a text or a mapping")),
        },
        Shape::Table(value_shape) => match &v.value {
            Node::Map(entries) => {
                for (k, val) in entries {
                    let name = k.value.scalar_text().unwrap_or_default();
                    if name.trim().is_empty() {
                        out.push(problem(k, format!("a name in {path} is empty"), None));
                        continue;
                    }
                    let p = format!("{path}.{name}");
                    if val.value == Node::Null {
                        out.push(problem(
                            val,
                            format!("{p} has no value"),
                            Some(format!("write e.g. {example}")),
                        ));
                    } else {
                        check_shape(val, value_shape, &p, example, out);
                    }
                }
            }
            _ => out.push(wrong("a mapping (name: value pairs)")),
        },
    }
}

fn out_of_range(
    v: &Spanned<Node>,
    path: &str,
    value: &str,
    min: &dyn fmt::Display,
    max: &dyn fmt::Display,
    example: &str,
) -> Problem {
    problem(
        v,
        format!("{path} {value} is outside {min}..{max}"),
        Some(format!("give a value from {min} to {max}, e.g. {example}")),
    )
}

/// The value of a whole number however written (`300`, `300.0`, `"300"`); `None` when it is
/// not one.
fn whole_value(n: &Node) -> Option<i128> {
    match n {
        Node::Int(i) => Some(*i),
        Node::Float(f) if f.fract() == 0.0 && f.abs() < 1e30 => Some(*f as i128),
        Node::Str(s) => {
            let s = s.trim();
            s.parse::<i128>().ok().or_else(|| {
                let f = s.parse::<f64>().ok()?;
                (f.fract() == 0.0 && f.abs() < 1e30).then_some(f as i128)
            })
        }
        _ => None,
    }
}

fn number_value(n: &Node) -> Option<f64> {
    match n {
        Node::Int(i) => Some(*i as f64),
        Node::Float(f) if f.is_finite() => Some(*f),
        Node::Str(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// `efiles[2]` reads better as `efiles[2] (id 'b')` once the entry's id is known.
fn list_item_path(p: &str, item: &Spanned<Node>) -> String {
    if let Node::Map(entries) = &item.value
        && let Some((_, id)) = entries
            .iter()
            .find(|(k, _)| k.value == Node::Str("id".into()))
        && let Some(id) = id.value.scalar_text()
    {
        return format!("{p} (id '{id}')");
    }
    p.to_string()
}

/// A whole number written as text: `"300"` or `"300.0"`.
pub(crate) fn whole_number_text(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u32>() {
        return Some(n);
    }
    let f = s.parse::<f64>().ok()?;
    (f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f)).then_some(f as u32)
}

/// The candidate nearest to `word` (edit distance at most a third of its length, at least 1;
/// case ignored), for "did you mean".
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_lowercase();
    let limit = (w.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(&w, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// A YAML reader error as a problem in the writer's words: where, what, and a hint for the
/// mistakes people make (tabs, `\` in double quotes, a key given twice, a second document).
pub(crate) fn yaml_error_problem(e: &serde_saphyr::Error, text: &str) -> Problem {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let raw = serde_saphyr::UserMessageFormatter
        .format_message(e.without_snippet())
        .into_owned();
    let message = raw
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .trim_end_matches('.')
        .to_string();
    let line_text = text
        .lines()
        .nth(line.saturating_sub(1) as usize)
        .unwrap_or("");
    let lower = message.to_lowercase();
    let hint = if lower.contains("tab") || line_text.starts_with('\t') {
        Some("YAML indents with spaces only: replace the tab characters with spaces".into())
    } else if lower.contains("escape") || lower.contains("hexadecimal") {
        Some(
            "inside \"double quotes\" a backslash starts an escape: write the value in \
             'single quotes' (regexes, Windows paths) or use /"
                .into(),
        )
    } else if lower.contains("duplicate") {
        Some("each key may appear only once in a mapping: remove or merge the repeated one".into())
    } else if lower.contains("too large or too complex") || lower.contains("recursion limit") {
        Some(
            "nested deeper, or expanded by aliases further, than any profile or batch.yaml \
             needs: look for unclosed [ or { and for aliases that repeat each other"
                .into(),
        )
    } else if lower.contains("multiple") || lower.contains("document") {
        Some("the file must be one YAML document: remove the '---' line and what follows".into())
    } else if lower.contains("anchor") || lower.contains("unknown value") || lower.contains("alias")
    {
        Some("an alias *name needs an anchor &name defined earlier in the file".into())
    } else if lower.contains("end of") {
        Some("the file ends in the middle of a value: check for an unclosed quote, [ or {".into())
    } else {
        None
    };
    Problem {
        line,
        column,
        message: if message.is_empty() {
            "not valid YAML".into()
        } else {
            format!("not valid YAML: {message}")
        },
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        structure_problems(&read_tree(text).unwrap())
    }

    const OK: &str = "name: t\norganisation: o\nprotection: {integrity: normal}\n";

    #[test]
    fn the_tree_keeps_lines_and_types() {
        let t = read_tree("a: 3\nb: \"3\"\nc: [x, 2.5]\nd:\n").unwrap();
        let Node::Map(m) = &t.value else { panic!() };
        assert_eq!(m[0].1.value, Node::Int(3));
        assert_eq!(m[1].1.value, Node::Str("3".into()));
        assert_eq!(m[2].1.referenced.line(), 3);
        assert_eq!(m[3].1.value, Node::Null);
    }

    #[test]
    fn every_unknown_key_and_wrong_type_is_listed_at_once() {
        let p = problems(&format!(
            "{OK}protecton: x\nscan: {{min_dpl: 300, blank_pages: Drop}}\nocr: {{min_confidence: hoch}}\n"
        ));
        let msgs: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert_eq!(p.len(), 4, "{msgs:#?}");
        assert!(msgs[0].contains("line 4") && msgs[0].contains("did you mean 'protection'"));
        assert!(msgs[1].contains("'min_dpl'") && msgs[1].contains("did you mean 'min_dpi'"));
        assert!(msgs[2].contains("'Drop'") && msgs[2].contains("lower case"));
        assert!(msgs[3].contains("must be a number"));
    }

    #[test]
    fn whole_numbers_may_be_written_as_text_or_with_zero_decimals() {
        assert!(problems(&format!("{OK}version: \"3\"\nscan: {{min_dpi: 300.0}}\n")).is_empty());
        let p = problems(&format!("{OK}version: 3.1\n"));
        assert!(p[0].message.contains("whole number"), "{p:?}");
    }

    #[test]
    fn missing_required_keys_name_an_example() {
        let p = problems("name: t\nefiles:\n  - id: a\n    match: {all: [x]}\n");
        let msgs: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert!(
            msgs.iter().any(|m| m.contains("no 'organisation'")),
            "{msgs:#?}"
        );
        assert!(
            msgs.iter().any(|m| m.contains("no 'protection'")),
            "{msgs:#?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("efiles[1] (id 'a') has no 'path'")),
            "{msgs:#?}"
        );
    }

    #[test]
    fn yaml_mistakes_get_hints() {
        let tab = read_tree("name: t\nscan:\n\tmin_dpi: 300\n").unwrap_err();
        assert_eq!(tab.line, 3, "{tab}");
        assert!(tab.hint.unwrap().contains("tab"));
        let esc = read_tree("path: \"C:\\x\\y\"\n").unwrap_err();
        assert!(
            esc.hint.unwrap().contains("single quotes"),
            "{}",
            esc.message
        );
        let dup = read_tree("name: a\nname: b\n").unwrap_err();
        assert_eq!(dup.line, 2);
        assert!(
            !dup.message.contains("DuplicateKeyPolicy"),
            "{}",
            dup.message
        );
    }

    /// The parser's limits (`yaml_options`) hold a city's whole file plan.
    #[test]
    fn a_file_plan_of_2500_efiles_is_within_the_yaml_limits() {
        let mut text = String::from(
            "name: gross\nversion: 1\norganisation: Stadt\nprotection: {integrity: normal}\n\
             scan: {min_dpi: 300}\nocr: {languages: [deu]}\nsigning: {demo: true}\n\
             unclassified: _Klaerung\nefiles:\n",
        );
        for i in 0..2500 {
            text.push_str(&format!(
                "  - id: e{i}\n    title: \"Akte {i}\"\n    match: {{all: [\"Begriff{i}\"], \
                 any: [a, b], none: [c]}}\n    fields: {{az: 'AZ-{i}-(\\d+)'}}\n    \
                 require: [az]\n    path: \"10/{i}/{{az}}\"\n    retention: {{years: 10}}\n"
            ));
        }
        let big = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || crate::profile::parse(&text).map(|p| p.efiles.len()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(big.map_err(|p| p.to_string()), Ok(2500));
    }

    /// Found by fuzzing (issue #6, `profile_parse`): a file nested a thousand levels deep or an
    /// alias bomb is refused by the parser's limits, but the hint said "a profile is one YAML
    /// document: remove the '---' line", because the limit's message says "document". Run on a
    /// thread with the main thread's 8 MiB, where the command parses: the debug build's
    /// deserializer needs more than a test thread's 2 MiB for the levels below the limit.
    #[test]
    fn deep_nesting_and_alias_bombs_are_refused_with_their_own_hint() {
        let deep = format!("a: {}1{}\n", "{b: ".repeat(1000), "}".repeat(1000));
        let deep_list = format!("a: {}1{}\n", "[".repeat(1000), "]".repeat(1000));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, prev) in ["b", "c", "d", "e", "f", "g"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f"])
        {
            bomb.push_str(&format!("{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || {
                for text in [deep, deep_list, bomb] {
                    let problems = crate::profile::parse(&text).unwrap_err().to_string();
                    assert!(problems.contains("nested deeper"), "{problems}");
                    assert!(!problems.contains("'---'"), "{problems}");
                    let manifest =
                        crate::intake::BatchManifest::parse(text.as_bytes()).unwrap_err();
                    assert!(manifest.contains("nested deeper"), "{manifest}");
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn anchors_and_aliases_are_resolved_before_the_check() {
        let p = problems(&format!(
            "{OK}efiles:\n  - id: a\n    match: &m {{all: [x]}}\n    path: a\n  - id: b\n    match: *m\n    path: b\n"
        ));
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(
            closest("protecton", &["protection", "name"]),
            Some("protection")
        );
        assert_eq!(closest("zzz", &["protection", "name"]), None);
    }
}
