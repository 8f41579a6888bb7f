//! The capture arguments every headless command shares: one file, or a case of several files, folders and
//! patterns (`earshot analyze rotated/ sbc.pcap 'pbx/*.pcapng'`), with how the case is put together.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use earshot_core::case::{CaseOptions, Grouping, Source};

#[derive(Args, Clone, Debug, Default)]
pub struct CaseArgs {
    /// How the files of a case group into capture points: `auto` (by folder and name with rotation suffixes
    /// removed: rotated files of one tap are one stream), `file` (every file its own point), `one` (all files one
    /// stream in time order), `interface` (as auto, and each interface of a multi-interface pcapng its own point).
    #[arg(long, value_name = "HOW", default_value = "auto")]
    pub points: String,
    /// Clock correction for one file of a case, added to its timestamps (repeatable): FILE=SECONDS, e.g.
    /// `--offset pbx.pcap=-1.25`. Estimated offsets are reported, never applied on their own.
    #[arg(long = "offset", value_name = "FILE=SECONDS")]
    pub offsets: Vec<String>,
    /// Largest time difference, in seconds, at which the same packet seen at two capture points is recognised
    /// as one.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub dedup_window: f64,
    /// Confirm that two Call-IDs are legs of one call (a proposal, or a link the analysis did not make);
    /// repeatable. Reports record it as `confirmed`.
    #[arg(long, num_args = 2, value_names = ["CALL-ID", "CALL-ID"])]
    pub confirm_leg: Vec<String>,
    /// Reject a proposed link between two Call-IDs; repeatable. Reports keep it as `rejected`.
    #[arg(long, num_args = 2, value_names = ["CALL-ID", "CALL-ID"])]
    pub reject_leg: Vec<String>,
}

impl CaseArgs {
    /// The analyst's decisions on leg links, for `AnalyzeOptions::leg_decisions`.
    pub fn leg_decisions(&self) -> Vec<(String, String, bool)> {
        let pairs = |v: &[String], ok: bool| -> Vec<(String, String, bool)> {
            v.chunks_exact(2)
                .filter_map(|c| Some((c.first()?.clone(), c.get(1)?.clone(), ok)))
                .collect()
        };
        let mut d = pairs(&self.confirm_leg, true);
        d.extend(pairs(&self.reject_leg, false));
        d
    }

    /// The capture or case the paths name.
    pub fn source(&self, inputs: &[PathBuf]) -> Result<Source> {
        let grouping = Grouping::parse(&self.points)
            .with_context(|| format!("--points {:?}: expected auto, file or one", self.points))?;
        let mut offsets = Vec::new();
        for o in &self.offsets {
            let Some((file, secs)) = o.rsplit_once('=') else {
                bail!("--offset {o:?}: expected FILE=SECONDS");
            };
            let secs: f64 = secs
                .trim()
                .parse()
                .with_context(|| format!("--offset {o:?}: {secs:?} is not a number of seconds"))?;
            if !secs.is_finite() || secs.abs() > 1e9 {
                bail!("--offset {o:?}: out of range");
            }
            offsets.push((PathBuf::from(file), (secs * 1e9).round() as i64));
        }
        if !self.dedup_window.is_finite() || !(0.0..=3600.0).contains(&self.dedup_window) {
            bail!("--dedup-window must be between 0 and 3600 seconds");
        }
        let options = CaseOptions {
            grouping,
            offsets,
            dedup_window_nanos: (self.dedup_window * 1e9).round() as i64,
        };
        let source = Source::from_inputs(inputs, options)?;
        if let Source::Case { plan, options } = &source {
            for (file, _) in &options.offsets {
                if !plan.files.iter().any(|f| &f.path == file) {
                    bail!(
                        "--offset names {}, which is not a file of this case",
                        file.display()
                    );
                }
            }
        }
        Ok(source)
    }
}
