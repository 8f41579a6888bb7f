//! The findings evaluation: captures labelled with what their bytes prove, scored rule by rule.
//!
//! Two sets: the project's own corpus (`tests/eval/corpus/NAME.pcap` + `NAME.toml`, made with real attack and VoIP
//! tools by `tests/eval/make-corpus.sh`) and the shared real-world captures (`../shared/captures/FILE`, labelled in
//! `tests/eval/shared/FILE.toml`). A label lists the rules that must fire and those that may; every other rule must
//! not (closed world). For each (capture, rule): must and fired = true positive, must and silent = false negative,
//! must-not and fired = false positive. A finding that names a relay or a non-attacker as the source of an attack,
//! cracks a password the server never accepted, or goes above the label's `max_severity`, is a false positive too.
//! On a benign capture no false finding may be high or critical. `scripts/eval-findings.sh` prints the tables;
//! `tests/tests/e2e/eval.rs` holds CI to [`THRESHOLD`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use earshot_core::model::{Analysis, Severity};
use earshot_core::{AnalyzeOptions, analyze_file};
use serde::Deserialize;

/// Precision and recall every rule must reach.
pub const THRESHOLD: f64 = 0.95;

/// Rules whose findings name the attacking source.
const ATTRIBUTED: &[&str] = &[
    "scanner",
    "stir-shaken",
    "brute-force",
    "extension-enumeration",
    "flood",
    "challenge-flood",
    "caller-id-spoofing",
    "dtls-fingerprint-mismatch",
    "header-injection",
];

/// One label file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub description: String,
    #[serde(default)]
    pub tools: Vec<String>,
    /// Nothing in the capture is an attack: no finding may be high or critical.
    #[serde(default)]
    pub benign: bool,
    #[serde(default)]
    pub must_fire: Vec<String>,
    #[serde(default)]
    pub may_fire: Vec<String>,
    #[serde(default)]
    pub attackers: Vec<IpAddr>,
    #[serde(default)]
    pub relays: Vec<IpAddr>,
    #[serde(default)]
    pub notes: String,
    /// The capture, when it is not NAME.pcap beside the label (a sample capture labelled here), relative to the
    /// label.
    #[serde(default)]
    pub capture: Option<PathBuf>,
    /// STIR/SHAKEN certificate folder and trust anchors the capture is analysed with, relative to the label.
    #[serde(default)]
    pub certs: Option<PathBuf>,
    #[serde(default)]
    pub sti_roots: Option<PathBuf>,
    #[serde(default)]
    pub expect: Expect,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// user -> password the server accepted (2xx); `weak-password` may name only these users at high severity.
    #[serde(default)]
    pub accepted_passwords: BTreeMap<String, String>,
    /// rule -> the highest severity the evidence supports.
    #[serde(default)]
    pub max_severity: BTreeMap<String, String>,
}

/// Which set a capture belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Set {
    Corpus,
    Shared,
}

impl Set {
    pub fn as_str(self) -> &'static str {
        match self {
            Set::Corpus => "corpus",
            Set::Shared => "shared",
        }
    }
}

/// A labelled capture.
pub struct Case {
    pub set: Set,
    pub capture: PathBuf,
    pub label: Label,
}

/// One scored mistake.
#[derive(Debug, Clone)]
pub struct Miss {
    pub set: Set,
    pub capture: String,
    pub rule: String,
    /// "false positive", "false negative", "attribution", "unproven password", "severity", "benign high".
    pub kind: &'static str,
    pub detail: String,
}

/// Per-rule counts.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

impl Counts {
    /// Precision; 1 when nothing fired.
    pub fn precision(&self) -> f64 {
        let fired = self.tp + self.fp;
        if fired == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(fired)
        }
    }

    /// Recall; 1 when nothing had to fire.
    pub fn recall(&self) -> f64 {
        let due = self.tp + self.fn_;
        if due == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(due)
        }
    }
}

/// The whole evaluation.
#[derive(Default)]
pub struct Report {
    /// (set, rule) -> counts.
    pub counts: BTreeMap<(Set, String), Counts>,
    pub misses: Vec<Miss>,
    /// High/critical findings on benign captures.
    pub benign_high: u32,
    pub captures: BTreeMap<Set, u32>,
}

/// The repository's `tests/eval/` folder.
pub fn eval_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval")
}

/// The labelled captures made with real tools: the findings corpus, the encrypted calls of `tests/tls` and
/// `tests/dtls`, and the real-tool sample `tls-keylog-call` (each analysed with the key log beside it).
pub fn corpus_dirs() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    vec![
        eval_dir().join("corpus"),
        root.join("tls").join("captures"),
        root.join("dtls").join("captures"),
        crate::samples_dir().join("tls-keylog-call"),
    ]
}

fn read_label(path: &Path) -> Result<Label, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every labelled capture: the corpus (`corpus_dir`, NAME.toml beside NAME.pcap) and the shared captures
/// (`shared_labels` holds FILE.toml for `shared_dir`/FILE). Sorted by set and name.
pub fn cases(
    corpus_dirs: &[PathBuf],
    shared_labels: &Path,
    shared_dir: &Path,
) -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    let dirs = corpus_dirs
        .iter()
        .map(|d| (Set::Corpus, d.as_path(), d.as_path()))
        .chain([(Set::Shared, shared_labels, shared_dir)]);
    for (set, labels, captures) in dirs {
        let rd = std::fs::read_dir(labels).map_err(|e| format!("{}: {e}", labels.display()))?;
        let mut names: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        names.sort();
        for label_path in names {
            let label = read_label(&label_path)?;
            let stem = label_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let base = label_path.parent().unwrap_or(Path::new("."));
            let capture = match (set, &label.capture) {
                (_, Some(c)) => base.join(c),
                (Set::Corpus, None) => ["pcap", "pcapng"]
                    .iter()
                    .map(|ext| captures.join(format!("{stem}.{ext}")))
                    .find(|p| p.exists())
                    .ok_or_else(|| format!("{}: no capture beside it", label_path.display()))?,
                // FILE.toml labels FILE.
                (Set::Shared, None) => captures.join(&stem),
            };
            let mut label = label;
            label.certs = label.certs.map(|p| base.join(p));
            label.sti_roots = label.sti_roots.map(|p| base.join(p));
            if !capture.exists() {
                return Err(format!(
                    "{}: {} not found",
                    label_path.display(),
                    capture.display()
                ));
            }
            out.push(Case {
                set,
                capture,
                label,
            });
        }
    }
    Ok(out)
}

fn severity_rank(s: &str) -> Option<u8> {
    Some(match s {
        "info" => 0,
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        _ => return None,
    })
}

/// Scores one analysed capture against its label.
pub fn score(case: &Case, a: &Analysis, report: &mut Report) -> Result<(), String> {
    let name = case
        .capture
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let l = &case.label;
    let rules = earshot_core::findings::rule_ids();
    for r in l.must_fire.iter().chain(&l.may_fire) {
        if !rules.contains(&r.as_str()) {
            return Err(format!("{name}: unknown rule id `{r}` in its label"));
        }
    }
    *report.captures.entry(case.set).or_default() += 1;
    let miss = |rule: &str, kind: &'static str, detail: String| Miss {
        set: case.set,
        capture: name.clone(),
        rule: rule.to_string(),
        kind,
        detail,
    };
    let mut misses = Vec::new();
    for rule in &rules {
        let found: Vec<_> = a.findings.iter().filter(|f| f.rule_id == *rule).collect();
        let fired = !found.is_empty();
        let must = l.must_fire.iter().any(|r| r == rule);
        let may = l.may_fire.iter().any(|r| r == rule);
        let c = report
            .counts
            .entry((case.set, (*rule).to_string()))
            .or_default();
        // Mistakes inside a finding that should fire make it a false one.
        let mut wrong: Vec<Miss> = Vec::new();
        if fired && ATTRIBUTED.contains(rule) && !l.attackers.is_empty() {
            for f in &found {
                let bad: BTreeSet<&IpAddr> = f
                    .sources
                    .iter()
                    .filter(|ip| l.relays.contains(ip) || !l.attackers.contains(ip))
                    .collect();
                if !bad.is_empty() {
                    wrong.push(miss(
                        rule,
                        "attribution",
                        format!(
                            "\"{}\" names {:?} (attackers {:?}, relays {:?})",
                            f.title, bad, l.attackers, l.relays
                        ),
                    ));
                }
            }
        }
        if *rule == "weak-password" {
            for f in found.iter().filter(|f| f.severity >= Severity::High) {
                for u in &f.users {
                    if !l.expect.accepted_passwords.contains_key(u) {
                        wrong.push(miss(
                            rule,
                            "unproven password",
                            format!(
                                "\"{}\": the server never accepted a password for `{u}`",
                                f.title
                            ),
                        ));
                    }
                }
            }
        }
        if let Some(max) = l.expect.max_severity.get(*rule) {
            let Some(max_rank) = severity_rank(max) else {
                return Err(format!("{name}: unknown severity `{max}`"));
            };
            for f in &found {
                if severity_rank(f.severity.as_str()).unwrap_or(0) > max_rank {
                    wrong.push(miss(
                        rule,
                        "severity",
                        format!(
                            "\"{}\" is {}, the evidence supports at most {max}",
                            f.title,
                            f.severity.as_str()
                        ),
                    ));
                }
            }
        }
        if must {
            if !fired {
                c.fn_ += 1;
                misses.push(miss(rule, "false negative", "did not fire".into()));
            } else if wrong.is_empty() {
                c.tp += 1;
            } else {
                c.fp += 1;
                c.fn_ += 1;
                misses.extend(wrong);
            }
        } else if may {
            if !wrong.is_empty() {
                c.fp += 1;
                misses.extend(wrong);
            }
        } else if fired {
            c.fp += 1;
            let titles: Vec<&str> = found.iter().map(|f| f.title.as_str()).take(3).collect();
            misses.push(miss(rule, "false positive", format!("{titles:?}")));
            misses.extend(wrong);
        }
    }
    if l.benign {
        // A false finding (a rule the label does not allow) that is high or critical on a benign capture. True
        // findings about exposure (SIP or audio in clear) may be high there: they are what the capture shows.
        for f in a.findings.iter().filter(|f| {
            f.severity >= Severity::High
                && !l
                    .must_fire
                    .iter()
                    .chain(&l.may_fire)
                    .any(|r| *r == f.rule_id)
        }) {
            report.benign_high += 1;
            misses.push(miss(
                &f.rule_id,
                "benign high",
                format!(
                    "\"{}\" is {} on a benign capture",
                    f.title,
                    f.severity.as_str()
                ),
            ));
        }
    }
    report.misses.extend(misses);
    Ok(())
}

/// Analyses every case (default settings) and scores it.
pub fn run(cases: &[Case]) -> Result<Report, String> {
    let mut report = Report::default();
    for case in cases {
        // A key log beside the capture (NAME.keys, written by the real TLS stack) is used: the rules then also
        // judge the SIP that travelled inside TLS.
        let keylog = case.capture.with_extension("keys");
        let keys = if keylog.is_file() {
            let mut k = earshot_core::tls::Keys::new();
            k.load_keylog(&keylog)
                .map_err(|e| format!("{}: {e}", keylog.display()))?;
            Some(std::sync::Arc::new(k))
        } else {
            None
        };
        // STIR/SHAKEN certificates the label names.
        let l = &case.label;
        let identity = if l.certs.is_some() || l.sti_roots.is_some() {
            let store =
                earshot_core::identity::CertStore::load(l.certs.as_deref(), l.sti_roots.as_deref())
                    .map_err(|e| format!("{}: {e}", case.capture.display()))?;
            Some(std::sync::Arc::new(store))
        } else {
            None
        };
        let opts = AnalyzeOptions {
            keys,
            identity,
            ..AnalyzeOptions::default()
        };
        let a = analyze_file(&case.capture, &opts, &mut |_| {})
            .map_err(|e| format!("{}: {e}", case.capture.display()))?;
        score(case, &a, &mut report)?;
    }
    Ok(report)
}

impl Report {
    /// Counts of one set, or of both (`None`).
    pub fn totals(&self, set: Option<Set>) -> BTreeMap<&str, Counts> {
        let mut out: BTreeMap<&str, Counts> = BTreeMap::new();
        for ((s, rule), c) in &self.counts {
            if set.is_none_or(|x| x == *s) {
                let t = out.entry(rule.as_str()).or_default();
                t.tp += c.tp;
                t.fp += c.fp;
                t.fn_ += c.fn_;
            }
        }
        out
    }

    /// The per-rule table of one set (or both) as Markdown.
    pub fn table(&self, set: Option<Set>) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "| rule | TP | FP | FN | precision | recall |");
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for (rule, c) in self.totals(set) {
            let _ = writeln!(
                s,
                "| {rule} | {} | {} | {} | {:.2} | {:.2} |",
                c.tp,
                c.fp,
                c.fn_,
                c.precision(),
                c.recall()
            );
        }
        s
    }

    /// What fails the thresholds: rules under [`THRESHOLD`] in `set` (or both), and high/critical findings on
    /// benign captures.
    pub fn failures(&self, set: Option<Set>) -> Vec<String> {
        let mut out = Vec::new();
        for (rule, c) in self.totals(set) {
            if c.precision() < THRESHOLD || c.recall() < THRESHOLD {
                out.push(format!(
                    "{rule}: precision {:.2}, recall {:.2} (TP {}, FP {}, FN {})",
                    c.precision(),
                    c.recall(),
                    c.tp,
                    c.fp,
                    c.fn_
                ));
            }
        }
        if self.benign_high > 0 {
            out.push(format!(
                "{} high/critical findings on benign captures",
                self.benign_high
            ));
        }
        out
    }

    /// Every mistake, one a line.
    pub fn miss_list(&self) -> String {
        let mut s = String::new();
        for m in &self.misses {
            let _ = writeln!(
                s,
                "- {} {}: {} {} — {}",
                m.set.as_str(),
                m.capture,
                m.rule,
                m.kind,
                m.detail
            );
        }
        s
    }
}
