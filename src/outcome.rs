//! Per-document outcomes and the exit code they add up to (SPEC §1). Outcomes are values that
//! order by severity, so a batch's exit code is the maximum of its documents'.

use serde::{Deserialize, Serialize};

/// What became of one document, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// Filed into its e-file.
    Filed,
    /// Filed by an earlier run of the same batch; nothing written again.
    AlreadyFiled,
    /// The same paper (identical source hashes) was filed from another batch; not filed twice.
    Duplicate,
    /// Accepted but no file-plan entry matched: filed under the `unclassified` folder.
    Unclassified,
    /// Failed a check: not filed; listed in quarantine.json with the reason.
    Quarantined,
}

impl Fate {
    /// Whether a person has to look at the document (exit code 3).
    pub fn needs_person(self) -> bool {
        matches!(self, Fate::Unclassified | Fate::Quarantined)
    }

    /// Whether the document's files are in the store under this batch: filed, unclassified,
    /// or filed by an earlier run of the same batch (a re-run's note lists those as already
    /// filed; they are still this batch's documents).
    pub fn in_store(self) -> bool {
        matches!(self, Fate::Filed | Fate::Unclassified | Fate::AlreadyFiled)
    }
}

/// The process exit codes of SPEC §1. The discriminants are the codes, which do not follow
/// severity (needs-a-person is 3, failure 1), so `Ord` is written out below by [`Exit::severity`]:
/// `max` and `merge` give the more severe code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    NeedsPerson = 3,
    Failure = 1,
    Usage = 2,
}

/// Serialised as the numeric exit code, as scripts compare it.
impl Serialize for Exit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// Orders by severity: ok < needs-a-person < failure < usage.
impl Ord for Exit {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.severity().cmp(&other.severity())
    }
}

impl PartialOrd for Exit {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Exit {
    /// Rank by severity, least first. A usage error ranks highest: it ends the program before
    /// anything runs, so nothing else can outweigh it.
    fn severity(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::NeedsPerson => 1,
            Exit::Failure => 2,
            Exit::Usage => 3,
        }
    }

    /// The more severe of two exit codes: failure over needs-a-person over ok.
    /// (Usage errors end the program before anything runs and never merge.)
    pub fn merge(self, other: Exit) -> Exit {
        self.max(other)
    }

    /// The exit code a batch's document fates add up to.
    pub fn from_fates(fates: impl IntoIterator<Item = Fate>) -> Exit {
        fates.into_iter().fold(Exit::Ok, |acc, f| {
            acc.merge(if f.needs_person() {
                Exit::NeedsPerson
            } else {
                Exit::Ok
            })
        })
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_wins_over_needs_person_wins_over_ok() {
        assert_eq!(Exit::Ok.merge(Exit::NeedsPerson), Exit::NeedsPerson);
        assert_eq!(Exit::NeedsPerson.merge(Exit::Ok), Exit::NeedsPerson);
        assert_eq!(Exit::NeedsPerson.merge(Exit::Failure), Exit::Failure);
        assert_eq!(Exit::Failure.merge(Exit::NeedsPerson), Exit::Failure);
        assert_eq!(Exit::Ok.merge(Exit::Ok), Exit::Ok);
    }

    const ALL: [Exit; 4] = [Exit::Ok, Exit::NeedsPerson, Exit::Failure, Exit::Usage];

    #[test]
    fn ord_is_severity_not_the_numeric_code() {
        // The trap this guards: a derived Ord would follow the discriminants 0/3/1/2 and rank
        // NeedsPerson (3) above Failure (1).
        assert!(Exit::Failure > Exit::NeedsPerson);
        assert!(Exit::NeedsPerson > Exit::Ok);
        assert!(Exit::Usage > Exit::Failure);
        assert_eq!(Exit::NeedsPerson.max(Exit::Failure), Exit::Failure);
        assert_eq!(
            [Exit::NeedsPerson, Exit::Failure, Exit::Ok]
                .into_iter()
                .max(),
            Some(Exit::Failure)
        );
        let mut sorted = [Exit::Usage, Exit::NeedsPerson, Exit::Ok, Exit::Failure];
        sorted.sort();
        assert_eq!(sorted, ALL);
    }

    #[test]
    fn merge_is_commutative_and_agrees_with_max() {
        for a in ALL {
            for b in ALL {
                assert_eq!(a.merge(b), b.merge(a), "{a:?} {b:?}");
                assert_eq!(a.merge(b), a.max(b), "{a:?} {b:?}");
            }
            assert_eq!(a.merge(Exit::Ok), a, "ok is the identity");
        }
    }

    #[test]
    fn codes_are_those_of_spec_section_1() {
        let codes: Vec<u8> = ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 3, 1, 2]);
    }

    #[test]
    fn fates_add_up_to_an_exit_code() {
        assert_eq!(Exit::from_fates([]), Exit::Ok);
        assert_eq!(
            Exit::from_fates([Fate::Filed, Fate::AlreadyFiled, Fate::Duplicate]),
            Exit::Ok
        );
        assert_eq!(
            Exit::from_fates([Fate::Filed, Fate::Unclassified]),
            Exit::NeedsPerson
        );
        assert_eq!(Exit::from_fates([Fate::Quarantined]), Exit::NeedsPerson);
        assert_eq!(Exit::NeedsPerson.code(), 3);
    }
}
