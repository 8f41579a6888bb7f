//! The Store window (File → Open store…): SQL over a case store (`earshot analyze --store`, or the Spark job's),
//! the saved hunts one click away, results as a table. A row that names a call (`capture_sha256` and `call_id`
//! columns) opens that call from its original capture, or cuts its evidence pcapng, when the file the store
//! recorded is reachable; a row with only `capture_sha256` (a finding, a file) opens its capture. File → "Write to
//! store…" adds the open capture or case to a store (created when missing; the same capture again replaces its
//! partition). Twins of the dialogs: `AppState::open_store`, `run_store_query`, `open_store_capture`, `pull_store_call`, `write_store`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use earshot_core::report::terminal_safe;
use earshot_core::store::Store;
use earshot_core::store::query::{self, HUNTS};

use super::job::{Job, Poll};
use super::{Action, AppState, Cx};

/// The first query of a store opened: its files, with their calls and findings.
const OVERVIEW: &str = "SELECT p.capture_sha256, p.file, p.file_name, p.path, p.first_ts, p.packets, p.status, \
     count(c.call_id) AS calls FROM captures p \
     LEFT JOIN calls c ON c.capture_sha256 = p.capture_sha256 AND c.file = p.file \
     GROUP BY p.capture_sha256, p.file, p.file_name, p.path, p.first_ts, p.packets, p.status \
     ORDER BY p.first_ts, p.capture_sha256, p.file";

/// A finished query, kept as text cells for drawing.
pub struct Shown {
    pub columns: Vec<String>,
    pub cells: Vec<Vec<Option<String>>>,
    pub rows_dropped: u64,
    pub skipped: Vec<String>,
    pub secs: f64,
}

#[derive(Default)]
pub struct StoreView {
    pub open: bool,
    pub store: Option<PathBuf>,
    pub sql: String,
    pub job: Option<(Job<Result<Shown, String>>, Instant)>,
    pub shown: Option<Shown>,
    pub error: Option<String>,
    /// What to show once the capture opened from a row has loaded: the call to select, or none (the calls table).
    pub pending: Option<Option<String>>,
    pub pull: Option<Job<Result<String, String>>>,
    /// Writing the open analysis into a store: (store folder, job).
    pub write: Option<(PathBuf, Job<Result<Written, String>>)>,
}

/// A finished store write, for the toast and the audit log.
pub struct Written {
    pub calls: usize,
    pub replaced: bool,
    pub partition: String,
}

impl AppState {
    /// Opens the store at `path` in the Store window (refused with a message when it is none, or newer).
    pub fn open_store(&mut self, path: &Path) {
        match Store::open(path) {
            Ok(_) => {
                self.views.store.store = Some(path.to_path_buf());
                self.views.store.open = true;
                self.views.store.error = None;
                self.views.store.shown = None;
                if self.views.store.sql.is_empty() {
                    self.views.store.sql = OVERVIEW.into();
                }
                // What is in it, at once: the query in the editor (at first, the overview of its files).
                let sql = self.views.store.sql.clone();
                self.run_store_query(&sql);
            }
            Err(e) => self
                .services
                .toasts
                .push((format!("Cannot open store: {e}"), Instant::now())),
        }
    }

    pub fn open_store_dialog(&mut self) {
        if let Some(p) = rfd::FileDialog::new().pick_folder() {
            self.open_store(&p);
        }
    }

    /// Runs `sql` over the open store on a background thread.
    pub fn run_store_query(&mut self, sql: &str) {
        let Some(store) = self.views.store.store.clone() else {
            return;
        };
        self.views.store.sql = sql.to_string();
        let sql = sql.to_string();
        let started = Instant::now();
        match Job::spawn("query", self.services.waker.clone(), move || {
            let t = Instant::now();
            let r = query::run(&store, &sql).map_err(|e| e.to_string())?;
            Ok(Shown {
                columns: r.columns.clone(),
                cells: r.cells(query::MAX_RESULT_ROWS),
                rows_dropped: r.rows_dropped,
                skipped: r.skipped.clone(),
                secs: t.elapsed().as_secs_f64(),
            })
        }) {
            Ok(j) => {
                self.views.store.error = None;
                self.views.store.job = Some((j, started));
            }
            Err(e) => self.views.store.error = Some(e),
        }
    }

    /// Opens the capture (or case) the store says `capture_sha256` was made from; once loaded, selects `call_id`
    /// (the ladder) when given, else shows the calls table.
    pub fn open_store_capture(&mut self, capture_sha256: &str, call_id: Option<&str>) {
        let Some(store) = self.views.store.store.clone() else {
            return;
        };
        let originals = Store::open(&store)
            .map_err(|e| e.to_string())
            .and_then(|s| s.originals(capture_sha256).map_err(|e| e.to_string()));
        let originals = match originals {
            Ok(o) => o,
            Err(e) => {
                self.services.toasts.push((e, Instant::now()));
                return;
            }
        };
        if let Some(o) = originals.iter().find(|o| !o.path.is_file()) {
            self.services.toasts.push((
                format!(
                    "The original file {} is not reachable from here",
                    o.path.display()
                ),
                Instant::now(),
            ));
            return;
        }
        let paths: Vec<PathBuf> = originals.into_iter().map(|o| o.path).collect();
        self.views.store.pending = Some(call_id.map(str::to_string));
        self.open_case(&paths);
    }

    /// Cuts the call's evidence pcapng from its original capture into `out`, on a background thread.
    pub fn pull_store_call(&mut self, capture_sha256: &str, call_id: &str, out: &Path) {
        let Some(store) = self.views.store.store.clone() else {
            return;
        };
        let (sha, id, out) = (
            capture_sha256.to_string(),
            call_id.to_string(),
            out.to_path_buf(),
        );
        let opts = earshot_core::AnalyzeOptions {
            rules: self.services.rules.clone(),
            keys: self.session.keys.clone(),
            ..Default::default()
        };
        match Job::spawn("pull", self.services.waker.clone(), move || {
            let s = Store::open(&store).map_err(|e| e.to_string())?;
            let summary = earshot_core::store::pull::pull_call(&s, &sha, &id, &out, &opts)
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "Wrote {} ({} frames) from the original capture",
                out.display(),
                summary.frames_written
            ))
        }) {
            Ok(j) => self.views.store.pull = Some(j),
            Err(e) => self.services.toasts.push((e, Instant::now())),
        }
    }

    /// Writes the open analysis (a capture or a case, once completely analysed) into the store at `dir`, created
    /// when missing, on a background thread; the result is a toast and an audit record.
    pub fn write_store(&mut self, dir: &Path) {
        let (Some(evidence), Some(source), true) = (
            self.session.evidence(),
            self.session.source.clone(),
            self.session.complete,
        ) else {
            self.toast("Write to store: open a capture and let its analysis finish first");
            return;
        };
        let target = dir.to_path_buf();
        let paths = source.numbered_paths();
        match Job::spawn("store", self.services.waker.clone(), move || {
            // With the session's findings (re-evaluated rules), resolved on this thread.
            let a = evidence.resolve();
            let store = Store::create(&target).map_err(|e| e.to_string())?;
            let w = store.write(&a, &paths).map_err(|e| e.to_string())?;
            Ok(Written {
                calls: w.rows_of("calls"),
                replaced: w.replaced,
                partition: format!("capture={}", w.capture_sha256),
            })
        }) {
            Ok(j) => self.views.store.write = Some((dir.to_path_buf(), j)),
            Err(e) => self.toast(format!("Write to store failed: {e}")),
        }
    }

    pub fn write_store_dialog(&mut self) {
        if let Some(p) = rfd::FileDialog::new().pick_folder() {
            self.write_store(&p);
        }
    }

    /// Once a frame: finished queries, pulls and writes, and what to show in a capture opened from the store.
    pub fn poll_store(&mut self) {
        if let Some((job, _)) = &self.views.store.job {
            match job.poll() {
                Poll::Running => {}
                Poll::Done(Ok(shown)) => {
                    self.views.store.shown = Some(shown);
                    self.views.store.job = None;
                }
                Poll::Done(Err(e)) | Poll::Failed(e) => {
                    self.views.store.error = Some(e);
                    self.views.store.job = None;
                }
            }
        }
        if let Some(job) = &self.views.store.pull {
            match job.poll() {
                Poll::Running => {}
                Poll::Done(Ok(text)) => {
                    self.services.toasts.push((text, Instant::now()));
                    self.views.store.pull = None;
                }
                Poll::Done(Err(e)) | Poll::Failed(e) => {
                    self.services
                        .toasts
                        .push((format!("Cannot cut the call: {e}"), Instant::now()));
                    self.views.store.pull = None;
                }
            }
        }
        if let Some((dir, job)) = &self.views.store.write {
            let dir = dir.clone();
            match job.poll() {
                Poll::Running => {}
                Poll::Done(Ok(w)) => {
                    self.views.store.write = None;
                    self.toast(format!(
                        "{} {} ({} calls) in the store {}",
                        if w.replaced { "Replaced" } else { "Added" },
                        w.partition,
                        w.calls,
                        dir.display()
                    ));
                    self.audit(
                        "store",
                        vec![
                            ("store", serde_json::Value::from(dir.display().to_string())),
                            ("replaced", serde_json::Value::from(w.replaced)),
                        ],
                    );
                }
                Poll::Done(Err(e)) | Poll::Failed(e) => {
                    self.views.store.write = None;
                    self.toast(format!("Write to store failed: {e}"));
                }
            }
        }
        if self.session.complete
            && let Some(pending) = self.views.store.pending.take()
        {
            let Some(id) = pending else {
                self.views.current = super::View::Calls;
                return;
            };
            let idx = self
                .session
                .analysis
                .as_ref()
                .and_then(|a| a.calls.iter().position(|c| c.call_id == id));
            match idx {
                Some(i) => {
                    self.select_call(Some(i));
                    self.views.current = super::View::Ladder;
                }
                None => self.services.toasts.push((
                    format!(
                        "Call {} is not in the capture opened",
                        terminal_safe(&id, 80)
                    ),
                    Instant::now(),
                )),
            }
        }
    }
}

pub fn store_window(ctx: &egui::Context, cx: &mut Cx, view: &mut StoreView) {
    if !view.open {
        return;
    }
    let mut open = true;
    let mut run: Option<String> = None;
    let mut open_call: Option<(String, Option<String>)> = None;
    let mut pull_call: Option<(String, String)> = None;
    egui::Window::new("Store")
        .open(&mut open)
        .default_width(1000.0)
        .default_height(600.0)
        .max_width(ctx.content_rect().width() - 40.0)
        .show(ctx, |ui| {
            let Some(store) = view.store.clone() else {
                ui.label("No store is open: File → Open store…");
                return;
            };
            ui.label(format!(
                "Store {}",
                terminal_safe(&store.display().to_string(), 200)
            ));
            ui.horizontal_wrapped(|ui| {
                ui.label("Saved hunts:");
                for h in HUNTS {
                    if ui.button(h.name).on_hover_text(h.title).clicked() {
                        run = Some(h.sql());
                    }
                }
            });
            let l = ui.label("SQL (read-only; tables: docs/store.md):");
            ui.add(
                egui::TextEdit::multiline(&mut view.sql)
                    .code_editor()
                    .desired_rows(4)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(l.id);
            ui.horizontal(|ui| {
                let running = view.job.is_some();
                if ui.add_enabled(!running, egui::Button::new("Run")).clicked() {
                    run = Some(view.sql.clone());
                }
                if let Some((_, t)) = &view.job {
                    ui.spinner();
                    ui.label(format!("running… {:.1} s", t.elapsed().as_secs_f64()));
                }
            });
            if let Some(e) = &view.error {
                ui.colored_label(ui.visuals().error_fg_color, terminal_safe(e, 2000));
            }
            let Some(shown) = &view.shown else {
                return;
            };
            for s in &shown.skipped {
                ui.colored_label(ui.visuals().warn_fg_color, terminal_safe(s, 400));
            }
            ui.label(format!(
                "{} rows in {:.2} s{}",
                shown.cells.len(),
                shown.secs,
                if shown.rows_dropped > 0 {
                    format!(", {} more not kept", shown.rows_dropped)
                } else {
                    String::new()
                }
            ));
            let col = |name: &str| shown.columns.iter().position(|c| c == name);
            let links = col("capture_sha256").map(|s| (s, col("call_id")));
            egui::ScrollArea::horizontal().show(ui, |ui| {
                result_table(ui, shown, links, &mut open_call, &mut pull_call);
            });
        });
    view.open = open;
    if let Some(sql) = run {
        cx.act(Action::StoreQuery(sql));
    }
    if let Some((sha256, call_id)) = open_call {
        cx.act(Action::OpenStoreCapture { sha256, call_id });
    }
    if let Some((sha256, call_id)) = pull_call
        && let Some(out) = rfd::FileDialog::new()
            .set_file_name(format!(
                "call-{}.pcapng",
                earshot_core::audio::safe_file_stem(&call_id)
            ))
            .save_file()
    {
        cx.act(Action::PullStoreCall {
            sha256,
            call_id,
            out,
        });
    }
}

fn result_table(
    ui: &mut egui::Ui,
    shown: &Shown,
    links: Option<(usize, Option<usize>)>,
    open_call: &mut Option<(String, Option<String>)>,
    pull_call: &mut Option<(String, String)>,
) {
    use egui_extras::{Column, TableBuilder};
    let mut table = TableBuilder::new(ui)
        .striped(true)
        .resizable(true)
        .min_scrolled_height(200.0)
        .max_scroll_height(f32::INFINITY);
    if links.is_some() {
        table = table.column(Column::auto());
    }
    // Each column as wide as its header or its widest cell among the first rows (in characters of the body
    // font), within 3..40 characters; the user resizes from there.
    for (i, name) in shown.columns.iter().enumerate() {
        let chars = shown
            .cells
            .iter()
            .take(200)
            .filter_map(|r| r.get(i).cloned().flatten())
            .map(|c| c.chars().count())
            .chain([name.chars().count()])
            .max()
            .unwrap_or(3)
            .clamp(3, 40);
        let w = chars as f32 * 7.5 + 8.0;
        table = table.column(Column::initial(w).at_least(24.0).clip(true));
    }
    table
        .header(20.0, |mut h| {
            if links.is_some() {
                h.col(|ui| {
                    ui.strong("");
                });
            }
            for c in &shown.columns {
                h.col(|ui| {
                    ui.strong(terminal_safe(c, 60));
                });
            }
        })
        .body(|body| {
            body.rows(20.0, shown.cells.len(), |mut row| {
                let Some(cells) = shown.cells.get(row.index()) else {
                    return;
                };
                if let Some((s, c)) = links {
                    let sha = cells.get(s).cloned().flatten();
                    let id = c.and_then(|c| cells.get(c).cloned().flatten());
                    row.col(|ui| {
                        let Some(sha) = sha else {
                            return;
                        };
                        let hover = if id.is_some() {
                            "Open the call from its original capture"
                        } else {
                            "Open the original capture"
                        };
                        if ui.small_button("Open").on_hover_text(hover).clicked() {
                            *open_call = Some((sha.clone(), id.clone()));
                        }
                        if let Some(id) = id
                            && ui
                                .small_button("pcapng")
                                .on_hover_text("Cut the call's evidence from the original capture")
                                .clicked()
                        {
                            *pull_call = Some((sha, id));
                        }
                    });
                }
                for cell in cells {
                    row.col(|ui| {
                        ui.label(terminal_safe(cell.as_deref().unwrap_or(""), 200));
                    });
                }
            });
        });
}

#[cfg(test)]
mod tests {
    use egui_kittest::kittest::Queryable;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use super::super::View;
    use super::super::calls_ui::tests::{CLEAN_CALL, loaded, toasts, wait_loaded, wait_until};

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("earshot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// The SHA-256 of a file by coreutils, not by Earshot.
    fn sha256sum(path: &Path) -> String {
        let out = Command::new("sha256sum").arg(path).output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }

    /// tshark's Call-IDs of the SIP frames of a capture.
    fn tshark_call_ids(path: &Path) -> Vec<String> {
        let out = Command::new("tshark")
            .args(["-r"])
            .arg(path)
            .args(["-Y", "sip", "-T", "fields", "-e", "sip.Call-ID"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn gui_writes_a_store_queries_it_opens_a_row_and_pulls_its_call() {
        let dir = temp_dir("gui-store");
        let store = dir.join("store");
        let clean = Path::new(CLEAN_CALL);
        let sha = sha256sum(clean);
        let mut harness = loaded(clean);

        // File → Write to store… (its twin): added, then the same capture again replaces its partition.
        for verb in ["Added", "Replaced"] {
            harness.state_mut().write_store(&store);
            wait_until(&mut harness, "write", |st| st.views.store.write.is_none());
            let want = format!(
                "{verb} capture={sha} (1 calls) in the store {}",
                store.display()
            );
            assert!(
                toasts(&harness).contains(&want),
                "{want} not in {:?}",
                toasts(&harness)
            );
        }
        let parts: Vec<_> = std::fs::read_dir(store.join("calls")).unwrap().collect();
        assert_eq!(
            parts.len(),
            1,
            "one partition per capture, however often written"
        );

        // Open it: the overview of its files at once (the sample: one file, one call). Then a query with Run.
        harness.state_mut().open_store(&store);
        wait_until(&mut harness, "overview", |st| st.views.store.job.is_none());
        assert!(harness.state().views.store.open);
        let shown = harness
            .state()
            .views
            .store
            .shown
            .as_ref()
            .expect("the overview");
        assert_eq!(shown.cells.len(), 1, "{:?}", shown.cells);
        let calls = shown.columns.iter().position(|c| c == "calls").unwrap();
        assert_eq!(shown.cells[0][calls].as_deref(), Some("1"));
        let path = shown.columns.iter().position(|c| c == "path").unwrap();
        assert_eq!(
            shown.cells[0][path].as_deref(),
            Some(std::fs::canonicalize(clean).unwrap().to_str().unwrap())
        );
        harness.state_mut().views.store.sql =
            "SELECT capture_sha256, call_id, from_user, to_user, answered FROM calls".into();
        harness.run();
        harness
            .get_by_role_and_label(egui::accesskit::Role::Button, "Run")
            .click();
        harness.step();
        wait_until(&mut harness, "query", |st| st.views.store.job.is_none());
        let shown = harness
            .state()
            .views
            .store
            .shown
            .as_ref()
            .expect("a result");
        assert_eq!(
            shown.columns,
            [
                "capture_sha256",
                "call_id",
                "from_user",
                "to_user",
                "answered"
            ]
        );
        // The sample's README: one call, 1000 → 5000, answered, Call-ID gen-0@example.org.
        let row: Vec<&str> = shown.cells[0]
            .iter()
            .map(|c| c.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(shown.cells.len(), 1);
        assert_eq!(
            row,
            [sha.as_str(), "gen-0@example.org", "1000", "5000", "true"]
        );

        // The row's Open button: the original capture again, the call selected on its ladder.
        harness.state_mut().views.current = View::Streams;
        harness.state_mut().select_call(None);
        harness
            .get_by_role_and_label(egui::accesskit::Role::Button, "Open")
            .click();
        harness.step();
        wait_loaded(&mut harness);
        wait_until(&mut harness, "the pending call", |st| {
            st.views.store.pending.is_none()
        });
        assert_eq!(harness.state().views.current, View::Ladder);
        assert_eq!(harness.state().session.sel.call, Some(0));

        // Its evidence pcapng, cut from the original: every SIP frame tshark sees in the original is there.
        let out = dir.join("call.pcapng");
        harness
            .state_mut()
            .pull_store_call(&sha, "gen-0@example.org", &out);
        wait_until(&mut harness, "pull", |st| st.views.store.pull.is_none());
        assert!(
            toasts(&harness)
                .iter()
                .any(|t| t.starts_with(&format!("Wrote {}", out.display()))),
            "{:?}",
            toasts(&harness)
        );
        let pulled = tshark_call_ids(&out);
        assert_eq!(pulled, tshark_call_ids(clean));
        assert_eq!(pulled.len(), 7, "the README's 7 SIP messages");

        // A folder that is not a store: refused with a message, nothing opened.
        let before = harness.state().views.store.store.clone();
        harness.state_mut().open_store(&dir);
        assert!(
            toasts(&harness)
                .iter()
                .any(|t| t.starts_with("Cannot open store")),
            "{:?}",
            toasts(&harness)
        );
        assert_eq!(harness.state().views.store.store, before);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
