//! The PDF report (issue 7): cover with case fields and evidence identity, executive summary, findings, call
//! table, per-call pages, diagnostics appendix. Reads only the model.
use std::path::Path;

use crate::model::Analysis;

use super::{ReportError, ReportMeta};

/// Render the report to PDF bytes.
pub fn render_pdf(_analysis: &Analysis, _meta: &ReportMeta) -> Result<Vec<u8>, ReportError> {
    Err(ReportError::Pdf("the PDF writer is not built yet".into()))
}

/// Render the report and write it to `path`.
pub fn write_pdf(analysis: &Analysis, meta: &ReportMeta, path: &Path) -> Result<(), ReportError> {
    let bytes = render_pdf(analysis, meta)?;
    std::fs::write(path, bytes).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}
