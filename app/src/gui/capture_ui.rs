//! The Capture window (File ▸ Capture…): pick an interface, a filter and an evidence file, Start/Stop, live
//! counters. A running capture is an ordinary `worker::LoadJob` fed by `crate::live::run` on its own thread: the
//! views update from its snapshots exactly as they do while a file loads, and the status bar's Cancel stops it.
//! Without the privilege to capture, the window says what is missing and how to grant it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use earshot_core::Progress;

use super::worker::{LoadJob, LoadUpdate};
use super::{Action, AppState, Cx};
use crate::live::{self, InterfaceInfo, LiveConfig, LiveError, LiveStats, privilege};

/// What the hover text over the filter explains.
const FILTER_HELP: &str = "Capture filter in libpcap (tcpdump) syntax, applied by the kernel.\n\
     The default keeps every UDP packet (SIP on any UDP port, RTP/RTCP whatever port the SDP negotiated, STUN, \
     unsignalled media), SIP over TCP (5060) and SIP over TLS (5061); the port range names the usual RTP ports. \
     To keep only the usual RTP range, remove the leading \"udp or\". Leave the field empty to capture everything.";

/// Counters the capture thread shares with the window.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveCounters {
    pub stats: LiveStats,
    pub calls: u64,
    pub streams: usize,
    pub findings: usize,
}

/// A capture started from the window.
struct Running {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
}

/// The window's state (kept in `AppState`).
pub struct CaptureWindow {
    pub open: bool,
    pub interfaces: Option<Result<Vec<InterfaceInfo>, String>>,
    pub interface: String,
    pub filter: String,
    pub path: String,
    /// A failure to show in the window (permission, no such interface, bad filter...).
    pub message: Arc<Mutex<Option<String>>>,
    pub counters: Arc<Mutex<LiveCounters>>,
    /// The up-front privilege check (replaceable in tests).
    pub check: fn() -> Result<(), String>,
    running: Option<Running>,
}

impl Default for CaptureWindow {
    fn default() -> Self {
        CaptureWindow {
            open: false,
            interfaces: None,
            interface: String::new(),
            filter: live::DEFAULT_FILTER.to_string(),
            path: default_path().display().to_string(),
            message: Arc::new(Mutex::new(None)),
            counters: Arc::new(Mutex::new(LiveCounters::default())),
            check: privilege::check,
            running: None,
        }
    }
}

/// `~/earshot-captures/capture-20260102T030405Z.pcapng`.
pub fn default_path() -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(0);
    let stamp: String = earshot_core::time::format_utc(now, 0)
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join("earshot-captures")
        .join(format!("capture-{stamp}.pcapng"))
}

impl CaptureWindow {
    /// True while a capture started here runs.
    pub fn is_running(&self) -> bool {
        self.running
            .as_ref()
            .is_some_and(|r| !r.done.load(Ordering::Relaxed))
    }

    pub fn message(&self) -> Option<String> {
        self.message.lock().ok().and_then(|m| m.clone())
    }

    fn set_message(&self, m: Option<String>) {
        if let Ok(mut g) = self.message.lock() {
            *g = m;
        }
    }
}

/// Opens the window (the menu item).
pub fn open(state: &mut AppState) {
    state.views.capture.open = true;
    if state.views.capture.interfaces.is_none() {
        let list = live::list_interfaces().map_err(|e| format!("{e:#}"));
        if let Ok(l) = &list
            && state.views.capture.interface.is_empty()
            && let Some(first) = l.iter().find(|d| d.up && !d.loopback).or(l.first())
        {
            state.views.capture.interface = first.name.clone();
        }
        state.views.capture.interfaces = Some(list);
    }
}

/// Starts a capture with the window's settings; problems end up in the window's message.
pub fn start(state: &mut AppState) {
    let w = &mut state.views.capture;
    w.set_message(None);
    let interface = w.interface.trim().to_string();
    if interface.is_empty() {
        w.set_message(Some("Choose an interface first.".into()));
        return;
    }
    if let Err(detail) = (w.check)() {
        w.set_message(Some(privilege::permission_message(&interface, &detail)));
        return;
    }
    let path = PathBuf::from(w.path.trim());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        w.set_message(Some(format!(
            "cannot create the folder {}: {e}",
            live::safe(&dir.display().to_string())
        )));
        return;
    }
    let cfg = LiveConfig {
        interface,
        filter: Some(w.filter.trim().to_string()).filter(|f| !f.is_empty()),
        evidence: path.clone(),
        ring: None,
        duration: None,
        promisc: true,
    };
    let done = Arc::new(AtomicBool::new(false));
    let message = w.message.clone();
    let counters = w.counters.clone();
    if let Ok(mut c) = counters.lock() {
        *c = LiveCounters::default();
    }
    let rules = state.services.rules.clone();
    let thread_done = done.clone();
    let job = LoadJob::spawn(
        "live",
        path.clone(),
        state.services.waker.clone(),
        move |up| {
            let opts = earshot_core::AnalyzeOptions {
                rules,
                ..Default::default()
            };
            let result = live::run(&cfg, opts, up.cancel_flag(), &mut |st, snap| {
                if let Ok(mut c) = counters.lock() {
                    *c = LiveCounters {
                        stats: *st,
                        calls: snap.summary.invite_dialogs,
                        streams: snap.streams.len(),
                        findings: snap.findings.len(),
                    };
                }
                up.send(LoadUpdate::Progress(Progress {
                    bytes_done: st.evidence_bytes,
                    bytes_total: 0,
                    frames: st.packets,
                    sip_messages: snap.summary.sip_messages,
                    calls: snap.summary.invite_dialogs,
                }));
                up.send(LoadUpdate::Snapshot(snap.clone()));
            });
            let end = match result {
                Ok(out) => {
                    if let Ok(mut c) = counters.lock() {
                        c.stats = out.stats;
                        c.calls = out.analysis.summary.invite_dialogs;
                        c.streams = out.analysis.streams.len();
                        c.findings = out.analysis.findings.len();
                    }
                    if let (Some(e), Ok(mut m)) = (&out.error, message.lock()) {
                        *m = Some(format!("The capture stopped early: {e}"));
                    }
                    Ok(Arc::new(out.analysis))
                }
                Err(e) => {
                    let text = match &e {
                        LiveError::Permission(m) => m.clone(),
                        LiveError::Other(e) => format!("{e:#}"),
                    };
                    if let Ok(mut m) = message.lock() {
                        *m = Some(text.clone());
                    }
                    Err(text)
                }
            };
            thread_done.store(true, Ordering::Relaxed);
            end
        },
    );
    let stop = match job.cancel_flag() {
        Ok(stop) => stop,
        Err(e) => {
            w.set_message(Some(e));
            return;
        }
    };
    w.running = Some(Running { stop, done });
    if let Some(job) = &state.loading {
        job.cancel();
    }
    state.session.file = Some(path.clone());
    state.session.source = Some(earshot_core::case::Source::File(path));
    state.session.set_analysis(None);
    state.session.complete = false;
    state.session.sel = Default::default();
    state.services.audio = Default::default();
    state.loading = Some(job);
}

/// Stops the running capture (the evidence is flushed and the analysis finished on the capture's thread).
pub fn stop(state: &mut AppState) {
    if let Some(r) = &state.views.capture.running {
        r.stop.store(true, Ordering::Relaxed);
    }
}

/// Draws the window when it is open.
pub fn capture_window(ctx: &egui::Context, cx: &mut Cx, view: &mut CaptureWindow) {
    if !view.open {
        return;
    }
    let mut open = true;
    egui::Window::new("Capture")
        .open(&mut open)
        .default_size([560.0, 420.0])
        .show(ctx, |ui| window_ui(ui, cx, view));
    view.open = open;
    if view.is_running() {
        ctx.request_repaint_after(Duration::from_millis(250));
    }
}

fn window_ui(ui: &mut egui::Ui, cx: &mut Cx, view: &mut CaptureWindow) {
    let running = view.is_running();
    ui.label("Interface");
    match &view.interfaces {
        Some(Ok(list)) => {
            let mut chosen = None;
            egui::ScrollArea::vertical()
                .max_height(140.0)
                .id_salt("capture-interfaces")
                .show(ui, |ui| {
                    for d in list {
                        let mut flags = vec![if d.up { "up" } else { "down" }];
                        if d.loopback {
                            flags.push("loopback");
                        }
                        let addrs: Vec<String> =
                            d.addresses.iter().map(|a| a.to_string()).collect();
                        let text = format!(
                            "{}  ({})  {}",
                            live::safe(&d.name),
                            flags.join(", "),
                            addrs.join("  ")
                        );
                        let r = ui
                            .selectable_label(view.interface == d.name, text)
                            .on_hover_text(
                                d.description.as_deref().map(live::safe).unwrap_or_default(),
                            );
                        if r.clicked() && !running {
                            chosen = Some(d.name.clone());
                        }
                    }
                });
            if let Some(c) = chosen {
                view.interface = c;
            }
        }
        Some(Err(e)) => {
            ui.label(live::safe(e));
        }
        None => {}
    }
    ui.horizontal(|ui| {
        let l = ui.label("Name");
        ui.add_enabled(
            !running,
            egui::TextEdit::singleline(&mut view.interface).desired_width(200.0),
        )
        .labelled_by(l.id);
    });
    ui.horizontal(|ui| {
        let l = ui.label("Filter").on_hover_text(FILTER_HELP);
        ui.add_enabled(
            !running,
            egui::TextEdit::singleline(&mut view.filter).desired_width(440.0),
        )
        .on_hover_text(FILTER_HELP)
        .labelled_by(l.id);
    });
    ui.horizontal(|ui| {
        let l = ui.label("Evidence file").on_hover_text(
            "every packet is written here (pcapng) before it is analysed; the file must not exist yet",
        );
        ui.add_enabled(
            !running,
            egui::TextEdit::singleline(&mut view.path).desired_width(400.0),
        )
        .labelled_by(l.id);
    });
    ui.horizontal(|ui| {
        if running {
            if ui.button("Stop").clicked() {
                cx.act(Action::StopCapture);
            }
        } else if ui.button("Start").clicked() {
            cx.act(Action::StartCapture);
        }
    });
    let c = view.counters.lock().map(|c| *c).unwrap_or_default();
    if running || c.stats.packets > 0 {
        ui.label(format!(
            "{:.0} s   packets {}   bytes {}   dropped {}   calls {}   streams {}   findings {}",
            c.stats.elapsed_ms as f64 / 1000.0,
            c.stats.packets,
            c.stats.bytes,
            c.stats.dropped + c.stats.if_dropped,
            c.calls,
            c.streams,
            c.findings
        ));
    }
    if let Some(m) = view.message() {
        ui.separator();
        ui.colored_label(ui.visuals().error_fg_color, live::safe_multiline(&m));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    use super::super::AppState;

    fn harness() -> Harness<'static, AppState> {
        let st = AppState::new(Default::default(), Arc::new(|| {}));
        Harness::builder()
            .with_size(egui::vec2(1400.0, 900.0))
            .build_ui_state(|ui, st: &mut AppState| st.ui(ui), st)
    }

    #[test]
    fn gui_capture_window_default_filter_and_messages() {
        let mut h = harness();
        h.get_by_label("File").click();
        h.run();
        h.get_by_label("Capture…").click();
        h.run();
        assert!(h.state().views.capture.open);
        h.get_by_label("Capture");
        // The default filter, as documented.
        assert_eq!(
            h.state().views.capture.filter,
            "udp or tcp port 5060 or tcp port 5061 or (udp portrange 10000-65535)"
        );
        assert!(
            h.query_all_by_value(
                "udp or tcp port 5060 or tcp port 5061 or (udp portrange 10000-65535)"
            )
            .next()
            .is_some()
        );

        // No such interface: libpcap's refusal (or, unprivileged, the permission message) shows in the window.
        let dir = std::env::temp_dir().join(format!("earshot-gui-cap-{}", std::process::id()));
        h.state_mut().views.capture.interface = "earshot-none0".into();
        h.state_mut().views.capture.path = dir.join("ev.pcapng").display().to_string();
        h.run();
        h.get_by_label("Start").click();
        let start = Instant::now();
        while h.state().views.capture.message().is_none() || h.state().views.capture.is_running() {
            assert!(start.elapsed() < Duration::from_secs(20), "no message");
            h.step();
            std::thread::sleep(Duration::from_millis(20));
        }
        h.run();
        let m = h.state().views.capture.message().unwrap_or_default();
        assert!(
            m.contains("earshot-none0")
                && (m.contains("No such device") || m.contains("CAP_NET_RAW")),
            "{m}"
        );
        assert!(
            !dir.join("ev.pcapng").exists(),
            "no evidence file for a failed start"
        );

        // Without the privilege: what is missing and how to grant it, in the window.
        h.state_mut().views.capture.check =
            || Err("this process lacks CAP_NET_RAW and CAP_NET_ADMIN".into());
        h.state_mut().views.capture.interface = "lo".into();
        h.run();
        h.get_by_label("Start").click();
        h.run();
        let m = h.state().views.capture.message().unwrap_or_default();
        assert!(
            m.contains("CAP_NET_RAW") && m.contains("CAP_NET_ADMIN"),
            "{m}"
        );
        assert!(
            m.contains("sudo setcap cap_net_raw,cap_net_admin=eip $(command -v earshot)"),
            "{m}"
        );
        h.get_by_label_contains("sudo setcap cap_net_raw,cap_net_admin=eip");
        assert!(!h.state().views.capture.is_running());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
