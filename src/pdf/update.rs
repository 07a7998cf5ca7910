//! Incremental updates (ISO 32000-1 7.5.6) after the signature: PAdES B-LT's Document Security
//! Store (ETSI EN 319 142-1 5.4.2, ISO 32000-2 12.8.4.3) and, for `renew`, document
//! timestamps. An update appends new objects, a new catalog, a cross-reference section for
//! just those objects and a trailer with `/Prev`; the signed bytes stay exactly as they are.
//!
//! Why not lopdf's `IncrementalDocument`: it parses the whole previous file into memory (a
//! 300-page scan is hundreds of MB of image streams, only to change the catalog), writes a
//! second `%PDF-1.x` header comment into the update, and does not say where an object landed,
//! which a document timestamp's `/ByteRange` must know. What an update needs from the old file
//! is its last trailer and its catalog; [`super::objects`] reads those.
//!
//! The other half, [`check_appended`], is what `verify` uses to tell an update that only adds
//! validation data (and document timestamps) from one that changes the document.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use super::objects::{
    Dict, Indirect, Obj, Parser, XrefSection, last_startxref, write_obj, xref_section,
};

/// Validation data for a DSS: certificates and CRLs, DER.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dss {
    pub certs: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

impl Dss {
    /// Adds `der` unless it is there already.
    pub fn add_cert(&mut self, der: &[u8]) {
        if !self.certs.iter().any(|c| c == der) {
            self.certs.push(der.to_vec());
        }
    }

    pub fn add_crl(&mut self, der: &[u8]) {
        if !self.crls.iter().any(|c| c == der) {
            self.crls.push(der.to_vec());
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    #[error("reading or writing the PDF failed: {0}")]
    Io(io::Error),
    #[error("the PDF cannot be extended: {0}")]
    Structure(String),
}

impl From<io::Error> for UpdateError {
    fn from(e: io::Error) -> Self {
        UpdateError::Io(e)
    }
}

/// What an update needs from the file it extends.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub len: u64,
    pub startxref: u64,
    pub size: u32,
    pub root: (u32, u16),
    pub trailer: Dict,
    pub catalog: Dict,
    chain: XrefChain,
}

/// The cross-reference sections of a file, newest first (following `/Prev`).
#[derive(Debug, Clone, Default)]
struct XrefChain {
    sections: Vec<XrefSection>,
}

/// More revisions than any file of ours has; a `/Prev` loop stops here.
const MAX_REVISIONS: usize = 256;

impl XrefChain {
    fn load(file: &mut File, startxref: u64, len: u64) -> Result<XrefChain, String> {
        let mut sections = Vec::new();
        let mut at = Some(startxref);
        while let Some(offset) = at {
            if sections.len() >= MAX_REVISIONS {
                return Err("more than 256 cross-reference sections (a /Prev loop?)".into());
            }
            if offset >= len {
                return Err(format!("cross-reference offset {offset} lies past the end"));
            }
            let bytes = read_range(file, offset, len - offset).map_err(|e| e.to_string())?;
            let section = xref_section(&mut Parser::new(&bytes, 0))
                .map_err(|e| format!("at offset {offset}: {e}"))?;
            at = section
                .trailer
                .int(b"Prev")
                .map(|p| u64::try_from(p).map_err(|_| "negative /Prev".to_string()))
                .transpose()?;
            sections.push(section);
        }
        Ok(XrefChain { sections })
    }

    /// Where object `num` is, by the newest section that lists it.
    fn offset_of(&self, num: u32) -> Option<u64> {
        for s in &self.sections {
            if let Some((_, off, _, in_use)) = s.entries.iter().rev().find(|e| e.0 == num) {
                return in_use.then_some(*off);
            }
        }
        None
    }

    fn object(&self, file: &mut File, num: u32, len: u64) -> Result<Indirect, String> {
        let off = self
            .offset_of(num)
            .ok_or_else(|| format!("object {num} is not in the cross-reference table"))?;
        // Catalogs, pages and DSS dictionaries are small; streams we read are certificates
        // and CRLs. A 4 MiB window is far beyond any of them.
        let window = (len.saturating_sub(off)).min(4 << 20);
        let bytes = read_range(file, off, window).map_err(|e| e.to_string())?;
        let o = Parser::new(&bytes, 0)
            .indirect()
            .map_err(|e| format!("at offset {off}: {e}"))?;
        if o.num != num {
            return Err(format!(
                "the cross-reference table puts object {num} at offset {off}, where object {} is",
                o.num
            ));
        }
        Ok(o)
    }
}

fn read_range(file: &mut File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(len as usize);
    Read::by_ref(file).take(len).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The offset of the last revision's cross-reference section, from the last KiB of a file
/// (or of the first `len` bytes).
fn startxref_before(file: &mut File, len: u64) -> Result<u64, String> {
    let from = len.saturating_sub(1024);
    let tail = read_range(file, from, len - from).map_err(|e| e.to_string())?;
    last_startxref(&tail).ok_or_else(|| "no 'startxref' at the end of the file".to_string())
}

impl Base {
    /// Reads the last trailer and the catalog of `file`.
    pub(crate) fn read(file: &mut File) -> Result<Base, UpdateError> {
        let s = UpdateError::Structure;
        let len = file.metadata()?.len();
        let startxref = startxref_before(file, len).map_err(s)?;
        let chain = XrefChain::load(file, startxref, len).map_err(s)?;
        let trailer = chain.sections[0].trailer.clone();
        if trailer.get(b"Encrypt").is_some() {
            return Err(s("the PDF is encrypted".into()));
        }
        let size = trailer
            .int(b"Size")
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| s("the trailer has no /Size".into()))?;
        let root = trailer
            .reference(b"Root")
            .ok_or_else(|| s("the trailer has no /Root".into()))?;
        let catalog = match chain.object(file, root.0, len).map_err(s)?.value {
            Obj::Dict(d) => d,
            _ => return Err(s("the catalog is not a dictionary".into())),
        };
        Ok(Base {
            len,
            startxref,
            size,
            root,
            trailer,
            catalog,
            chain,
        })
    }

    /// An object of the file as it stands.
    pub(crate) fn object(&self, file: &mut File, num: u32) -> Result<Indirect, UpdateError> {
        self.chain
            .object(file, num, self.len)
            .map_err(UpdateError::Structure)
    }
}

/// One object of an update: its number and body (the value, or a stream dictionary without
/// `/Length` plus its data).
pub(crate) enum NewObject {
    Value(u32, Obj),
    Stream(u32, Dict, Vec<u8>),
    /// Written as given (a signature dictionary with fixed-width placeholders).
    Raw(u32, String),
}

/// An update being put together: objects numbered from the base's `/Size` on.
pub(crate) struct Update<'a> {
    base: &'a Base,
    next: u32,
    objects: Vec<NewObject>,
}

impl<'a> Update<'a> {
    pub(crate) fn new(base: &'a Base) -> Self {
        Update {
            base,
            next: base.size,
            objects: Vec::new(),
        }
    }

    pub(crate) fn reserve(&mut self) -> u32 {
        self.next += 1;
        self.next - 1
    }

    pub(crate) fn push(&mut self, o: NewObject) {
        self.objects.push(o);
    }

    /// The bytes of the update: objects, xref section, trailer. In the object `marker_in`
    /// (a [`NewObject::Raw`] signature dictionary) the `/ByteRange [` placeholder is looked
    /// for, so the caller can patch it: the offset of its `[` (relative to the update's start)
    /// comes back.
    pub(crate) fn render(self, marker_in: Option<u32>) -> (Vec<u8>, Option<usize>) {
        let mut out = Vec::new();
        let mut offsets: BTreeMap<u32, u64> = BTreeMap::new();
        let mut marker_at = None;
        for o in &self.objects {
            let num = match o {
                NewObject::Value(n, _) | NewObject::Stream(n, _, _) | NewObject::Raw(n, _) => *n,
            };
            offsets.insert(num, self.base.len + out.len() as u64);
            out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
            match o {
                NewObject::Value(_, v) => {
                    let mut text = String::new();
                    write_obj(v, &mut text);
                    if marker_in == Some(num) {
                        marker_at = text.find("/Contents <").map(|p| out.len() + p + 10);
                    }
                    out.extend_from_slice(text.as_bytes());
                }
                NewObject::Raw(_, text) => {
                    if marker_in == Some(num) {
                        marker_at = text.find("/ByteRange [").map(|p| out.len() + p + 11);
                    }
                    out.extend_from_slice(text.as_bytes());
                }
                NewObject::Stream(_, d, data) => {
                    let mut d = d.clone();
                    d.set(b"Length", Obj::Int(data.len() as i64));
                    let mut text = String::new();
                    write_obj(&Obj::Dict(d), &mut text);
                    out.extend_from_slice(text.as_bytes());
                    out.extend_from_slice(b"\nstream\n");
                    out.extend_from_slice(data);
                    out.extend_from_slice(b"\nendstream");
                }
            }
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref_at = self.base.len + out.len() as u64;
        out.extend_from_slice(b"xref\n");
        // Subsections of consecutive numbers (ISO 32000-1 7.5.4).
        let nums: Vec<u32> = offsets.keys().copied().collect();
        let mut i = 0;
        while i < nums.len() {
            let mut j = i + 1;
            while j < nums.len() && nums[j] == nums[j - 1] + 1 {
                j += 1;
            }
            out.extend_from_slice(format!("{} {}\n", nums[i], j - i).as_bytes());
            for n in &nums[i..j] {
                out.extend_from_slice(format!("{:010} 00000 n\r\n", offsets[n]).as_bytes());
            }
            i = j;
        }
        let size = self.next.max(self.base.size);
        let mut trailer = Dict::default();
        trailer.set(b"Size", Obj::Int(i64::from(size)));
        trailer.set(b"Root", Obj::Ref(self.base.root.0, self.base.root.1));
        for key in [&b"Info"[..], b"ID"] {
            if let Some(v) = self.base.trailer.get(key) {
                trailer.set(key, v.clone());
            }
        }
        trailer.set(b"Prev", Obj::Int(self.base.startxref as i64));
        let mut text = String::from("trailer\n");
        write_obj(&Obj::Dict(trailer), &mut text);
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(format!("\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
        (out, marker_at)
    }
}

/// The DSS as it should stand after an update: the old one's entries kept (streams are
/// referenced again, not copied), what `add` brings that is not there yet as new streams.
/// Returns the catalog with `/DSS` pointing at the new dictionary.
pub(crate) fn dss_objects(
    file: &mut File,
    base: &Base,
    update: &mut Update<'_>,
    add: &Dss,
) -> Result<Dict, UpdateError> {
    let mut old_refs: BTreeMap<&'static [u8], Vec<Obj>> = BTreeMap::new();
    let mut have: BTreeSet<Vec<u8>> = BTreeSet::new();
    if let Some((num, _)) = base.catalog.reference(b"DSS") {
        let Obj::Dict(old) = base.object(file, num)?.value else {
            return Err(UpdateError::Structure(
                "the old /DSS is not a dictionary".into(),
            ));
        };
        for key in [&b"Certs"[..], b"CRLs"] {
            if let Some(Obj::Array(items)) = old.get(key) {
                for item in items {
                    if let Obj::Ref(n, _) = item
                        && let Some(data) = base.object(file, *n)?.stream
                    {
                        have.insert(data);
                    }
                    old_refs.entry(key).or_default().push(item.clone());
                }
            }
        }
    }
    let mut dss = Dict::default();
    dss.set(b"Type", Obj::Name(b"DSS".to_vec()));
    for (key, items) in [(&b"Certs"[..], &add.certs), (b"CRLs", &add.crls)] {
        let mut refs = old_refs.remove(key).unwrap_or_default();
        for der in items {
            if have.contains(der) {
                continue;
            }
            let n = update.reserve();
            update.push(NewObject::Stream(n, Dict::default(), der.clone()));
            refs.push(Obj::Ref(n, 0));
        }
        if !refs.is_empty() {
            dss.set(key, Obj::Array(refs));
        }
    }
    let dss_num = update.reserve();
    update.push(NewObject::Value(dss_num, Obj::Dict(dss)));
    let mut catalog = base.catalog.clone();
    catalog.set(b"DSS", Obj::Ref(dss_num, 0));
    Ok(catalog)
}

/// Appends a DSS with `dss` (PAdES B-LT) to the signed PDF in `file` (open for reading and
/// writing); returns the bytes added. No fsync: the caller files the PDF and syncs it then
/// (ingest does before the rename into the store).
pub fn append_dss(file: &mut File, dss: &Dss) -> Result<u64, UpdateError> {
    let base = Base::read(file)?;
    let mut update = Update::new(&base);
    let catalog = dss_objects(file, &base, &mut update, dss)?;
    update.push(NewObject::Value(base.root.0, Obj::Dict(catalog)));
    let (bytes, _) = update.render(None);
    file.seek(SeekFrom::Start(base.len))?;
    file.write_all(&bytes)?;
    Ok(bytes.len() as u64)
}

/// Width of the `/ByteRange` placeholder a document timestamp is written with.
const BYTE_RANGE_PLACEHOLDER: &str = "[0 0000000000 0000000000 0000000000]";

/// Appends a document timestamp (PAdES B-LTA: `/Type /DocTimeStamp`, `/SubFilter
/// /ETSI.RFC3161`, ETSI EN 319 142-1 5.5) to the PDF in `file` as one incremental update: the
/// timestamp dictionary, an invisible signature field for it in the catalog's `/AcroForm`,
/// the new catalog. The token covers the whole file but its own `/Contents`. Returns the bytes
/// added. Nothing is written when the TSA fails.
pub fn append_doc_timestamp(
    file: &mut File,
    tsa: &crate::crypto::tsp::Tsa,
) -> Result<u64, DocTimestampError> {
    use sha2::{Digest, Sha256};
    let base = Base::read(file)?;
    let s = |m: &str| DocTimestampError::Update(UpdateError::Structure(m.into()));
    let Some(Obj::Dict(acroform)) = base.catalog.get(b"AcroForm") else {
        return Err(s("the catalog has no direct /AcroForm dictionary"));
    };
    let Some(Obj::Array(fields)) = acroform.get(b"Fields") else {
        return Err(s("the /AcroForm has no /Fields array"));
    };
    let mut update = Update::new(&base);
    let value = update.reserve();
    let field = update.reserve();
    let hex_len = 2 * tsa.token_room();
    let sig = format!(
        "<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161 /ByteRange \
         {BYTE_RANGE_PLACEHOLDER} /Contents <{}> >>",
        "0".repeat(hex_len)
    );
    update.push(NewObject::Raw(value, sig));
    let name = format!("DocTimeStamp{}", fields.len() + 1);
    let mut widget = Dict::default();
    for (k, v) in [
        (&b"FT"[..], Obj::Name(b"Sig".to_vec())),
        (b"T", Obj::Str(name.into_bytes())),
        (b"V", Obj::Ref(value, 0)),
        (b"Type", Obj::Name(b"Annot".to_vec())),
        (b"Subtype", Obj::Name(b"Widget".to_vec())),
        // Print | Locked, zero Rect: invisible, no appearance needed (ISO 19005-2 6.3.3).
        (b"F", Obj::Int(132)),
        (b"Rect", Obj::Array(vec![Obj::Int(0); 4])),
    ] {
        widget.set(k, v);
    }
    update.push(NewObject::Value(field, Obj::Dict(widget)));
    let mut new_fields = fields.clone();
    new_fields.push(Obj::Ref(field, 0));
    let mut acroform = acroform.clone();
    acroform.set(b"Fields", Obj::Array(new_fields));
    let mut catalog = base.catalog.clone();
    catalog.set(b"AcroForm", Obj::Dict(acroform));
    update.push(NewObject::Value(base.root.0, Obj::Dict(catalog)));
    let (mut bytes, br_at) = update.render(Some(value));
    let br_at = br_at.ok_or_else(|| s("internal: no /ByteRange placeholder written"))?;
    // The hole: the /Contents hex string, < and > included (ISO 32000-1 12.8.1).
    let lt = br_at
        + bytes[br_at..]
            .windows(11)
            .position(|w| w == b"/Contents <")
            .ok_or_else(|| s("internal: no /Contents placeholder written"))?
        + 10;
    let hole = (base.len + lt as u64, base.len + (lt + hex_len + 2) as u64);
    let total = base.len + bytes.len() as u64;
    let range = format!("[0 {} {} {}", hole.0, hole.1, total - hole.1);
    let padded = format!(
        "{range}{}]",
        " ".repeat(BYTE_RANGE_PLACEHOLDER.len() - range.len() - 1)
    );
    bytes[br_at..br_at + padded.len()].copy_from_slice(padded.as_bytes());
    // The imprint: the old file as it stands, then the update but its hole.
    let mut h = Sha256::new();
    file.seek(SeekFrom::Start(0))?;
    io::copy(
        &mut Read::by_ref(file).take(base.len),
        &mut HashWriter(&mut h),
    )?;
    h.update(&bytes[..lt]);
    h.update(&bytes[lt + hex_len + 2..]);
    let imprint: [u8; 32] = h.finalize().into();
    let token = tsa.stamp(&imprint).map_err(DocTimestampError::Tsa)?;
    let hex = hex::encode_upper(&token);
    if hex.len() > hex_len {
        return Err(s("the timestamp token is larger than the room kept for it"));
    }
    bytes[lt + 1..lt + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    file.seek(SeekFrom::Start(base.len))?;
    file.write_all(&bytes)?;
    Ok(bytes.len() as u64)
}

struct HashWriter<'a>(&'a mut sha2::Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        sha2::Digest::update(self.0, buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocTimestampError {
    #[error(transparent)]
    Update(#[from] UpdateError),
    #[error(transparent)]
    Tsa(crate::crypto::tsp::TsaError),
}

impl From<io::Error> for DocTimestampError {
    fn from(e: io::Error) -> Self {
        DocTimestampError::Update(UpdateError::Io(e))
    }
}

/// What the revisions after the signed range hold, as `verify` found them.
#[derive(Debug, Clone, Default)]
pub struct Appended {
    /// One line per revision, for the report ("DSS: 3 certificates, 1 CRL").
    pub revisions: Vec<String>,
    /// Every certificate and CRL the DSS of the last revision holds (DER).
    pub dss: Dss,
    /// Document timestamps found, in file order.
    pub doc_timestamps: Vec<DocTimestamp>,
}

/// A document timestamp (`/Type /DocTimeStamp`) found in an appended revision.
#[derive(Debug, Clone)]
pub struct DocTimestamp {
    pub byte_range: [u64; 4],
    /// The token (ContentInfo DER, padding zeros stripped by the caller's parser).
    pub token: Vec<u8>,
}

/// Judges the bytes after `signed_end` (the end of the signed revision): every revision there
/// must only add validation data — a DSS (certificates and CRLs) referenced from a catalog
/// that is otherwise unchanged — with a cross-reference section that lists exactly its
/// objects. Anything else is an `Err` naming what changed.
pub fn check_appended(file: &mut File, signed_end: u64, len: u64) -> Result<Appended, String> {
    let mut prev_startxref = startxref_before(file, signed_end)?;
    let mut chain = XrefChain::load(file, prev_startxref, signed_end)?;
    let tail = read_range(file, signed_end, len - signed_end).map_err(|e| e.to_string())?;
    let mut out = Appended::default();
    let mut p = Parser::new(&tail, 0);
    let mut revision = 1;
    loop {
        while p.data.get(p.pos).is_some_and(|b| b.is_ascii_whitespace()) {
            p.pos += 1;
        }
        if p.pos >= tail.len() {
            break;
        }
        revision += 1;
        let prev_trailer = chain.sections[0].trailer.clone();
        let prev_size = prev_trailer
            .int(b"Size")
            .and_then(|v| u32::try_from(v).ok())
            .ok_or("the signed revision's trailer has no /Size")?;
        let at = |what: String| format!("revision {revision}: {what}");
        // The objects, up to the cross-reference section.
        let mut objects: BTreeMap<u32, (u64, Indirect)> = BTreeMap::new();
        loop {
            p.skip_ws();
            if tail[p.pos..].starts_with(b"xref") {
                break;
            }
            let off = signed_end + p.pos as u64;
            let o = p.indirect().map_err(at)?;
            if o.generation != 0 {
                return Err(at(format!(
                    "object {} has generation {}",
                    o.num, o.generation
                )));
            }
            if objects.insert(o.num, (off, o)).is_some() {
                return Err(at("an object is defined twice".into()));
            }
        }
        let xref_at = signed_end + p.pos as u64;
        let section = xref_section(&mut p).map_err(at)?;
        if !p.keyword(b"startxref") || p.uint() != Some(xref_at) {
            return Err(at(
                "'startxref' does not name this revision's cross-reference section".into(),
            ));
        }
        while p.data.get(p.pos).is_some_and(|b| b.is_ascii_whitespace()) {
            p.pos += 1;
        }
        if !tail[p.pos..].starts_with(b"%%EOF") {
            return Err(at("no %%EOF after the trailer".into()));
        }
        p.pos += 5;
        // The revision ends after its %%EOF line (what a document timestamp covers).
        if tail.get(p.pos) == Some(&b'\r') {
            p.pos += 1;
        }
        if tail.get(p.pos) == Some(&b'\n') {
            p.pos += 1;
        }
        let rev_end = signed_end + p.pos as u64;
        // The xref lists exactly these objects, where they are: a reader sees what we check.
        let listed: BTreeMap<u32, u64> = section
            .entries
            .iter()
            .filter(|e| e.3)
            .map(|e| (e.0, e.1))
            .collect();
        let found: BTreeMap<u32, u64> = objects.iter().map(|(n, (o, _))| (*n, *o)).collect();
        if section.entries.iter().any(|e| !e.3 && e.0 != 0) || listed != found {
            return Err(at(
                "its cross-reference section does not list exactly the objects it holds".into(),
            ));
        }
        // The trailer: same document, same root, chained to the previous revision.
        let t = &section.trailer;
        let allowed: &[&[u8]] = &[b"Size", b"Root", b"Info", b"ID", b"Prev"];
        if let Some((k, _)) = t.0.iter().find(|(k, _)| !allowed.contains(&k.as_slice())) {
            return Err(at(format!(
                "its trailer has /{}",
                String::from_utf8_lossy(k)
            )));
        }
        if t.int(b"Prev") != i64::try_from(prev_startxref).ok() {
            return Err(at("its trailer's /Prev is not the previous revision".into()));
        }
        for key in [&b"Root"[..], b"Info", b"ID"] {
            if t.get(key) != prev_trailer.get(key) {
                return Err(at(format!(
                    "its trailer changes /{}",
                    String::from_utf8_lossy(key)
                )));
            }
        }
        let size = t
            .int(b"Size")
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| at("its trailer has no /Size".into()))?;
        if size < prev_size || objects.keys().any(|n| *n >= size) {
            return Err(at("its trailer's /Size does not cover its objects".into()));
        }
        let root = t.reference(b"Root").ok_or_else(|| at("no /Root".into()))?;
        let raw = Raw {
            tail: &tail,
            start: signed_end,
            rev_end,
        };
        let line =
            judge_revision(file, &chain, len, root.0, &objects, &raw, &mut out).map_err(at)?;
        out.revisions.push(format!("revision {revision}: {line}"));
        chain.sections.insert(0, section);
        prev_startxref = xref_at;
    }
    Ok(out)
}

/// Only the catalog may be redefined, and only by its `/DSS`; every new object is the DSS or
/// a certificate or CRL stream it references.
/// The appended bytes (from `start` on), and where the revision being judged ends.
struct Raw<'a> {
    tail: &'a [u8],
    start: u64,
    rev_end: u64,
}

fn judge_revision(
    file: &mut File,
    chain: &XrefChain,
    chain_len: u64,
    root: u32,
    objects: &BTreeMap<u32, (u64, Indirect)>,
    raw: &Raw<'_>,
    out: &mut Appended,
) -> Result<String, String> {
    let mut accounted: BTreeSet<u32> = BTreeSet::new();
    for num in objects.keys() {
        if chain.offset_of(*num).is_some() && *num != root {
            return Err(format!(
                "it changes object {num}, which is not the catalog: the document was modified \
                 after signing"
            ));
        }
    }
    let Some((_, new_cat)) = objects.get(&root) else {
        return Err("it adds objects but no new catalog refers to them".into());
    };
    accounted.insert(root);
    let Obj::Dict(new_cat) = &new_cat.value else {
        return Err("its catalog is not a dictionary".into());
    };
    let Obj::Dict(old_cat) = chain.object(file, root, chain_len)?.value else {
        return Err("the previous catalog is not a dictionary".into());
    };
    if new_cat.without(&[b"DSS", b"AcroForm"]) != old_cat.without(&[b"DSS", b"AcroForm"]) {
        return Err("it changes the catalog beyond /DSS".into());
    }
    let mut stamps = Vec::new();
    if new_cat.get(b"AcroForm") != old_cat.get(b"AcroForm") {
        // Only new document-timestamp fields may join the form.
        let (Some(Obj::Dict(new_form)), Some(Obj::Dict(old_form))) =
            (new_cat.get(b"AcroForm"), old_cat.get(b"AcroForm"))
        else {
            return Err("it changes the catalog's /AcroForm".into());
        };
        let (Some(Obj::Array(new_fields)), Some(Obj::Array(old_fields))) =
            (new_form.get(b"Fields"), old_form.get(b"Fields"))
        else {
            return Err("it changes the /AcroForm's /Fields".into());
        };
        if new_form.without(&[b"Fields"]) != old_form.without(&[b"Fields"])
            || !new_fields.starts_with(old_fields)
        {
            return Err("it changes the /AcroForm beyond adding fields".into());
        }
        for added in &new_fields[old_fields.len()..] {
            let stamp = doc_timestamp_field(added, objects, raw)?;
            accounted.extend([stamp.0, stamp.1]);
            stamps.push(stamp.2);
        }
    }
    let old_dss = match old_cat.reference(b"DSS") {
        Some((n, _)) => match chain.object(file, n, chain_len)?.value {
            Obj::Dict(d) => Some(d),
            _ => return Err("the previous /DSS is not a dictionary".into()),
        },
        None => None,
    };
    let mut line = String::new();
    match new_cat.reference(b"DSS") {
        Some((n, _)) if objects.contains_key(&n) => {
            accounted.insert(n);
            let Obj::Dict(dss) = &objects[&n].1.value else {
                return Err("/DSS is not a dictionary".into());
            };
            let mut fresh = Dss::default();
            for (k, v) in &dss.0 {
                match (k.as_slice(), v) {
                    (b"Type", Obj::Name(t)) if t == b"DSS" => {}
                    (key @ (b"Certs" | b"CRLs"), Obj::Array(items)) => {
                        let old_items: Vec<Obj> = match old_dss.as_ref().and_then(|d| d.get(key)) {
                            Some(Obj::Array(a)) => a.clone(),
                            _ => Vec::new(),
                        };
                        for item in items {
                            let Obj::Ref(r, _) = item else {
                                return Err("a /DSS entry is not a reference to a stream".into());
                            };
                            let data = if let Some((_, o)) = objects.get(r) {
                                accounted.insert(*r);
                                match (&o.value, &o.stream) {
                                    (Obj::Dict(d), Some(data))
                                        if d.0.iter().all(|(k, _)| k == b"Length") =>
                                    {
                                        data.clone()
                                    }
                                    _ => {
                                        return Err(format!(
                                            "/DSS /{} names object {r}, which is not a plain \
                                             data stream",
                                            String::from_utf8_lossy(key)
                                        ));
                                    }
                                }
                            } else if old_items.contains(item) {
                                chain
                                    .object(file, *r, chain_len)?
                                    .stream
                                    .ok_or_else(|| format!("old DSS object {r} is no stream"))?
                            } else {
                                return Err(format!(
                                    "/DSS names object {r}, which is neither new nor in the \
                                     previous DSS"
                                ));
                            };
                            if key == b"Certs" {
                                if x509_parser::parse_x509_certificate(&data).is_err() {
                                    return Err(format!("DSS object {r} is not a certificate"));
                                }
                                fresh.add_cert(&data);
                            } else {
                                if x509_parser::parse_x509_crl(&data).is_err() {
                                    return Err(format!("DSS object {r} is not a CRL"));
                                }
                                fresh.add_crl(&data);
                            }
                        }
                    }
                    (k, _) => {
                        return Err(format!(
                            "/DSS has /{}, which resiscan does not write",
                            String::from_utf8_lossy(k)
                        ));
                    }
                }
            }
            line = format!(
                "DSS with {} certificate(s) and {} CRL(s)",
                fresh.certs.len(),
                fresh.crls.len()
            );
            out.dss = fresh;
        }
        Some((n, _)) if Some((n, 0)) == old_cat.reference(b"DSS") => {}
        Some((n, _)) => return Err(format!("/DSS names object {n}, which it does not hold")),
        None if old_dss.is_some() => return Err("it removes the DSS".into()),
        None => {}
    }
    if let Some(n) = objects.keys().find(|n| !accounted.contains(n)) {
        return Err(format!("it adds object {n}, which is not validation data"));
    }
    if !stamps.is_empty() {
        let what = format!("{} document timestamp(s)", stamps.len());
        line = if line.is_empty() {
            what
        } else {
            format!("{line}, {what}")
        };
        out.doc_timestamps.extend(stamps);
    }
    if line.is_empty() {
        line = "catalog rewritten unchanged".into();
    }
    Ok(line)
}

/// A new form field that must be an invisible document-timestamp field: its number, its
/// timestamp dictionary's, and the timestamp, whose `/ByteRange` must leave out exactly its
/// `/Contents` and reach the end of this revision.
fn doc_timestamp_field(
    field: &Obj,
    objects: &BTreeMap<u32, (u64, Indirect)>,
    raw: &Raw<'_>,
) -> Result<(u32, u32, DocTimestamp), String> {
    let Obj::Ref(f, _) = field else {
        return Err("a new form field is not a reference".into());
    };
    let Some((_, fo)) = objects.get(f) else {
        return Err(format!("new form field {f} is not in this revision"));
    };
    let Obj::Dict(w) = &fo.value else {
        return Err(format!("new form field {f} is not a dictionary"));
    };
    let allowed: &[&[u8]] = &[b"FT", b"T", b"V", b"Type", b"Subtype", b"F", b"Rect", b"P"];
    let zero_rect = matches!(w.get(b"Rect"), Some(Obj::Array(r))
        if r.len() == 4 && r.iter().all(|v| matches!(v, Obj::Int(0)) || matches!(v, Obj::Real(x) if x.parse::<f64>() == Ok(0.0))));
    if w.0.iter().any(|(k, _)| !allowed.contains(&k.as_slice()))
        || w.get(b"FT") != Some(&Obj::Name(b"Sig".to_vec()))
        || !zero_rect
    {
        return Err(format!(
            "new form field {f} is not an invisible signature field (only document timestamps \
             may be added)"
        ));
    }
    let Some((v, _)) = w.reference(b"V") else {
        return Err(format!("new form field {f} has no /V"));
    };
    let Some((v_off, vo)) = objects.get(&v) else {
        return Err(format!(
            "the value of new form field {f} is not in this revision"
        ));
    };
    let Obj::Dict(d) = &vo.value else {
        return Err(format!("object {v} is not a dictionary"));
    };
    let allowed: &[&[u8]] = &[b"Type", b"Filter", b"SubFilter", b"ByteRange", b"Contents"];
    if d.0.iter().any(|(k, _)| !allowed.contains(&k.as_slice()))
        || d.get(b"Type") != Some(&Obj::Name(b"DocTimeStamp".to_vec()))
        || d.get(b"SubFilter") != Some(&Obj::Name(b"ETSI.RFC3161".to_vec()))
    {
        return Err(format!(
            "new form field {f} holds a signature, not a document timestamp (/Type \
             /DocTimeStamp, /SubFilter /ETSI.RFC3161): the document was signed again or changed"
        ));
    }
    let Some(Obj::Hex(token)) = d.get(b"Contents") else {
        return Err(format!(
            "document timestamp {v} has no /Contents hex string"
        ));
    };
    let range: Vec<u64> = match d.get(b"ByteRange") {
        Some(Obj::Array(a)) => a
            .iter()
            .filter_map(|o| match o {
                Obj::Int(i) => u64::try_from(*i).ok(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let [0, a, b, c] = range[..] else {
        return Err(format!(
            "document timestamp {v}: /ByteRange is not [0 a b c]"
        ));
    };
    // Where its /Contents string lies in the file.
    let from = usize::try_from(v_off - raw.start).map_err(|_| "offset out of range")?;
    // `end` counts from the start of the appended bytes, as the parser ran over all of them.
    let text = raw
        .tail
        .get(from..vo.end)
        .ok_or("document timestamp: object outside the appended bytes")?;
    let key = text
        .windows(9)
        .position(|w| w == b"/Contents")
        .ok_or("document timestamp: no /Contents")?;
    let lt = key
        + 9
        + text[key + 9..]
            .iter()
            .position(|b| *b == b'<')
            .ok_or("document timestamp: no /Contents string")?;
    let gt = lt
        + text[lt..]
            .iter()
            .position(|b| *b == b'>')
            .ok_or("document timestamp: /Contents not closed")?;
    let hole = (v_off + lt as u64, v_off + gt as u64 + 1);
    if (a, b) != hole || b.checked_add(c) != Some(raw.rev_end) {
        return Err(format!(
            "document timestamp {v}: /ByteRange [0 {a} {b} {c}] does not cover its revision \
             but exactly its /Contents"
        ));
    }
    Ok((
        *f,
        v,
        DocTimestamp {
            byte_range: [0, a, b, c],
            token: token.clone(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::cms::tests::test_identity;

    fn signed(dir: &std::path::Path) -> std::path::PathBuf {
        let (id, _) = test_identity();
        let path = dir.join("doc.pdf");
        crate::pdf::sign::tests::signed_pdf(&path, &id);
        path
    }

    fn open(path: &std::path::Path) -> File {
        File::options().read(true).write(true).open(path).unwrap()
    }

    #[test]
    fn a_dss_update_keeps_the_signed_bytes_and_qpdf_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = signed(dir.path());
        let before = std::fs::read(&path).unwrap();
        let (id, _) = test_identity();
        let dss = Dss {
            certs: vec![id.certificate_der().to_vec()],
            crls: Vec::new(),
        };
        let added = append_dss(&mut open(&path), &dss).unwrap();
        let after = std::fs::read(&path).unwrap();
        assert_eq!(&after[..before.len()], &before[..]);
        assert_eq!(after.len() as u64, before.len() as u64 + added);
        let out = std::process::Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let doc = lopdf::Document::load(&path).unwrap();
        let cat = doc.catalog().unwrap();
        let dss_ref = cat.get(b"DSS").unwrap().as_reference().unwrap();
        let dss_dict = doc.get_dictionary(dss_ref).unwrap();
        let certs = dss_dict.get(b"Certs").unwrap().as_array().unwrap();
        assert_eq!(certs.len(), 1);

        let found =
            check_appended(&mut open(&path), before.len() as u64, after.len() as u64).unwrap();
        assert_eq!(found.dss.certs, dss.certs);
        assert_eq!(found.revisions.len(), 1, "{:?}", found.revisions);

        // A second update with the same certificate refers to the old stream again.
        let added2 = append_dss(&mut open(&path), &dss).unwrap();
        let again = std::fs::read(&path).unwrap();
        assert!(added2 < added, "{added2} vs {added}");
        let found =
            check_appended(&mut open(&path), before.len() as u64, again.len() as u64).unwrap();
        assert_eq!(found.revisions.len(), 2);
        assert_eq!(found.dss.certs, dss.certs);
    }

    /// Appends `body` as one revision redefining object `num`, chained correctly.
    fn append_raw(path: &std::path::Path, num: u32, body: &str) {
        let mut f = open(path);
        let base = Base::read(&mut f).unwrap();
        let mut u = Update::new(&base);
        let v = Parser::new(body.as_bytes(), 0).value().unwrap();
        u.push(NewObject::Value(num, v));
        let (bytes, _) = u.render(None);
        f.seek(SeekFrom::End(0)).unwrap();
        f.write_all(&bytes).unwrap();
    }

    /// A revision adding a form field whose value is `sig_dict`, with the catalog updated.
    fn append_field(path: &std::path::Path, sig_dict: &str, rect: &str) {
        let mut f = open(path);
        let base = Base::read(&mut f).unwrap();
        let Some(Obj::Dict(form)) = base.catalog.get(b"AcroForm") else {
            panic!("no form")
        };
        let Some(Obj::Array(fields)) = form.get(b"Fields") else {
            panic!("no fields")
        };
        let mut u = Update::new(&base);
        let v = u.reserve();
        let w = u.reserve();
        u.push(NewObject::Raw(v, sig_dict.to_string()));
        let widget = format!("<< /FT /Sig /T (X) /V {v} 0 R /Rect {rect} >>");
        u.push(NewObject::Value(
            w,
            Parser::new(widget.as_bytes(), 0).value().unwrap(),
        ));
        let mut fields = fields.clone();
        fields.push(Obj::Ref(w, 0));
        let mut form = form.clone();
        form.set(b"Fields", Obj::Array(fields));
        let mut cat = base.catalog.clone();
        cat.set(b"AcroForm", Obj::Dict(form));
        u.push(NewObject::Value(base.root.0, Obj::Dict(cat)));
        let (bytes, _) = u.render(None);
        f.seek(SeekFrom::End(0)).unwrap();
        f.write_all(&bytes).unwrap();
    }

    #[test]
    fn only_invisible_document_timestamp_fields_may_join_the_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = signed(dir.path());
        let signed_len = std::fs::metadata(&path).unwrap().len();
        let check = |p: &std::path::Path| {
            let len = std::fs::metadata(p).unwrap().len();
            check_appended(&mut open(p), signed_len, len)
        };
        // A second signature (a /Sig, e.g. someone signing an edited copy).
        let p1 = dir.path().join("sig.pdf");
        std::fs::copy(&path, &p1).unwrap();
        append_field(
            &p1,
            "<< /Type /Sig /SubFilter /ETSI.CAdES.detached /ByteRange [0 1 2 3] /Contents <00> >>",
            "[0 0 0 0]",
        );
        let e = check(&p1).unwrap_err();
        assert!(e.contains("not a document timestamp"), "{e}");
        // A visible field.
        let p2 = dir.path().join("visible.pdf");
        std::fs::copy(&path, &p2).unwrap();
        append_field(
            &p2,
            "<< /Type /DocTimeStamp /SubFilter /ETSI.RFC3161 /ByteRange [0 1 2 3] /Contents <00> >>",
            "[10 10 200 50]",
        );
        let e = check(&p2).unwrap_err();
        assert!(e.contains("not an invisible signature field"), "{e}");
        // A document timestamp whose /ByteRange does not cover its revision.
        let p3 = dir.path().join("range.pdf");
        std::fs::copy(&path, &p3).unwrap();
        append_field(
            &p3,
            "<< /Type /DocTimeStamp /SubFilter /ETSI.RFC3161 /ByteRange [0 1 2 3] /Contents <00> >>",
            "[0 0 0 0]",
        );
        let e = check(&p3).unwrap_err();
        assert!(e.contains("does not cover its revision"), "{e}");
    }

    #[test]
    fn updates_that_change_the_document_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = signed(dir.path());
        let signed_len = std::fs::metadata(&path).unwrap().len();
        let check = |path: &std::path::Path| {
            let len = std::fs::metadata(path).unwrap().len();
            check_appended(&mut open(path), signed_len, len)
        };
        // A page's content replaced (object 4 is its content stream in the test PDF).
        let p1 = dir.path().join("p1.pdf");
        std::fs::copy(&path, &p1).unwrap();
        append_raw(
            &p1,
            3,
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 400] >>",
        );
        let e = check(&p1).unwrap_err();
        assert!(e.contains("changes object 3"), "{e}");
        // The catalog changed beyond /DSS.
        let p2 = dir.path().join("p2.pdf");
        std::fs::copy(&path, &p2).unwrap();
        append_raw(
            &p2,
            1,
            "<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >>",
        );
        let e = check(&p2).unwrap_err();
        assert!(e.contains("catalog beyond /DSS"), "{e}");
        // Trailing garbage after a good update.
        let p3 = dir.path().join("p3.pdf");
        std::fs::copy(&path, &p3).unwrap();
        append_dss(&mut open(&p3), &Dss::default()).unwrap();
        assert!(check(&p3).is_ok());
        let mut f = open(&p3);
        f.seek(SeekFrom::End(0)).unwrap();
        f.write_all(b"1 0 obj\n<< /Type /Catalog >>\nendobj\n")
            .unwrap();
        assert!(check(&p3).is_err());
    }
}
