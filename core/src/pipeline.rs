//! Pipeline (stub).
pub struct AnalyzeOptions;
pub struct Analyzer;
pub struct Progress;
pub fn analyze_file() {}
