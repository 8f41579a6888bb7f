//! A call's evidence from the original capture, found through the store: the `captures` partition names each
//! analysed file's path and SHA-256; when the files are reachable (the same path, on this machine or a shared
//! file system), the capture is analysed again, its files' SHA-256s (computed by that analysis) must be those the
//! store recorded, and the call's frames are cut into a pcapng by `extract` (which checks the hashes once more
//! while reading).

use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{Store, StoreError};
use crate::AnalyzeOptions;
use crate::case::{CaseOptions, Source};
use crate::extract::{ExtractOptions, ExtractSummary};

/// One analysed file of a capture, as the store recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// Case file number (0 for a capture analysed alone).
    pub file: u32,
    pub path: PathBuf,
    pub sha256: String,
    pub status: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("capture {0} is not in the store")]
    NotInStore(String),
    #[error("the store's captures partition of {capture} cannot be read: {reason}")]
    Unreadable { capture: String, reason: String },
    #[error("the original file {0} is not reachable from here (moved, or on another machine)")]
    Unreachable(PathBuf),
    #[error(
        "{path} is no longer the analysed file: its SHA-256 is {actual}, the store recorded {expected}"
    )]
    Changed {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("analysing the original again: {0}")]
    Analysis(#[from] crate::case::CaseError),
    #[error(transparent)]
    Extract(#[from] crate::extract::ExtractError),
}

impl Store {
    /// The analysed files of a capture, by file number, from its `captures` partition.
    pub fn originals(&self, capture_sha256: &str) -> Result<Vec<Original>, PullError> {
        let file = self
            .partition("captures", capture_sha256)
            .join("part-0.parquet");
        if !file.exists() {
            return Err(PullError::NotInStore(capture_sha256.to_string()));
        }
        let bad = |reason: String| PullError::Unreadable {
            capture: capture_sha256.to_string(),
            reason,
        };
        let f = fs::File::open(&file).map_err(|e| bad(e.to_string()))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .and_then(|b| b.build())
            .map_err(|e| bad(e.to_string()))?;
        let mut out = Vec::new();
        for batch in reader {
            let b = batch.map_err(|e| bad(e.to_string()))?;
            let col = |name: &str| {
                b.column_by_name(name)
                    .ok_or_else(|| bad(format!("no column {name}")))
            };
            let files = col("file")?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| bad("file is not int64".into()))?;
            let paths = col("path")?
                .as_string_opt::<i32>()
                .ok_or_else(|| bad("path is not a string".into()))?;
            let shas = col("sha256")?
                .as_string_opt::<i32>()
                .ok_or_else(|| bad("sha256 is not a string".into()))?;
            let status = col("status")?
                .as_string_opt::<i32>()
                .ok_or_else(|| bad("status is not a string".into()))?;
            for i in 0..b.num_rows() {
                out.push(Original {
                    file: u32::try_from(files.value(i)).unwrap_or(u32::MAX),
                    path: PathBuf::from(paths.value(i)),
                    sha256: shas.value(i).to_string(),
                    status: status.value(i).to_string(),
                });
            }
        }
        out.sort_by_key(|o| o.file);
        Ok(out)
    }
}

/// Cuts the call `call_id` of capture `capture_sha256` out of its original files into the pcapng `out`.
pub fn pull_call(
    store: &Store,
    capture_sha256: &str,
    call_id: &str,
    out: &Path,
    opts: &AnalyzeOptions,
) -> Result<ExtractSummary, PullError> {
    let originals = store.originals(capture_sha256)?;
    let readable = || {
        originals
            .iter()
            .filter(|o| !o.status.starts_with("unreadable"))
    };
    if let Some(o) = readable().find(|o| !o.path.is_file()) {
        return Err(PullError::Unreachable(o.path.clone()));
    }
    let source = match originals.as_slice() {
        [one] if one.file == 0 => Source::File(one.path.clone()),
        _ => {
            let paths: Vec<PathBuf> = originals.iter().map(|o| o.path.clone()).collect();
            Source::from_inputs(&paths, CaseOptions::default())?
        }
    };
    // The analysis hashes every file as it reads it: its SHA-256s say whether the files still hold the bytes the
    // store was made from (no separate read to hash them first).
    let analysis = source.analyze(opts, &mut |_| {})?;
    for o in readable() {
        let actual = match &analysis.case {
            None => Some(analysis.capture.sha256.as_str()),
            Some(case) => case
                .files
                .iter()
                .find(|f| Path::new(&f.file) == o.path)
                .map(|f| f.sha256.as_str()),
        };
        if actual != Some(o.sha256.as_str()) {
            return Err(PullError::Changed {
                path: o.path.clone(),
                expected: o.sha256.clone(),
                actual: actual.unwrap_or_default().to_string(),
            });
        }
    }
    Ok(crate::extract::write_calls_pcapng_from(
        &source,
        &analysis,
        &[call_id],
        out,
        &ExtractOptions::default(),
        &mut |_, _| {},
    )?)
}
