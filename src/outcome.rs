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
}

/// The process exit codes of SPEC §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

impl Exit {
    /// The more severe of two exit codes: failure over needs-a-person over ok.
    /// (Usage errors end the program before anything runs and never merge.)
    pub fn merge(self, other: Exit) -> Exit {
        fn rank(e: Exit) -> u8 {
            match e {
                Exit::Ok => 0,
                Exit::NeedsPerson => 1,
                Exit::Failure => 2,
                Exit::Usage => 3,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
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
