//! Streams: a metrics table, jitter/delta plots of the selected stream, and the selected call's audio (decode,
//! waveforms, playback with per-track mute and pan).

use std::sync::Arc;

use earshot_core::audio::{CallAudio, TimingMode};
use earshot_core::media::stream::{FLAG_MARKER, FLAG_WRONG_SEQ};
use earshot_core::model::{Analysis, MediaStream};
use egui::{Color32, Sense, Stroke};

use super::{Action, AppState, Cx};

use super::safe;

/// Timing modes offered in the combo box (the jitter buffer's size is `StreamsView::jitter_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModeChoice {
    #[default]
    JitterBuffer,
    RtpTimestamp,
    Uninterrupted,
}

impl ModeChoice {
    fn label(self) -> &'static str {
        match self {
            ModeChoice::JitterBuffer => "Jitter buffer",
            ModeChoice::RtpTimestamp => "RTP timestamp",
            ModeChoice::Uninterrupted => "Uninterrupted",
        }
    }
}

/// Min/max per pixel column of every track, for one audio and one width.
#[derive(Debug)]
struct WaveCache {
    audio: Arc<CallAudio>,
    width: usize,
    /// Per track, per column: (min, max) in -1..1.
    columns: Vec<Vec<(f32, f32)>>,
}

#[derive(Debug)]
pub struct StreamsView {
    pub jitter_ms: u32,
    pub mode: ModeChoice,
    /// Show only the selected call's streams (when a call is selected).
    pub only_call: bool,
    /// Why the last `play` failed (e.g. "no audio output device"), shown next to the play button.
    pub play_error: Option<String>,
    wave: Option<WaveCache>,
}

impl Default for StreamsView {
    fn default() -> Self {
        StreamsView {
            jitter_ms: 50,
            mode: ModeChoice::default(),
            only_call: true,
            play_error: None,
            wave: None,
        }
    }
}

impl StreamsView {
    fn timing_mode(&self) -> TimingMode {
        match self.mode {
            ModeChoice::JitterBuffer => TimingMode::JitterBuffer { ms: self.jitter_ms },
            ModeChoice::RtpTimestamp => TimingMode::RtpTimestamp,
            ModeChoice::Uninterrupted => TimingMode::Uninterrupted,
        }
    }
}

fn endpoints(s: &MediaStream) -> String {
    let a = s.src.map_or("?".to_string(), |a| a.to_string());
    let b = s.dst.map_or("?".to_string(), |a| a.to_string());
    format!("{a} -> {b}")
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.1}"))
}

pub fn streams_ui(ui: &mut egui::Ui, cx: &mut Cx, view: &mut StreamsView) {
    let Some(a) = cx.analysis().cloned() else {
        return;
    };
    let call_id = cx.call().map(|c| c.call_id.clone());
    ui.horizontal(|ui| {
        if call_id.is_some() {
            ui.checkbox(&mut view.only_call, "Only the selected call's streams");
        } else {
            ui.label("All streams (select a call to see only its streams)");
        }
    });
    let filter_call = call_id.as_deref().filter(|_| view.only_call);
    let rows: Vec<&MediaStream> = a
        .streams
        .iter()
        .filter(|s| filter_call.is_none_or(|c| s.call_id.as_deref() == Some(c)))
        .collect();
    egui::ScrollArea::vertical()
        .id_salt("streams_outer")
        .show(ui, |ui| {
            table_ui(ui, cx, &rows);
            ui.separator();
            if let Some(s) = cx.session.sel.stream.and_then(|i| a.streams.get(i)) {
                plots_ui(ui, s, cx.session.cursor, cx.loading.is_some());
            } else {
                ui.label("Select a stream to plot its jitter and packet deltas.");
            }
            ui.separator();
            audio_ui(ui, cx, view, &a);
        });
}

fn table_ui(ui: &mut egui::Ui, cx: &mut Cx, rows: &[&MediaStream]) {
    use egui_extras::{Column, TableBuilder};
    ui.label(format!("{} streams", rows.len()));
    let headers = [
        "src -> dst",
        "SSRC",
        "codec",
        "packets",
        "lost",
        "max delta ms",
        "max jitter ms",
        "mean jitter ms",
        "MOS",
        "encryption",
        "audio",
    ];
    let mut clicked = None;
    egui::ScrollArea::horizontal()
        .id_salt("streams_table_h")
        .show(ui, |ui| {
            TableBuilder::new(ui)
                .id_salt("streams_table")
                .striped(true)
                .resizable(true)
                .sense(Sense::click())
                .max_scroll_height(260.0)
                .column(Column::auto().at_least(200.0))
                .columns(Column::auto(), headers.len() - 2)
                .column(Column::remainder().at_least(120.0))
                .header(20.0, |mut h| {
                    for t in headers {
                        h.col(|ui| {
                            ui.strong(t);
                        });
                    }
                })
                .body(|body| {
                    // Virtualised: only the visible rows are laid out (captures can hold thousands of streams).
                    body.rows(20.0, rows.len(), |mut row| {
                        let Some(&s) = rows.get(row.index()) else {
                            return;
                        };
                        let selected = cx.session.sel.stream == Some(s.index);
                        row.set_selected(selected);
                        row.col(|ui| {
                            ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
                            if ui.selectable_label(selected, endpoints(s)).clicked() {
                                clicked = Some(s.index);
                            }
                        });
                        let cells = [
                            format!("0x{:08X}", s.ssrc),
                            safe(&s.codec, 30),
                            s.packets.to_string(),
                            format!("{} ({:.1}%)", s.lost, s.lost_pct),
                            format!("{:.1}", s.max_delta_ms),
                            opt_ms(s.max_jitter_ms),
                            opt_ms(s.mean_jitter_ms),
                            s.mos.map_or("–".to_string(), |m| format!("{m:.2}")),
                            s.encryption.as_str().to_string(),
                            safe(&s.audio, 80),
                        ];
                        for c in cells {
                            row.col(|ui| {
                                ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
                                ui.label(c);
                            });
                        }
                        if row.response().clicked() {
                            clicked = Some(s.index);
                        }
                    });
                });
        });
    if clicked.is_some() {
        cx.act(Action::SelectStream(clicked));
    }
}

/// The shared cursor on a stream's plots: seconds from the stream's first packet (the series' time origin).
pub fn cursor_x(s: &MediaStream, cursor: Option<i64>) -> Option<f64> {
    let t = cursor?;
    (t >= s.first_ts_nanos && t <= s.last_ts_nanos).then(|| (t - s.first_ts_nanos) as f64 / 1e9)
}

fn plots_ui(ui: &mut egui::Ui, s: &MediaStream, cursor: Option<i64>, loading: bool) {
    use egui_plot::{Legend, Line, MarkerShape, Plot, Points, VLine};
    let cursor = cursor_x(s, cursor);
    let vline = |x: f64| VLine::new("cursor", x).color(Color32::RED).width(1.5);
    ui.label(format!(
        "Stream {} {} SSRC 0x{:08X}: {} points",
        s.index,
        endpoints(s),
        s.ssrc,
        s.series.len()
    ));
    if s.series.is_empty() {
        // Snapshots taken while a file loads carry no series (the finished analysis does).
        ui.label(if loading {
            "Plots appear when loading ends."
        } else {
            "No per-packet series for this stream."
        });
        return;
    }
    let t = |p: &earshot_core::model::SeriesPoint| p.t_us as f64 / 1e6;
    let jitter: Vec<[f64; 2]> = s
        .series
        .iter()
        .map(|p| [t(p), f64::from(p.jitter_ms)])
        .collect();
    let delta: Vec<[f64; 2]> = s
        .series
        .iter()
        .map(|p| [t(p), f64::from(p.delta_ms)])
        .collect();
    let loss: Vec<[f64; 2]> = s
        .series
        .iter()
        .filter(|p| p.flags & FLAG_WRONG_SEQ != 0)
        .map(|p| [t(p), f64::from(p.delta_ms)])
        .collect();
    let markers: Vec<[f64; 2]> = s
        .series
        .iter()
        .filter(|p| p.flags & FLAG_MARKER != 0)
        .map(|p| [t(p), f64::from(p.delta_ms)])
        .collect();
    let link = ui.scope_id().with(("stream_plots", s.index));
    ui.label("Jitter (ms) over time (s)");
    Plot::new(("jitter_plot", s.index))
        .height(150.0)
        .legend(Legend::default())
        .link_axis(link, [true, false])
        .link_cursor(link, [true, false])
        .show(ui, |p| {
            p.line(Line::new("jitter ms", jitter).color(Color32::from_rgb(90, 160, 220)));
            if let Some(x) = cursor {
                p.vline(vline(x));
            }
        });
    ui.label("Delta (ms) over time (s), with sequence errors (loss) and markers");
    Plot::new(("delta_plot", s.index))
        .height(150.0)
        .legend(Legend::default())
        .link_axis(link, [true, false])
        .link_cursor(link, [true, false])
        .show(ui, |p| {
            // Each packet's delta is its own measurement: points, never a line (a line draws a 5 s gap as a
            // slope rising over the 5 s before the late packet).
            p.add(
                Points::new("delta ms", delta)
                    .color(Color32::from_rgb(110, 190, 110))
                    .radius(1.5)
                    .shape(MarkerShape::Circle),
            );
            p.add(
                Points::new("sequence error / loss", loss)
                    .color(Color32::RED)
                    .radius(3.0)
                    .shape(MarkerShape::Cross),
            );
            p.add(
                Points::new("marker", markers)
                    .color(Color32::LIGHT_BLUE)
                    .radius(2.5)
                    .shape(MarkerShape::Diamond),
            );
            if let Some(x) = cursor {
                p.vline(vline(x));
            }
        });
}

fn audio_ui(ui: &mut egui::Ui, cx: &mut Cx, view: &mut StreamsView, a: &Arc<Analysis>) {
    ui.heading("Audio");
    let Some(call_id) = cx.call().map(|c| c.call_id.clone()) else {
        ui.label("Select a call to decode and play its audio.");
        return;
    };
    ui.horizontal_wrapped(|ui| {
        egui::ComboBox::from_label("timing")
            .selected_text(view.mode.label())
            .show_ui(ui, |ui| {
                for m in [
                    ModeChoice::JitterBuffer,
                    ModeChoice::RtpTimestamp,
                    ModeChoice::Uninterrupted,
                ] {
                    ui.selectable_value(&mut view.mode, m, m.label());
                }
            });
        if view.mode == ModeChoice::JitterBuffer {
            ui.add(
                egui::DragValue::new(&mut view.jitter_ms)
                    .range(0..=2000)
                    .suffix(" ms"),
            );
        }
        let busy = cx.services.audio.busy();
        if ui
            .add_enabled(!busy, egui::Button::new("Decode audio"))
            .clicked()
        {
            cx.act(Action::DecodeAudio {
                call_id: call_id.clone(),
                mode: view.timing_mode(),
            });
        }
        if busy {
            ui.spinner();
            ui.label("Decoding…");
        }
    });
    if let Some(e) = &cx.services.audio.error {
        ui.colored_label(Color32::RED, safe(e, 300));
    }
    let audio = match &cx.services.audio.loaded {
        Some(d) if d.call_id == call_id => d.audio.clone(),
        Some(_) => {
            ui.label("The loaded audio belongs to another call: decode this one.");
            return;
        }
        None => return,
    };
    player_ui(ui, cx, view, &audio);
    if let Some(d) = &cx.services.audio.loaded {
        ui.label("Streams:");
        for (idx, playable, status) in &d.streams {
            let name = a.streams.get(*idx).map_or(String::new(), endpoints);
            let text = format!(
                "#{idx} {name}: {}{}",
                if *playable { "" } else { "not playable: " },
                safe(status, 200)
            );
            if *playable {
                ui.label(text);
            } else {
                ui.colored_label(Color32::from_rgb(230, 160, 60), text);
            }
        }
    }
}

fn player_ui(ui: &mut egui::Ui, cx: &mut Cx, view: &mut StreamsView, audio: &Arc<CallAudio>) {
    ui.horizontal_wrapped(|ui| {
        let playing = cx.services.player.is_playing();
        if ui.button(if playing { "Pause" } else { "Play" }).clicked() {
            cx.act(Action::PlayPause);
        }
        ui.label(format!(
            "{:.2} / {:.2} s",
            cx.services.player.position_secs(),
            cx.services.player.duration_secs()
        ));
        if let Some(e) = &view.play_error {
            ui.colored_label(Color32::RED, e.clone());
        }
    });
    if audio.tracks.is_empty() {
        ui.label("No playable track.");
        return;
    }
    let width = ui.available_width().max(50.0);
    let cols = width as usize;
    let stale = view
        .wave
        .as_ref()
        .is_none_or(|w| w.width != cols || !Arc::ptr_eq(&w.audio, audio));
    if stale {
        view.wave = Some(WaveCache {
            audio: audio.clone(),
            width: cols,
            columns: waveform_columns(audio, cols),
        });
    }
    let duration = cx.services.player.duration_secs();
    let position = cx.services.player.position_secs();
    let mut seek = None;
    for (i, track) in audio.tracks.iter().enumerate() {
        ui.horizontal_wrapped(|ui| {
            ui.label(safe(&track.label, 120));
            let mut muted = cx.services.player.is_muted(i);
            if ui.checkbox(&mut muted, "mute").changed() {
                cx.act(Action::SetMute(i, muted));
            }
            let mut pan = cx.services.player.pan(i);
            if ui
                .add(egui::Slider::new(&mut pan, -1.0..=1.0).text("pan"))
                .changed()
            {
                cx.act(Action::SetPan(i, pan));
            }
        });
        let (rect, resp) = ui.allocate_exact_size(egui::vec2(width, 60.0), Sense::click_and_drag());
        resp.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Slider, true, format!("waveform {i}"))
        });
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
        let color = ui.visuals().text_color();
        let mid = rect.center().y;
        let half = rect.height() / 2.0;
        if let Some(cols) = view.wave.as_ref().and_then(|w| w.columns.get(i)) {
            for (x, (lo, hi)) in cols.iter().enumerate() {
                let x = rect.left() + x as f32 + 0.5;
                painter.line_segment(
                    [
                        egui::pos2(x, mid - hi * half),
                        egui::pos2(x, mid - lo * half + 0.5),
                    ],
                    Stroke::new(1.0, color),
                );
            }
        }
        if duration > 0.0 {
            let x = rect.left() + (position / duration).clamp(0.0, 1.0) as f32 * rect.width();
            painter.line_segment(
                [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
                Stroke::new(2.0, Color32::RED),
            );
        }
        if (resp.clicked() || resp.dragged())
            && let Some(p) = resp.interact_pointer_pos()
        {
            let frac = ((p.x - rect.left()) / rect.width()).clamp(0.0, 1.0);
            seek = Some(f64::from(frac) * duration);
        }
    }
    if let Some(s) = seek {
        cx.act(Action::Seek(s));
    }
}

/// Min/max of every track per column over the whole timeline (offsets included), normalised to -1..1.
fn waveform_columns(audio: &CallAudio, cols: usize) -> Vec<Vec<(f32, f32)>> {
    let len = audio.len_samples();
    audio
        .tracks
        .iter()
        .map(|t| {
            (0..cols)
                .map(|c| {
                    let start = len * c / cols.max(1);
                    let end = (len * (c + 1) / cols.max(1)).max(start + 1);
                    let s = start.saturating_sub(t.offset).min(t.samples.len());
                    let e = end.saturating_sub(t.offset).min(t.samples.len());
                    let (lo, hi) = t
                        .samples
                        .get(s..e)
                        .unwrap_or_default()
                        .iter()
                        .fold((0i16, 0i16), |(lo, hi), &v| (lo.min(v), hi.max(v)));
                    (f32::from(lo) / 32768.0, f32::from(hi) / 32768.0)
                })
                .collect()
        })
        .collect()
}

/// The audit line of a playback start: which call, from where.
fn audit_play(st: &mut AppState) {
    let call = st.services.audio.loaded.as_ref().map(|d| d.call_id.clone());
    let from = st.services.player.position_secs();
    st.audit(
        "play",
        vec![
            ("call_id", serde_json::Value::from(call)),
            ("from_secs", serde_json::Value::from(from)),
        ],
    );
}

/// Play or pause the loaded audio ([`Action::PlayPause`] from the button, [`Action::TogglePlay`] from Space, which
/// also says a failure in a toast since the view may not be on screen).
pub(super) fn toggle_play(st: &mut AppState, toast: bool) {
    if st.services.player.is_playing() {
        st.services.player.pause();
    } else if let Err(e) = st.services.player.play() {
        st.views.streams.play_error = Some(e.to_string());
        if toast {
            st.toast(e.to_string());
        }
    } else {
        st.views.streams.play_error = None;
        audit_play(st);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use egui_kittest::kittest::Queryable;

    use super::super::View;
    use super::super::findings_ui::tests::{CLEAN_CALL, loaded};
    use super::*;

    #[test]
    fn gui_streams_decode_and_play_without_a_device_keeps_running() {
        let mut harness = loaded(CLEAN_CALL);
        {
            let st = harness.state_mut();
            st.select_call(Some(0));
            st.views.current = View::Streams;
        }
        harness.run_steps(2);
        let call_id = harness.state().call().unwrap().call_id.clone();
        let n = harness
            .state()
            .session
            .analysis
            .as_ref()
            .unwrap()
            .streams
            .iter()
            .filter(|s| s.call_id.as_deref() == Some(call_id.as_str()))
            .count();
        harness.get_by_label(&format!("{n} streams"));

        harness.get_by_label("Decode audio").click();
        let start = Instant::now();
        while harness.state().services.audio.loaded.is_none() {
            assert!(
                harness.state().services.audio.error.is_none(),
                "decode failed: {:?}",
                harness.state().services.audio.error
            );
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "decode timed out"
            );
            harness.step();
            std::thread::sleep(Duration::from_millis(20));
        }
        harness.run_steps(2);
        assert!(harness.state().services.player.duration_secs() > 0.0);

        harness.get_by_label("Play").click();
        harness.run_steps(2);
        let playing = harness.state().services.player.is_playing();
        let no_device = harness.query_by_label("no audio output device").is_some();
        assert!(
            playing || no_device,
            "neither playing nor showing the device error: {:?}",
            harness.state().views.streams.play_error
        );
        // The app keeps running either way.
        harness.step();

        // Clicking the middle of a waveform seeks there.
        harness.get_by_label("waveform 0").click();
        harness.run_steps(2);
        let (pos, dur) = (
            harness.state().services.player.position_secs(),
            harness.state().services.player.duration_secs(),
        );
        assert!(
            (pos - dur / 2.0).abs() < dur * 0.1,
            "seek to the middle: {pos} of {dur}"
        );
        // The seek moved the shared cursor to the same instant of the capture.
        let start_ts = harness
            .state()
            .services
            .player
            .audio()
            .unwrap()
            .start_ts_nanos;
        let cursor = harness
            .state()
            .session
            .cursor
            .expect("cursor set by the seek");
        assert!(((cursor - start_ts) as f64 / 1e9 - pos).abs() < 0.05);
        if playing {
            harness.get_by_label("Pause").click();
            harness.run_steps(2);
            assert!(!harness.state().services.player.is_playing());
        } else {
            harness.get_by_label("Play");
        }
    }

    #[test]
    fn gui_streams_row_click_selects_the_stream_and_plots_it() {
        let mut harness = loaded(CLEAN_CALL);
        harness.state_mut().views.current = View::Streams;
        harness.run_steps(2);
        let a = harness.state().session.analysis.clone().unwrap();
        let s = &a.streams[0];
        harness.get_by_label(&endpoints(s)).click();
        harness.run_steps(2);
        assert_eq!(harness.state().session.sel.stream, Some(0));
        harness.get_by_label("Jitter (ms) over time (s)");
        // The shared cursor maps to seconds from the stream's first packet, and only inside the stream.
        assert_eq!(
            cursor_x(s, Some(s.first_ts_nanos + 1_500_000_000)),
            Some(1.5)
        );
        assert_eq!(cursor_x(s, Some(s.first_ts_nanos - 1)), None);
        assert_eq!(cursor_x(s, None), None);
    }

    #[test]
    fn gui_waveform_columns_cover_offsets_and_extremes() {
        let audio = CallAudio {
            rate_hz: 8000,
            start_ts_nanos: 0,
            tracks: vec![earshot_core::audio::Track {
                label: "t".into(),
                stream_index: None,
                offset: 4,
                samples: vec![i16::MAX, i16::MIN, 0, 0],
                pan: 0.0,
            }],
        };
        let cols = waveform_columns(&audio, 4);
        assert_eq!(cols[0].len(), 4);
        assert_eq!(cols[0][0], (0.0, 0.0));
        assert_eq!(cols[0][1], (0.0, 0.0));
        assert!(cols[0][2].0 <= -0.99 && cols[0][2].1 >= 0.99);
        // More columns than samples: no panic.
        assert_eq!(waveform_columns(&audio, 100)[0].len(), 100);
    }
}
