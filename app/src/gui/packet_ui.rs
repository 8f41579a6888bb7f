//! The selected message: frame, time, addresses, encapsulation, raw bytes (being written).

use super::AppState;

pub fn packet_ui(ui: &mut egui::Ui, st: &mut AppState) {
    let Some(a) = st.analysis.clone() else {
        return;
    };
    let Some(m) = st.sel.message.and_then(|i| a.messages.get(i)) else {
        return;
    };
    ui.label(format!("frame {}", m.frame));
}
