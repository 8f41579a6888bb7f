//! The welcome screen (no capture open): open a file, one of the bundled sample captures (each described by the
//! first line of its README), or a recent file. The samples are looked up when the screen is first shown: beside
//! the installed executable (`/usr/share/earshot/sample-captures`, or `<prefix>/share/earshot/sample-captures`), then
//! a `sample-captures` folder in the directories above the executable or the current directory (a source checkout),
//! or where `EARSHOT_SAMPLES` says.

use std::path::{Path, PathBuf};

use earshot_core::report::terminal_safe;

use super::{Action, Cx};

/// One bundled sample capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Folder name (`clean-call`).
    pub name: String,
    pub file: PathBuf,
    /// First line of the README, without the Markdown heading marks.
    pub description: String,
}

/// Where sample folders may be, most specific first.
pub fn sample_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(d) = std::env::var_os("EARSHOT_SAMPLES").filter(|d| !d.is_empty()) {
        roots.push(PathBuf::from(d));
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    if let Some(bin) = &exe_dir
        && let Some(prefix) = bin.parent()
    {
        roots.push(prefix.join("share/earshot/sample-captures"));
    }
    roots.push(PathBuf::from("/usr/share/earshot/sample-captures"));
    let cwd = std::env::current_dir().ok();
    for start in [exe_dir, cwd].into_iter().flatten() {
        for dir in start.ancestors().take(6) {
            roots.push(dir.join("sample-captures"));
        }
    }
    roots
}

/// The samples of the first root that has any, sorted by name.
pub fn find_samples(roots: &[PathBuf]) -> Vec<Sample> {
    for root in roots {
        let Ok(entries) = std::fs::read_dir(root) else {
            continue;
        };
        let mut out: Vec<Sample> = entries
            .flatten()
            .filter_map(|e| sample_in(&e.path()))
            .collect();
        if !out.is_empty() {
            out.sort_by(|a, b| a.name.cmp(&b.name));
            return out;
        }
    }
    Vec::new()
}

fn sample_in(dir: &Path) -> Option<Sample> {
    let name = dir.file_name()?.to_string_lossy().into_owned();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.to_string_lossy();
            [".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"]
                .iter()
                .any(|x| n.ends_with(x))
        })
        .collect();
    files.sort();
    let file = files.into_iter().next()?;
    let description = std::fs::read_to_string(dir.join("README.md"))
        .ok()
        .and_then(|t| t.lines().find(|l| !l.trim().is_empty()).map(str::to_string))
        .map(|l| {
            let l = l.trim_start_matches('#').trim();
            // "clean-call.pcap — one clean G.711 call": the file name is already shown.
            l.split_once(" — ").map_or(l, |(_, rest)| rest).to_string()
        })
        .unwrap_or_default();
    Some(Sample {
        name,
        file,
        description,
    })
}

pub fn welcome_ui(ui: &mut egui::Ui, cx: &mut Cx, samples: &mut Option<Vec<Sample>>) {
    let samples = samples
        .get_or_insert_with(|| find_samples(&sample_roots()))
        .clone();
    let mut open: Option<PathBuf> = None;
    egui::ScrollArea::vertical()
        .id_salt("welcome")
        .show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.add_space(40.0);
                ui.heading("Earshot");
                ui.label("Forensic analysis of VoIP captures");
                ui.add_space(16.0);
                if let Some(path) = cx.loading {
                    let name = path.display().to_string();
                    ui.label(format!("Loading {}…", terminal_safe(&name, 120)));
                } else {
                    if ui.button("Open a capture…  (Ctrl+O)").clicked() {
                        cx.act(Action::OpenDialog);
                    }
                    ui.label("or drop a .pcap / .pcapng file here");
                }
            });
            ui.add_space(16.0);
            ui.columns(2, |cols| {
                let [left, right] = cols else {
                    return;
                };
                left.heading("Recent files");
                if cx.services.persisted.recent.is_empty() {
                    left.label("(none yet)");
                }
                for p in &cx.services.persisted.recent {
                    let text = terminal_safe(&p.display().to_string(), 100);
                    if left.link(text).clicked() {
                        open = Some(p.clone());
                    }
                }
                right.heading("Sample captures");
                if samples.is_empty() {
                    right.label("(no sample-captures folder found)");
                }
                egui::Grid::new("samples")
                    .num_columns(2)
                    .striped(true)
                    .show(right, |ui| {
                        for s in &samples {
                            if ui
                                .link(s.name.as_str())
                                .on_hover_text(s.file.display().to_string())
                                .clicked()
                            {
                                open = Some(s.file.clone());
                            }
                            ui.label(terminal_safe(&s.description, 100));
                            ui.end_row();
                        }
                    });
            });
        });
    if let Some(p) = open {
        cx.act(Action::OpenSample(p));
    }
    // Dropped files are handled for every view by `AppState::dropped_files`.
}

#[cfg(test)]
mod tests {
    use crate::gui::AppState;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    use super::*;

    const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sample-captures");

    #[test]
    fn finds_samples_with_readme_descriptions() {
        let s = find_samples(&[PathBuf::from("/nonexistent"), PathBuf::from(SAMPLES)]);
        let clean = s
            .iter()
            .find(|s| s.name == "clean-call")
            .expect("clean-call");
        assert_eq!(clean.file.file_name().unwrap(), "clean-call.pcap");
        assert_eq!(clean.description, "one clean G.711 call");
        // One per folder of the repository's sample-captures, in name order.
        let dirs = std::fs::read_dir(SAMPLES)
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
            .count();
        assert_eq!(s.len(), dirs);
        assert!(s.windows(2).all(|w| w[0].name < w[1].name));
        // At run time (tests run in app/), the checkout's folder is found by walking up.
        assert!(
            find_samples(&sample_roots())
                .iter()
                .any(|s| s.name == "clean-call")
        );
    }

    #[test]
    fn gui_welcome_lists_samples_and_opens_one() {
        let mut st = AppState::new(Default::default(), Arc::new(|| {}));
        st.views.samples = Some(find_samples(&[PathBuf::from(SAMPLES)]));
        let mut h = Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .build_ui_state(|ui, st: &mut AppState| st.ui(ui), st);
        h.run();
        h.get_by_label("one clean G.711 call");
        h.get_by_label("clean-call").click();
        // Step, not run: while the capture loads the UI repaints for its progress (CI once saw 6 steps).
        h.step();
        let start = Instant::now();
        while h.state().is_loading() {
            assert!(start.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(20));
            h.step();
        }
        h.run();
        let st = h.state();
        assert!(
            st.session
                .file
                .as_ref()
                .unwrap()
                .ends_with("clean-call/clean-call.pcap")
        );
        assert_eq!(
            st.session.analysis.as_ref().unwrap().summary.invite_dialogs,
            1
        );
        assert_eq!(
            st.services.persisted.recent.first(),
            st.session.file.as_ref()
        );
        h.get_by_label("1 of 1 calls");
    }
}
