//! Non-call traffic (registrations, OPTIONS, scans) grouped by source (being written).

use super::AppState;

pub fn traffic_ui(ui: &mut egui::Ui, st: &mut AppState) {
    let Some(a) = st.analysis.clone() else {
        return;
    };
    ui.label(format!(
        "{} non-call Call-IDs",
        a.calls.iter().filter(|c| c.kind != "call").count()
    ));
}
