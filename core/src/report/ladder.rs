//! Ladder diagrams of one or more calls (merged B2BUA legs): SVG, PNG and a plain-text ladder for tickets.
//! Reads only the model.
use crate::model::Analysis;

use super::ReportError;

/// The ladder of the calls `call_ids` (messages of all of them, in frame order) as a standalone SVG document.
pub fn ladder_svg(_analysis: &Analysis, _call_ids: &[&str]) -> String {
    String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>"#)
}

/// The same ladder rendered to PNG (bundled fonts), `scale` 1.0 = one pixel per SVG unit.
pub fn ladder_png(
    _analysis: &Analysis,
    _call_ids: &[&str],
    _scale: f32,
) -> Result<Vec<u8>, ReportError> {
    Err(ReportError::Image(
        "the ladder renderer is not built yet".into(),
    ))
}

/// The ladder as monospace text (for tickets and e-mail).
pub fn ladder_text(_analysis: &Analysis, _call_ids: &[&str]) -> String {
    String::new()
}
