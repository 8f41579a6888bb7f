//! Ladder diagram of the selected call (being written).

use super::AppState;

#[derive(Debug, Default)]
pub struct LadderView {
    pub zoom: f32,
}

pub fn ladder_ui(ui: &mut egui::Ui, st: &mut AppState) {
    let Some(c) = st.call() else {
        ui.label("Select a call in the Calls view.");
        return;
    };
    ui.label(format!("{} messages", c.messages.len()));
}
