//! The Case window (File → Case…): the files of the open case with their capture points, packets, SHA-256 and
//! state; how files group into capture points; a clock correction per file; the offsets estimated between points.
//! "Analyse again" re-opens the case with these settings (`AppState::open_case_with`, the window's path-argument
//! twin).

use std::path::PathBuf;

use earshot_core::case::{CaseOptions, Grouping, Source};
use earshot_core::model::CaseFileStatus;
use earshot_core::report::terminal_safe;

use super::{Action, Cx};

/// The window's state: the settings being edited.
#[derive(Debug, Default)]
pub struct CaseView {
    pub open: bool,
    pub grouping: Grouping,
    /// Clock correction per file, as typed (seconds).
    pub offsets: Vec<(PathBuf, String)>,
    pub error: Option<String>,
}

impl CaseView {
    /// Loads the open case's settings into the window.
    pub fn load(&mut self, source: Option<&Source>) {
        self.error = None;
        match source {
            Some(Source::Case { plan, options }) => {
                self.grouping = options.grouping;
                self.offsets = plan
                    .files
                    .iter()
                    .map(|f| {
                        let o = options
                            .offsets
                            .iter()
                            .find(|(p, _)| p == &f.path)
                            .map_or(0, |(_, o)| *o);
                        let text = if o == 0 {
                            String::new()
                        } else {
                            format!("{}", o as f64 / 1e9)
                        };
                        (f.path.clone(), text)
                    })
                    .collect();
            }
            _ => {
                self.grouping = Grouping::Auto;
                self.offsets.clear();
            }
        }
    }

    /// The options the window describes, or what is wrong with an offset.
    pub fn options(&self, base: &CaseOptions) -> Result<CaseOptions, String> {
        let mut offsets = Vec::new();
        for (path, text) in &self.offsets {
            let t = text.trim();
            if t.is_empty() {
                continue;
            }
            let secs: f64 = t
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && s.abs() <= 1e9)
                .ok_or_else(|| {
                    format!(
                        "offset of {}: {t:?} is not a number of seconds",
                        path.display()
                    )
                })?;
            offsets.push((path.clone(), (secs * 1e9).round() as i64));
        }
        Ok(CaseOptions {
            grouping: self.grouping,
            offsets,
            ..base.clone()
        })
    }
}

pub fn case_window(ctx: &egui::Context, cx: &mut Cx, view: &mut CaseView) {
    if !view.open {
        return;
    }
    let mut open = true;
    let mut apply = false;
    egui::Window::new("Case")
        .open(&mut open)
        .default_width(900.0)
        .show(ctx, |ui| {
            let Some(a) = cx.analysis().cloned() else {
                ui.label("Nothing is open");
                return;
            };
            let Some(case) = &a.case else {
                ui.label("One capture is open. File → Open case… or Add files to case… makes a case of several.");
                return;
            };
            ui.label(format!(
                "{} files, {} capture point(s); frames read file:frame",
                case.files.len(),
                case.points.len()
            ));
            ui.horizontal(|ui| {
                ui.label("Capture points:");
                let g = &mut view.grouping;
                ui.radio_value(g, Grouping::Auto, "by folder and name (rotated files together)");
                ui.radio_value(g, Grouping::PerFile, "each file");
                ui.radio_value(g, Grouping::Single, "all one stream");
                ui.radio_value(g, Grouping::Interface, "each pcapng interface");
            });
            egui::ScrollArea::vertical().max_height(400.0).show(ui, |ui| {
                egui::Grid::new("case_files").striped(true).show(ui, |ui| {
                    for h in ["No.", "File", "Point", "Packets", "SHA-256", "State", "Offset (s)"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for f in &case.files {
                        ui.label(f.number.to_string());
                        ui.label(terminal_safe(&f.file, 80));
                        ui.label(terminal_safe(
                            case.points.get(f.point).map_or("", |p| p.name.as_str()),
                            60,
                        ));
                        ui.label(f.packets.to_string());
                        ui.label(f.sha256.get(..16).unwrap_or("-"))
                            .on_hover_text(f.sha256.as_str());
                        ui.label(match &f.status {
                            CaseFileStatus::Analysed => "analysed".to_string(),
                            CaseFileStatus::DuplicateOf { file } => format!("same bytes as file {file}"),
                            CaseFileStatus::Unreadable { reason } => format!("not analysed: {}", terminal_safe(reason, 120)),
                        });
                        let path = PathBuf::from(&f.file);
                        if let Some((_, text)) = view.offsets.iter_mut().find(|(p, _)| *p == path) {
                            ui.add(egui::TextEdit::singleline(text).desired_width(80.0).hint_text("0"));
                        } else {
                            ui.label("");
                        }
                        ui.end_row();
                    }
                });
            });
            for o in &case.clock_offsets {
                let name = |i: usize| case.points.get(i).map_or("?", |p| p.name.as_str());
                ui.label(format!(
                    "{} sees the packets it shares with {} {:+.6} s later (median of {}; not applied: set an offset \
                     to correct a clock)",
                    terminal_safe(name(o.b), 60),
                    terminal_safe(name(o.a), 60),
                    o.median_nanos as f64 / 1e9,
                    o.samples
                ));
            }
            if case.duplicate_frames > 0 {
                ui.label(format!(
                    "{} frames were the same packet seen at a second capture point (analysed once)",
                    case.duplicate_frames
                ));
            }
            if let Some(e) = &view.error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            if ui.button("Analyse again with these settings").clicked() {
                apply = true;
            }
        });
    view.open = open;
    if apply {
        let base = match &cx.session.source {
            Some(Source::Case { options, .. }) => options.clone(),
            _ => CaseOptions::default(),
        };
        match view.options(&base) {
            Ok(opts) => {
                view.error = None;
                let paths = cx
                    .session
                    .source
                    .as_ref()
                    .map(Source::paths)
                    .unwrap_or_default();
                cx.act(Action::OpenCase(paths, opts));
            }
            Err(e) => view.error = Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::AppState;

    #[test]
    fn offsets_typed_in_seconds_become_nanoseconds_and_bad_ones_are_refused() {
        let mut v = CaseView {
            offsets: vec![
                ("a.pcap".into(), "-1.25".into()),
                ("b.pcap".into(), String::new()),
            ],
            ..Default::default()
        };
        let o = v.options(&CaseOptions::default()).unwrap();
        assert_eq!(o.offsets, vec![(PathBuf::from("a.pcap"), -1_250_000_000)]);
        v.offsets[1].1 = "soon".into();
        assert!(
            v.options(&CaseOptions::default())
                .unwrap_err()
                .contains("b.pcap")
        );
    }

    /// Clicks "Analyse again" and waits for the new analysis (not the one shown before the click).
    fn reanalyse(h: &mut egui_kittest::Harness<'static, AppState>) {
        use egui_kittest::kittest::Queryable;
        let before = h.state().session.analysis.clone();
        h.get_by_label("Analyse again with these settings").click();
        let start = std::time::Instant::now();
        loop {
            h.step();
            let s = h.state();
            let new = match (&before, &s.session.analysis) {
                (Some(a), Some(b)) => !std::sync::Arc::ptr_eq(a, b),
                (None, Some(_)) => true,
                _ => false,
            };
            if new && !s.is_loading() {
                break;
            }
            assert!(
                start.elapsed().as_secs() < 30,
                "the case was not analysed again"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        h.run();
    }

    #[test]
    fn the_case_window_regroups_the_points_and_corrects_a_clock() {
        use egui_kittest::Harness;
        use egui_kittest::kittest::Queryable;
        // Two taps of the same traffic (tests/case): two points, every packet shared; made one stream, the
        // packets count twice; a clock correction of one file shifts what the offset estimate sees.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/case/captures/");
        let a: PathBuf = format!("{dir}twopoint-a.pcap").into();
        let b: PathBuf = format!("{dir}twopoint-b.pcapng").into();
        let mut st = AppState::new(Default::default(), std::sync::Arc::new(|| {}));
        st.open_case(&[a.clone(), b.clone()]);
        st.views.case.open = true;
        let mut h = Harness::builder()
            .with_size(egui::vec2(1400.0, 900.0))
            .build_ui_state(|ui, st: &mut AppState| st.ui(ui), st);
        super::super::calls_ui::tests::wait_loaded(&mut h);
        let first = h.state().session.analysis.clone().unwrap();
        let case = first.case.as_ref().unwrap();
        assert_eq!((case.points.len(), case.duplicate_frames), (2, 1995));
        let b_later = |c: &earshot_core::model::CaseInfo| {
            let o = &c.clock_offsets[0];
            if c.points[o.b].name.ends_with("twopoint-b") {
                o.median_nanos
            } else {
                -o.median_nanos
            }
        };
        let median = b_later(case);
        h.get_by_label_contains("sees the packets it shares with");
        // A -1.5 s correction on the second tap (within the 2 s window the packets are still matched).
        let (_, text) = h
            .state_mut()
            .views
            .case
            .offsets
            .iter_mut()
            .find(|(p, _)| *p == b)
            .unwrap();
        *text = "-1.5".into();
        reanalyse(&mut h);
        let shifted = h.state().session.analysis.clone().unwrap();
        let sc = shifted.case.as_ref().unwrap();
        // Points are ordered by their first packet: the corrected tap may now come first.
        assert_eq!(b_later(sc), median - 1_500_000_000);
        let fb = sc
            .files
            .iter()
            .find(|f| f.file.ends_with("twopoint-b.pcapng"))
            .unwrap();
        assert_eq!(fb.offset_nanos, -1_500_000_000);
        h.get_by_label("all one stream").click();
        reanalyse(&mut h);
        let one = h.state().session.analysis.clone().unwrap();
        let case = one.case.as_ref().unwrap();
        assert_eq!((case.points.len(), case.duplicate_frames), (1, 0));
        assert_eq!(one.summary.packets, 2 * 1995);
    }
}
