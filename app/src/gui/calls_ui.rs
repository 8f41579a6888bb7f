//! Calls table (being written).

use super::AppState;

#[derive(Debug, Default)]
pub struct CallsView {
    pub filter: String,
}

pub fn calls_ui(ui: &mut egui::Ui, st: &mut AppState) {
    let Some(a) = st.analysis.clone() else {
        return;
    };
    for (i, c) in a.calls.iter().enumerate().filter(|(_, c)| c.kind == "call") {
        if ui
            .selectable_label(st.sel.call == Some(i), &c.call_id)
            .clicked()
        {
            st.select_call(Some(i));
        }
    }
}
