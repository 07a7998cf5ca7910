//! The small pieces of HTTP the station needs beyond tiny_http: percent-coding of path
//! segments, `application/x-www-form-urlencoded` bodies and query strings, cookies, and a
//! comparison of secrets that does not stop at the first differing byte.

/// Percent-encodes one path segment (everything but RFC 3986's unreserved characters), so an
/// id with spaces, umlauts or `?` stays one segment in a link.
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as space when `plus_is_space`, as forms send it). `None` for a
/// broken escape or bytes that are not UTF-8: such a request names nothing the store holds.
pub(crate) fn percent_decoded(s: &str, plus_is_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The path's segments, decoded; `None` when one cannot be decoded.
pub(crate) fn path_segments(path: &str) -> Option<Vec<String>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decoded(s, false))
        .collect()
}

/// `a=1&b=2` pairs, decoded; broken pairs are left out.
pub(crate) fn form_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((percent_decoded(k, true)?, percent_decoded(v, true)?))
        })
        .collect()
}

pub(crate) fn form_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The value of cookie `name` in a `Cookie:` header.
pub(crate) fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// Equal secrets, compared in time that depends on the length only.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_and_broken_escapes_are_refused() {
        for s in ["demo_0001", "Poststelle 03/ä?#", "..", "%41"] {
            assert_eq!(percent_decoded(&segment(s), false).as_deref(), Some(s));
        }
        assert_eq!(segment("a b/ü"), "a%20b%2F%C3%BC");
        assert_eq!(percent_decoded("%zz", false), None);
        assert_eq!(percent_decoded("%4", false), None);
        assert_eq!(percent_decoded("%ff", false), None, "not UTF-8");
        assert_eq!(
            path_segments("/b/x%2F..%2Fy/d/1").unwrap(),
            vec!["b", "x/../y", "d", "1"]
        );
    }

    #[test]
    fn forms_cookies_and_secrets() {
        let f = form_pairs("decision=reject&reason=Seite+2+fehlt%21&x");
        assert_eq!(form_value(&f, "reason"), Some("Seite 2 fehlt!"));
        assert_eq!(form_value(&f, "x"), Some(""));
        assert_eq!(form_value(&f, "y"), None);
        assert_eq!(cookie("a=1; rs=abc; b=2", "rs"), Some("abc"));
        assert_eq!(cookie("a=1", "rs"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
