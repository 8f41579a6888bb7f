//! Non-call traffic (registrations, OPTIONS, scans) grouped by the source of each Call-ID's first message.
//! The grouping is computed once per analysis; each source's Call-IDs are a virtualised table.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use earshot_core::model::Analysis;
use earshot_core::report::terminal_safe;
use egui_extras::{Column, TableBuilder};

use super::calls_ui::CallsView;
use super::calls_ui::party;
use super::{Action, Cx};

/// One source address and what it sent.
#[derive(Debug)]
pub(super) struct Group {
    /// Source IP of the first message (None when a Call-ID has no message).
    pub ip: Option<IpAddr>,
    /// Indices into `Analysis::calls`, in time order.
    pub calls: Vec<usize>,
    /// Count of Call-IDs by kind, upper-case (REGISTER, OPTIONS, ...).
    pub kinds: BTreeMap<String, usize>,
    /// Responses seen in these Call-IDs, by status code.
    pub responses: BTreeMap<u16, usize>,
    pub user_agents: BTreeSet<String>,
}

#[derive(Debug)]
pub struct TrafficCache {
    analysis: Arc<Analysis>,
    pub(super) groups: Vec<Group>,
}

pub(super) fn group(a: &Analysis) -> Vec<Group> {
    let mut by_ip: HashMap<Option<IpAddr>, Group> = HashMap::new();
    for (i, c) in a
        .calls
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.kind.is_call())
    {
        let ip = c
            .messages
            .first()
            .and_then(|&m| a.messages.get(m))
            .map(|m| m.src.ip());
        let g = by_ip.entry(ip).or_insert_with(|| Group {
            ip,
            calls: Vec::new(),
            kinds: BTreeMap::new(),
            responses: BTreeMap::new(),
            user_agents: BTreeSet::new(),
        });
        g.calls.push(i);
        *g.kinds.entry(c.kind.as_str().to_uppercase()).or_default() += 1;
        for m in c.messages.iter().filter_map(|&m| a.messages.get(m)) {
            if let Some(s) = m.message.status() {
                *g.responses.entry(s).or_default() += 1;
            }
        }
        // Bounded: a scanner rotating user agents must not make the header unreadable.
        for ua in &c.user_agents {
            if g.user_agents.len() < 20 {
                g.user_agents.insert(terminal_safe(ua, 60));
            }
        }
    }
    let mut groups: Vec<Group> = by_ip.into_values().collect();
    for g in &mut groups {
        g.calls
            .sort_by_key(|&i| (a.calls.get(i).map(|c| c.start_ts_nanos), i));
    }
    groups.sort_by(|x, y| y.calls.len().cmp(&x.calls.len()).then(x.ip.cmp(&y.ip)));
    groups
}

fn header(g: &Group) -> String {
    let ip = g.ip.map_or("(no source)".to_string(), |ip| ip.to_string());
    let kinds: Vec<String> = g.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    format!(
        "{ip} - {} Call-IDs: {}",
        g.calls.len(),
        terminal_safe(&kinds.join(", "), 200)
    )
}

/// Non-call SIP (registrations, options, scans) grouped by method; shares the calls view's state.
pub fn traffic_ui(ui: &mut egui::Ui, cx: &mut Cx, view: &mut CallsView) {
    let Some(a) = cx.analysis().cloned() else {
        return;
    };
    if view
        .traffic
        .as_ref()
        .is_none_or(|t| !Arc::ptr_eq(&t.analysis, &a))
    {
        view.traffic = Some(TrafficCache {
            analysis: a.clone(),
            groups: group(&a),
        });
    }
    let Some(cache) = view.traffic.as_ref() else {
        return;
    };
    let total: usize = cache.groups.iter().map(|g| g.calls.len()).sum();
    ui.label(format!(
        "{total} non-call Call-IDs from {} sources",
        cache.groups.len()
    ));
    let few = cache.groups.len() <= 10;
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    let mut clicked = None;

    egui::ScrollArea::vertical()
        .id_salt("traffic_scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (gi, g) in cache.groups.iter().enumerate() {
                egui::CollapsingHeader::new(header(g))
                    .id_salt(("traffic_group", g.ip))
                    .default_open(few)
                    .show(ui, |ui| {
                        let responses: Vec<String> = g
                            .responses
                            .iter()
                            .map(|(s, n)| format!("{s}x{n}"))
                            .collect();
                        ui.label(format!(
                            "Responses seen: {}",
                            if responses.is_empty() {
                                "none".to_string()
                            } else {
                                responses.join(", ")
                            }
                        ));
                        let uas: Vec<&str> = g.user_agents.iter().map(String::as_str).collect();
                        ui.label(format!(
                            "User agents: {}",
                            if uas.is_empty() {
                                "none".to_string()
                            } else {
                                uas.join(", ")
                            }
                        ));
                        TableBuilder::new(ui)
                            .id_salt(("traffic_table", gi))
                            .striped(true)
                            .resizable(true)
                            .vscroll(true)
                            .max_scroll_height(300.0)
                            .sense(egui::Sense::click())
                            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                            .column(Column::auto().at_least(150.0))
                            .column(Column::auto())
                            .column(Column::initial(200.0).clip(true))
                            .column(Column::initial(160.0).clip(true))
                            .column(Column::initial(160.0).clip(true))
                            .column(Column::auto())
                            .column(Column::remainder().at_least(60.0))
                            .header(20.0, |mut h| {
                                for t in
                                    ["Time", "Kind", "Call-ID", "From", "To", "Final", "Messages"]
                                {
                                    h.col(|ui| {
                                        ui.strong(t);
                                    });
                                }
                            })
                            .body(|body| {
                                body.rows(row_height, g.calls.len(), |mut row| {
                                    let Some((i, c)) = g
                                        .calls
                                        .get(row.index())
                                        .and_then(|&i| Some((i, a.calls.get(i)?)))
                                    else {
                                        return;
                                    };
                                    row.set_selected(cx.session.sel.call == Some(i));
                                    let cell = |ui: &mut egui::Ui, s: String| {
                                        ui.add(egui::Label::new(s).selectable(false).truncate());
                                    };
                                    row.col(|ui| cell(ui, cx.time(c.start_ts_nanos)));
                                    row.col(|ui| {
                                        cell(ui, terminal_safe(&c.kind.as_str().to_uppercase(), 20))
                                    });
                                    row.col(|ui| cell(ui, terminal_safe(&c.call_id, 120)));
                                    row.col(|ui| cell(ui, party(c.from.as_ref())));
                                    row.col(|ui| cell(ui, party(c.to.as_ref())));
                                    row.col(|ui| {
                                        cell(
                                            ui,
                                            c.final_status.map_or(String::new(), |s| s.to_string()),
                                        )
                                    });
                                    row.col(|ui| cell(ui, c.messages.len().to_string()));
                                    if row.response().clicked() {
                                        clicked = Some(i);
                                    }
                                });
                            });
                    });
            }
        });

    if let Some(i) = clicked {
        cx.act(Action::SelectCall(Some(i)));
        cx.act(Action::SelectMessage(
            a.calls.get(i).and_then(|c| c.messages.first().copied()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use egui_kittest::kittest::Queryable;

    use super::super::View;
    use super::super::calls_ui::tests::{dtmf2, loaded};

    #[test]
    fn gui_traffic_dtmf2_lists_registers_by_source() {
        let mut harness = loaded(&dtmf2());
        harness.state_mut().views.current = View::Traffic;
        harness.run();
        let a = harness.state().session.analysis.clone().unwrap();
        let registers: Vec<usize> = (0..a.calls.len())
            .filter(|&i| a.calls[i].kind.is_method("register"))
            .collect();
        assert_eq!(registers.len(), 3);
        let groups = &harness.state().views.calls.traffic.as_ref().unwrap().groups;
        for &i in &registers {
            let c = &a.calls[i];
            let src = a.messages[c.messages[0]].src.ip();
            let g = groups.iter().find(|g| g.calls.contains(&i)).unwrap();
            assert_eq!(g.ip, Some(src));
        }
        let src = a.messages[a.calls[registers[0]].messages[0]].src.ip();
        harness.get_by_label_contains(&format!("{src} - "));
        for &i in &registers {
            harness.get_by_label(&a.calls[i].call_id);
        }
        // Clicking a Call-ID selects it and its first message (the packet view opens).
        let i = registers[0];
        harness.get_by_label(&a.calls[i].call_id).click();
        harness.run();
        assert_eq!(harness.state().session.sel.call, Some(i));
        assert_eq!(
            harness.state().session.sel.message,
            a.calls[i].messages.first().copied()
        );
    }
}
