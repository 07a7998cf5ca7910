//! Reading PDF objects back: what an incremental update needs from the file it extends (the
//! trailer, the cross-reference sections, the catalog) and what `verify` needs to judge an
//! appended revision. Not a general PDF reader: classic xref tables only (the writer makes no
//! other kind), every value parsed into [`Obj`] with references kept, so a dictionary can be
//! compared and written out again ([`write_obj`]).

use std::fmt::Write as _;

/// A PDF value (ISO 32000-1 7.3). Numbers other than integers keep their text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Obj {
    Null,
    Bool(bool),
    Int(i64),
    Real(String),
    Name(Vec<u8>),
    Str(Vec<u8>),
    Hex(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Dict),
    Ref(u32, u16),
}

/// A dictionary, its entries in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Dict(pub Vec<(Vec<u8>, Obj)>);

impl Dict {
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Obj> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key` (replacing it where it stands, or appended).
    pub(crate) fn set(&mut self, key: &[u8], value: Obj) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key.to_vec(), value)),
        }
    }

    /// The dictionary without the entries named in `keys` (for "equal except …" checks).
    pub(crate) fn without(&self, keys: &[&[u8]]) -> Dict {
        Dict(
            self.0
                .iter()
                .filter(|(k, _)| !keys.contains(&k.as_slice()))
                .cloned()
                .collect(),
        )
    }

    pub(crate) fn int(&self, key: &[u8]) -> Option<i64> {
        match self.get(key) {
            Some(Obj::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn reference(&self, key: &[u8]) -> Option<(u32, u16)> {
        match self.get(key) {
            Some(Obj::Ref(n, g)) => Some((*n, *g)),
            _ => None,
        }
    }
}

/// One indirect object as found in the file: "N G obj VALUE [stream…endstream] endobj".
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Indirect {
    pub num: u32,
    pub generation: u16,
    pub value: Obj,
    /// A stream's data (exactly /Length bytes).
    pub stream: Option<Vec<u8>>,
    /// Offset just past `endobj`, relative to the slice parsed.
    pub end: usize,
}

/// Deepest nesting accepted, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 32;

pub(crate) fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// A cursor over bytes that reads PDF tokens and values.
pub(crate) struct Parser<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Parser { data, pos }
    }

    pub(crate) fn skip_ws(&mut self) {
        while let Some(&b) = self.data.get(self.pos) {
            if b.is_ascii_whitespace() || b == 0 {
                self.pos += 1;
            } else if b == b'%' {
                while self
                    .data
                    .get(self.pos)
                    .is_some_and(|b| *b != b'\n' && *b != b'\r')
                {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A bare token (a number or keyword) at the cursor, after whitespace.
    pub(crate) fn token(&mut self) -> Option<&'a [u8]> {
        self.skip_ws();
        let start = self.pos;
        while let Some(&b) = self.data.get(self.pos) {
            if b.is_ascii_whitespace() || is_delim(b) {
                break;
            }
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.data[start..self.pos])
    }

    /// Consumes `keyword` if it is the next token.
    pub(crate) fn keyword(&mut self, keyword: &[u8]) -> bool {
        let save = self.pos;
        if self.token() == Some(keyword) {
            true
        } else {
            self.pos = save;
            false
        }
    }

    pub(crate) fn uint(&mut self) -> Option<u64> {
        let save = self.pos;
        let t = self.token();
        match t.and_then(|t| std::str::from_utf8(t).ok()?.parse().ok()) {
            Some(v) => Some(v),
            None => {
                self.pos = save;
                None
            }
        }
    }

    pub(crate) fn value(&mut self) -> Option<Obj> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> Option<Obj> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        let rest = self.data.get(self.pos..)?;
        match *rest.first()? {
            b'<' if rest.get(1) == Some(&b'<') => {
                self.pos += 2;
                let mut entries = Vec::new();
                loop {
                    self.skip_ws();
                    if self.data.get(self.pos..self.pos + 2) == Some(b">>") {
                        self.pos += 2;
                        return Some(Obj::Dict(Dict(entries)));
                    }
                    let Obj::Name(key) = self.value_at(depth + 1)? else {
                        return None;
                    };
                    let v = self.value_at(depth + 1)?;
                    entries.push((key, v));
                }
            }
            b'<' => {
                let close = rest.iter().position(|b| *b == b'>')?;
                let mut digits: Vec<u8> = rest[1..close]
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                if digits.len() % 2 == 1 {
                    digits.push(b'0'); // ISO 32000-1 7.3.4.3
                }
                let bytes = hex::decode(&digits).ok()?;
                self.pos += close + 1;
                Some(Obj::Hex(bytes))
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.data.get(self.pos) == Some(&b']') {
                        self.pos += 1;
                        return Some(Obj::Array(items));
                    }
                    items.push(self.value_at(depth + 1)?);
                }
            }
            b'/' => {
                self.pos += 1;
                let mut name = Vec::new();
                while let Some(&b) = self.data.get(self.pos) {
                    if b.is_ascii_whitespace() || is_delim(b) {
                        break;
                    }
                    if b == b'#'
                        && let Some(v) = self
                            .data
                            .get(self.pos + 1..self.pos + 3)
                            .and_then(|h| hex::decode(h).ok())
                    {
                        name.extend(v);
                        self.pos += 3;
                        continue;
                    }
                    name.push(b);
                    self.pos += 1;
                }
                Some(Obj::Name(name))
            }
            b'(' => self.literal_string().map(Obj::Str),
            _ => {
                let token = self.token()?;
                Some(match token {
                    b"null" => Obj::Null,
                    b"true" => Obj::Bool(true),
                    b"false" => Obj::Bool(false),
                    t => {
                        let text = std::str::from_utf8(t).ok()?;
                        if let Ok(i) = text.parse::<i64>() {
                            // "N G R": a reference.
                            let save = self.pos;
                            if let (Ok(num), Some(g)) = (u32::try_from(i), self.uint())
                                && let Ok(g) = u16::try_from(g)
                                && self.keyword(b"R")
                            {
                                return Some(Obj::Ref(num, g));
                            }
                            self.pos = save;
                            Obj::Int(i)
                        } else if text.parse::<f64>().is_ok() {
                            Obj::Real(text.to_string())
                        } else {
                            return None;
                        }
                    }
                })
            }
        }
    }

    fn literal_string(&mut self) -> Option<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut nest = 1;
        loop {
            let b = *self.data.get(self.pos)?;
            self.pos += 1;
            match b {
                b'\\' => {
                    let e = *self.data.get(self.pos)?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.data.get(self.pos) {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        b'\n' => {}
                        b'\r' => {
                            if self.data.get(self.pos) == Some(&b'\n') {
                                self.pos += 1;
                            }
                        }
                        other => out.push(other),
                    }
                }
                b'(' => {
                    nest += 1;
                    out.push(b);
                }
                b')' => {
                    nest -= 1;
                    if nest == 0 {
                        return Some(out);
                    }
                    out.push(b);
                }
                _ => out.push(b),
            }
        }
    }

    /// "N G obj VALUE [stream…endstream] endobj" at the cursor. A stream's `/Length` must be
    /// a direct integer (the writer and the updates write it so).
    pub(crate) fn indirect(&mut self) -> Result<Indirect, String> {
        let at = self.pos;
        let num = self
            .uint()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("no object number at offset {at}"))?;
        let generation = self
            .uint()
            .and_then(|g| u16::try_from(g).ok())
            .ok_or_else(|| format!("object {num}: no generation number"))?;
        if !self.keyword(b"obj") {
            return Err(format!("object {num}: no 'obj' keyword"));
        }
        let value = self
            .value()
            .ok_or_else(|| format!("object {num}: unreadable value"))?;
        let mut stream = None;
        if self.keyword(b"stream") {
            let Obj::Dict(d) = &value else {
                return Err(format!("object {num}: a stream without a dictionary"));
            };
            let len = d
                .int(b"Length")
                .and_then(|l| usize::try_from(l).ok())
                .ok_or_else(|| format!("object {num}: stream /Length is not a direct integer"))?;
            // "stream" is followed by CRLF or LF (ISO 32000-1 7.3.8.1).
            if self.data.get(self.pos) == Some(&b'\r') {
                self.pos += 1;
            }
            if self.data.get(self.pos) != Some(&b'\n') {
                return Err(format!(
                    "object {num}: 'stream' not followed by an end of line"
                ));
            }
            self.pos += 1;
            let data = self
                .data
                .get(self.pos..self.pos + len)
                .ok_or_else(|| format!("object {num}: stream runs past the end"))?;
            stream = Some(data.to_vec());
            self.pos += len;
            if !self.keyword(b"endstream") {
                return Err(format!(
                    "object {num}: no 'endstream' after /Length {len} bytes"
                ));
            }
        }
        if !self.keyword(b"endobj") {
            return Err(format!("object {num}: no 'endobj'"));
        }
        Ok(Indirect {
            num,
            generation,
            value,
            stream,
            end: self.pos,
        })
    }
}

/// One classic cross-reference section with its trailer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct XrefSection {
    /// (object number, offset, generation, in use).
    pub entries: Vec<(u32, u64, u16, bool)>,
    pub trailer: Dict,
    /// Offset just past the trailer dictionary, relative to the slice parsed.
    pub end: usize,
}

/// "xref" subsections "trailer" DICT, at the cursor.
pub(crate) fn xref_section(p: &mut Parser<'_>) -> Result<XrefSection, String> {
    if !p.keyword(b"xref") {
        return Err("no 'xref' keyword where the cross-reference table should start".into());
    }
    let mut entries = Vec::new();
    loop {
        if p.keyword(b"trailer") {
            break;
        }
        let (Some(first), Some(count)) = (p.uint(), p.uint()) else {
            return Err("cross-reference table: unreadable subsection header".into());
        };
        for i in 0..count {
            let (Some(off), Some(generation)) = (p.uint(), p.uint()) else {
                return Err("cross-reference table: unreadable entry".into());
            };
            let in_use = match p.token() {
                Some(b"n") => true,
                Some(b"f") => false,
                _ => return Err("cross-reference table: entry neither 'n' nor 'f'".into()),
            };
            let num = u32::try_from(first + i).map_err(|_| "object number too large")?;
            let generation = u16::try_from(generation).map_err(|_| "generation too large")?;
            entries.push((num, off, generation, in_use));
        }
    }
    let Some(Obj::Dict(trailer)) = p.value() else {
        return Err("the trailer is not a dictionary".into());
    };
    Ok(XrefSection {
        entries,
        trailer,
        end: p.pos,
    })
}

/// The offset `startxref` names at the end of `tail` (the last bytes of a file or revision).
pub(crate) fn last_startxref(tail: &[u8]) -> Option<u64> {
    let at = tail.windows(9).rposition(|w| w == b"startxref")?;
    Parser::new(tail, at + 9).uint()
}

/// Writes `obj` in PDF syntax.
pub(crate) fn write_obj(obj: &Obj, out: &mut String) {
    match obj {
        Obj::Null => out.push_str("null"),
        Obj::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Obj::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Obj::Real(r) => out.push_str(r),
        Obj::Name(n) => write_name(n, out),
        Obj::Str(s) => {
            out.push('(');
            for &b in s {
                match b {
                    b'(' | b')' | b'\\' => {
                        out.push('\\');
                        out.push(b as char);
                    }
                    b' '..=b'~' => out.push(b as char),
                    _ => {
                        let _ = write!(out, "\\{b:03o}");
                    }
                }
            }
            out.push(')');
        }
        Obj::Hex(s) => {
            out.push('<');
            out.push_str(&hex::encode_upper(s));
            out.push('>');
        }
        Obj::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_obj(item, out);
            }
            out.push(']');
        }
        Obj::Dict(d) => {
            out.push_str("<<");
            for (k, v) in &d.0 {
                out.push(' ');
                write_name(k, out);
                out.push(' ');
                write_obj(v, out);
            }
            out.push_str(" >>");
        }
        Obj::Ref(n, g) => {
            let _ = write!(out, "{n} {g} R");
        }
    }
}

fn write_name(n: &[u8], out: &mut String) {
    out.push('/');
    for &b in n {
        if b.is_ascii_graphic() && !is_delim(b) && b != b'#' {
            out.push(b as char);
        } else {
            let _ = write!(out, "#{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_with_references_kept() {
        let text = b"<< /Type /Catalog /Pages 2 0 R /Lang (de\\)x) /A [1 -2 3.5 true null <0aFF>] \
                     /AcroForm << /Fields [5 0 R 9 0 R] /SigFlags 3 >> /N#20x 0 >>";
        let v = Parser::new(text, 0).value().unwrap();
        let Obj::Dict(d) = &v else { panic!() };
        assert_eq!(d.reference(b"Pages"), Some((2, 0)));
        assert_eq!(d.get(b"Lang"), Some(&Obj::Str(b"de)x".to_vec())));
        let mut out = String::new();
        write_obj(&v, &mut out);
        let again = Parser::new(out.as_bytes(), 0).value().unwrap();
        assert_eq!(again, v, "{out}");
        assert!(out.contains("/N#20x 0"), "{out}");
    }

    #[test]
    fn an_indirect_stream_and_an_xref_section_parse() {
        let text = b"7 0 obj\n<< /Length 5 >>\nstream\nab\ncd\nendstream\nendobj\nxref\n0 1\n\
                     0000000000 65535 f\r\n7 1\n0000000000 00000 n\r\ntrailer\n<< /Size 8 /Root 1 0 R >>\n\
                     startxref\n48\n%%EOF\n";
        let mut p = Parser::new(text, 0);
        let o = p.indirect().unwrap();
        assert_eq!((o.num, o.generation), (7, 0));
        assert_eq!(o.stream.as_deref(), Some(&b"ab\ncd"[..]));
        let x = xref_section(&mut p).unwrap();
        assert_eq!(x.entries, vec![(0, 0, 65535, false), (7, 0, 0, true)]);
        assert_eq!(x.trailer.int(b"Size"), Some(8));
        assert_eq!(last_startxref(text), Some(48));
        // A /Length that lies is an error, not a misread.
        let bad = b"7 0 obj\n<< /Length 9 >>\nstream\nab\nendstream\nendobj\n";
        assert!(Parser::new(bad, 0).indirect().is_err());
    }

    #[test]
    fn hostile_nesting_is_refused() {
        let deep = "[".repeat(100);
        assert!(Parser::new(deep.as_bytes(), 0).value().is_none());
    }
}
