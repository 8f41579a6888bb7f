//! File → Keys…: the TLS key logs and RSA server keys of this session. Keys added here (or dropped on the window)
//! apply to every later analysis of the session and re-analyse the open capture at once; they are never saved.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use earshot_core::report::terminal_safe;
use earshot_core::tls::Keys;
use serde_json::Value;

use super::{Action, AppState, Cx};
use earshot_core::case::Source;

#[derive(Default)]
pub struct KeysView {
    pub open: bool,
    /// The path field (the dialogs' twin).
    pub path_text: String,
}

/// The first 4 KiB of a file, as text (empty when it cannot be read): enough to tell a key file by its content.
fn head(path: &Path) -> String {
    use std::io::Read;
    let mut head = [0u8; 4096];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    String::from_utf8_lossy(head.get(..n).unwrap_or_default()).into_owned()
}

/// A PEM private key (else the file is read as a key log).
fn is_pem_key(head: &str) -> bool {
    head.contains("-----BEGIN") && head.contains("PRIVATE KEY-----")
}

/// Does `path` look like a key file: a PEM private key, or a key log (its first line parses as one)?
pub fn looks_like_key_file(path: &Path) -> bool {
    let text = head(path);
    is_pem_key(&text) || earshot_core::tls::keylog::looks_like_keylog(&text)
}

impl AppState {
    /// Adds a key log or an RSA key (PEM) to the session's keys and re-analyses the open capture with them.
    pub fn add_key_file(&mut self, path: &Path) {
        let mut keys: Keys = self.session.keys.as_deref().cloned().unwrap_or_default();
        let before = keys.sources.len();
        let result = if is_pem_key(&head(path)) {
            keys.load_rsa_key(path).map(|()| 1)
        } else {
            keys.load_keylog(path)
        };
        match result {
            Ok(_) => {
                let src = keys.sources.get(before).cloned();
                let bad = src.as_ref().map_or(0, |s| s.bad_lines);
                self.toast(match &src {
                    Some(s) if bad > 0 => format!(
                        "Keys: {} ({} sessions, {bad} unusable lines listed in the diagnostics)",
                        terminal_safe(&s.name, 80),
                        s.entries
                    ),
                    Some(s) => format!(
                        "Keys: {} ({} sessions)",
                        terminal_safe(&s.name, 80),
                        s.entries
                    ),
                    None => "Keys added".into(),
                });
                self.audit(
                    "keys",
                    vec![
                        ("key_file", Value::from(path.display().to_string())),
                        (
                            "key_sha256",
                            Value::from(src.map(|s| s.sha256).unwrap_or_default()),
                        ),
                    ],
                );
                self.session.keys = Some(Arc::new(keys));
                if !self.views.capture.is_running() {
                    self.reopen();
                }
            }
            Err(e) => self.toast(format!("Keys: {e}")),
        }
    }

    /// Forgets every key of the session and re-analyses the open capture without them.
    pub fn clear_keys(&mut self) {
        self.session.keys = None;
        self.audit("keys-cleared", Vec::new());
        self.reopen();
    }

    /// Analyses the open capture or case again (new keys or settings).
    pub fn reopen(&mut self) {
        match self.session.source.clone() {
            Some(Source::Case { plan, options }) => {
                let paths: Vec<_> = plan.files.iter().map(|f| f.path.clone()).collect();
                self.open_case_with(&paths, options);
            }
            Some(src) => self.open_case(&src.paths()),
            None => {}
        }
    }
}

pub fn keys_window(ctx: &egui::Context, cx: &mut Cx, view: &mut KeysView) {
    if !view.open {
        return;
    }
    let mut open = true;
    let mut add: Option<PathBuf> = None;
    let mut clear = false;
    egui::Window::new("Keys")
        .open(&mut open)
        .default_size([760.0, 320.0])
        .show(ctx, |ui| {
            ui.label(
                "TLS key logs (SSLKEYLOGFILE, NSS format) and TLS servers' RSA private keys (PEM). They decrypt SIP \
                 over TLS/WSS and the SRTP keys of DTLS-SRTP, apply to every capture opened in this session, and \
                 are not saved. Key logs inside a pcapng are used without this.",
            );
            ui.separator();
            match cx.session.keys.as_deref() {
                Some(k) if !k.sources.is_empty() => {
                    egui::Grid::new("keys").striped(true).show(ui, |ui| {
                        ui.strong("Kind");
                        ui.strong("File");
                        ui.strong("Sessions");
                        ui.strong("Unusable lines");
                        ui.strong("SHA-256");
                        ui.end_row();
                        for s in &k.sources {
                            ui.label(terminal_safe(&s.kind, 20));
                            ui.label(terminal_safe(&s.name, 80));
                            ui.label(s.entries.to_string());
                            ui.label(s.bad_lines.to_string());
                            ui.monospace(&s.sha256);
                            ui.end_row();
                        }
                    });
                }
                _ => {
                    ui.label("No key given.");
                }
            }
            if let Some(a) = cx.session.analysis.as_deref() {
                let opened = a.tls.iter().filter(|t| t.decrypted).count()
                    + a.dtls.iter().filter(|d| d.srtp_keys_derived).count();
                ui.label(format!(
                    "This capture: {} TLS connection(s), {} DTLS association(s), {opened} opened with the keys.",
                    a.tls.len(),
                    a.dtls.len()
                ));
                for t in a.tls.iter().filter_map(|t| t.not_decrypted.as_ref().map(|w| (t, w))).take(10) {
                    ui.label(format!(
                        "{} → {}: not decrypted: {}",
                        t.0.client,
                        t.0.server,
                        terminal_safe(t.1, 200)
                    ));
                }
            }
            ui.separator();
            ui.horizontal(|ui| {
                if ui.button("Add key log or RSA key…").clicked()
                    && let Some(p) = rfd::FileDialog::new().pick_file()
                {
                    add = Some(p);
                }
                let l = ui.label("or path:");
                ui.text_edit_singleline(&mut view.path_text)
                    .labelled_by(l.id);
                if ui.button("Add").clicked() && !view.path_text.trim().is_empty() {
                    add = Some(PathBuf::from(view.path_text.trim()));
                }
                if ui.button("Clear keys").clicked() {
                    clear = true;
                }
            });
        });
    view.open = open;
    if let Some(p) = add {
        view.path_text.clear();
        cx.act(Action::AddKeyFile(p));
    }
    if clear {
        cx.act(Action::ClearKeys);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use egui_kittest::kittest::Queryable;

    use super::super::calls_ui::tests::loaded;

    const TLS_CALL: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/eval/corpus/benign-tls-call.pcap"
    );
    const TLS_KEYS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/eval/corpus/benign-tls-call.keys"
    );

    /// Without keys the TLS call shows nothing; adding its key log (the dialog's path twin) re-analyses the open
    /// capture and shows both calls; the Keys window lists the file with its SHA-256.
    /// Calls in the open analysis.
    fn calls(h: &egui_kittest::Harness<'static, crate::gui::AppState>) -> Option<usize> {
        h.state().session.analysis.as_ref().map(|a| a.calls.len())
    }

    #[test]
    fn gui_key_log_opens_the_tls_call() {
        let mut harness = loaded(Path::new(TLS_CALL));
        assert_eq!(calls(&harness), Some(0));
        assert!(super::looks_like_key_file(Path::new(TLS_KEYS)));
        assert!(!super::looks_like_key_file(Path::new(TLS_CALL)));
        harness.state_mut().add_key_file(Path::new(TLS_KEYS));
        let start = Instant::now();
        while harness.state().is_loading() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "re-analysis timed out"
            );
            harness.step();
            std::thread::sleep(Duration::from_millis(20));
        }
        harness.run();
        let a = harness.state().session.analysis.clone().expect("analysis");
        assert_eq!(a.calls.len(), 2);
        assert!(a.tls[0].decrypted);
        harness.state_mut().views.keys.open = true;
        harness.run();
        harness.get_by_label("benign-tls-call.keys");
        let sha = a.key_sources[0].sha256.clone();
        harness.get_by_label(&sha);
        // Cleared: the next analysis has no keys again.
        harness.state_mut().clear_keys();
        let start = Instant::now();
        while harness.state().is_loading() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "re-analysis timed out"
            );
            harness.step();
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(calls(&harness), Some(0));
    }
}
