//! Findings grouped by severity, and what an eavesdropper learns (being written).

use super::AppState;

pub fn findings_ui(ui: &mut egui::Ui, st: &mut AppState) {
    let Some(a) = st.analysis.clone() else {
        return;
    };
    for f in &a.findings {
        ui.label(format!("{} {}", f.severity.as_str(), f.title));
    }
}
