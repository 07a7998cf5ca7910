//! Choosing the documents a person inspects (TR-03138 A.SC.8): a random sample of the batch's
//! filed documents, sized by the protection level's share, plus every document the automatic
//! checks could not vouch for on their own.
//!
//! The draw must be reproducible from what is recorded, years later and with another build:
//! so the generator is SplitMix64 written out here (Steele, Lea, Flood 2014; the constants are
//! the published ones), not `rand`'s `StdRng`, whose algorithm may change between releases.
//! Only the seed comes from the operating system's random source.

use serde::{Deserialize, Serialize};

use crate::note::{DocumentRecord, TransferNote};
use crate::outcome::Fate;

use super::QaError;

/// Format tag of `qa-selection.json`.
pub(crate) const SELECTION_FORMAT: &str = "resiscan-qa-selection/1";

/// The recorded selection of one batch (`_batches/<id>/qa-selection.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    pub format: String,
    pub batch: String,
    /// SHA-256 of the batch transfer note the selection was drawn from.
    pub batch_note_sha256: String,
    /// Seed of the SplitMix64 draw; the same seed over the same note gives the same sample.
    pub seed: u64,
    pub protection: crate::profile::Level,
    pub sample_percent: f64,
    /// Filed documents the random sample was drawn from.
    pub population: usize,
    /// `ceil(sample_percent / 100 * population)`, at least 1 when there is anything to draw.
    pub random_sample_size: usize,
    pub created: String,
    /// Every document to inspect, in batch order, with the reasons it is in.
    pub documents: Vec<SelectedDocument>,
    /// Quarantined documents: no PDF to inspect; the paper goes back to the station.
    pub quarantined: Vec<QuarantinedDocument>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectedDocument {
    pub id: String,
    /// Why the document is in: "random sample (seed …)", "flagged: …", ….
    pub reasons: Vec<Reason>,
}

/// Why a document is to be inspected. `qa-selection.json` records the sentence a person reads
/// (`Display`), as it always did; reading it back gives the variant again, so code asks
/// [`Reason::is_random_sample`] instead of looking at the words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
#[non_exhaustive]
pub enum Reason {
    /// Drawn at random: `percent` of the `population` of filed documents, with `seed`.
    RandomSample {
        percent: f64,
        population: usize,
        seed: u64,
    },
    /// An automatic check wants a person's eye on it ("flagged: …", "blank page(s) dropped: …").
    Check(String),
}

impl Reason {
    pub fn is_random_sample(&self) -> bool {
        matches!(self, Reason::RandomSample { .. })
    }
}

const RANDOM_SAMPLE: &str = "random sample (";

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::RandomSample {
                percent,
                population,
                seed,
            } => write!(f, "{RANDOM_SAMPLE}{percent}% of {population}, seed {seed})"),
            Reason::Check(s) => f.write_str(s),
        }
    }
}

impl From<Reason> for String {
    fn from(r: Reason) -> String {
        r.to_string()
    }
}

/// The recorded sentence back to its variant; a sentence that is not the random draw's exact
/// form is a check's.
impl From<String> for Reason {
    fn from(s: String) -> Reason {
        let random = (|| {
            let inner = s.strip_prefix(RANDOM_SAMPLE)?.strip_suffix(')')?;
            let (percent, rest) = inner.split_once("% of ")?;
            let (population, seed) = rest.split_once(", seed ")?;
            Some(Reason::RandomSample {
                percent: percent.parse().ok()?,
                population: population.parse().ok()?,
                seed: seed.parse().ok()?,
            })
        })();
        random.unwrap_or(Reason::Check(s))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantinedDocument {
    pub id: String,
    pub reason: String,
}

impl Selection {
    /// Whether `doc` is one of the documents to inspect.
    pub fn contains(&self, doc: &str) -> bool {
        self.documents.iter().any(|d| d.id == doc)
    }

    pub fn ids(&self) -> Vec<String> {
        self.documents.iter().map(|d| d.id.clone()).collect()
    }
}

/// SplitMix64: 64 bits of state, a Weyl sequence through a mixing function. Small, fast and
/// with a fixed, published definition — what a recorded seed needs.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (bound > 0) without modulo bias: draws falling into the
    /// incomplete last block of size `2^64 mod bound` are rejected (Lemire's threshold).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0);
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let r = self.next_u64();
            if r >= threshold {
                return r % bound;
            }
        }
    }
}

/// A fresh seed from the operating system (only the seed; the draw itself is ours). 53 bits,
/// so the seed survives JSON readers that hold numbers as IEEE doubles (JavaScript, jq).
pub(crate) fn fresh_seed() -> u64 {
    rand::random::<u64>() >> 11
}

/// `ceil(percent / 100 * n)`, at least 1 when `n > 0`, at most `n`.
pub(crate) fn sample_size(percent: f64, n: usize) -> Result<usize, QaError> {
    if !percent.is_finite() || percent <= 0.0 || percent > 100.0 {
        return Err(QaError::BadSamplePercent(percent));
    }
    if n == 0 {
        return Ok(0);
    }
    // percent * n first: 5 * 40 / 100 is exactly 2, whereas 0.05 * 40 may come out a hair
    // above 2 and ceil to 3. The small tolerance absorbs the rounding of fractional percents.
    let exact = percent * n as f64 / 100.0;
    let size = (exact - 1e-9).ceil().max(1.0) as usize;
    Ok(size.min(n))
}

/// Documents that have a PDF in the store someone can look at.
pub(crate) fn is_inspectable(d: &DocumentRecord) -> bool {
    matches!(
        d.fate,
        Fate::Filed | Fate::AlreadyFiled | Fate::Unclassified
    ) && d.pdf.is_some()
}

/// Why the automatic checks want a person's eye on `d` (empty: nothing special).
pub(crate) fn flag_reasons(d: &DocumentRecord) -> Vec<String> {
    let mut reasons = Vec::new();
    for f in &d.flags {
        reasons.push(format!("flagged: {f}"));
    }
    if !d.dropped_pages.is_empty() {
        let pages: Vec<String> = d.dropped_pages.iter().map(|p| p.to_string()).collect();
        reasons.push(format!(
            "blank page(s) dropped: {} — confirm they were really empty",
            pages.join(", ")
        ));
    }
    // Kept blank pages and rotations are normally already among the flags; deriving them from
    // the page records as well keeps the rule independent of the pipeline's flag wording.
    let kept_blank: Vec<String> = d
        .pages
        .iter()
        .filter(|p| p.blank && !p.dropped)
        .map(|p| p.number.to_string())
        .collect();
    if !kept_blank.is_empty() && !d.flags.iter().any(|f| f.contains("blank")) {
        reasons.push(format!("blank page(s) kept: {}", kept_blank.join(", ")));
    }
    let rotated: Vec<String> = d
        .pages
        .iter()
        .filter(|p| p.rotation != 0)
        .map(|p| format!("{} ({}°)", p.number, p.rotation))
        .collect();
    if !rotated.is_empty() && !d.flags.iter().any(|f| f.contains("rotat")) {
        reasons.push(format!("page(s) rotated: {}", rotated.join(", ")));
    }
    if d.fate == Fate::Unclassified {
        reasons.push(format!(
            "unclassified{}",
            d.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    if let Some(f) = &d.filing
        && f.ambiguous
    {
        reasons.push(format!(
            "ambiguous classification{}",
            f.runner_up
                .as_deref()
                .map(|r| format!(" (runner-up: {r})"))
                .unwrap_or_default()
        ));
    }
    if let Some(a) = &d.anomaly {
        reasons.push(format!("operator noted an anomaly: {a}"));
    }
    reasons
}

/// Draws the selection of `note` with `seed`. Deterministic: the same note and seed give the
/// same selection.
pub(crate) fn select(
    note: &TransferNote,
    note_sha256: &str,
    seed: u64,
    created: String,
) -> Result<Selection, QaError> {
    let percent = note.environment.qa_sample_percent;
    // The population in a fixed order (document id) so the draw does not depend on the order
    // the note happens to list documents in.
    let mut population: Vec<&DocumentRecord> = note
        .documents
        .iter()
        .filter(|d| is_inspectable(d))
        .collect();
    population.sort_by(|a, b| a.id.cmp(&b.id));
    let size = sample_size(percent, population.len())?;

    // Partial Fisher–Yates: the first `size` slots become a uniform random subset.
    let mut order: Vec<usize> = (0..population.len()).collect();
    let mut rng = SplitMix64::new(seed);
    for i in 0..size {
        let j = i + rng.below((order.len() - i) as u64) as usize;
        order.swap(i, j);
    }
    let drawn: std::collections::BTreeSet<&str> = order[..size]
        .iter()
        .map(|&i| population[i].id.as_str())
        .collect();

    let mut documents = Vec::new();
    let mut quarantined = Vec::new();
    for d in &note.documents {
        if d.fate == Fate::Quarantined {
            quarantined.push(QuarantinedDocument {
                id: d.id.clone(),
                reason: d.reason.clone().unwrap_or_else(|| "not recorded".into()),
            });
            continue;
        }
        if !is_inspectable(d) {
            continue;
        }
        let mut reasons = Vec::new();
        if drawn.contains(d.id.as_str()) {
            reasons.push(Reason::RandomSample {
                percent,
                population: population.len(),
                seed,
            });
        }
        reasons.extend(flag_reasons(d).into_iter().map(Reason::Check));
        if !reasons.is_empty() {
            documents.push(SelectedDocument {
                id: d.id.clone(),
                reasons,
            });
        }
    }
    Ok(Selection {
        format: SELECTION_FORMAT.into(),
        batch: note.batch.clone(),
        batch_note_sha256: note_sha256.to_string(),
        seed,
        protection: note.environment.protection,
        sample_percent: percent,
        population: population.len(),
        random_sample_size: size,
        created,
        documents,
        quarantined,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Level;
    use crate::qa::testutil::{batch_note, filed_doc};

    fn note_with(n: usize, level: Level) -> TransferNote {
        let docs = (1..=n).map(|i| filed_doc(&format!("b1_{i:04}"))).collect();
        batch_note(level, docs)
    }

    fn random_count(s: &Selection) -> usize {
        s.documents
            .iter()
            .filter(|d| d.reasons.iter().any(Reason::is_random_sample))
            .count()
    }

    #[test]
    fn splitmix64_matches_the_published_reference_values() {
        // First outputs for seed 1234567 from the reference C implementation (Vigna).
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
        assert_eq!(r.next_u64(), 9817491932198370423);
    }

    #[test]
    fn below_stays_in_range_and_reaches_every_value() {
        let mut r = SplitMix64::new(7);
        let mut seen = [0usize; 5];
        for _ in 0..1000 {
            seen[r.below(5) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 100), "{seen:?}");
    }

    #[test]
    fn fresh_seeds_fit_a_json_double() {
        for _ in 0..100 {
            assert!(fresh_seed() < (1 << 53));
        }
    }

    #[test]
    fn sample_sizes_per_protection_level() {
        assert_eq!(sample_size(5.0, 40).unwrap(), 2);
        assert_eq!(sample_size(25.0, 40).unwrap(), 10);
        assert_eq!(sample_size(100.0, 40).unwrap(), 40);
        assert_eq!(sample_size(5.0, 3).unwrap(), 1);
        assert_eq!(sample_size(5.0, 41).unwrap(), 3);
        assert_eq!(sample_size(5.0, 0).unwrap(), 0);
        assert!(sample_size(0.0, 10).is_err());
        assert!(sample_size(f64::NAN, 10).is_err());
        assert!(sample_size(150.0, 10).is_err());
    }

    #[test]
    fn selection_draws_the_share_of_each_level() {
        let s = select(&note_with(40, Level::Normal), "h", 1, "t".into()).unwrap();
        assert_eq!((s.random_sample_size, random_count(&s)), (2, 2));
        let s = select(&note_with(40, Level::Hoch), "h", 1, "t".into()).unwrap();
        assert_eq!((s.random_sample_size, random_count(&s)), (10, 10));
        let s = select(&note_with(40, Level::SehrHoch), "h", 1, "t".into()).unwrap();
        assert_eq!(s.documents.len(), 40);
        let s = select(&note_with(3, Level::Normal), "h", 1, "t".into()).unwrap();
        assert_eq!(random_count(&s), 1);
    }

    #[test]
    fn the_same_seed_draws_the_same_documents_and_another_seed_usually_not() {
        let note = note_with(40, Level::Hoch);
        let a = select(&note, "h", 42, "t".into()).unwrap();
        let b = select(&note, "h", 42, "t".into()).unwrap();
        assert_eq!(a, b);
        let differs = (0..10u64)
            .map(|s| select(&note, "h", 1000 + s, "t".into()).unwrap().ids())
            .any(|ids| ids != a.ids());
        assert!(differs, "ten other seeds all drew the same sample");
        // The listing order of the note does not change the draw.
        let mut reversed = note.clone();
        reversed.documents.reverse();
        let c = select(&reversed, "h", 42, "t".into()).unwrap();
        let (mut x, mut y) = (a.ids(), c.ids());
        x.sort();
        y.sort();
        assert_eq!(x, y);
    }

    #[test]
    fn flagged_documents_are_always_in_and_quarantined_listed_apart() {
        let mut note = note_with(40, Level::Normal);
        note.documents[5].flags = vec!["low OCR confidence 41 < 60".into()];
        note.documents[6].dropped_pages = vec![2];
        note.documents[7].fate = Fate::Unclassified;
        note.documents[8].anomaly = Some("Seite 2 eingerissen".into());
        note.documents[9].pages[0].rotation = 180;
        if let Some(f) = note.documents[10].filing.as_mut() {
            f.ambiguous = true;
        }
        note.documents[11].fate = Fate::Quarantined;
        note.documents[11].pdf = None;
        note.documents[11].reason = Some("truncated TIFF".into());
        for seed in 0..20 {
            let s = select(&note, "h", seed, "t".into()).unwrap();
            for i in 5..=10 {
                let id = &note.documents[i].id;
                assert!(s.contains(id), "seed {seed}: {id} missing");
            }
            assert!(!s.contains("b1_0012"));
            assert_eq!(s.quarantined.len(), 1);
            assert_eq!(s.quarantined[0].reason, "truncated TIFF");
            assert_eq!(s.population, 39);
            assert_eq!(random_count(&s), 2);
        }
        let s = select(&note, "h", 3, "t".into()).unwrap();
        let why = |id: &str| {
            s.documents
                .iter()
                .find(|d| d.id == id)
                .map(|d| {
                    let r: Vec<String> = d.reasons.iter().map(Reason::to_string).collect();
                    r.join(" | ")
                })
                .unwrap_or_default()
        };
        assert!(why("b1_0006").contains("low OCR confidence"));
        assert!(why("b1_0007").contains("dropped: 2"));
        assert!(why("b1_0008").contains("unclassified"));
        assert!(why("b1_0009").contains("eingerissen"));
        assert!(why("b1_0010").contains("180°"));
        assert!(why("b1_0011").contains("ambiguous"));
    }

    #[test]
    fn reasons_are_recorded_as_sentences_and_read_back_as_variants() {
        let random = Reason::RandomSample {
            percent: 5.0,
            population: 40,
            seed: 1234,
        };
        let doc = SelectedDocument {
            id: "b1_0001".into(),
            reasons: vec![
                random.clone(),
                Reason::Check("flagged: low OCR confidence".into()),
            ],
        };
        let json = serde_json::to_string(&doc).unwrap();
        // The file format is what it was: plain sentences.
        assert_eq!(
            json,
            r#"{"id":"b1_0001","reasons":["random sample (5% of 40, seed 1234)","flagged: low OCR confidence"]}"#
        );
        let back: SelectedDocument = serde_json::from_str(&json).unwrap();
        assert_eq!(back, doc);
        assert!(back.reasons[0].is_random_sample());
        assert!(!back.reasons[1].is_random_sample());
        // Fractional shares survive; a sentence merely starting like the draw is a check's.
        let r = Reason::from("random sample (2.5% of 7, seed 9)".to_string());
        assert_eq!(r.to_string(), "random sample (2.5% of 7, seed 9)");
        assert!(r.is_random_sample());
        let r = Reason::from("random sample (by hand)".to_string());
        assert_eq!(r, Reason::Check("random sample (by hand)".into()));
    }
}
