//! Natural file-name order: `2.jpg` before `10.jpg`, as a person counts pages.

use std::cmp::Ordering;

/// Compares names chunk by chunk: digit runs by value, everything else case-insensitively.
/// Only names equal that way are ordered by their leading zeros (`page_1` before `page_01`,
/// but `page_001` before `page_01b`), then byte-wise, so no two names compare equal.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    let mut zeros = Ordering::Equal;
    loop {
        match (x.is_empty(), y.is_empty()) {
            (true, true) => return zeros.then_with(|| a.cmp(b)),
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let (cx, rx) = chunk(x);
        let (cy, ry) = chunk(y);
        let digits = |s: &str| s.as_bytes()[0].is_ascii_digit();
        let ord = if digits(cx) && digits(cy) {
            let tx = cx.trim_start_matches('0');
            let ty = cy.trim_start_matches('0');
            if zeros == Ordering::Equal {
                zeros = cx.len().cmp(&cy.len());
            }
            tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty))
        } else {
            cx.to_lowercase().cmp(&cy.to_lowercase())
        };
        if ord != Ordering::Equal {
            return ord;
        }
        x = rx;
        y = ry;
    }
}

/// Splits off the leading run of digits or of non-digits.
fn chunk(s: &str) -> (&str, &str) {
    let first_digit = s.as_bytes()[0].is_ascii_digit();
    let end = s
        .char_indices()
        .find(|(_, c)| c.is_ascii_digit() != first_digit)
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_order_by_value() {
        let mut v = vec![
            "10.jpg",
            "2.jpg",
            "1.jpg",
            "page-11.png",
            "page-9.png",
            "B.png",
            "a.png",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "1.jpg",
                "2.jpg",
                "10.jpg",
                "a.png",
                "B.png",
                "page-9.png",
                "page-11.png"
            ]
        );
    }

    #[test]
    fn leading_zeros_and_huge_numbers_do_not_break_order() {
        assert_eq!(natural_cmp("002", "10"), Ordering::Less);
        assert_ne!(natural_cmp("02", "2"), Ordering::Equal);
        let big = "99999999999999999999999999999";
        assert_eq!(natural_cmp(big, "1"), Ordering::Greater);
    }

    #[test]
    fn leading_zeros_only_break_ties_after_the_rest_of_the_name() {
        let mut v = vec![
            "page_01b.png",
            "page_002.png",
            "page_001a.png",
            "page_001.png",
            "page_1.png",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "page_1.png",
                "page_001.png",
                "page_001a.png",
                "page_01b.png",
                "page_002.png"
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn natural_order_is_a_total_order(a in ".{0,12}", b in ".{0,12}", c in ".{0,12}") {
            let ab = natural_cmp(&a, &b);
            proptest::prop_assert_eq!(ab, natural_cmp(&b, &a).reverse());
            if ab == Ordering::Equal { proptest::prop_assert_eq!(&a, &b); }
            if ab != Ordering::Greater && natural_cmp(&b, &c) != Ordering::Greater {
                proptest::prop_assert_ne!(natural_cmp(&a, &c), Ordering::Greater);
            }
        }
    }
}
