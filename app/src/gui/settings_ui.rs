//! The Settings window: display (theme, UTC or local time), the audio output device, and the rules (thresholds and
//! lists) as the same TOML `earshot analyze --rules` reads, with Validate and Apply. Apply re-runs the rules on the
//! loaded analysis on a background thread and replaces its findings; the TOML text is persisted.

use std::path::PathBuf;
use std::sync::Arc;

use earshot_core::findings::{Settings, evaluate};
use earshot_core::model::{Analysis, Finding};
use serde_json::Value;

use super::{Action, AppState, Cx};

/// What the rules thread sends back: the analysis it evaluated, its findings, and the settings used (as JSON).
type Reevaluated = (Arc<Analysis>, Vec<Finding>, serde_json::Value);

#[derive(Default)]
pub struct SettingsView {
    pub open: bool,
    /// The rules being edited (TOML); filled from the current rules when the window first opens.
    pub text: Option<String>,
    /// Path field of "Load file" (the dialog's twin).
    pub rules_path: String,
    /// Wordlist path field (overrides the TOML's `wordlist` on Apply; empty = the TOML's).
    pub wordlist: String,
    /// Result of the last Validate/Apply: `Ok(message)` or the parse error.
    pub status: Option<Result<String, String>>,
    /// Output devices found by the last listing (`None`: not listed yet).
    pub devices: Option<Result<Vec<String>, String>>,
    job: Option<super::job::Job<Reevaluated>>,
}

impl SettingsView {
    /// True while findings are being re-evaluated.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }
}

/// Parses rule settings the way `Settings::from_toml_file` does (unknown keys are errors), plus the wordlist field.
pub fn parse(text: &str, wordlist: &str) -> Result<Settings, String> {
    let mut s: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
    let w = wordlist.trim();
    if !w.is_empty() {
        let p = PathBuf::from(w);
        if !p.is_file() {
            return Err(format!("wordlist {} is not a readable file", p.display()));
        }
        s.wordlist = Some(p);
    }
    Ok(s)
}

/// Validates and applies the edited rules: the current rules change, the text is persisted, and the loaded
/// analysis's findings are re-evaluated off the UI thread. Returns false (with the error in `status`) when invalid.
pub fn apply(st: &mut AppState) -> bool {
    let text = st
        .views
        .settings
        .text
        .clone()
        .unwrap_or_else(|| toml::to_string_pretty(&st.services.rules).unwrap_or_default());
    let rules = match parse(&text, &st.views.settings.wordlist) {
        Ok(r) => r,
        Err(e) => {
            st.views.settings.status = Some(Err(e));
            return false;
        }
    };
    st.services.rules = rules.clone();
    st.services.persisted.rules_text = Some(text);
    st.services.persisted.wordlist =
        Some(st.views.settings.wordlist.trim().to_string()).filter(|w| !w.is_empty());
    st.audit("settings", vec![("change", Value::from("rules applied"))]);
    let Some(a) = st.session.analysis.clone() else {
        st.views.settings.status = Some(Ok("Applied (used for the next capture opened)".into()));
        return true;
    };
    reevaluate(st, a, rules, "Applying…");
    true
}

/// Evaluates the rules again on `a` in the background; the findings join the session when they are ready (`poll`).
/// Settings → Apply, and the password cracker after a capture was shown (`AppState::poll_loading`).
pub fn reevaluate(
    st: &mut AppState,
    a: Arc<earshot_core::Analysis>,
    rules: Settings,
    status: &str,
) {
    match super::job::Job::spawn("rules", st.services.waker.clone(), move || {
        let mut f = evaluate(&a, &rules);
        // As the pipeline does after its own evaluation: findings on a leg mention the call's other legs.
        earshot_core::calls::legs::extend_findings(&a.legs, &mut f);
        (a, f, earshot_core::findings::settings_json(&rules))
    }) {
        Ok(job) => {
            st.views.settings.job = Some(job);
            st.views.settings.status = Some(Ok(status.into()));
        }
        Err(e) => st.views.settings.status = Some(Err(e)),
    }
}

/// Whether findings are being evaluated again (Apply, or the cracker after loading).
pub fn reevaluating(st: &AppState) -> Option<String> {
    st.views.settings.job.as_ref()?;
    match &st.views.settings.status {
        Some(Ok(s)) => Some(s.clone()),
        _ => Some("Evaluating findings…".into()),
    }
}

/// Takes re-evaluated findings, if ready, into the analysis they were computed for.
pub fn poll(st: &mut AppState) {
    let Some(job) = &st.views.settings.job else {
        return;
    };
    let (from, findings, rules) = match job.poll() {
        super::job::Poll::Running => return,
        super::job::Poll::Done(r) => r,
        super::job::Poll::Failed(e) => {
            st.views.settings.job = None;
            st.views.settings.status = Some(Err(e));
            return;
        }
    };
    st.views.settings.job = None;
    let Some(cur) = &st.session.analysis else {
        return;
    };
    if !Arc::ptr_eq(cur, &from) {
        // Another capture (or snapshot) arrived meanwhile; its worker used the new rules already.
        return;
    }
    let n = findings.len();
    // The findings join the session beside the analysis, which is not copied.
    st.session.reevaluated = Some(Arc::new(super::Reevaluated { findings, rules }));
    st.session.sel.finding = None;
    st.views.settings.status = Some(Ok(format!("Applied: {n} findings")));
}

/// Lists the output devices by name (rodio's cpal); can be slow, so only on request.
pub fn list_devices() -> Result<Vec<String>, String> {
    crate::player::output_devices().map_err(|e| e.to_string())
}

pub fn settings_window(ctx: &egui::Context, cx: &mut Cx, view: &mut SettingsView) {
    if !view.open {
        return;
    }
    let persisted = &cx.services.persisted;
    if view.text.is_none() {
        view.text = Some(
            persisted
                .rules_text
                .clone()
                .unwrap_or_else(|| toml::to_string_pretty(&cx.services.rules).unwrap_or_default()),
        );
        view.wordlist = persisted.wordlist.clone().unwrap_or_default();
    }
    let mut open = true;
    egui::Window::new("Settings")
        .open(&mut open)
        .default_size([640.0, 600.0])
        .show(ctx, |ui| {
            ui.strong("Display");
            let mut light = cx.services.persisted.light_theme;
            if ui.checkbox(&mut light, "Light theme").changed() {
                cx.act(Action::SetTheme { light });
            }
            let mut local = cx.services.persisted.local_time;
            if ui
                .checkbox(&mut local, "Local time (times are UTC otherwise)")
                .changed()
            {
                cx.act(Action::SetLocalTime(local));
            }
            ui.separator();
            device_ui(ui, cx, view);
            ui.separator();
            rules_ui(ui, cx, view);
        });
    view.open = open;
}

fn device_ui(ui: &mut egui::Ui, cx: &mut Cx, view: &mut SettingsView) {
    ui.strong("Audio output");
    let persisted = &cx.services.persisted;
    ui.horizontal_wrapped(|ui| {
        let current = persisted
            .audio_device
            .clone()
            .unwrap_or_else(|| "default".into());
        let mut chosen: Option<Option<String>> = None;
        egui::ComboBox::from_label("device")
            .selected_text(earshot_core::report::terminal_safe(&current, 60))
            .show_ui(ui, |ui| {
                if view.devices.is_none() {
                    view.devices = Some(list_devices());
                }
                if ui
                    .selectable_label(persisted.audio_device.is_none(), "default")
                    .clicked()
                {
                    chosen = Some(None);
                }
                match &view.devices {
                    Some(Ok(list)) => {
                        for d in list {
                            let on = persisted.audio_device.as_deref() == Some(d.as_str());
                            if ui
                                .selectable_label(on, earshot_core::report::terminal_safe(d, 60))
                                .clicked()
                            {
                                chosen = Some(Some(d.clone()));
                            }
                        }
                    }
                    Some(Err(e)) => {
                        ui.label(format!("cannot list devices: {e}"));
                    }
                    None => {}
                }
            });
        if ui.button("Refresh").clicked() {
            view.devices = Some(list_devices());
        }
        if let Some(d) = chosen {
            cx.act(Action::SetDevice(d));
        }
    });
    if let crate::player::OutputStatus::NoDevice(why) = cx.services.player.output_status() {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "no audio output device: {}",
                earshot_core::report::terminal_safe(why, 200)
            ),
        );
    }
}

/// Light or dark theme, persisted and audited.
pub fn set_theme(st: &mut AppState, light: bool) {
    if st.services.persisted.light_theme == light {
        return;
    }
    st.services.persisted.light_theme = light;
    let v = if light { "light" } else { "dark" };
    st.audit("settings", vec![("theme", Value::from(v))]);
}

/// Local time or UTC, persisted and audited.
pub fn set_local_time(st: &mut AppState, local: bool) {
    if st.services.persisted.local_time == local {
        return;
    }
    st.services.persisted.local_time = local;
    let v = if local { "local" } else { "utc" };
    st.audit("settings", vec![("time_display", Value::from(v))]);
}

/// Chooses the output device (`None`: the system default); the player reopens it on the next play.
pub fn set_device(st: &mut AppState, device: Option<String>) {
    if st.services.persisted.audio_device == device {
        return;
    }
    st.services.persisted.audio_device = device.clone();
    st.services.player.set_device(device.clone());
    st.audit(
        "settings",
        vec![(
            "audio_device",
            Value::from(device.unwrap_or_else(|| "default".into())),
        )],
    );
}

fn rules_ui(ui: &mut egui::Ui, cx: &mut Cx, view: &mut SettingsView) {
    let title = ui.strong("Rules: thresholds and lists (TOML, as `earshot analyze --rules FILE`)");
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Rules file");
        ui.add(
            egui::TextEdit::singleline(&mut view.rules_path)
                .hint_text("/path/to/rules.toml")
                .desired_width(260.0),
        )
        .labelled_by(l.id);
        if ui.button("Browse…").clicked()
            && let Some(p) = rfd::FileDialog::new()
                .add_filter("TOML", &["toml"])
                .pick_file()
        {
            view.rules_path = p.display().to_string();
        }
        if ui.button("Load").clicked() {
            let p = PathBuf::from(view.rules_path.trim());
            match std::fs::read_to_string(&p) {
                Ok(t) => {
                    view.text = Some(t);
                    cx.act(Action::SetRulesFile(p));
                    view.status = Some(Ok("Loaded: Validate or Apply".into()));
                }
                Err(e) => {
                    view.status = Some(Err(format!("cannot read rules file {}: {e}", p.display())))
                }
            }
        }
        if ui.button("Defaults").clicked() {
            view.text = Some(Settings::defaults_toml());
        }
    });
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Wordlist");
        ui.add(
            egui::TextEdit::singleline(&mut view.wordlist)
                .hint_text("extra passwords to try, one per line (optional)")
                .desired_width(260.0),
        )
        .labelled_by(l.id);
        if ui.button("Browse…").clicked()
            && let Some(p) = rfd::FileDialog::new().pick_file()
        {
            view.wordlist = p.display().to_string();
        }
    });
    ui.horizontal(|ui| {
        if ui.button("Validate").clicked() {
            let text = view.text.clone().unwrap_or_default();
            view.status = Some(parse(&text, &view.wordlist).map(|_| "Valid".to_string()));
        }
        if ui
            .add_enabled(!view.busy(), egui::Button::new("Apply"))
            .clicked()
        {
            cx.act(Action::ApplyRules);
        }
        if view.busy() {
            ui.spinner();
        }
        match &view.status {
            Some(Ok(m)) => {
                ui.label(m.clone());
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("Invalid: {e}"));
            }
            None => {}
        }
    });
    egui::ScrollArea::vertical()
        .id_salt("rules_text")
        .max_height(360.0)
        .show(ui, |ui| {
            if let Some(text) = view.text.as_mut() {
                ui.add(
                    egui::TextEdit::multiline(text)
                        .code_editor()
                        .desired_width(f32::INFINITY)
                        .desired_rows(18),
                )
                .labelled_by(title.id);
            }
        });
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use egui_kittest::kittest::Queryable;

    use super::super::calls_ui::tests::loaded;

    const SCANNER: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sample-captures/scanner-sweep/scanner-sweep.pcap"
    );

    /// The capture shows without cracking; the cracker runs after and its finding joins the session's findings,
    /// the analysis itself untouched (the cracked password is the one the sample's README names).
    #[test]
    fn gui_passwords_are_cracked_after_the_capture_is_shown() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sample-captures/weak-password/weak-password.pcap"
        ));
        let mut harness = loaded(path);
        let a = harness.state().session.analysis.clone().unwrap();
        assert!(a.calls.len() + a.findings.len() > 0);
        assert!(
            !a.findings.iter().any(|f| f.rule_id == "weak-password"),
            "cracked during the load"
        );
        assert!(super::reevaluating(harness.state()).is_some_and(|s| s.contains("Cracking")));
        super::super::calls_ui::tests::wait_until(&mut harness, "cracking", |st| {
            st.views.settings.job.is_none()
        });
        let st = harness.state();
        assert!(Arc::ptr_eq(st.session.analysis.as_ref().unwrap(), &a));
        let cracked = st
            .session
            .findings()
            .iter()
            .find(|f| f.rule_id == "weak-password")
            .expect("the cracker's finding");
        assert!(
            cracked.details.contains("1234") || cracked.details.contains("1•••"),
            "{}",
            cracked.details
        );
        assert_eq!(
            st.session.reevaluated.as_ref().unwrap().rules["crack_passwords"],
            serde_json::Value::Bool(true)
        );
    }

    /// `date`'s rendering of an instant in the process's zone (TZ or /etc/localtime), `digits` fraction digits.
    fn date_oracle(ts_nanos: i64, digits: u8) -> String {
        let secs = ts_nanos.div_euclid(1_000_000_000);
        let nanos = ts_nanos.rem_euclid(1_000_000_000);
        let out = std::process::Command::new("date")
            .arg("-d")
            .arg(format!("@{secs}.{nanos:09}"))
            .arg(format!("+%Y-%m-%dT%H:%M:%S.%{digits}N%:z"))
            .output()
            .expect("date");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn local_time_is_the_zone_offset_at_that_instant() {
        // 2021-03-28T01:30:00.25Z in a zone two hours ahead (`date -u -d @1616895000` says 01:30:00 UTC).
        let ts = 1_616_895_000_250_000_000;
        let plus2 = chrono::FixedOffset::east_opt(7200).unwrap();
        assert_eq!(
            crate::gui::format_in_zone(ts, 3, &plus2),
            "2021-03-28T03:30:00.250+02:00"
        );
        assert_eq!(
            crate::gui::format_in_zone(ts, 0, &plus2),
            "2021-03-28T03:30:00+02:00"
        );
        // Before 1970, as format_utc handles it.
        assert_eq!(
            crate::gui::format_in_zone(-1_500_000_000, 6, &chrono::Utc),
            "1969-12-31T23:59:58.500000+00:00"
        );
        // The machine's zone as `date` renders it, on either side of a daylight-saving change in most zones.
        for ts in [ts, 1_635_643_800_000_000_000] {
            assert_eq!(
                crate::gui::format_in_zone(ts, 6, &chrono::Local),
                date_oracle(ts, 6)
            );
        }
    }

    #[test]
    fn gui_local_time_setting_shows_the_calls_in_local_time() {
        let mut harness = loaded(&super::super::calls_ui::tests::dtmf2());
        let a = harness.state().session.analysis.clone().unwrap();
        let c = a.calls.iter().find(|c| c.kind.is_call()).unwrap();
        let digits = a.capture.ts_precision_digits;
        let utc = earshot_core::time::format_utc(c.start_ts_nanos, digits);
        harness.get_by_label(&utc);
        harness.state_mut().views.settings.open = true;
        harness.run();
        harness
            .get_by_label("Local time (times are UTC otherwise)")
            .click();
        harness.run();
        assert!(harness.state().services.persisted.local_time);
        harness.get_by_label(&date_oracle(c.start_ts_nanos, digits));
    }

    #[test]
    fn parse_rejects_unknown_keys_and_bad_values() {
        assert!(super::parse("scan_min_hosts = 3\n", "").is_ok());
        let e = super::parse("scan_min_hosts = \"x\"\n", "").unwrap_err();
        assert!(e.contains("scan_min_hosts"), "{e}");
        let e = super::parse("no_such_threshold = 1\n", "").unwrap_err();
        assert!(e.contains("no_such_threshold"), "{e}");
        let e = super::parse("", "/no/such/wordlist").unwrap_err();
        assert!(e.contains("/no/such/wordlist"), "{e}");
    }

    #[test]
    fn gui_settings_apply_disables_a_rule_and_shows_errors() {
        let mut harness = loaded(Path::new(SCANNER));
        let before = harness.state().session.analysis.clone().unwrap();
        let scanner = before
            .findings
            .iter()
            .filter(|f| f.rule_id == "scanner")
            .count();
        assert!(scanner > 0, "the scanner sample should raise `scanner`");
        harness.state_mut().views.settings.open = true;
        harness.run();
        // A bad value: inline error with toml's message, nothing applied.
        harness.state_mut().views.settings.text = Some("scan_min_hosts = \"many\"\n".into());
        harness.run();
        harness.get_by_label("Validate").click();
        harness.run();
        let err = match &harness.state().views.settings.status {
            Some(Err(e)) => e.clone(),
            other => panic!("expected an error, got {other:?}"),
        };
        assert!(err.contains("scan_min_hosts"), "{err}");
        harness.get_by_label_contains("Invalid: ");
        // Disable the rule and Apply: findings are re-evaluated off the UI thread.
        harness.state_mut().views.settings.text = Some("disabled_rules = [\"scanner\"]\n".into());
        harness.run();
        harness.get_by_label("Apply").click();
        harness.step();
        let start = Instant::now();
        while harness.state().views.settings.busy() {
            assert!(start.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(10));
            harness.step();
        }
        harness.run();
        // The findings changed beside the analysis, which was not copied; exports take both.
        assert!(std::sync::Arc::ptr_eq(
            harness.state().session.analysis.as_ref().unwrap(),
            &before
        ));
        let after = harness.state().session.evidence().unwrap().resolve();
        assert!(after.findings.iter().all(|f| f.rule_id != "scanner"));
        assert_eq!(after.findings.len(), before.findings.len() - scanner);
        assert_eq!(after.summary.findings, after.findings.len() as u64);
        // The views count the session's findings, not the analysis's own.
        harness.get_by_label(&format!("Findings ({})", after.findings.len()));
        assert_eq!(
            harness.state().services.persisted.rules_text.as_deref(),
            Some("disabled_rules = [\"scanner\"]\n")
        );
        assert_eq!(
            harness.state().services.rules.disabled_rules,
            vec!["scanner".to_string()]
        );
    }
}
