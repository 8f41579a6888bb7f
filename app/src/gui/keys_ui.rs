//! File → Keys…: the TLS key logs and RSA server keys of this session, and the STIR/SHAKEN certificates. Keys added
//! here (or dropped on the window) apply to every later analysis of the session and re-analyse the open capture at
//! once; they are never saved. The certificate folder and trust anchors are remembered for the next start.

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
    /// The STIR/SHAKEN certificate folder and trust-anchor fields (filled from the session when empty).
    pub certs_text: String,
    pub roots_text: String,
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

    /// Sets (or with both `None` forgets) the STIR/SHAKEN certificate folder and trust anchors, remembers them,
    /// and analyses the open capture again with them. A folder or bundle that cannot be read changes nothing.
    pub fn set_sti_certs(&mut self, certs: Option<PathBuf>, roots: Option<PathBuf>) {
        if certs.is_none() && roots.is_none() {
            self.session.identity = None;
            self.services.persisted.sti_certs = None;
            self.services.persisted.sti_roots = None;
            self.audit("sti-certs-cleared", Vec::new());
            self.reopen();
            return;
        }
        match earshot_core::identity::CertStore::load(certs.as_deref(), roots.as_deref()) {
            Ok(store) => {
                let problems = store.problems.len();
                self.toast(format!(
                    "STIR/SHAKEN: {}{}",
                    store.sources.join("; "),
                    if problems > 0 {
                        format!(" ({problems} unusable files listed in the diagnostics)")
                    } else {
                        String::new()
                    }
                ));
                let path =
                    |p: &Option<PathBuf>| Value::from(p.as_ref().map(|p| p.display().to_string()));
                self.audit(
                    "sti-certs",
                    vec![("certs", path(&certs)), ("sti_roots", path(&roots))],
                );
                self.services.persisted.sti_certs = certs;
                self.services.persisted.sti_roots = roots;
                self.session.identity = Some(Arc::new(store));
                if !self.views.capture.is_running() {
                    self.reopen();
                }
            }
            Err(e) => self.toast(format!("STIR/SHAKEN: {e}")),
        }
    }

    /// At start: the certificate folder and anchors remembered from the last session, when they still load.
    pub fn load_remembered_certs(&mut self) {
        let (certs, roots) = (
            self.services.persisted.sti_certs.clone(),
            self.services.persisted.sti_roots.clone(),
        );
        if certs.is_none() && roots.is_none() {
            return;
        }
        match earshot_core::identity::CertStore::load(certs.as_deref(), roots.as_deref()) {
            Ok(store) => self.session.identity = Some(Arc::new(store)),
            Err(e) => self.toast(format!(
                "STIR/SHAKEN certificates remembered from last time: {e}"
            )),
        }
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
    let mut sti = None;
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
            ui.separator();
            sti = sti_section(ui, cx, view);
        });
    view.open = open;
    if let Some(a) = sti {
        cx.act(a);
    }
    if let Some(p) = add {
        view.path_text.clear();
        cx.act(Action::AddKeyFile(p));
    }
    if clear {
        cx.act(Action::ClearKeys);
    }
}

/// The STIR/SHAKEN certificates: what is in use, and the folder and anchor fields (with their dialogs).
fn sti_section(ui: &mut egui::Ui, cx: &Cx, view: &mut KeysView) -> Option<Action> {
    ui.strong("STIR/SHAKEN certificates");
    ui.label(
        "The certificates downloaded from the PASSporTs' x5u URLs (a folder; Earshot never fetches them) and the \
         STI-PA trust anchors (a PEM bundle). Calls' Identity headers are verified with them; remembered.",
    );
    match cx.session.identity.as_deref() {
        Some(store) => {
            for s in &store.sources {
                ui.label(terminal_safe(s, 200));
            }
            if !store.problems.is_empty() {
                ui.label(
                    egui::RichText::new(format!(
                        "{} unusable files (see Diagnostics)",
                        store.problems.len()
                    ))
                    .color(ui.visuals().warn_fg_color),
                );
            }
        }
        None => {
            ui.label("No certificates given: Identity tokens are decoded and their claims checked, not their signers.");
        }
    }
    if view.certs_text.is_empty()
        && let Some(p) = &cx.services.persisted.sti_certs
    {
        view.certs_text = p.display().to_string();
    }
    if view.roots_text.is_empty()
        && let Some(p) = &cx.services.persisted.sti_roots
    {
        view.roots_text = p.display().to_string();
    }
    let mut action = None;
    // Rows rather than a grid: a grid cell is as narrow as its column was the frame before, and the path fields
    // would never widen.
    ui.horizontal(|ui| {
        let l = ui.label("Certificate folder:");
        ui.add(egui::TextEdit::singleline(&mut view.certs_text).desired_width(420.0))
            .labelled_by(l.id);
        if ui.button("Choose…").clicked()
            && let Some(p) = rfd::FileDialog::new().pick_folder()
        {
            view.certs_text = p.display().to_string();
        }
    });
    ui.horizontal(|ui| {
        let l = ui.label("Trust anchors (PEM):");
        ui.add(egui::TextEdit::singleline(&mut view.roots_text).desired_width(420.0))
            .labelled_by(l.id);
        if ui.button("Choose… ").clicked()
            && let Some(p) = rfd::FileDialog::new().pick_file()
        {
            view.roots_text = p.display().to_string();
        }
    });
    ui.horizontal(|ui| {
        let field = |t: &str| (!t.trim().is_empty()).then(|| PathBuf::from(t.trim()));
        if ui.button("Use certificates").clicked() {
            action = Some(Action::SetStiCerts {
                certs: field(&view.certs_text),
                roots: field(&view.roots_text),
            });
        }
        if ui.button("Forget certificates").clicked() {
            view.certs_text.clear();
            view.roots_text.clear();
            action = Some(Action::SetStiCerts {
                certs: None,
                roots: None,
            });
        }
    });
    action
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

    const STIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sample-captures/stir-shaken"
    );

    /// STIR/SHAKEN in the app: without certificates the calls table says `certificate-unknown`; the folder and
    /// anchors typed into the Keys window (the dialogs' twins) re-analyse the capture, are remembered, and the table
    /// shows each call's labelled verdict (`calls.toml`); the INVITE's detail shows the PASSporT checks.
    #[test]
    fn gui_sti_certificates_verify_the_calls() {
        let dir = Path::new(STIR);
        let mut harness = loaded(&dir.join("stir-shaken.pcap"));
        assert!(
            !harness
                .get_all_by_label("A certificate-unknown")
                .collect::<Vec<_>>()
                .is_empty()
        );
        harness.state_mut().views.keys.open = true;
        harness.run();
        harness
            .get_by_role_and_label(egui::accesskit::Role::TextInput, "Certificate folder:")
            .focus();
        harness.run();
        harness
            .get_by_role_and_label(egui::accesskit::Role::TextInput, "Certificate folder:")
            .type_text(&dir.join("certs").display().to_string());
        harness.run();
        harness
            .get_by_role_and_label(egui::accesskit::Role::TextInput, "Trust anchors (PEM):")
            .focus();
        harness.run();
        harness
            .get_by_role_and_label(egui::accesskit::Role::TextInput, "Trust anchors (PEM):")
            .type_text(&dir.join("sti-pa-roots.pem").display().to_string());
        harness.run();
        harness.run();
        harness.get_by_label("Use certificates").click();
        harness.step();
        super::super::calls_ui::tests::wait_loaded(&mut harness);
        let st = harness.state();
        assert_eq!(
            st.services.persisted.sti_certs.as_deref(),
            Some(dir.join("certs").as_path())
        );
        let a = st.session.analysis.clone().expect("analysis");
        let verdict = |id: &str| {
            a.calls
                .iter()
                .find(|c| c.call_id == id)
                .and_then(|c| c.identity.as_ref())
                .map(|i| i.verdict.as_str())
        };
        assert_eq!(verdict("stir-valid-a@sp1.test"), Some("valid"));
        assert_eq!(
            verdict("stir-bad-signature@sp1.test"),
            Some("invalid-signature")
        );
        harness.state_mut().views.keys.open = false;
        harness.run();
        assert_eq!(
            harness.get_all_by_label("A valid").count(),
            4,
            "valid-a, replay-1, diverted, tn-covered"
        );
        harness.get_by_label("A invalid-signature");
        harness.get_by_label("A certificate-untrusted");
        harness.get_by_label("- malformed");
        // The bad-signature call's INVITE: the PASSporT says why.
        let (call, invite) = a
            .calls
            .iter()
            .enumerate()
            .find(|(_, c)| c.call_id == "stir-bad-signature@sp1.test")
            .map(|(i, c)| (i, c.messages[0]))
            .unwrap();
        harness.state_mut().apply(vec![
            crate::gui::Action::SelectCall(Some(call)),
            crate::gui::Action::SelectMessage(Some(invite)),
        ]);
        harness.state_mut().views.current = crate::gui::View::Ladder;
        harness.run();
        harness.get_by_label("Caller identity (STIR/SHAKEN)");
        harness.get_by_label("PASSporT shaken: invalid-signature");
        harness.get_by_label_contains("signature FAILED");
        // Forgotten: nothing remembered, the next analysis has no certificates.
        harness.state_mut().set_sti_certs(None, None);
        super::super::calls_ui::tests::wait_loaded(&mut harness);
        assert!(harness.state().services.persisted.sti_certs.is_none());
        assert!(harness.state().session.identity.is_none());
    }
}
