//! Views of OCR text that compare the way people read it: the classifier matches terms and
//! fields in them, and the store's index searches in them, so both must see a word the same
//! way. A leaf module: it depends on nothing else in the crate.
//!
//! - *plain*: NFKC, soft hyphens removed, syllable breaks at line ends joined ("Voll-\nstreckung"
//!   is "Vollstreckung", "VB-2026-\n00417" keeps its hyphen), white space runs as one space.
//! - *transliterated*: plain with ä/ö/ü/ß written ae/oe/ue/ss, case kept.
//! - *folded*: transliterated and lower-cased, other accents removed (é -> e).

use unicode_normalization::UnicodeNormalization;

/// The plain view: NFKC, no soft hyphens, joined syllable breaks, one space for
/// each run of white space.
pub fn plain_text(text: &str) -> String {
    let chars: Vec<char> = text
        .nfkc()
        .filter(|&c| c != '\u{00AD}')
        .map(|c| match c {
            // Unicode hyphens OCR engines emit; treat as the ASCII one.
            '\u{2010}' | '\u{2011}' => '-',
            c => c,
        })
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '-' && i > 0 && !chars[i - 1].is_whitespace() {
            // Look at the white space after the hyphen: a line break there is a hyphenation.
            let mut j = i + 1;
            let mut newline = false;
            while j < chars.len() && chars[j].is_whitespace() {
                newline |= chars[j] == '\n' || chars[j] == '\r';
                j += 1;
            }
            if newline && j < chars.len() {
                let before = chars[i - 1];
                let after = chars[j];
                if before.is_alphabetic() && after.is_lowercase() {
                    i = j; // syllable break: drop hyphen and line break
                } else {
                    out.push('-'); // a real hyphen (in a code): keep it, drop the break
                    i = j;
                }
                continue;
            }
        }
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// ä/ö/ü/ß written as ae/oe/ue/ss, case kept.
pub fn transliterate(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'Ä' => out.push_str("Ae"),
            'Ö' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'ß' => out.push_str("ss"),
            'ẞ' => out.push_str("SS"),
            c => out.push(c),
        }
    }
    out
}

/// Lower case, umlauts transliterated, other accents removed.
pub fn fold(text: &str) -> String {
    transliterate(&text.to_lowercase())
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_view_joins_syllable_breaks_but_keeps_code_hyphens() {
        assert_eq!(plain_text("Voll-\nstreckung"), "Vollstreckung");
        assert_eq!(plain_text("VB-2026-\n00417"), "VB-2026-00417");
        assert_eq!(plain_text("  a \n\n b\t"), "a b");
        assert_eq!(plain_text("Ein- und Ausgang"), "Ein- und Ausgang");
        assert_eq!(plain_text("Auf\u{00AD}trag"), "Auftrag");
        assert_eq!(plain_text("ﬁnden"), "finden");
    }

    #[test]
    fn folding_makes_umlaut_spellings_equal() {
        assert_eq!(fold("PFÄNDUNG"), "pfaendung");
        assert_eq!(fold("Pfaendung"), "pfaendung");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Café"), "cafe");
        // Decomposed input (a + combining diaeresis) folds like the composed letter.
        assert_eq!(fold(&plain_text("Pfa\u{0308}ndung")), "pfaendung");
    }
}
