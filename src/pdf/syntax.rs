//! PDF lexical pieces the writer needs: a byte-counting sink (object offsets for the xref and
//! the signature placeholder must be exact), number and string formatting, and dates.
//!
//! Everything here produces plain ASCII PDF syntax (ISO 32000-1 7.2-7.3); text outside ASCII
//! goes into UTF-16BE strings written in hex, so no byte of a string can break the syntax.

use std::io::{self, Write};

/// Counts the bytes passed through so every object's offset is known without seeking.
pub(crate) struct CountingWriter<W: Write> {
    inner: W,
    written: u64,
}

impl<W: Write> CountingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self { inner, written: 0 }
    }

    pub(crate) fn position(&self) -> u64 {
        self.written
    }

    pub(crate) fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A real number in PDF syntax: at most 4 decimals, no exponent (PDF has none), trailing
/// zeros dropped; non-finite values become 0 rather than invalid syntax.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let s = format!("{:.4}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    match s {
        "-0" | "" => "0".into(),
        _ => s.to_string(),
    }
}

/// A text string (ISO 32000-1 7.9.2.2): a literal for printable ASCII, otherwise UTF-16BE
/// with a byte-order mark, in hex. Control characters are dropped (they mean nothing in
/// metadata and XMP could not mirror them, ISO 19005-2 6.6.3).
pub(crate) fn text_string(s: &str) -> String {
    let clean = clean_text(s);
    if clean.chars().all(|c| (' '..='~').contains(&c)) {
        let mut out = String::with_capacity(clean.len() + 2);
        out.push('(');
        for c in clean.chars() {
            if matches!(c, '(' | ')' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push(')');
        out
    } else {
        let mut out = String::from("<FEFF");
        for unit in clean.encode_utf16() {
            out.push_str(&format!("{unit:04X}"));
        }
        out.push('>');
        out
    }
}

/// The text with characters removed that neither PDF metadata nor XML 1.0 can carry
/// (C0 controls other than tab/newline, U+FFFE/U+FFFF); used for Info and XMP alike so the
/// two stay identical.
pub(crate) fn clean_text(s: &str) -> String {
    s.chars()
        .filter(|&c| !(c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}'))
        .collect()
}

/// `D:YYYYMMDDHHmmSS+hh'mm'` (ISO 32000-1 7.9.4).
pub(crate) fn pdf_date(t: time::OffsetDateTime) -> String {
    let off = t.offset();
    let (h, m, _) = off.as_hms();
    let sign = if off.is_negative() { '-' } else { '+' };
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}{sign}{:02}'{:02}'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        h.unsigned_abs(),
        m.unsigned_abs()
    )
}

/// The same instant as XMP wants it (ISO 8601 with offset), matching [`pdf_date`] to the
/// second so Info and XMP agree (ISO 19005-2 6.6.3).
pub(crate) fn xmp_date(t: time::OffsetDateTime) -> String {
    let off = t.offset();
    let (h, m, _) = off.as_hms();
    let sign = if off.is_negative() { '-' } else { '+' };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        h.unsigned_abs(),
        m.unsigned_abs()
    )
}

/// A name object with everything outside regular printable ASCII #-escaped
/// (ISO 32000-1 7.3.5).
pub(crate) fn name(s: &str) -> String {
    let mut out = String::from("/");
    for b in s.bytes() {
        let regular = b.is_ascii_graphic()
            && !matches!(
                b,
                b'#' | b'/' | b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'%'
            );
        if regular {
            out.push(b as char);
        } else {
            out.push_str(&format!("#{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn numbers_have_no_exponent_and_no_trailing_zeros() {
        assert_eq!(num(595.0), "595");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(-0.00001), "0");
        assert_eq!(num(1e-9), "0");
        assert_eq!(num(123456789.125), "123456789.125");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(2.0 / 3.0), "0.6667");
    }

    #[test]
    fn strings_escape_or_go_utf16() {
        assert_eq!(text_string("a(b)\\c"), "(a\\(b\\)\\\\c)");
        assert_eq!(text_string("Maß"), "<FEFF004D006100DF>");
        assert_eq!(text_string("x\u{1F600}"), "<FEFF0078D83DDE00>");
        assert_eq!(text_string("a\u{7}b"), "(ab)");
    }

    #[test]
    fn dates_agree_between_info_and_xmp() {
        let t = datetime!(2026-11-24 16:02:11 +01:00);
        assert_eq!(pdf_date(t), "D:20261124160211+01'00'");
        assert_eq!(xmp_date(t), "2026-11-24T16:02:11+01:00");
        let t = datetime!(2026-01-02 03:04:05 -05:30);
        assert_eq!(pdf_date(t), "D:20260102030405-05'30'");
        assert_eq!(xmp_date(t), "2026-01-02T03:04:05-05:30");
    }

    #[test]
    fn names_escape_delimiters() {
        assert_eq!(name("Sig 1"), "/Sig#201");
        assert_eq!(name("a/b"), "/a#2Fb");
    }

    #[test]
    fn counting_writer_counts() {
        let mut w = CountingWriter::new(Vec::new());
        w.write_all(b"hello").unwrap();
        write!(w, "{}", 42).unwrap();
        assert_eq!(w.position(), 7);
        assert_eq!(w.into_inner(), b"hello42");
    }
}
