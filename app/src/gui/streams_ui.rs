//! Streams, plots, waveform and playback (being written).

use super::AppState;

#[derive(Debug, Default)]
pub struct StreamsView {
    pub jitter_ms: u32,
}

pub fn streams_ui(ui: &mut egui::Ui, st: &mut AppState) {
    let Some(a) = st.analysis.clone() else {
        return;
    };
    ui.label(format!("{} streams", a.streams.len()));
}

/// Space: play or pause the loaded audio.
pub fn toggle_play(st: &mut AppState) {
    if st.player.is_playing() {
        st.player.pause();
    } else if let Err(e) = st.player.play() {
        st.toast(e.to_string());
    }
}
