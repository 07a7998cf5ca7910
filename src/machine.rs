//! What this machine says about itself: its host name and the time, formatted one way for
//! the whole crate (the notes, the index, the QA addendum and the store's lock all record
//! them, and two formats of the same instant would not compare).

/// RFC 3339 in UTC, e.g. `2026-11-24T22:30:05.123456789Z`; falls back to the Unix time
/// (formatting a valid `OffsetDateTime` does not fail, but a note must never lack a time).
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Now, as [`rfc3339`].
pub fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

/// The kernel's host name (`/proc/sys/kernel/hostname`, else `/etc/hostname`), trimmed;
/// `None` when neither can be read.
pub fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_and_parses_back() {
        let t = time::macros::datetime!(2026-11-24 23:30:05 +01:00);
        let s = rfc3339(t);
        assert_eq!(s, "2026-11-24T22:30:05Z");
        let back = time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339)
            .unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn hostname_matches_the_kernel() {
        // The reference is the outside tool's view of the same name.
        if let Ok(out) = std::process::Command::new("hostname").output() {
            let want = String::from_utf8_lossy(&out.stdout).trim().to_string();
            assert_eq!(hostname().as_deref(), Some(want.as_str()));
        }
    }
}
