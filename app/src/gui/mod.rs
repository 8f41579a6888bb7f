//! The desktop app (eframe/egui). `AppState::ui` draws everything and is what both eframe and the egui_kittest
//! tests drive. Views and windows live one per file (`*_ui`): they draw from a [`Cx`] (the [`Session`] and the
//! [`Services`], read-only) and their own state, and ask for changes with [`Action`]s that [`AppState::apply`]
//! carries out. Background work (loading, live capture, audio, exports, rules) is a `job::Job`; the UI thread never
//! analyses.

pub mod action;
pub mod audio_job;
mod calls_ui;
mod capture_ui;
mod case_ui;
pub mod export_ui;
mod findings_ui;
pub mod job;
mod keys_ui;
mod ladder_ui;
mod packet_ui;
pub mod settings_ui;
mod store_ui;
mod streams_ui;
mod timeline_ui;
mod traffic_ui;
mod welcome_ui;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use earshot_core::case::{CaseOptions, Source};
use earshot_core::findings::Settings;
use earshot_core::model::Analysis;
use earshot_core::report::{ExportRecord, terminal_safe};
use serde_json::Value;

use crate::audit::AuditLog;
use crate::player::Player;
pub use action::{Action, Cx};
use worker::{LoadEvent, LoadJob};

/// What is kept between runs (eframe storage): one serde struct, everything defaulted.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub recent: Vec<PathBuf>,
    pub light_theme: bool,
    /// Show times in local time instead of UTC.
    pub local_time: bool,
    /// Rules file given in Settings, if any.
    pub rules_file: Option<PathBuf>,
    /// The rules as last applied in Settings (TOML); wins over `rules_file`.
    pub rules_text: Option<String>,
    /// Wordlist path given in Settings (overrides the rules' `wordlist`).
    pub wordlist: Option<String>,
    /// Audio output device by name; `None` is the system default.
    pub audio_device: Option<String>,
    /// STIR/SHAKEN certificate folder given in Keys (or with `--certs`), used again at the next start.
    pub sti_certs: Option<PathBuf>,
    /// STIR/SHAKEN trust anchors (PEM bundle) given in Keys (or with `--sti-roots`).
    pub sti_roots: Option<PathBuf>,
}

/// The main views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    #[default]
    Calls,
    Traffic,
    Ladder,
    Streams,
    Findings,
    Timeline,
}

impl View {
    pub const ALL: [View; 6] = [
        View::Calls,
        View::Traffic,
        View::Ladder,
        View::Streams,
        View::Findings,
        View::Timeline,
    ];
    pub fn label(self) -> &'static str {
        match self {
            View::Calls => "Calls",
            View::Traffic => "Other traffic",
            View::Ladder => "Ladder",
            View::Streams => "Streams & audio",
            View::Findings => "Findings",
            View::Timeline => "Timeline",
        }
    }
}

/// What is selected, shared by every view (indices into the analysis).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Index into `Analysis::calls`.
    pub call: Option<usize>,
    /// Index into `Analysis::messages`.
    pub message: Option<usize>,
    /// Index into `Analysis::signals` (MGCP, MEGACO): selected instead of a SIP message.
    pub signal: Option<usize>,
    /// Index into `Analysis::streams`.
    pub stream: Option<usize>,
    /// Index into `Analysis::findings`.
    pub finding: Option<usize>,
}

/// What is open and what the analyst is looking at: the one state every view reads (never writes: views return
/// [`Action`]s, which [`AppState::apply`] carries out once per frame).
pub struct Session {
    /// The capture open (for a case: its first file, as the audit log and titles name it).
    pub file: Option<PathBuf>,
    /// What is open: one capture, or a case of several (audio and exports read it again).
    pub source: Option<Source>,
    /// The analyst's decisions on proposed leg links this session, re-applied when the capture is analysed again.
    pub leg_decisions: Vec<(String, String, bool)>,
    pub analysis: Option<Arc<Analysis>>,
    /// Findings of the rules re-evaluated this session (Settings → Apply), for `analysis`; `None`: the analysis's
    /// own. Their own `Arc`, so that a rules change never copies the analysis; read them with
    /// [`Session::findings`], hand the whole to a job with [`Session::evidence`].
    pub reevaluated: Option<Arc<Reevaluated>>,
    /// True once the whole file has been analysed (false while snapshots are shown).
    pub complete: bool,
    pub sel: Selection,
    /// The shared cursor (capture time, UTC ns): the playback position while audio plays or after a seek, or the
    /// message last clicked in the ladder. Drawn on the plots and across the ladder.
    pub cursor: Option<i64>,
    /// TLS key logs and RSA keys of this session (File → Keys…, dropped key files): every analysis uses them.
    pub keys: Option<Arc<earshot_core::tls::Keys>>,
    /// STIR/SHAKEN certificates and trust anchors (File → Keys…): every analysis verifies Identity with them.
    pub identity: Option<Arc<earshot_core::identity::CertStore>>,
}

/// Findings of re-evaluated rules, and the rules (as the JSON's `rules` object) that made them.
#[derive(Debug)]
pub struct Reevaluated {
    pub findings: Vec<earshot_core::model::Finding>,
    pub rules: Value,
}

/// The analysis and the session's findings, as a job takes them (an export, a store write): resolved into one
/// analysis on the job's thread, never on the UI thread.
#[derive(Clone)]
pub struct Evidence {
    pub analysis: Arc<Analysis>,
    pub reevaluated: Option<Arc<Reevaluated>>,
}

impl Evidence {
    /// The analysis with the session's findings: the same `Arc` when the rules were not re-evaluated, a copy
    /// otherwise (the only place the analysis is copied for them).
    pub fn resolve(&self) -> Arc<Analysis> {
        let Some(r) = &self.reevaluated else {
            return self.analysis.clone();
        };
        let mut a = (*self.analysis).clone();
        a.summary.findings = r.findings.len() as u64;
        a.findings.clone_from(&r.findings);
        a.rules = r.rules.clone();
        Arc::new(a)
    }
}

impl Session {
    /// A new analysis (a snapshot, or the end of a load): its findings are those of the rules in force.
    pub fn set_analysis(&mut self, a: Option<Arc<Analysis>>) {
        self.analysis = a;
        self.reevaluated = None;
    }

    /// The findings shown and exported: those of the rules re-evaluated this session, or the analysis's own.
    pub fn findings(&self) -> &[earshot_core::model::Finding] {
        match (&self.reevaluated, &self.analysis) {
            (Some(r), _) => &r.findings,
            (None, Some(a)) => &a.findings,
            (None, None) => &[],
        }
    }

    /// What a job needs to write the session's evidence (see [`Evidence::resolve`]).
    pub fn evidence(&self) -> Option<Evidence> {
        Some(Evidence {
            analysis: self.analysis.clone()?,
            reevaluated: self.reevaluated.clone(),
        })
    }

    /// The selected call, if any.
    pub fn call(&self) -> Option<&earshot_core::model::Call> {
        self.analysis.as_ref()?.calls.get(self.sel.call?)
    }

    /// Time at the capture's precision: UTC, or with `local` (Settings → Local time) the machine's local time
    /// with its offset.
    pub fn time(&self, ts_nanos: i64, local: bool) -> String {
        let digits = self
            .analysis
            .as_ref()
            .map_or(6, |a| a.capture.ts_precision_digits);
        if local {
            format_in_zone(ts_nanos, digits, &chrono::Local)
        } else {
            earshot_core::time::format_utc(ts_nanos, digits)
        }
    }
}

/// The capture time (UTC ns) the player is at, when audio is loaded: where the shared cursor follows playback.
fn playback_time(p: &Player) -> Option<i64> {
    let a = p.audio()?;
    Some(
        a.start_ts_nanos
            .saturating_add((p.position_secs() * 1e9) as i64),
    )
}

/// `ts_nanos` in `zone` as RFC 3339 with the zone's offset at that instant (`2026-03-29T03:30:00.250+02:00`): core's
/// [`earshot_core::time::format_utc`] (same `digits`) of the instant moved by the offset, the offset instead of `Z`;
/// UTC's form for an instant the zone cannot represent.
pub fn format_in_zone<Z: chrono::TimeZone>(ts_nanos: i64, digits: u8, zone: &Z) -> String {
    use chrono::Offset;
    use earshot_core::time::format_utc;
    let offset = chrono::DateTime::from_timestamp(ts_nanos.div_euclid(1_000_000_000), 0)
        .map(|utc| zone.offset_from_utc_datetime(&utc.naive_utc()).fix());
    let shifted = offset.and_then(|o| {
        ts_nanos.checked_add(i64::from(o.local_minus_utc()).saturating_mul(1_000_000_000))
    });
    match (offset, shifted) {
        (Some(o), Some(t)) => {
            let text = format_utc(t, digits);
            format!("{}{o}", text.strip_suffix('Z').unwrap_or(&text))
        }
        _ => format_utc(ts_nanos, digits),
    }
}

/// What the app owns and runs for the session: settings, the player, the audit log, messages to the user, and the
/// background jobs that are not a view's own. Only `AppState` changes them.
pub struct Services {
    pub persisted: Persisted,
    pub rules: Settings,
    pub player: Player,
    /// Decoded audio of the selected call (a background job while it decodes).
    pub audio: audio_job::AudioState,
    /// Messages for the user (errors, "exported to ..."), newest last, shown for a few seconds.
    pub toasts: Vec<(String, Instant)>,
    /// The running export, if any.
    pub export: Option<export_ui::ExportJob>,
    /// Exports written in this session, oldest first (the PDF report lists them).
    pub exports: Vec<ExportRecord>,
    pub audit_log: AuditLog,
    /// Called when a background job has news (the eframe repaint request; a no-op in tests).
    pub waker: Arc<dyn Fn() + Send + Sync>,
}

/// Each view's and window's own state (filters, sort orders, zoom, open or closed), and which main view shows.
#[derive(Default)]
pub struct Views {
    pub current: View,
    pub show_diagnostics: bool,
    pub calls: calls_ui::CallsView,
    pub ladder: ladder_ui::LadderView,
    pub timeline: timeline_ui::TimelineView,
    pub case: case_ui::CaseView,
    pub streams: streams_ui::StreamsView,
    pub export: export_ui::ExportView,
    pub settings: settings_ui::SettingsView,
    pub keys: keys_ui::KeysView,
    /// The Store window: SQL over a case store.
    pub store: store_ui::StoreView,
    pub capture: capture_ui::CaptureWindow,
    /// Bundled sample captures, looked up when the welcome screen is first shown.
    pub samples: Option<Vec<welcome_ui::Sample>>,
}

/// The whole app: the session, the services, the views' state, and the capture being loaded.
pub struct AppState {
    pub session: Session,
    pub services: Services,
    pub views: Views,
    pub loading: Option<LoadJob>,
}

impl AppState {
    pub fn new(persisted: Persisted, waker: Arc<dyn Fn() + Send + Sync>) -> Self {
        let rules = match &persisted.rules_text {
            Some(t) => {
                settings_ui::parse(t, persisted.wordlist.as_deref().unwrap_or_default()).ok()
            }
            None => persisted
                .rules_file
                .as_deref()
                .and_then(|p| Settings::from_toml_file(p).ok()),
        }
        .unwrap_or_default();
        let mut player = Player::new();
        player.set_device(persisted.audio_device.clone());
        // Tests never write the user's own log: only where EARSHOT_AUDIT_LOG (or the test) says.
        #[cfg(test)]
        let audit_log = AuditLog {
            path: std::env::var_os(crate::audit::ENV).map(PathBuf::from),
        };
        #[cfg(not(test))]
        let audit_log = AuditLog::from_env();
        let mut state = AppState {
            session: Session {
                file: None,
                source: None,
                leg_decisions: Vec::new(),
                analysis: None,
                reevaluated: None,
                complete: false,
                sel: Selection::default(),
                cursor: None,
                keys: None,
                identity: None,
            },
            services: Services {
                persisted,
                rules,
                player,
                audio: audio_job::AudioState::default(),
                toasts: Vec::new(),
                export: None,
                exports: Vec::new(),
                audit_log,
                waker,
            },
            views: Views::default(),
            loading: None,
        };
        state.load_remembered_certs();
        state
    }

    /// Starts loading a capture in the background (the dialog's path-argument twin).
    pub fn open(&mut self, path: &Path) {
        self.open_case(&[path.to_path_buf()]);
    }

    /// Starts loading several captures, folders or patterns as one case (one path that is a file: that capture).
    pub fn open_case(&mut self, paths: &[PathBuf]) {
        self.open_case_with(paths, CaseOptions::default());
    }

    /// [`AppState::open_case`] with how the case is put together (capture points, clock corrections): the Case
    /// window's twin.
    pub fn open_case_with(&mut self, paths: &[PathBuf], options: CaseOptions) {
        let source = match Source::from_inputs(paths, options) {
            Ok(s) => s,
            Err(e) => {
                self.toast(format!("Cannot open: {e}"));
                return;
            }
        };
        // Decisions on leg links belong to the evidence they were made on.
        if self.session.source.as_ref().map(Source::paths) != Some(source.paths()) {
            self.session.leg_decisions.clear();
        }
        let path = source.first_path();
        let path = path.as_path();
        if let Some(job) = &self.loading {
            job.cancel();
        }
        self.views.case.load(Some(&source));
        self.session.source = Some(source.clone());
        self.session.file = Some(path.to_path_buf());
        self.session.set_analysis(None);
        self.session.complete = false;
        self.session.sel = Selection::default();
        self.services.audio = audio_job::AudioState::default();
        self.services.player = Player::new();
        self.services
            .player
            .set_device(self.services.persisted.audio_device.clone());
        self.session.cursor = None;
        let waker = self.services.waker.clone();
        self.loading = Some(LoadJob::start(
            source,
            self.services.rules.clone(),
            self.session.keys.clone(),
            self.session.identity.clone(),
            move || waker(),
        ));
        // A case is reopened from its files; only single captures go to the recent list.
        if let [one] = paths {
            self.services.persisted.recent.retain(|p| p != one);
            self.services.persisted.recent.insert(0, one.clone());
            self.services.persisted.recent.truncate(10);
        }
    }

    /// Opens a capture and, first, the key log beside it (`NAME.keys`) when there is one: the real-tool samples
    /// ship the key log their TLS/DTLS stack wrote.
    pub fn open_sample(&mut self, path: &Path) {
        let keys = path.with_extension("keys");
        if keys.is_file() {
            // The keys join the session without analysing the capture open now again.
            self.session.file = None;
            self.session.source = None;
            self.add_key_file(&keys);
        }
        self.open(path);
    }

    /// True while a capture is loading.
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    pub fn toast(&mut self, text: impl Into<String>) {
        self.services.toasts.push((text.into(), Instant::now()));
        // Enough for one export's files; the oldest go first.
        if self.services.toasts.len() > 10 {
            self.services.toasts.remove(0);
        }
    }

    /// Applies what the background jobs sent since the last frame.
    pub fn poll(&mut self) {
        if let Some(job) = &mut self.loading {
            let mut done = false;
            let crack_after = job.crack_after;
            for ev in job.poll() {
                match ev {
                    LoadEvent::Snapshot(a) => {
                        if !self.session.complete {
                            self.session.set_analysis(Some(a));
                        }
                    }
                    LoadEvent::Done(mut a) => {
                        if !self.session.leg_decisions.is_empty() {
                            earshot_core::calls::legs::apply_decisions(
                                &mut Arc::make_mut(&mut a).legs,
                                &self.session.leg_decisions,
                            );
                        }
                        // The cracker left out of the load runs now, when there is a digest to crack.
                        if crack_after && !a.exposure.credentials.is_empty() {
                            settings_ui::reevaluate(
                                self,
                                a.clone(),
                                self.services.rules.clone(),
                                "Cracking the captured digests…",
                            );
                        }
                        self.session.set_analysis(Some(a));
                        self.session.complete = true;
                        done = true;
                        self.audit_opened();
                    }
                    LoadEvent::Failed(e) => {
                        self.services
                            .toasts
                            .push((format!("Cannot open: {e}"), Instant::now()));
                        done = true;
                    }
                }
            }
            if done {
                self.loading = None;
            }
        }
        audio_job::poll(self);
        export_ui::poll(self);
        self.poll_store();
        settings_ui::poll(self);
        if self.services.player.is_playing()
            && let Some(t) = playback_time(&self.services.player)
        {
            self.session.cursor = Some(t);
        }
    }

    /// Appends an audit line for `action`, naming the open capture and its SHA-256; a failure is a toast.
    pub fn audit(&mut self, action: &str, fields: Vec<(&str, Value)>) {
        let mut all = Vec::with_capacity(fields.len() + 2);
        if let Some(f) = &self.session.file {
            all.push(("file", Value::from(f.display().to_string())));
        }
        if let Some(a) = &self.session.analysis
            && !a.capture.sha256.is_empty()
        {
            all.push(("sha256", Value::from(a.capture.sha256.clone())));
        }
        all.extend(fields);
        if let Err(e) = self.services.audit_log.record(action, &all) {
            self.toast(format!("Audit log: {e:#}"));
        }
    }

    /// The `open` audit line, written when the capture has been read (its SHA-256 is known then).
    pub fn audit_opened(&mut self) {
        let packets = self
            .session
            .analysis
            .as_ref()
            .map_or(0, |a| a.summary.packets);
        self.audit("open", vec![("packets", Value::from(packets))]);
    }

    /// The analyst's decision on a proposed leg link (`(a, b, confirmed)`): applied to the open analysis (so the
    /// ladder, exports and reports record it), kept for the session and written to the audit log.
    pub fn decide_leg(&mut self, d: (String, String, bool)) {
        self.session
            .leg_decisions
            .retain(|(a, b, _)| !((a == &d.0 && b == &d.1) || (a == &d.1 && b == &d.0)));
        self.session.leg_decisions.push(d.clone());
        if let Some(a) = self.session.analysis.as_mut() {
            earshot_core::calls::legs::apply_decisions(
                &mut Arc::make_mut(a).legs,
                std::slice::from_ref(&d),
            );
        }
        // The ladder follows the decision.
        self.views.ladder.merged_for = None;
        self.audit(
            if d.2 { "leg-confirmed" } else { "leg-rejected" },
            vec![("a", Value::from(d.0)), ("b", Value::from(d.1))],
        );
    }

    /// The selected call, if any.
    pub fn call(&self) -> Option<&earshot_core::model::Call> {
        self.session.call()
    }

    /// Selects a call (and clears what belonged to the previous one).
    pub fn select_call(&mut self, i: Option<usize>) {
        if self.session.sel.call != i {
            self.session.sel.call = i;
            self.session.sel.message = None;
            self.session.sel.signal = None;
            self.session.sel.stream = None;
        }
    }

    /// Selects the message at `frame` (and its call), as evidence links do.
    pub fn select_frame(&mut self, frame: u64) {
        let Some(a) = self.session.analysis.clone() else {
            return;
        };
        if let Some(m) = a
            .messages
            .iter()
            .find(|m| m.frame == frame || m.frames.contains(&frame))
        {
            let call = a
                .calls
                .iter()
                .position(|c| Some(c.call_id.as_str()) == m.message.call_id.as_deref());
            self.select_call(call);
            self.session.sel.message = Some(m.index);
            self.views.current =
                if call.is_some_and(|c| a.calls.get(c).is_some_and(|c| c.kind.is_call())) {
                    View::Ladder
                } else {
                    View::Traffic
                };
        } else if let Some(r) = a.signals.iter().find(|r| r.frame == frame) {
            let call = a.calls.iter().position(|c| c.signals.contains(&r.index));
            self.select_call(call);
            self.session.sel.signal = Some(r.index);
            self.views.current = View::Ladder;
        } else if let Some(s) = a
            .streams
            .iter()
            .find(|s| s.first_frame == frame || s.last_frame == frame)
        {
            let call = s
                .call_id
                .as_ref()
                .and_then(|id| a.calls.iter().position(|c| &c.call_id == id));
            self.select_call(call);
            self.session.sel.stream = Some(s.index);
            self.views.current = View::Streams;
        }
    }

    /// Time as the user wants to read it.
    pub fn time(&self, ts_nanos: i64) -> String {
        self.session
            .time(ts_nanos, self.services.persisted.local_time)
    }

    /// Carries out what the views asked for this frame, in order.
    pub fn apply(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::SelectCall(i) => self.select_call(i),
                Action::SelectMessage(i) => {
                    self.session.sel.message = i;
                    self.session.sel.signal = None;
                }
                Action::SelectSignal(i) => {
                    self.session.sel.signal = i;
                    self.session.sel.message = None;
                }
                Action::SelectStream(i) => self.session.sel.stream = i,
                Action::SelectFrame(f) => self.select_frame(f),
                Action::SetView(v) => self.views.current = v,
                Action::SetCursor(c) => self.session.cursor = c,
                Action::CursorTo(t) => {
                    self.session.cursor = Some(t);
                    let p = &self.services.player;
                    if let Some(a) = p.audio() {
                        let secs = (t - a.start_ts_nanos) as f64 / 1e9;
                        if secs >= 0.0 && secs <= p.duration_secs() {
                            p.seek_secs(secs);
                        }
                    }
                }
                Action::DecideLeg(a, b, confirmed) => self.decide_leg((a, b, confirmed)),
                Action::DecodeAudio { call_id, mode } => {
                    // A failed decode may be asked for again.
                    if self.services.audio.error.is_some() {
                        self.services.audio.call_id = None;
                    }
                    audio_job::request(self, &call_id, mode);
                }
                Action::PlayPause => streams_ui::toggle_play(self, false),
                Action::TogglePlay => streams_ui::toggle_play(self, true),
                Action::Seek(secs) => {
                    self.services.player.seek_secs(secs);
                    self.session.cursor = playback_time(&self.services.player);
                }
                Action::SetMute(t, m) => self.services.player.set_mute(t, m),
                Action::SetPan(t, pan) => self.services.player.set_pan(t, pan),
                Action::OpenSample(p) => self.open_sample(&p),
                Action::OpenCase(paths, options) => self.open_case_with(&paths, options),
                Action::AddKeyFile(p) => self.add_key_file(&p),
                Action::ClearKeys => self.clear_keys(),
                Action::SetStiCerts { certs, roots } => self.set_sti_certs(certs, roots),
                Action::Export => export_ui::start(self),
                Action::SetTheme { light } => settings_ui::set_theme(self, light),
                Action::SetLocalTime(local) => settings_ui::set_local_time(self, local),
                Action::SetDevice(d) => settings_ui::set_device(self, d),
                Action::SetRulesFile(p) => self.services.persisted.rules_file = Some(p),
                Action::ApplyRules => {
                    settings_ui::apply(self);
                }
                Action::StoreQuery(sql) => self.run_store_query(&sql),
                Action::OpenStoreCapture { sha256, call_id } => {
                    self.open_store_capture(&sha256, call_id.as_deref())
                }
                Action::PullStoreCall {
                    sha256,
                    call_id,
                    out,
                } => self.pull_store_call(&sha256, &call_id, &out),
                Action::StartCapture => capture_ui::start(self),
                Action::StopCapture => capture_ui::stop(self),
                Action::OpenDialog => self.open_dialog(),
            }
        }
    }

    /// The whole UI.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll();
        self.dropped_files(ui.ctx());
        self.keyboard(ui.ctx());
        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        // The views draw from the session and ask for changes; the changes are made after they have drawn.
        let mut cx = Cx::new(
            &self.session,
            &self.services,
            self.loading.as_ref().map(|j| j.path.as_path()),
        );
        let views = &mut self.views;
        if (cx.session.sel.message.is_some() || cx.session.sel.signal.is_some())
            && matches!(views.current, View::Ladder | View::Traffic)
        {
            egui::Panel::bottom("packet")
                .resizable(true)
                .default_size(220.0)
                .show(ui, |ui| packet_ui::packet_ui(ui, &mut cx));
        }
        egui::CentralPanel::default_margins().show(ui, |ui| {
            if cx.session.analysis.is_none() {
                welcome_ui::welcome_ui(ui, &mut cx, &mut views.samples);
                return;
            }
            match views.current {
                View::Calls => calls_ui::calls_ui(ui, &mut cx, &mut views.calls),
                View::Traffic => traffic_ui::traffic_ui(ui, &mut cx, &mut views.calls),
                View::Ladder => ladder_ui::ladder_ui(ui, &mut cx, &mut views.ladder),
                View::Streams => streams_ui::streams_ui(ui, &mut cx, &mut views.streams),
                View::Findings => findings_ui::findings_ui(ui, &mut cx),
                View::Timeline => timeline_ui::timeline_ui(ui, &mut cx, &mut views.timeline),
            }
        });
        windows_ui(ui.ctx(), &mut cx, views);
        let actions = cx.into_actions();
        self.apply(actions);
        if self.loading.is_some() || self.services.audio.busy() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        if self.services.player.is_playing() {
            ui.ctx().request_repaint();
        }
    }

    fn keyboard(&mut self, ctx: &egui::Context) {
        use egui::{Key, Modifiers};
        let cmd = |k| ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, k));
        if cmd(Key::O) {
            self.open_dialog();
        }
        if cmd(Key::E) {
            self.views.export.open = true;
        }
        if cmd(Key::F) && self.session.analysis.is_some() {
            self.views.current = View::Calls;
            self.views.calls.focus_search = true;
        }
        if ctx.text_edit_focused() {
            return;
        }
        let key = |k| ctx.input_mut(|i| i.consume_key(Modifiers::NONE, k));
        if key(Key::Space) {
            self.apply(vec![Action::TogglePlay]);
        }
        let step = if key(Key::ArrowDown) {
            1
        } else if key(Key::ArrowUp) {
            -1
        } else {
            0
        };
        let enter = key(Key::Enter);
        match self.views.current {
            View::Calls => {
                if step != 0
                    && let Some(a) =
                        calls_ui::move_selection(&self.session, &mut self.views.calls, step)
                {
                    self.apply(vec![a]);
                }
                if enter && self.session.sel.call.is_some() {
                    self.views.current = View::Ladder;
                }
            }
            View::Ladder if step != 0 => {
                let actions =
                    ladder_ui::move_selection(&self.session, &mut self.views.ladder, step);
                self.apply(actions);
            }
            _ => {}
        }
    }

    /// The case dialog: several files (rfd); its path-argument twin is `open_case`.
    pub fn open_case_dialog(&mut self) {
        if let Some(p) = rfd::FileDialog::new()
            .add_filter("Captures", &["pcap", "pcapng", "cap", "gz"])
            .pick_files()
        {
            self.open_case(&p);
        }
    }

    /// A folder of captures as a case (rfd); its path-argument twin is `open_case`.
    pub fn open_folder_dialog(&mut self) {
        if let Some(p) = rfd::FileDialog::new().pick_folder() {
            self.open_case(&[p]);
        }
    }

    /// Adds files to the open capture or case and analyses the whole again (rfd); twin: `add_to_case`.
    pub fn add_to_case_dialog(&mut self) {
        if let Some(p) = rfd::FileDialog::new()
            .add_filter("Captures", &["pcap", "pcapng", "cap", "gz"])
            .pick_files()
        {
            self.add_to_case(&p);
        }
    }

    /// The open capture or case with `paths` added, analysed again as one case.
    pub fn add_to_case(&mut self, paths: &[PathBuf]) {
        let mut all = self
            .session
            .source
            .as_ref()
            .map(Source::paths)
            .unwrap_or_default();
        for p in paths {
            if !all.contains(p) {
                all.push(p.clone());
            }
        }
        // The case keeps its settings (capture points, clock corrections) as it grows.
        let options = match &self.session.source {
            Some(Source::Case { options, .. }) => options.clone(),
            _ => CaseOptions::default(),
        };
        self.open_case_with(&all, options);
    }

    /// The file dialog (rfd); every dialog has a path-argument twin (`open`).
    pub fn open_dialog(&mut self) {
        if let Some(p) = rfd::FileDialog::new()
            .add_filter("Captures", &["pcap", "pcapng", "cap", "gz"])
            .pick_file()
        {
            self.open(&p);
        }
    }

    fn menu_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open…  (Ctrl+O)").clicked() {
                    ui.close();
                    self.open_dialog();
                }
                if ui.button("Open case (several files)…").clicked() {
                    ui.close();
                    self.open_case_dialog();
                }
                if ui.button("Open case (folder)…").clicked() {
                    ui.close();
                    self.open_folder_dialog();
                }
                if ui
                    .add_enabled(
                        self.session.source.is_some(),
                        egui::Button::new("Add files to case…"),
                    )
                    .clicked()
                {
                    ui.close();
                    self.add_to_case_dialog();
                }
                if ui
                    .add_enabled(
                        self.session
                            .analysis
                            .as_ref()
                            .is_some_and(|a| a.case.is_some()),
                        egui::Button::new("Case: files, capture points, clocks…"),
                    )
                    .clicked()
                {
                    ui.close();
                    self.views.case.open = true;
                }
                if ui.button("Open store…").clicked() {
                    ui.close();
                    self.open_store_dialog();
                }
                if ui
                    .add_enabled(
                        self.session.complete && self.session.analysis.is_some(),
                        egui::Button::new("Write to store…"),
                    )
                    .on_hover_text("Add this capture or case to a case store (Parquet tables)")
                    .clicked()
                {
                    ui.close();
                    self.write_store_dialog();
                }
                ui.menu_button("Recent", |ui| {
                    let recent = self.services.persisted.recent.clone();
                    if recent.is_empty() {
                        ui.label("(none)");
                    }
                    for p in recent {
                        if ui
                            .button(terminal_safe(&p.display().to_string(), 120))
                            .clicked()
                        {
                            ui.close();
                            self.open(&p);
                        }
                    }
                });
                if ui.button("Keys…").clicked() {
                    ui.close();
                    self.views.keys.open = true;
                }
                if ui.button("Export…  (Ctrl+E)").clicked() {
                    ui.close();
                    self.views.export.open = true;
                }
                if ui.button("Capture…").clicked() {
                    ui.close();
                    capture_ui::open(self);
                }
                if ui.button("Settings…").clicked() {
                    ui.close();
                    self.views.settings.open = true;
                }
            });
            ui.separator();
            for v in View::ALL {
                let count = self.session.analysis.as_ref().map(|a| match v {
                    View::Calls => a.calls.iter().filter(|c| c.kind.is_call()).count(),
                    View::Traffic => a.calls.iter().filter(|c| !c.kind.is_call()).count(),
                    View::Streams => a.streams.len(),
                    View::Findings => self.session.findings().len(),
                    View::Ladder => self.call().map_or(0, |c| c.messages.len()),
                    View::Timeline => a.case.as_ref().map_or(1, |c| c.points.len()),
                });
                let label = match count {
                    Some(n) => format!("{} ({n})", v.label()),
                    None => v.label().to_string(),
                };
                ui.selectable_value(&mut self.views.current, v, label);
            }
        });
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            if let Some(job) = &self.loading {
                let p = job.progress;
                let frac = if p.bytes_total > 0 {
                    p.bytes_done as f32 / p.bytes_total as f32
                } else {
                    0.0
                };
                ui.add(
                    egui::ProgressBar::new(frac)
                        .desired_width(200.0)
                        .text(format!(
                            "{} / {} MB, {} packets, {} calls",
                            p.bytes_done / 1_000_000,
                            p.bytes_total / 1_000_000,
                            p.frames,
                            p.calls
                        )),
                );
                if ui.button("Cancel").clicked() {
                    job.cancel();
                }
            }
            // No spinner (it repaints every frame): the job wakes the UI when it ends.
            if let Some(what) = settings_ui::reevaluating(self) {
                ui.label(egui::RichText::new(what).strong());
            }
            if let Some(a) = self.session.analysis.clone() {
                let c = &a.capture;
                ui.label(terminal_safe(&c.file, 80));
                if !c.sha256.is_empty() {
                    ui.label(format!("SHA-256 {}", c.sha256))
                        .on_hover_text("hash of the file as stored, computed while reading");
                }
                ui.label(format!("{} packets", a.summary.packets));
                if let (Some(f), Some(l)) = (c.first_ts_nanos, c.last_ts_nanos) {
                    ui.label(format!("{} – {}", self.time(f), self.time(l)));
                }
                let diags = a.diagnostics.len() as u64 + a.diagnostics_dropped;
                if ui
                    .link(format!("{diags} diagnostics"))
                    .on_hover_text("what could not be decoded, with frame numbers")
                    .clicked()
                {
                    self.views.show_diagnostics = true;
                }
            }
            self.services
                .toasts
                .retain(|(_, t)| t.elapsed() < std::time::Duration::from_secs(8));
            for (t, _) in &self.services.toasts {
                ui.label(egui::RichText::new(terminal_safe(t, 200)).strong());
            }
        });
    }

    /// Files dropped on the window: key logs and PEM keys join the session's keys; the first capture is opened.
    fn dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        let (keys, captures): (Vec<PathBuf>, Vec<PathBuf>) = dropped
            .into_iter()
            .partition(|p| keys_ui::looks_like_key_file(p));
        for k in &keys {
            self.add_key_file(k);
        }
        // Several captures (or a folder) dropped together are one case; dropped on an open case, they join it.
        if !captures.is_empty() {
            let mut all = Vec::new();
            if ctx.input(|i| i.modifiers.shift) {
                all.extend(
                    self.session
                        .source
                        .as_ref()
                        .map(Source::paths)
                        .unwrap_or_default(),
                );
            }
            all.extend(captures);
            self.open_case(&all);
        }
    }
}

/// The windows (dialogs) over the views: each draws from `cx` and its own state and asks for changes with actions,
/// like the views.
fn windows_ui(ctx: &egui::Context, cx: &mut Cx, views: &mut Views) {
    if views.show_diagnostics {
        views.show_diagnostics = diagnostics_window(ctx, cx);
    }
    export_ui::export_window(ctx, cx, &mut views.export, &views.ladder);
    settings_ui::settings_window(ctx, cx, &mut views.settings);
    keys_ui::keys_window(ctx, cx, &mut views.keys);
    case_ui::case_window(ctx, cx, &mut views.case);
    store_ui::store_window(ctx, cx, &mut views.store);
    capture_ui::capture_window(ctx, cx, &mut views.capture);
}

/// What could not be decoded, with frame numbers; false once closed.
fn diagnostics_window(ctx: &egui::Context, cx: &Cx) -> bool {
    let mut open = true;
    egui::Window::new("Diagnostics")
        .open(&mut open)
        .default_size([700.0, 400.0])
        .show(ctx, |ui| {
            let Some(a) = cx.analysis() else {
                return;
            };
            egui::ScrollArea::vertical().show(ui, |ui| {
                for d in &a.diagnostics {
                    ui.label(format!(
                        "{} {:?} {:?}: {}",
                        d.frame.map_or("-".to_string(), |f| format!(
                            "frame {}",
                            earshot_core::model::frame_label(f)
                        )),
                        d.level,
                        d.layer,
                        terminal_safe(&d.message, 300)
                    ));
                }
                if a.diagnostics_dropped > 0 {
                    ui.label(format!("… and {} more (not stored)", a.diagnostics_dropped));
                }
            });
        });
    open
}

/// eframe's side: persistence, theme, and the root `ui`.
pub struct EarshotApp {
    pub state: AppState,
    /// `EARSHOT_FRAME_TIMES=out.csv`: the frame-time benchmark.
    bench: Option<FrameBench>,
}

/// Frame-time benchmark (`EARSHOT_FRAME_TIMES=out.csv earshot FILE`): times every frame's `ui` (CPU time of the
/// UI thread, painting excluded) while the file loads and for `EARSHOT_FRAME_SECS` seconds (default 10) after,
/// redrawing continuously; then writes `t_secs,frame_ms,loading,calls` rows to the CSV and closes the window.
/// The first line printed on stderr is the time from start to the first call shown.
struct FrameBench {
    out: PathBuf,
    after: std::time::Duration,
    start: Instant,
    loaded_at: Option<Instant>,
    first_call: Option<f64>,
    rows: Vec<(f64, f64, bool, usize)>,
    done: bool,
}

impl FrameBench {
    fn from_env() -> Option<Self> {
        let out = std::env::var_os("EARSHOT_FRAME_TIMES").filter(|v| !v.is_empty())?;
        let secs = std::env::var("EARSHOT_FRAME_SECS")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(10.0);
        Some(FrameBench {
            out: PathBuf::from(out),
            after: std::time::Duration::from_secs_f64(secs),
            start: Instant::now(),
            loaded_at: None,
            first_call: None,
            rows: Vec::new(),
            done: false,
        })
    }

    /// Records one frame; true when the benchmark is over (the file is written).
    fn frame(&mut self, st: &AppState, frame: std::time::Duration) -> bool {
        let t = self.start.elapsed().as_secs_f64();
        let calls = st
            .session
            .analysis
            .as_ref()
            .map_or(0, |a| a.calls.iter().filter(|c| c.kind.is_call()).count());
        if calls > 0 && self.first_call.is_none() {
            self.first_call = Some(t);
            eprintln!("earshot: first call shown after {t:.3} s");
        }
        self.rows
            .push((t, frame.as_secs_f64() * 1e3, st.is_loading(), calls));
        if !st.is_loading() && st.session.file.is_some() && self.loaded_at.is_none() {
            self.loaded_at = Some(Instant::now());
            eprintln!("earshot: loaded after {t:.3} s");
        }
        if self.done || self.loaded_at.is_none_or(|l| l.elapsed() < self.after) {
            return false;
        }
        self.done = true;
        let mut csv = String::from("t_secs,frame_ms,loading,calls\n");
        for (t, ms, loading, calls) in &self.rows {
            csv.push_str(&format!("{t:.6},{ms:.4},{},{calls}\n", u8::from(*loading)));
        }
        if let Err(e) = std::fs::write(&self.out, csv) {
            eprintln!("earshot: cannot write {}: {e}", self.out.display());
        }
        true
    }
}

impl EarshotApp {
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        files: Vec<PathBuf>,
        keys: Vec<PathBuf>,
        sti: (Option<PathBuf>, Option<PathBuf>),
    ) -> Self {
        let persisted: Persisted = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        let ctx = cc.egui_ctx.clone();
        let mut state = AppState::new(persisted, Arc::new(move || ctx.request_repaint()));
        let bench = FrameBench::from_env();
        // `earshot FILE --keylog K --tls-key PEM`: the session's keys before the capture opens.
        for k in &keys {
            state.add_key_file(k);
        }
        // `--certs DIR --sti-roots PEM`: the STIR/SHAKEN certificates (remembered for the next start).
        if sti.0.is_some() || sti.1.is_some() {
            state.set_sti_certs(sti.0, sti.1);
        }
        // `earshot STORE`: the Store window on a case store; `earshot A B` or `earshot FOLDER`: a case.
        match files.as_slice() {
            [one] if one.join(earshot_core::store::MARKER).is_file() => state.open_store(one),
            [] => {}
            _ => state.open_case(&files),
        }
        EarshotApp { state, bench }
    }
}

impl eframe::App for EarshotApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        ui.ctx()
            .set_theme(if self.state.services.persisted.light_theme {
                egui::Theme::Light
            } else {
                egui::Theme::Dark
            });
        let t = Instant::now();
        self.state.ui(ui);
        let dt = t.elapsed();
        if let Some(b) = &mut self.bench {
            if b.frame(&self.state, dt) {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
            ui.ctx().request_repaint();
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.state.services.persisted);
    }
}

/// Runs the desktop app, optionally opening `file`.
/// Text from the capture made safe to show in a view: control characters escaped, length bounded, and arrows the
/// default fonts cannot draw spelled out.
pub fn safe(s: &str, max: usize) -> String {
    earshot_core::report::terminal_safe(s, max).replace('→', "->")
}

pub fn run(
    files: Vec<PathBuf>,
    keys: Vec<PathBuf>,
    sti: (Option<PathBuf>, Option<PathBuf>),
) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Earshot")
            .with_inner_size([1280.0, 800.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "earshot",
        options,
        Box::new(move |cc| Ok(Box::new(EarshotApp::new(cc, files, keys, sti)))),
    )
    .map_err(|e| anyhow::anyhow!("cannot start the window: {e}"))
}
