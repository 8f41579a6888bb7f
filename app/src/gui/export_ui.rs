//! The Export window (File → Export…, Ctrl+E): what to write (PDF report, CSV tables, JSON, the selected calls'
//! frames as pcapng, the selected call's audio as WAV, its ladder as PNG/SVG/text, blocklists), where, the case
//! fields and redaction. Everything is written by core's writers on a background thread; each written path (or the
//! error) comes back as a toast, is appended to the audit log and to the session's export list, which the next PDF
//! report lists (chain of custody).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow};
use earshot_core::audio::safe_file_stem;
use earshot_core::findings::Settings;
use earshot_core::model::Analysis;
use earshot_core::report::{
    ExportRecord, ReportMeta, csv::write_csv_dir, pdf::write_pdf, redact::redact,
};
use serde_json::Value;

use super::ladder_ui::LadderView;
use super::{Action, AppState, Cx, Session};
use crate::audit::{file_sha256, now_nanos};
use crate::files::LadderKind;

/// What the window offers; persisted choices are not needed (the defaults are the common case).
#[derive(Debug, Clone)]
pub struct ExportView {
    pub open: bool,
    pub pdf: bool,
    pub csv: bool,
    pub json: bool,
    pub pcapng: bool,
    pub wav: bool,
    pub ladder_png: bool,
    pub ladder_svg: bool,
    pub ladder_txt: bool,
    pub blocklist: bool,
    /// Output folder (the text field; "Browse…" fills it).
    pub dir: String,
    pub case_id: String,
    pub analyst: String,
    pub notes: String,
    pub redact: bool,
}

impl Default for ExportView {
    fn default() -> Self {
        ExportView {
            open: false,
            pdf: true,
            csv: false,
            json: false,
            pcapng: false,
            wav: false,
            ladder_png: false,
            ladder_svg: false,
            ladder_txt: false,
            blocklist: false,
            dir: String::new(),
            case_id: String::new(),
            analyst: String::new(),
            notes: String::new(),
            redact: false,
        }
    }
}

/// One thing to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Pdf,
    Csv,
    Json,
    Pcapng,
    Wav,
    LadderPng,
    LadderSvg,
    LadderTxt,
    Blocklist,
}

impl Item {
    /// The `ExportRecord::kind` and audit `kind`.
    pub fn kind(self) -> &'static str {
        match self {
            Item::Pdf => "pdf",
            Item::Csv => "csv",
            Item::Json => "json",
            Item::Pcapng => "pcap",
            Item::Wav => "wav",
            Item::LadderPng | Item::LadderSvg | Item::LadderTxt => "ladder",
            Item::Blocklist => "blocklist",
        }
    }
}

/// Everything the export thread needs (owned: it never touches `AppState`).
pub struct Request {
    pub items: Vec<Item>,
    pub dir: PathBuf,
    /// The capture or case the analysis was made from (re-read for WAV and pcapng).
    pub source: earshot_core::case::Source,
    pub analysis: Arc<Analysis>,
    pub settings: Settings,
    /// Call-IDs of the selected call(s): the first one for WAV and ladders, all for the pcapng.
    pub calls: Vec<String>,
    pub meta: ReportMeta,
    /// The session's TLS keys: the pcapng keeps the key log of the calls' TLS sessions (a secrets block).
    pub keys: Option<Arc<earshot_core::tls::Keys>>,
}

/// One written file, or why an item failed.
pub type Outcome = std::result::Result<(ExportRecord, String), String>;

/// A running export.
pub struct ExportJob {
    job: super::job::Job<Vec<Outcome>>,
}

impl ExportView {
    fn items(&self) -> Vec<Item> {
        [
            (self.pdf, Item::Pdf),
            (self.csv, Item::Csv),
            (self.json, Item::Json),
            (self.pcapng, Item::Pcapng),
            (self.wav, Item::Wav),
            (self.ladder_png, Item::LadderPng),
            (self.ladder_svg, Item::LadderSvg),
            (self.ladder_txt, Item::LadderTxt),
            (self.blocklist, Item::Blocklist),
        ]
        .into_iter()
        .filter_map(|(on, i)| on.then_some(i))
        .collect()
    }
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The selected call(s): the selected call, plus the legs merged into its ladder.
pub fn selected_calls(session: &Session, ladder: &LadderView) -> Vec<String> {
    let Some(a) = &session.analysis else {
        return Vec::new();
    };
    let Some(sel) = session.sel.call else {
        return Vec::new();
    };
    let mut idx = vec![sel];
    if ladder.merged_for == Some(sel) {
        idx.extend(ladder.merged.iter().copied());
    }
    idx.iter()
        .filter_map(|&i| a.calls.get(i))
        .map(|c| c.call_id.clone())
        .collect()
}

/// Starts the export chosen in the window (the Export button's action; tests call it directly too).
pub fn start(st: &mut AppState) {
    if st.services.export.is_some() {
        st.toast("An export is already running");
        return;
    }
    let v = st.views.export.clone();
    let items = v.items();
    let (Some(evidence), Some(source)) = (st.session.evidence(), st.session.source.clone()) else {
        st.toast("Export: open a capture first");
        return;
    };
    if items.is_empty() {
        st.toast("Export: choose at least one thing to write");
        return;
    }
    let Some(dir) = opt(&v.dir).map(PathBuf::from) else {
        st.toast("Export: choose an output folder");
        return;
    };
    let meta = ReportMeta {
        case_id: opt(&v.case_id),
        analyst: opt(&v.analyst),
        notes: opt(&v.notes),
        generated_at_nanos: now_nanos(),
        settings_toml: toml::to_string_pretty(&st.services.rules).unwrap_or_default(),
        redacted: v.redact,
        selected_calls: selected_calls(&st.session, &st.views.ladder),
        exports: st.services.exports.clone(),
    };
    let mut req = Request {
        items,
        dir,
        source,
        analysis: evidence.analysis.clone(),
        settings: st.services.rules.clone(),
        calls: meta.selected_calls.clone(),
        meta,
        keys: st.session.keys.clone(),
    };
    match super::job::Job::spawn("export", st.services.waker.clone(), move || {
        // With the session's findings (re-evaluated rules), resolved here rather than on the UI thread.
        req.analysis = evidence.resolve();
        run(&req)
    }) {
        Ok(job) => st.services.export = Some(ExportJob { job }),
        Err(e) => st.toast(format!("Export failed: {e}")),
    }
}

/// Applies a finished export: toasts, session list, audit log.
pub fn poll(st: &mut AppState) {
    let Some(job) = &st.services.export else {
        return;
    };
    let outcomes = match job.job.poll() {
        super::job::Poll::Running => return,
        super::job::Poll::Done(o) => o,
        // A worker that panicked: said, and the next export can start.
        super::job::Poll::Failed(e) => vec![Err(e)],
    };
    st.services.export = None;
    let (ok, failed): (Vec<Outcome>, Vec<Outcome>) = outcomes.into_iter().partition(Result::is_ok);
    // Failures last: they stay on screen longest.
    for o in ok.into_iter().chain(failed) {
        match o {
            Ok((rec, sha)) => {
                st.toast(format!("Exported {}", rec.path));
                st.audit(
                    "export",
                    vec![
                        ("kind", Value::from(rec.kind.clone())),
                        ("path", Value::from(rec.path.clone())),
                        ("path_sha256", Value::from(sha)),
                        ("redacted", Value::from(st.views.export.redact)),
                    ],
                );
                st.services.exports.push(rec);
            }
            Err(e) => st.toast(format!("Export failed: {e}")),
        }
    }
}

/// `dir/name`, or `dir/stem-2.ext`, `-3`… when it exists: an export never overwrites an earlier one.
pub fn unique(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    if !p.exists() {
        return p;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    (2..)
        .map(|n| dir.join(format!("{stem}-{n}{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(p)
}

/// Writes every item; one outcome per file written or per failed item. Runs on the export thread.
pub fn run(req: &Request) -> Vec<Outcome> {
    let mut out = Vec::new();
    if let Err(e) = std::fs::create_dir_all(&req.dir) {
        out.push(Err(format!(
            "cannot create the folder {}: {e}",
            req.dir.display()
        )));
        return out;
    }
    let redacted;
    let a: &Analysis = if req.meta.redacted {
        redacted = redact(&req.analysis);
        &redacted
    } else {
        &req.analysis
    };
    let stem = req
        .source
        .first_path()
        .file_stem()
        .map_or("capture".to_string(), |s| {
            safe_file_stem(&s.to_string_lossy())
        });
    let call_stem = req.calls.first().map(|c| safe_file_stem(c));
    for &item in &req.items {
        match write_item(req, a, item, &stem, call_stem.as_deref()) {
            Ok(paths) => {
                for p in paths {
                    let sha = if p.is_file() {
                        file_sha256(&p).unwrap_or_default()
                    } else {
                        String::new()
                    };
                    out.push(Ok((
                        ExportRecord {
                            time_nanos: now_nanos(),
                            kind: item.kind().to_string(),
                            path: p.display().to_string(),
                        },
                        sha,
                    )));
                }
            }
            Err(e) => out.push(Err(format!("{}: {e:#}", item.kind()))),
        }
    }
    // The folder describes the set: manifest.json (tool, evidence SHA-256, settings, each file's SHA-256).
    let records: Vec<ExportRecord> = out
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .map(|(r, _)| r.clone())
        .collect();
    if !records.is_empty() {
        let path = unique(&req.dir, "manifest.json");
        match earshot_core::report::manifest::write_manifest(
            &path,
            a,
            &records,
            now_nanos(),
            req.meta.redacted,
        ) {
            Ok(()) => {
                let sha = file_sha256(&path).unwrap_or_default();
                out.push(Ok((
                    ExportRecord {
                        time_nanos: now_nanos(),
                        kind: "manifest".into(),
                        path: path.display().to_string(),
                    },
                    sha,
                )));
            }
            Err(e) => out.push(Err(format!("manifest: {e}"))),
        }
    }
    out
}

fn need_call(call_stem: Option<&str>) -> Result<&str> {
    call_stem.ok_or_else(|| anyhow!("select a call first"))
}

fn write_item(
    req: &Request,
    a: &Analysis,
    item: Item,
    stem: &str,
    call_stem: Option<&str>,
) -> Result<Vec<PathBuf>> {
    let dir = &req.dir;
    let ids: Vec<&str> = req.calls.iter().map(String::as_str).collect();
    Ok(match item {
        Item::Pdf => {
            let p = unique(dir, &format!("{stem}-report.pdf"));
            write_pdf(a, &req.meta, &p)?;
            vec![p]
        }
        Item::Csv => {
            let d = unique(dir, &format!("{stem}-csv"));
            write_csv_dir(a, &d)?
        }
        Item::Json => {
            let p = unique(dir, &format!("{stem}.json"));
            crate::files::json_file(a, &p)?;
            vec![p]
        }
        Item::Pcapng => {
            let c = need_call(call_stem)?;
            let name = if ids.len() > 1 {
                format!("{c}-and-{}-more.pcapng", ids.len() - 1)
            } else {
                format!("{c}.pcapng")
            };
            let p = unique(dir, &name);
            // The original frames (never redacted: they are the evidence) of the original analysis.
            earshot_core::extract::write_calls_pcapng_from(
                &req.source,
                &req.analysis,
                &ids,
                &p,
                &earshot_core::extract::ExtractOptions {
                    cancel: None,
                    keys: req.keys.clone(),
                },
                &mut |_, _| {},
            )?;
            vec![p]
        }
        Item::Wav => {
            let c = need_call(call_stem)?;
            let call_id = ids.first().copied().unwrap_or_default();
            let p = unique(dir, &format!("{c}.wav"));
            crate::files::call_wav(&req.source, &req.analysis, call_id, &p)?;
            vec![p]
        }
        Item::LadderPng | Item::LadderSvg | Item::LadderTxt => {
            let c = need_call(call_stem)?;
            let (kind, ext) = match item {
                Item::LadderPng => (LadderKind::Png, "png"),
                Item::LadderSvg => (LadderKind::Svg, "svg"),
                _ => (LadderKind::Text, "txt"),
            };
            let p = unique(dir, &format!("{c}-ladder.{ext}"));
            crate::files::ladder_file(a, &ladder_ids(a, req), kind, &p)?;
            vec![p]
        }
        Item::Blocklist => {
            let nft = unique(dir, &format!("{stem}-blocklist.nft"));
            let txt = unique(dir, &format!("{stem}-blocklist.txt"));
            crate::files::blocklist_files(a, &req.settings.trusted_networks, &nft, &txt)?
        }
    })
}

/// The Call-IDs a ladder is drawn for: the selected call and its merged legs, as named in `a` (redaction may
/// rename Call-IDs, so they are found by their position in the original analysis).
fn ladder_ids<'a>(a: &'a Analysis, req: &Request) -> Vec<&'a str> {
    req.calls
        .iter()
        .filter_map(|id| req.analysis.calls.iter().position(|c| &c.call_id == id))
        .filter_map(|i| a.calls.get(i))
        .map(|c| c.call_id.as_str())
        .collect()
}

/// The window.
pub fn export_window(ctx: &egui::Context, cx: &mut Cx, view: &mut ExportView, ladder: &LadderView) {
    if !view.open {
        return;
    }
    let mut open = true;
    egui::Window::new("Export")
        .open(&mut open)
        .default_width(520.0)
        .show(ctx, |ui| {
            let calls = selected_calls(cx.session, ladder);
            let call_text = match (calls.first(), calls.len()) {
                (None, _) => "no call selected (select one in the Calls view)".to_string(),
                (Some(c), 1) => earshot_core::report::terminal_safe(c, 60),
                (Some(c), n) => format!(
                    "{} and {} merged leg(s)",
                    earshot_core::report::terminal_safe(c, 60),
                    n - 1
                ),
            };
            let v = &mut *view;
            ui.strong("Whole capture");
            ui.checkbox(&mut v.pdf, "Report (PDF)");
            ui.checkbox(&mut v.csv, "Tables (CSV folder: calls, streams, messages, findings)");
            ui.checkbox(&mut v.json, "Analysis (JSON)");
            ui.checkbox(&mut v.blocklist, "Blocklist of offenders (nftables and plain text)");
            ui.add_space(4.0);
            ui.strong(format!("Selected call: {call_text}"));
            ui.add_enabled_ui(!calls.is_empty(), |ui| {
                ui.checkbox(&mut v.pcapng, "Original frames (pcapng)");
                ui.checkbox(&mut v.wav, "Audio (stereo WAV: caller left, callee right)");
                ui.horizontal(|ui| {
                    ui.label("Ladder:");
                    ui.checkbox(&mut v.ladder_png, "PNG");
                    ui.checkbox(&mut v.ladder_svg, "SVG");
                    ui.checkbox(&mut v.ladder_txt, "text");
                });
            });
            ui.separator();
            egui::Grid::new("export_fields")
                .num_columns(2)
                .show(ui, |ui| {
                    let l = ui.label("Output folder");
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::TextEdit::singleline(&mut v.dir)
                                .hint_text("/path/to/case/folder")
                                .desired_width(300.0),
                        )
                        .labelled_by(l.id);
                        if ui.button("Browse…").clicked()
                            && let Some(p) = rfd::FileDialog::new().pick_folder()
                        {
                            v.dir = p.display().to_string();
                        }
                    });
                    ui.end_row();
                    let l = ui.label("Case id");
                    ui.add(egui::TextEdit::singleline(&mut v.case_id).desired_width(300.0))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Analyst");
                    ui.add(egui::TextEdit::singleline(&mut v.analyst).desired_width(300.0))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Notes");
                    ui.add(
                        egui::TextEdit::multiline(&mut v.notes)
                            .desired_rows(3)
                            .desired_width(300.0),
                    )
                    .labelled_by(l.id);
                    ui.end_row();
                });
            ui.checkbox(&mut v.redact, "Redact identities")
                .on_hover_text(
                    "numbers, SIP users, display names and IP addresses become stable pseudonyms in the \
                     report, tables, JSON, ladders and blocklists; pcapng and WAV are the original evidence",
                );
            ui.separator();
            ui.horizontal(|ui| {
                let busy = cx.services.export.is_some();
                if ui
                    .add_enabled(!busy, egui::Button::new("Export"))
                    .clicked()
                {
                    cx.act(Action::Export);
                }
                if busy {
                    ui.spinner();
                    ui.label("Exporting…");
                }
                ui.label(format!("{} export(s) this session", cx.services.exports.len()));
            });
        });
    view.open = open;
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use egui_kittest::kittest::Queryable;

    use super::super::calls_ui::tests::{CLEAN_CALL, loaded, toasts, wait_until};
    use crate::audit::AuditLog;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("earshot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// Runs the export the window is set up for and waits for it; returns the toasts.
    fn run_export(
        harness: &mut egui_kittest::Harness<'static, crate::gui::AppState>,
    ) -> Vec<String> {
        harness
            .get_by_role_and_label(egui::accesskit::Role::Button, "Export")
            .click();
        harness.step();
        wait_until(harness, "export", |st| st.services.export.is_none());
        toasts(harness)
    }

    #[test]
    fn gui_export_writes_every_kind_and_reports_failures() {
        let dir = temp_dir("export");
        let log = dir.join("audit.jsonl");
        let mut harness = loaded(Path::new(CLEAN_CALL));
        harness.state_mut().services.audit_log = AuditLog::at(&log);
        // The open was logged (nowhere) before the test's log was set: log it again, as the load's end does.
        harness.state_mut().audit_opened();
        harness.state_mut().select_call(Some(0));
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
        harness.run();
        assert!(harness.state().views.export.open);
        harness.get_by_label("Report (PDF)");
        {
            let st = harness.state_mut();
            st.views.export.pdf = true;
            st.views.export.csv = true;
            st.views.export.json = true;
            st.views.export.pcapng = true;
            st.views.export.ladder_svg = true;
            st.views.export.dir = dir.join("out").display().to_string();
            st.views.export.case_id = "CASE-7".into();
        }
        harness.run();
        let toasts = run_export(&mut harness);
        assert!(
            !toasts.iter().any(|t| t.starts_with("Export failed")),
            "{toasts:?}"
        );
        // JSON: parses, and holds the one call of the clean call sample (its README: Call-ID gen-0@example.org).
        let json = dir.join("out/clean-call.json");
        assert!(
            toasts.contains(&format!("Exported {}", json.display())),
            "{toasts:?}"
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let calls = v["calls"].as_array().unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0]["call_id"], "gen-0@example.org");
        // CSV: five files; calls.csv parses with one data row naming the call.
        let csv_dir = dir.join("out/clean-call-csv");
        for f in [
            "calls.csv",
            "streams.csv",
            "messages.csv",
            "findings.csv",
            "dtmf.csv",
            "tls.csv",
        ] {
            assert!(csv_dir.join(f).is_file(), "{f} missing");
        }
        let mut r = csv::Reader::from_path(csv_dir.join("calls.csv")).unwrap();
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].iter().any(|c| c == "gen-0@example.org"));
        let st = harness.state();
        let by_kind = |k: &str| -> Vec<std::path::PathBuf> {
            st.services
                .exports
                .iter()
                .filter(|e| e.kind == k)
                .map(|e| e.path.clone().into())
                .collect()
        };
        // The PDF: a PDF whose text (pdftotext, when installed) names the case and the capture's SHA-256.
        let pdf = by_kind("pdf");
        assert_eq!(pdf.len(), 1, "{:?}", st.services.exports);
        let bytes = std::fs::read(&pdf[0]).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let sha = crate::audit::file_sha256(Path::new(CLEAN_CALL)).unwrap();
        match std::process::Command::new("pdftotext")
            .arg(&pdf[0])
            .arg("-")
            .output()
        {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout).replace('\u{200b}', "");
                assert!(text.contains("CASE-7"), "{text}");
                assert!(text.contains(&sha), "{text}");
            }
            _ => eprintln!("SKIPPED the PDF text check: pdftotext is not installed"),
        }
        // The call's original frames: a pcapng (section header block magic) ...
        let pcap = by_kind("pcap");
        assert_eq!(pcap.len(), 1, "{:?}", st.services.exports);
        let bytes = std::fs::read(&pcap[0]).unwrap();
        assert_eq!(bytes.get(..4), Some(&[0x0a, 0x0d, 0x0d, 0x0a][..]));
        // ... that core reads back as the same call with its 7 messages (the sample's README).
        let back = earshot_core::analyze_file(&pcap[0], &Default::default(), &mut |_| {}).unwrap();
        assert_eq!(back.calls.len(), 1);
        assert_eq!(back.calls[0].call_id, "gen-0@example.org");
        assert_eq!(back.calls[0].messages.len(), 7);
        // The ladder SVG names the call's INVITE and BYE.
        let svg = by_kind("ladder");
        assert_eq!(svg.len(), 1, "{:?}", st.services.exports);
        let text = std::fs::read_to_string(&svg[0]).unwrap();
        assert!(text.starts_with("<svg") || text.starts_with("<?xml"));
        assert!(text.contains("INVITE") && text.contains("BYE"));
        // The manifest lists the ten files with their SHA-256 (sha256sum-checked by audit's hash of each).
        let m = by_kind("manifest");
        assert_eq!(m.len(), 1, "{:?}", st.services.exports);
        let mv: serde_json::Value = serde_json::from_slice(&std::fs::read(&m[0]).unwrap()).unwrap();
        assert_eq!(mv["evidence"]["sha256"], sha.as_str());
        let listed = mv["files"].as_array().unwrap();
        assert_eq!(listed.len(), 10, "{listed:?}");
        for f in listed {
            let p = f["path"].as_str().unwrap();
            assert_eq!(
                f["sha256"],
                crate::audit::file_sha256(Path::new(p)).unwrap().as_str()
            );
        }
        // 1 PDF + 6 CSV + 1 JSON + 1 pcapng + 1 ladder + the manifest, all in the session list.
        assert_eq!(st.services.exports.len(), 11, "{:?}", st.services.exports);
        // Audit: the open, then one export line per file with its hash.
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["action"], "open");
        assert_eq!(lines[0]["file"], CLEAN_CALL);
        assert_eq!(lines[0]["sha256"].as_str().unwrap(), sha);
        let exports: Vec<&serde_json::Value> =
            lines.iter().filter(|l| l["action"] == "export").collect();
        assert_eq!(exports.len(), 11);
        let j = exports.iter().find(|l| l["kind"] == "json").unwrap();
        assert_eq!(j["path"], json.display().to_string());
        assert_eq!(j["file"], CLEAN_CALL);
        assert_eq!(j["sha256"], sha.as_str());
        assert_eq!(
            j["path_sha256"],
            crate::audit::file_sha256(&json).unwrap().as_str()
        );
        // A folder that cannot be created (below a regular file): an error toast, no crash, nothing recorded.
        std::fs::write(dir.join("plain-file"), "x").unwrap();
        harness.state_mut().views.export.dir = dir.join("plain-file/out").display().to_string();
        harness.state_mut().services.toasts.clear();
        let toasts = run_export(&mut harness);
        assert!(
            toasts.iter().any(|t| t.starts_with("Export failed")),
            "{toasts:?}"
        );
        assert_eq!(harness.state().services.exports.len(), 11);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unique_never_overwrites() {
        let dir = temp_dir("unique");
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(super::unique(&dir, "a.json"), dir.join("a.json"));
        std::fs::write(dir.join("a.json"), "x").unwrap();
        assert_eq!(super::unique(&dir, "a.json"), dir.join("a-2.json"));
        std::fs::create_dir_all(dir.join("c-csv")).unwrap();
        assert_eq!(super::unique(&dir, "c-csv"), dir.join("c-csv-2"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
