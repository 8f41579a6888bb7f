//! Findings grouped by severity, and what an eavesdropper learns.

use std::collections::HashMap;

use earshot_core::model::{Analysis, Exposure, Finding, Severity};
use egui::{Color32, Stroke};

use super::{Action, Cx};

use super::safe;

/// Evidence links shown per finding.
const MAX_LINKS: usize = 50;
/// Parties drawn in the call graph.
const MAX_NODES: usize = 30;

fn severity_color(s: Severity) -> Color32 {
    match s {
        Severity::Critical => Color32::from_rgb(220, 40, 40),
        Severity::High => Color32::from_rgb(230, 110, 40),
        Severity::Medium => Color32::from_rgb(220, 180, 40),
        Severity::Low => Color32::from_rgb(90, 160, 220),
        Severity::Info => Color32::GRAY,
    }
}

fn matches(f: &Finding, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let hay = |s: &str| s.to_lowercase().contains(needle);
    hay(&f.title)
        || hay(&f.rule_id)
        || hay(&f.details)
        || hay(f.severity.as_str())
        || f.users.iter().any(|u| hay(u))
        || f.call_ids.iter().any(|c| hay(c))
        || f.sources.iter().any(|s| hay(&s.to_string()))
}

fn list(items: impl IntoIterator<Item = String>, max: usize) -> String {
    let v: Vec<String> = items.into_iter().collect();
    let mut s = v
        .iter()
        .take(max)
        .map(|x| safe(x, 80))
        .collect::<Vec<_>>()
        .join(", ");
    if v.len() > max {
        s.push_str(&format!(" … and {} more", v.len() - max));
    }
    s
}

pub fn findings_ui(ui: &mut egui::Ui, cx: &mut Cx) {
    let Some(a) = cx.analysis().cloned() else {
        return;
    };
    let session = cx.session;
    let filter_id = ui.scope_id().with("findings_filter");
    let mut filter: String = ui.data_mut(|d| d.get_temp(filter_id).unwrap_or_default());
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .id_salt("findings_scroll")
        .show(ui, |ui| {
            egui::CollapsingHeader::new("What an eavesdropper learns")
                .default_open(true)
                .show(ui, |ui| exposure_ui(ui, &a));
            ui.separator();
            ui.horizontal(|ui| {
                ui.label("Filter:");
                ui.add(
                    egui::TextEdit::singleline(&mut filter)
                        .hint_text("title, rule, user, address…"),
                );
                if !filter.is_empty() && ui.button("Clear").clicked() {
                    filter.clear();
                }
            });
            let needle = filter.to_lowercase();
            let mut shown = 0;
            for sev in [
                Severity::Critical,
                Severity::High,
                Severity::Medium,
                Severity::Low,
                Severity::Info,
            ] {
                let group: Vec<&Finding> = session
                    .findings()
                    .iter()
                    .filter(|f| f.severity == sev && matches(f, &needle))
                    .collect();
                if group.is_empty() {
                    continue;
                }
                shown += group.len();
                let title = egui::RichText::new(format!("{} ({})", sev.as_str(), group.len()))
                    .color(severity_color(sev))
                    .strong();
                egui::CollapsingHeader::new(title)
                    .id_salt(("severity", sev.as_str()))
                    .default_open(true)
                    .show(ui, |ui| {
                        for f in group {
                            if let Some(fr) = finding_ui(ui, f) {
                                clicked = Some(fr);
                            }
                        }
                    });
            }
            if shown == 0 {
                ui.label(if session.findings().is_empty() {
                    "No findings."
                } else {
                    "No finding matches the filter."
                });
            }
        });
    ui.data_mut(|d| d.insert_temp(filter_id, filter));
    match clicked {
        Some(Click::Frame(fr)) => cx.act(Action::SelectFrame(fr)),
        Some(Click::Stream(i)) => {
            if let Some(s) = a.streams.get(i) {
                let call = s
                    .call_id
                    .as_ref()
                    .and_then(|id| a.calls.iter().position(|c| &c.call_id == id));
                cx.act(Action::SelectCall(call));
                cx.act(Action::SelectStream(Some(i)));
                cx.act(Action::SetView(super::View::Streams));
            }
        }
        None => {}
    }
}

/// A link followed in a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Click {
    Frame(u64),
    Stream(usize),
}

/// One finding; returns the evidence link clicked, if any.
fn finding_ui(ui: &mut egui::Ui, f: &Finding) -> Option<Click> {
    let mut clicked = None;
    ui.group(|ui| {
        ui.set_width(ui.available_width());
        ui.label(
            egui::RichText::new(safe(&f.title, 200))
                .strong()
                .color(severity_color(f.severity)),
        );
        ui.label(format!(
            "rule {} · {} severity · {} confidence",
            safe(&f.rule_id, 60),
            f.severity.as_str(),
            format!("{:?}", f.confidence).to_lowercase()
        ));
        let field = |ui: &mut egui::Ui, name: &str, text: &str| {
            if !text.is_empty() {
                ui.horizontal_wrapped(|ui| {
                    ui.strong(format!("{name}:"));
                    ui.label(safe(text, 2000));
                });
            }
        };
        field(ui, "Details", &f.details);
        field(ui, "Risk", &f.risk);
        field(ui, "Remediation", &f.remediation);
        field(ui, "Practice", &f.practice);
        if !f.sources.is_empty() {
            field(
                ui,
                "Sources",
                &list(f.sources.iter().map(|s| s.to_string()), 20),
            );
        }
        if !f.users.is_empty() {
            field(ui, "Users", &list(f.users.iter().cloned(), 20));
        }
        if !f.call_ids.is_empty() {
            field(ui, "Calls", &list(f.call_ids.iter().cloned(), 10));
        }
        if !f.streams.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.strong("Streams:");
                for &i in f.streams.iter().take(MAX_LINKS) {
                    if ui.link(format!("stream #{i}")).clicked() {
                        clicked = Some(Click::Stream(i));
                    }
                }
                if f.streams.len() > MAX_LINKS {
                    ui.label(format!("… {} streams in all", f.streams.len()));
                }
            });
        }
        if !f.evidence_frames.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.strong("Evidence:");
                for &fr in f.evidence_frames.iter().take(MAX_LINKS) {
                    if ui
                        .link(format!("frame {}", earshot_core::model::frame_label(fr)))
                        .clicked()
                    {
                        clicked = Some(Click::Frame(fr));
                    }
                }
                let total = f.evidence_frames_total.max(f.evidence_frames.len() as u64);
                if total > MAX_LINKS as u64 {
                    ui.label(format!("… {} frames in all", total));
                }
            });
        }
    });
    clicked
}

fn exposure_ui(ui: &mut egui::Ui, a: &Analysis) {
    let e: &Exposure = &a.exposure;
    egui::Grid::new("exposure_counts")
        .num_columns(2)
        .show(ui, |ui| {
            let mut row = |k: &str, v: String| {
                ui.label(k);
                ui.label(v);
                ui.end_row();
            };
            row(
                "Plaintext SIP messages",
                e.plaintext_sip_messages.to_string(),
            );
            row("TLS connections", e.tls_connections.to_string());
            row(
                "Reconstructable streams",
                e.reconstructable_streams.to_string(),
            );
            row(
                "Reconstructable audio",
                format!("{:.1} s", e.reconstructable_audio_secs),
            );
            row("SRTP keys exposed", e.srtp_keys_exposed.to_string());
            row("Crackable accounts", e.credentials.len().to_string());
            row("Devices", e.devices.len().to_string());
        });
    if !e.call_graph.is_empty() {
        ui.strong("Who called whom");
        graph_ui(ui, e);
        for edge in e.call_graph.iter().take(200) {
            ui.label(format!(
                "{} -> {}: {} calls, {} answered, {:.0} s talk",
                safe(&edge.from, 80),
                safe(&edge.to, 80),
                edge.calls,
                edge.answered,
                edge.talk_secs
            ));
        }
        if e.call_graph.len() > 200 {
            ui.label(format!("… and {} more pairs", e.call_graph.len() - 200));
        }
    }
    if !e.devices.is_empty() {
        ui.strong("Devices");
        for d in e.devices.iter().take(200) {
            ui.label(format!(
                "{} ({}; {} messages)",
                safe(&d.product, 120),
                list(d.addresses.iter().map(|a| a.to_string()), 5),
                d.messages
            ));
        }
    }
    if !e.credentials.is_empty() {
        ui.strong("Credentials (digest responses captured)");
        for c in e.credentials.iter().take(200) {
            ui.label(format!(
                "user {} realm {} from {}",
                safe(&c.username, 80),
                safe(&c.realm, 80),
                c.source
            ));
        }
    }
    if !e.dtmf.is_empty() {
        ui.strong("DTMF seen");
        for d in e.dtmf.iter().take(200) {
            ui.label(format!(
                "{} to {}: {}",
                safe(&d.call_id, 60),
                safe(&d.to, 80),
                safe(&d.digits, 100)
            ));
        }
    }
}

/// Parties on a circle, edges with call counts (at most `MAX_NODES` parties, heaviest edges first).
fn graph_ui(ui: &mut egui::Ui, e: &Exposure) {
    let mut nodes: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut edges = Vec::new();
    for edge in &e.call_graph {
        let f = node_index(&mut nodes, &mut index, edge.from.as_str());
        let t = node_index(&mut nodes, &mut index, edge.to.as_str());
        if let (Some(f), Some(t)) = (f, t) {
            edges.push((f, t, edge.calls));
        }
    }
    let size = egui::vec2(ui.available_width().min(700.0), 320.0);
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);
    let center = rect.center();
    let radius = (rect.height().min(rect.width()) / 2.0 - 40.0).max(20.0);
    let n = nodes.len().max(1);
    let pos: Vec<egui::Pos2> = (0..nodes.len())
        .map(|i| {
            let ang = i as f32 / n as f32 * std::f32::consts::TAU - std::f32::consts::FRAC_PI_2;
            center + radius * egui::vec2(ang.cos(), ang.sin())
        })
        .collect();
    let text_color = ui.visuals().text_color();
    let edge_color = ui.visuals().weak_text_color();
    let font = egui::FontId::proportional(11.0);
    for &(f, t, calls) in &edges {
        let (Some(&p), Some(&q)) = (pos.get(f), pos.get(t)) else {
            continue;
        };
        let w = 1.0 + (calls as f32).ln_1p().min(4.0);
        if f == t {
            painter.circle_stroke(p + egui::vec2(0.0, -12.0), 10.0, Stroke::new(w, edge_color));
            continue;
        }
        // Shifted to its right so that A->B and B->A stay apart.
        let dir = (q - p).normalized();
        let shift = egui::vec2(-dir.y, dir.x) * 3.0;
        let (p, q) = (p + shift, q + shift);
        painter.line_segment([p, q], Stroke::new(w, edge_color));
        // Arrow head near the callee.
        let tip = q - dir * 8.0;
        let side = egui::vec2(-dir.y, dir.x) * 4.0;
        painter.line_segment([tip, tip - dir * 8.0 + side], Stroke::new(w, edge_color));
        painter.line_segment([tip, tip - dir * 8.0 - side], Stroke::new(w, edge_color));
        let label = painter.layout_no_wrap(calls.to_string(), font.clone(), text_color);
        let at =
            egui::Rect::from_center_size(p + (q - p) * 0.5, label.size() + egui::vec2(4.0, 2.0));
        painter.rect_filled(at, 2.0, ui.visuals().window_fill);
        painter.galley(at.min + egui::vec2(2.0, 1.0), label, text_color);
    }
    for (name, &p) in nodes.iter().zip(&pos) {
        painter.circle_filled(p, 6.0, Color32::from_rgb(90, 160, 220));
        let anchor = if p.x < center.x - 1.0 {
            egui::Align2::RIGHT_CENTER
        } else {
            egui::Align2::LEFT_CENTER
        };
        let off = if p.x < center.x - 1.0 { -9.0 } else { 9.0 };
        painter.text(
            p + egui::vec2(off, 0.0),
            anchor,
            safe(name, 28),
            font.clone(),
            text_color,
        );
    }
    let total: usize = e
        .call_graph
        .iter()
        .flat_map(|x| [x.from.as_str(), x.to.as_str()])
        .collect::<std::collections::HashSet<_>>()
        .len();
    if total > nodes.len() {
        ui.label(format!(
            "Drawn: {} of {total} parties (the heaviest pairs); all pairs are listed below.",
            nodes.len()
        ));
    }
}

fn node_index<'a>(
    nodes: &mut Vec<&'a str>,
    index: &mut HashMap<&'a str, usize>,
    name: &'a str,
) -> Option<usize> {
    if let Some(&i) = index.get(name) {
        return Some(i);
    }
    if nodes.len() >= MAX_NODES {
        return None;
    }
    nodes.push(name);
    index.insert(name, nodes.len() - 1);
    Some(nodes.len() - 1)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    use super::super::{AppState, View};

    pub(crate) const CLEAN_CALL: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sample-captures/clean-call/clean-call.pcap"
    );

    /// A harness with `path` opened and fully analysed.
    pub(crate) fn loaded(path: &str) -> Harness<'static, AppState> {
        let mut st = AppState::new(Default::default(), Arc::new(|| {}));
        st.open(std::path::Path::new(path));
        let mut harness = Harness::builder()
            .with_size([1400.0, 2400.0])
            .build_ui_state(|ui, st: &mut AppState| st.ui(ui), st);
        super::super::calls_ui::tests::wait_loaded(&mut harness);
        assert!(
            harness.state().session.analysis.is_some(),
            "capture did not load"
        );
        harness
    }

    #[test]
    fn gui_findings_show_titles_and_evidence_links_select_the_message() {
        let mut harness = loaded(CLEAN_CALL);
        harness.state_mut().views.current = View::Findings;
        harness.run_steps(3);
        harness.get_by_label("SIP signalling is not encrypted");
        harness.get_by_label("Call audio is not encrypted");
        harness.get_by_label("What an eavesdropper learns");

        // Narrow the list to the plaintext-sip finding, then follow its first evidence link.
        let a = harness.state().session.analysis.clone().unwrap();
        let f = a
            .findings
            .iter()
            .find(|f| f.rule_id == "plaintext-sip")
            .expect("plaintext-sip finding");
        let first = f.evidence_frames[0];
        harness
            .get_by_role(egui::accesskit::Role::TextInput)
            .focus();
        harness.run_steps(2);
        harness
            .get_by_role(egui::accesskit::Role::TextInput)
            .type_text("plaintext-sip");
        harness.run_steps(3);
        assert!(
            harness
                .query_by_label("Call audio is not encrypted")
                .is_none()
        );
        harness.get_by_label(&format!("frame {first}")).click();
        harness.run_steps(3);
        let st = harness.state();
        assert_eq!(st.views.current, View::Ladder);
        let m = &a.messages[st.session.sel.message.expect("a message is selected")];
        assert!(m.frame == first || m.frames.contains(&first));
        assert_eq!(first, 1);
        assert_eq!(st.session.sel.message, Some(0));
    }

    #[test]
    fn gui_findings_stream_link_opens_the_stream() {
        let mut harness = loaded(CLEAN_CALL);
        harness.state_mut().views.current = View::Findings;
        harness.run_steps(3);
        let a = harness.state().session.analysis.clone().unwrap();
        let f = a
            .findings
            .iter()
            .find(|f| f.rule_id == "unencrypted-media")
            .expect("unencrypted-media finding");
        let i = f.streams[0];
        harness.get_by_label(&format!("stream #{i}")).click();
        harness.run_steps(3);
        let st = harness.state();
        assert_eq!(st.views.current, View::Streams);
        assert_eq!(st.session.sel.stream, Some(i));
        assert!(st.session.sel.call.is_some());
    }

    #[test]
    fn gui_call_graph_draws_at_most_30_parties() {
        let names: Vec<String> = (0..100).map(|i| format!("party{i}")).collect();
        let mut nodes = Vec::new();
        let mut index = std::collections::HashMap::new();
        let got: Vec<Option<usize>> = names
            .iter()
            .map(|n| super::node_index(&mut nodes, &mut index, n))
            .collect();
        assert_eq!(nodes.len(), super::MAX_NODES);
        assert_eq!(got[0], Some(0));
        assert_eq!(got[29], Some(29));
        assert_eq!(got[30], None);
        assert_eq!(
            super::node_index(&mut nodes, &mut index, &names[5]),
            Some(5)
        );
    }

    #[test]
    fn gui_findings_filter_with_no_match_says_so() {
        let mut harness = loaded(CLEAN_CALL);
        harness.state_mut().views.current = View::Findings;
        harness.run_steps(2);
        harness
            .get_by_role(egui::accesskit::Role::TextInput)
            .focus();
        harness.run_steps(1);
        harness
            .get_by_role(egui::accesskit::Role::TextInput)
            .type_text("zzz-no-such-finding");
        harness.run_steps(3);
        harness.get_by_label("No finding matches the filter.");
        assert!(
            harness
                .query_by_label("SIP signalling is not encrypted")
                .is_none()
        );
    }
}
