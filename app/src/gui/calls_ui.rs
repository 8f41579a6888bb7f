//! Calls table: every INVITE dialog, filterable and sortable, virtualised so very large captures scroll smoothly.
//! The filtered and sorted row list is computed only when the analysis, the filter or the sort changes.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use earshot_core::model::{Analysis, Call, CallState, Encryption, Finding, NameAddr, Transport};
use earshot_core::report::terminal_safe;
use egui_extras::{Column, TableBuilder};

use super::{Action, Cx, Reevaluated, Session, View};

/// Column the calls table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Time,
    From,
    To,
    Duration,
    Mos,
    Findings,
}

/// Quick-filter toggles; every enabled one must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuickFilter {
    pub answered: bool,
    pub failed: bool,
    pub with_findings: bool,
    pub encrypted: bool,
    pub unencrypted: bool,
}

/// What the table shows for one call, derived once per analysis.
#[derive(Debug, Clone)]
pub(super) struct CallRow {
    /// Index into `Analysis::calls`.
    pub call: usize,
    pub findings: usize,
    /// Findings on the other legs of the call (B2BUA legs linked to it): a call is judged with all its legs.
    pub leg_findings: usize,
    /// Lowest MOS over the call's streams.
    pub mos: Option<f64>,
    /// Signalling carried over TLS (or secure WebSocket) only.
    pub sip_tls: bool,
    /// Media protection: `None` without streams, `Some(true)` when every stream is encrypted.
    pub media_encrypted: Option<bool>,
    /// In a case: the capture points and files that saw the call (`sbc 3,4; pbx 7`); empty otherwise.
    pub seen_at: String,
    /// Lower-case text the search box matches (Call-ID, from, to, user agents, capture points).
    pub haystack: String,
}

impl CallRow {
    fn failed(&self, c: &Call) -> bool {
        matches!(c.state, Some(CallState::Rejected | CallState::Cancelled))
            || (!c.answered && c.final_status.is_some_and(|s| s >= 300))
    }

    fn encrypted(&self) -> bool {
        self.sip_tls && self.media_encrypted != Some(false)
    }

    fn sip_badge(&self) -> &'static str {
        if self.sip_tls { "TLS" } else { "plain" }
    }

    fn media_badge(&self) -> &'static str {
        match self.media_encrypted {
            None => "-",
            Some(true) => "SRTP",
            Some(false) => "clear",
        }
    }
}

/// The per-analysis derived rows and the current filtered + sorted list.
#[derive(Debug)]
struct Cache {
    analysis: Arc<Analysis>,
    /// The session's re-evaluated findings the rows count (`None`: the analysis's own).
    reevaluated: Option<Arc<Reevaluated>>,
    rows: Vec<CallRow>,
    filter: String,
    expr: String,
    quick: QuickFilter,
    sort: SortKey,
    descending: bool,
    /// Indices into `rows`, filtered and sorted.
    visible: Vec<usize>,
}

#[derive(Debug, Default)]
pub struct CallsView {
    pub filter: String,
    /// A filter expression over call fields (`earshot_core::filter`, as `earshot analyze --filter`).
    pub expr: String,
    /// Why `expr` does not parse (the table is then not filtered by it).
    pub expr_error: Option<String>,
    pub quick: QuickFilter,
    pub sort: SortKey,
    pub descending: bool,
    cache: Option<Cache>,
    /// Ctrl+F: give the search box the keyboard on the next frame.
    pub focus_search: bool,
    /// Row (position in the shown list) to scroll into view on the next frame (keyboard moves).
    scroll_to: Option<usize>,
    /// The traffic view's grouping (owned here so `AppState` needs no new field).
    pub(super) traffic: Option<super::traffic_ui::TrafficCache>,
}

/// `"Display" <user>` as one line, sanitised.
pub(super) fn party(n: Option<&NameAddr>) -> String {
    let Some(n) = n else {
        return String::new();
    };
    let who = n.user.as_deref().unwrap_or(n.uri.as_str());
    let s = match n.display_name.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => format!("\"{d}\" <{who}>"),
        None => who.to_string(),
    };
    terminal_safe(&s, 80)
}

fn search_text(n: Option<&NameAddr>) -> String {
    n.map_or(String::new(), |n| {
        format!(
            "{} {} {}",
            n.display_name.as_deref().unwrap_or(""),
            n.user.as_deref().unwrap_or(""),
            n.uri
        )
    })
}

fn derive_rows(a: &Analysis, all_findings: &[Finding]) -> Vec<CallRow> {
    let mut findings: HashMap<&str, usize> = HashMap::new();
    for f in all_findings {
        for id in &f.call_ids {
            *findings.entry(id.as_str()).or_default() += 1;
        }
    }
    a.calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind.is_call())
        .map(|(i, c)| {
            let streams: Vec<_> = c.streams.iter().filter_map(|&s| a.streams.get(s)).collect();
            let mos = streams
                .iter()
                .filter_map(|s| s.mos)
                .min_by(|x, y| x.total_cmp(y));
            // A call's streams are signalled, so their encryption is known; an unknown one is not "encrypted".
            let media_encrypted = (!streams.is_empty()).then(|| {
                streams
                    .iter()
                    .all(|s| !matches!(s.encryption, Encryption::None | Encryption::Unknown))
            });
            let sip_tls = !c.transports.is_empty()
                && c.transports
                    .iter()
                    .all(|t| matches!(t, Transport::Tls | Transport::Wss));
            let haystack = format!(
                "{}\n{}\n{}\n{}",
                c.call_id,
                search_text(c.from.as_ref()),
                search_text(c.to.as_ref()),
                c.user_agents.join("\n")
            )
            .to_lowercase();
            let seen_at = a
                .case
                .as_ref()
                .map(|k| k.seen_at(&k.call_files(c, &a.streams)))
                .unwrap_or_default();
            let haystack = if seen_at.is_empty() {
                haystack
            } else {
                format!("{haystack}\n{}", seen_at.to_lowercase())
            };
            CallRow {
                call: i,
                findings: findings.get(c.call_id.as_str()).copied().unwrap_or(0),
                leg_findings: earshot_core::calls::legs::legs_of(&a.legs, &c.call_id)
                    .iter()
                    .skip(1)
                    .map(|id| findings.get(id.as_str()).copied().unwrap_or(0))
                    .sum(),
                mos,
                sip_tls,
                media_encrypted,
                seen_at,
                haystack,
            }
        })
        .collect()
}

fn cmp_opt(x: Option<f64>, y: Option<f64>) -> Ordering {
    match (x, y) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
    }
}

fn visible_rows(
    a: &Analysis,
    rows: &[CallRow],
    filter: &str,
    keep: Option<&std::collections::HashSet<usize>>,
    q: QuickFilter,
    sort: SortKey,
    descending: bool,
) -> Vec<usize> {
    let needle = filter.trim().to_lowercase();
    // Rows whose call is missing (never, but a bad index must not abort the app) are left out.
    let mut v: Vec<(usize, &CallRow, &earshot_core::model::Call)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r, a.calls.get(r.call)?)))
        .filter(|(_, r, c)| {
            (needle.is_empty() || r.haystack.contains(&needle))
                && keep.is_none_or(|k| k.contains(&r.call))
                && (!q.answered || c.answered)
                && (!q.failed || r.failed(c))
                && (!q.with_findings || r.findings + r.leg_findings > 0)
                && (!q.encrypted || r.encrypted())
                && (!q.unencrypted || !r.encrypted())
        })
        .collect();
    let text = |n: Option<&earshot_core::model::NameAddr>| search_text(n).to_lowercase();
    match sort {
        SortKey::Time => v.sort_by_key(|&(i, _, c)| (c.start_ts_nanos, i)),
        SortKey::From => v.sort_by_cached_key(|&(i, _, c)| (text(c.from.as_ref()), i)),
        SortKey::To => v.sort_by_cached_key(|&(i, _, c)| (text(c.to.as_ref()), i)),
        SortKey::Duration => {
            v.sort_by(|x, y| cmp_opt(x.2.duration_secs, y.2.duration_secs).then(x.0.cmp(&y.0)))
        }
        SortKey::Mos => v.sort_by(|x, y| cmp_opt(x.1.mos, y.1.mos).then(x.0.cmp(&y.0))),
        SortKey::Findings => v.sort_by_key(|&(i, r, _)| (r.findings, i)),
    }
    let mut v: Vec<usize> = v.into_iter().map(|(i, _, _)| i).collect();
    if descending {
        v.reverse();
    }
    v
}

impl CallsView {
    /// Brings the cache up to date with the session's analysis and findings and the current filter and sort;
    /// cheap when nothing changed.
    fn refresh(&mut self, session: &Session) {
        let Some(a) = &session.analysis else {
            return;
        };
        let same = |x: &Option<Arc<Reevaluated>>, y: &Option<Arc<Reevaluated>>| match (x, y) {
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            (None, None) => true,
            _ => false,
        };
        let stale_analysis = self.cache.as_ref().is_none_or(|c| {
            !Arc::ptr_eq(&c.analysis, a) || !same(&c.reevaluated, &session.reevaluated)
        });
        if stale_analysis {
            self.cache = Some(Cache {
                analysis: a.clone(),
                reevaluated: session.reevaluated.clone(),
                rows: derive_rows(a, session.findings()),
                filter: String::new(),
                expr: String::new(),
                quick: QuickFilter::default(),
                sort: SortKey::Time,
                descending: false,
                visible: Vec::new(),
            });
        }
        let Some(c) = self.cache.as_mut() else {
            return;
        };
        if stale_analysis
            || c.filter != self.filter
            || c.expr != self.expr
            || c.quick != self.quick
            || c.sort != self.sort
            || c.descending != self.descending
        {
            let keep = if self.expr.trim().is_empty() {
                self.expr_error = None;
                None
            } else {
                match earshot_core::filter::Filter::parse(&self.expr) {
                    Ok(f) => {
                        self.expr_error = None;
                        Some(
                            f.select_with_findings(a, session.findings())
                                .into_iter()
                                .collect::<std::collections::HashSet<usize>>(),
                        )
                    }
                    Err(e) => {
                        self.expr_error = Some(e.to_string());
                        None
                    }
                }
            };
            c.visible = visible_rows(
                a,
                &c.rows,
                &self.filter,
                keep.as_ref(),
                self.quick,
                self.sort,
                self.descending,
            );
            c.filter.clone_from(&self.filter);
            c.expr.clone_from(&self.expr);
            c.quick = self.quick;
            c.sort = self.sort;
            c.descending = self.descending;
        }
    }

    /// Indices into `Analysis::calls` of the rows shown, in order (after `refresh`).
    pub fn shown(&self) -> Vec<usize> {
        self.cache.as_ref().map_or(Vec::new(), |c| {
            c.visible
                .iter()
                .filter_map(|&i| c.rows.get(i).map(|r| r.call))
                .collect()
        })
    }

    fn click_sort(&mut self, key: SortKey) {
        if self.sort == key {
            self.descending = !self.descending;
        } else {
            self.sort = key;
            self.descending = false;
        }
    }
}

/// Up/Down: the previous/next shown call becomes the selection (the first one when none is selected), and its
/// row is scrolled into view.
pub fn move_selection(session: &Session, view: &mut CallsView, step: isize) -> Option<Action> {
    session.analysis.as_ref()?;
    view.refresh(session);
    let shown = view.shown();
    if shown.is_empty() {
        return None;
    }
    let pos = match session
        .sel
        .call
        .and_then(|c| shown.iter().position(|&s| s == c))
    {
        Some(p) => p.saturating_add_signed(step).min(shown.len() - 1),
        None if step < 0 => shown.len() - 1,
        None => 0,
    };
    view.scroll_to = Some(pos);
    Some(Action::SelectCall(shown.get(pos).copied()))
}

fn cell(ui: &mut egui::Ui, text: impl Into<egui::WidgetText>) {
    ui.add(egui::Label::new(text).selectable(false).truncate());
}

fn secs(v: Option<f64>) -> String {
    v.map_or(String::new(), |s| format!("{s:.1} s"))
}

/// The filter fields and operators, for the filter box's tooltip.
fn filter_help() -> String {
    let mut s =
        String::from("FIELD OP VALUE joined by && || ! ( ); OP: == != ~ (regex) !~ < <= > >=\n");
    for (f, what) in earshot_core::filter::FIELDS {
        s.push_str(&format!("\n{f}: {what}"));
    }
    s
}

/// Search box, filter expression and quick filters.
fn filter_bar(ui: &mut egui::Ui, view: &mut CallsView) {
    ui.horizontal_wrapped(|ui| {
        ui.label("Search:");
        let search = ui.add(
            egui::TextEdit::singleline(&mut view.filter)
                .id_salt("calls_search")
                .hint_text("Call-ID, from, to, user agent (Ctrl+F)")
                .desired_width(240.0),
        );
        if std::mem::take(&mut view.focus_search) {
            search.request_focus();
        }
        if !view.filter.is_empty() && ui.small_button("Clear").clicked() {
            view.filter.clear();
        }
        ui.separator();
        ui.label("Filter:");
        ui.add(
            egui::TextEdit::singleline(&mut view.expr)
                .id_salt("calls_filter")
                .hint_text("from ~ \"^\\+882\" && mos < 3")
                .desired_width(260.0),
        )
        .on_hover_text(filter_help());
        if let Some(e) = &view.expr_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        ui.separator();
        let q = &mut view.quick;
        ui.toggle_value(&mut q.answered, "answered");
        ui.toggle_value(&mut q.failed, "failed");
        ui.toggle_value(&mut q.with_findings, "with findings");
        ui.toggle_value(&mut q.encrypted, "encrypted")
            .on_hover_text("SIP over TLS and every media stream SRTP");
        ui.toggle_value(&mut q.unencrypted, "unencrypted")
            .on_hover_text("plain SIP or a clear media stream");
    });
}

/// One call's cells, in the header's order.
fn row_cells(
    row: &mut egui_extras::TableRow<'_, '_>,
    cx: &Cx,
    c: &Call,
    r: &CallRow,
    is_case: bool,
    has_identity: bool,
    has_protocols: bool,
) {
    row.col(|ui| cell(ui, cx.time(c.start_ts_nanos)));
    row.col(|ui| cell(ui, terminal_safe(&c.call_id, 120)));
    if has_protocols {
        row.col(|ui| cell(ui, c.protocol.label()));
    }
    if is_case {
        row.col(|ui| cell(ui, terminal_safe(&r.seen_at, 120)));
    }
    row.col(|ui| cell(ui, party(c.from.as_ref())));
    row.col(|ui| cell(ui, party(c.to.as_ref())));
    if has_identity {
        row.col(|ui| identity_cell(ui, c.identity.as_ref()));
    }
    row.col(|ui| cell(ui, terminal_safe(&c.user_agents.join(", "), 120)));
    row.col(|ui| cell(ui, c.state.map_or("", |s| s.as_str())));
    row.col(|ui| cell(ui, secs(c.duration_secs)));
    row.col(|ui| cell(ui, secs(c.setup_time_secs)));
    row.col(|ui| cell(ui, terminal_safe(&c.codecs.join(", "), 80)));
    row.col(|ui| {
        let t: Vec<&str> = c.transports.iter().map(|t| t.as_str()).collect();
        cell(ui, t.join(", "));
    });
    row.col(|ui| {
        let sip = egui::RichText::new(r.sip_badge());
        cell(
            ui,
            if r.sip_tls {
                sip
            } else {
                sip.color(ui.visuals().warn_fg_color)
            },
        );
        let media = egui::RichText::new(r.media_badge());
        cell(
            ui,
            if r.media_encrypted == Some(false) {
                media.color(ui.visuals().warn_fg_color)
            } else {
                media
            },
        );
    });
    row.col(|ui| cell(ui, r.mos.map_or(String::new(), |m| format!("{m:.2}"))));
    row.col(|ui| {
        let legs = if r.leg_findings > 0 {
            format!(" (+{} on its other legs)", r.leg_findings)
        } else {
            String::new()
        };
        if r.findings + r.leg_findings > 0 {
            cell(
                ui,
                egui::RichText::new(format!("{}{legs}", r.findings))
                    .color(ui.visuals().error_fg_color),
            );
        } else {
            cell(ui, "0");
        }
    });
}

/// The STIR/SHAKEN cell: attestation and verdict, coloured by what the verdict proves; signer and reasons on hover.
fn identity_cell(ui: &mut egui::Ui, id: Option<&earshot_core::model::CallIdentity>) {
    use earshot_core::model::IdentityVerdict as V;
    let Some(id) = id else {
        cell(ui, "");
        return;
    };
    let label = format!(
        "{} {}",
        id.attestation
            .as_deref()
            .map_or("-".to_string(), |a| terminal_safe(a, 2)),
        id.verdict
    );
    let color = match id.verdict {
        V::InvalidSignature | V::ClaimsMismatch | V::Replayed | V::Stale => {
            Some(ui.visuals().error_fg_color)
        }
        V::Valid => None,
        _ => Some(ui.visuals().warn_fg_color),
    };
    let text = egui::RichText::new(label);
    let signer = id.signed_by();
    let mut hover = terminal_safe(&signer, 200);
    for r in id.reasons.iter().take(6) {
        hover.push('\n');
        hover.push_str(&terminal_safe(r, 200));
    }
    let text = match color {
        Some(c) => text.color(c),
        None => text,
    };
    ui.add(egui::Label::new(text).selectable(false).truncate())
        .on_hover_text(hover);
}

pub fn calls_ui(ui: &mut egui::Ui, cx: &mut Cx, view: &mut CallsView) {
    let Some(a) = cx.analysis().cloned() else {
        return;
    };
    view.refresh(cx.session);

    filter_bar(ui, view);
    // The filter may just have changed.
    view.refresh(cx.session);

    let Some(cache) = view.cache.as_ref() else {
        return;
    };
    ui.label(format!(
        "{} of {} calls",
        cache.visible.len(),
        cache.rows.len()
    ));

    let sort = view.sort;
    let descending = view.descending;
    let is_case = a.case.is_some();
    let has_identity = a.calls.iter().any(|c| c.identity.is_some());
    // The protocol column appears when a call is not SIP (MGCP, MEGACO, ...).
    let has_protocols = a
        .calls
        .iter()
        .any(|c| c.protocol != earshot_core::model::Protocol::Sip);
    let mut sort_clicked = None;
    let mut clicked = None;
    let mut double_clicked = false;
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;

    let mut table = TableBuilder::new(ui);
    if let Some(r) = view.scroll_to.take() {
        table = table.scroll_to_row(r, None);
    }
    table
        .id_salt("calls_table")
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::auto().at_least(150.0)) // time
        .column(Column::initial(160.0).clip(true)) // Call-ID
        .columns(Column::auto(), usize::from(has_protocols)) // protocol (when not all SIP)
        .columns(Column::initial(120.0).clip(true), usize::from(is_case)) // seen at (a case only)
        .column(Column::initial(160.0).clip(true)) // from
        .column(Column::initial(160.0).clip(true)) // to
        .columns(Column::initial(150.0).clip(true), usize::from(has_identity)) // identity (signed calls only)
        .column(Column::initial(140.0).clip(true)) // user agents
        .column(Column::auto()) // state
        .column(Column::auto()) // duration
        .column(Column::auto()) // setup
        .column(Column::initial(100.0).clip(true)) // codecs
        .column(Column::auto()) // transport
        .column(Column::auto()) // encryption
        .column(Column::auto()) // MOS
        .column(Column::remainder().at_least(60.0)) // findings
        .header(20.0, |mut h| {
            let mut sortable =
                |h: &mut egui_extras::TableRow<'_, '_>, title: &str, key: SortKey| {
                    h.col(|ui| {
                        let arrow = match (sort == key, descending) {
                            (true, false) => " ^",
                            (true, true) => " v",
                            _ => "",
                        };
                        if ui
                            .selectable_label(sort == key, format!("{title}{arrow}"))
                            .on_hover_text("sort")
                            .clicked()
                        {
                            sort_clicked = Some(key);
                        }
                    });
                };
            let plain = |h: &mut egui_extras::TableRow<'_, '_>, title: &str| {
                h.col(|ui| {
                    ui.strong(title);
                });
            };
            sortable(&mut h, "Time", SortKey::Time);
            plain(&mut h, "Call-ID");
            if has_protocols {
                plain(&mut h, "Protocol");
            }
            if is_case {
                plain(&mut h, "Seen at (point files)");
            }
            sortable(&mut h, "From", SortKey::From);
            sortable(&mut h, "To", SortKey::To);
            if has_identity {
                plain(&mut h, "Identity");
            }
            plain(&mut h, "User agents");
            plain(&mut h, "State");
            sortable(&mut h, "Duration", SortKey::Duration);
            plain(&mut h, "Setup");
            plain(&mut h, "Codecs");
            plain(&mut h, "Transport");
            plain(&mut h, "Encryption");
            sortable(&mut h, "MOS", SortKey::Mos);
            sortable(&mut h, "Findings", SortKey::Findings);
        })
        .body(|body| {
            body.rows(row_height, cache.visible.len(), |mut row| {
                let Some(r) = cache
                    .visible
                    .get(row.index())
                    .and_then(|&i| cache.rows.get(i))
                else {
                    return;
                };
                let Some(c) = a.calls.get(r.call) else {
                    return;
                };
                row.set_selected(cx.session.sel.call == Some(r.call));
                row_cells(&mut row, cx, c, r, is_case, has_identity, has_protocols);
                let resp = row.response();
                if resp.clicked() {
                    clicked = Some(r.call);
                }
                if resp.double_clicked() {
                    clicked = Some(r.call);
                    double_clicked = true;
                }
            });
        });

    if let Some(key) = sort_clicked {
        view.click_sort(key);
    }
    if let Some(i) = clicked {
        cx.act(Action::SelectCall(Some(i)));
        if double_clicked {
            cx.act(Action::SetView(View::Ladder));
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    use super::super::{AppState, View};

    pub const CLEAN_CALL: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sample-captures/clean-call/clean-call.pcap"
    );

    /// SIP_DTMF2.cap from the shared captures (`EARSHOT_CAPTURES` overrides the directory).
    pub fn dtmf2() -> std::path::PathBuf {
        match std::env::var("EARSHOT_CAPTURES") {
            Ok(dir) => Path::new(&dir).join("SIP_DTMF2.cap"),
            Err(_) => concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/captures/SIP_DTMF2.cap"
            )
            .into(),
        }
    }

    /// A harness running the whole app with `path` opened and fully analysed.
    pub fn loaded(path: &Path) -> Harness<'static, AppState> {
        let mut st = AppState::new(Default::default(), Arc::new(|| {}));
        st.open(path);
        let mut harness = Harness::builder()
            .with_size(egui::vec2(1600.0, 900.0))
            .build_ui_state(|ui, st: &mut AppState| st.ui(ui), st);
        wait_loaded(&mut harness);
        assert!(
            harness.state().session.analysis.is_some(),
            "{} did not load",
            path.display()
        );
        harness
    }

    /// The toasts on screen, oldest first.
    pub(crate) fn toasts(harness: &Harness<'static, AppState>) -> Vec<String> {
        harness
            .state()
            .services
            .toasts
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Steps the UI until `done` holds (a background job finished), then lets it settle; fails after 120 s.
    pub(crate) fn wait_until(
        harness: &mut Harness<'static, AppState>,
        what: &str,
        done: impl Fn(&AppState) -> bool,
    ) {
        let start = Instant::now();
        while !done(harness.state()) {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{what} timed out"
            );
            std::thread::sleep(Duration::from_millis(20));
            harness.step();
        }
        harness.run();
    }

    /// Waits until the open capture or case has been analysed.
    pub(crate) fn wait_loaded(harness: &mut Harness<'static, AppState>) {
        let start = Instant::now();
        while harness.state().is_loading() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "loading timed out"
            );
            harness.step();
            std::thread::sleep(Duration::from_millis(20));
        }
        harness.run();
    }

    #[test]
    fn gui_case_of_rotated_files_shows_where_each_call_was_seen_and_grows() {
        // DTMF2 cut into three files by editcap: one case, its two calls, the files that saw each; a dropped
        // file added to the case is analysed with it.
        let dir = std::env::temp_dir().join(format!("earshot-gui-case-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let st = std::process::Command::new("editcap")
            .args(["-c", "500"])
            .arg(dtmf2())
            .arg(dir.join("tap.pcap"))
            .status()
            .expect("editcap (scripts/setup.sh installs it)");
        assert!(st.success());
        let mut parts: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        parts.sort();
        assert_eq!(parts.len(), 3);
        let mut st = AppState::new(Default::default(), Arc::new(|| {}));
        st.open_case(&parts[..2]);
        let mut harness = Harness::builder()
            .with_size(egui::vec2(1600.0, 900.0))
            .build_ui_state(|ui, st: &mut AppState| st.ui(ui), st);
        wait_loaded(&mut harness);
        let a = harness.state().session.analysis.clone().unwrap();
        assert_eq!(a.case.as_ref().unwrap().files.len(), 2);
        harness.get_by_label("Seen at (point files)");
        harness.add_to_case_twin(&parts[2..]);
        wait_loaded(&mut harness);
        let a = harness.state().session.analysis.clone().unwrap();
        let whole = earshot_core::analyze_file(&dtmf2(), &Default::default(), &mut |_| {}).unwrap();
        assert_eq!(a.case.as_ref().unwrap().files.len(), 3);
        assert_eq!(a.summary.packets, whole.summary.packets);
        harness.get_by_label("2 of 2 calls");
        // What the whole capture's frame numbers say: editcap put frames 1-500 in file 1, 501-1000 in file 2...
        let file_of = |f: u64| (f - 1) / 500 + 1;
        let expected: Vec<String> = harness
            .state()
            .views
            .calls
            .shown()
            .iter()
            .map(|&i| {
                let c = whole
                    .calls
                    .iter()
                    .find(|w| w.call_id == a.calls[i].call_id)
                    .unwrap();
                let mut files: Vec<u64> = c.frames.iter().map(|&f| file_of(f)).collect();
                for st in whole
                    .streams
                    .iter()
                    .filter(|st| st.call_id.as_deref() == Some(&c.call_id))
                {
                    files.extend(file_of(st.first_frame)..=file_of(st.last_frame));
                }
                files.sort_unstable();
                files.dedup();
                let list: Vec<String> = files.iter().map(u64::to_string).collect();
                format!("tap {}", list.join(","))
            })
            .collect();
        let seen: Vec<String> = harness
            .state()
            .views
            .calls
            .shown()
            .iter()
            .map(|&i| {
                let cache = harness.state().views.calls.cache.as_ref().unwrap();
                cache
                    .rows
                    .iter()
                    .find(|r| r.call == i)
                    .unwrap()
                    .seen_at
                    .clone()
            })
            .collect();
        assert_eq!(seen, expected);
        for s in &seen {
            harness.get_by_label(s);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    trait AddTwin {
        fn add_to_case_twin(&mut self, paths: &[std::path::PathBuf]);
    }

    impl AddTwin for Harness<'static, AppState> {
        fn add_to_case_twin(&mut self, paths: &[std::path::PathBuf]) {
            self.state_mut().add_to_case(paths);
        }
    }

    #[test]
    fn gui_calls_filter_expression_keeps_matching_calls_and_says_what_is_wrong() {
        // DTMF2's first call was declined (603, as tshark shows: -Y "sip.Status-Code == 603").
        let mut harness = loaded(&dtmf2());
        harness.state_mut().views.calls.expr = "state == rejected && !answered".into();
        harness.run();
        harness.get_by_label("1 of 2 calls");
        let a = harness.state().session.analysis.clone().unwrap();
        let shown = harness.state().views.calls.shown();
        assert_eq!(a.calls[shown[0]].call_id, "5514@192.168.105.110");
        harness.state_mut().views.calls.expr = "mos <".into();
        harness.run();
        harness.get_by_label("filter: expected a value after the operator (at character 5)");
        harness.get_by_label("2 of 2 calls");
    }

    #[test]
    fn gui_calls_clean_call_row_selects() {
        let mut harness = loaded(Path::new(CLEAN_CALL));
        assert_eq!(harness.state().views.current, View::Calls);
        harness.get_by_label("1 of 1 calls");
        harness.get_by_label("gen-0@example.org").click();
        harness.run();
        assert_eq!(harness.state().session.sel.call, Some(0));
        assert_eq!(harness.state().views.current, View::Calls);
    }

    #[test]
    fn gui_calls_dtmf2_table_and_answered_filter() {
        let path = dtmf2();
        let mut harness = loaded(&path);
        let a = harness.state().session.analysis.clone().unwrap();
        assert_eq!(a.summary.invite_dialogs, 2);
        harness.get_by_label("2 of 2 calls");
        assert_eq!(harness.state().views.calls.shown().len(), 2);
        for i in harness.state().views.calls.shown() {
            harness.get_by_label(&a.calls[i].call_id);
        }
        harness.get_by_label("answered").click();
        harness.run();
        assert!(harness.state().views.calls.quick.answered);
        harness.get_by_label("1 of 2 calls");
        let shown = harness.state().views.calls.shown();
        assert_eq!(shown.len(), 1);
        assert!(a.calls[shown[0]].answered);
    }

    #[test]
    fn gui_calls_sort_and_search() {
        let mut harness = loaded(&dtmf2());
        let a = harness.state().session.analysis.clone().unwrap();
        let before = harness.state().views.calls.shown();
        // Time ascending by default; clicking the active header reverses it.
        assert!(
            before
                .windows(2)
                .all(|w| a.calls[w[0]].start_ts_nanos <= a.calls[w[1]].start_ts_nanos)
        );
        harness.get_by_label("Time ^").click();
        harness.run();
        assert!(harness.state().views.calls.descending);
        let mut rev = harness.state().views.calls.shown();
        rev.reverse();
        assert_eq!(rev, before);
        // Search by Call-ID (case-insensitive) keeps just that call.
        let id = a.calls[before[0]].call_id.to_uppercase();
        harness.state_mut().views.calls.filter = id;
        harness.run();
        assert_eq!(harness.state().views.calls.shown(), vec![before[0]]);
        harness.get_by_label("1 of 2 calls");
    }

    #[test]
    fn gui_calls_keyboard_search_arrows_enter() {
        let mut harness = loaded(&dtmf2());
        let shown = harness.state().views.calls.shown();
        assert_eq!(shown.len(), 2);
        assert_eq!(harness.state().session.sel.call, None);
        // Down selects the first row, Down again the second, a third stays on the last; Up goes back.
        harness.key_press(egui::Key::ArrowDown);
        harness.run();
        assert_eq!(harness.state().session.sel.call, Some(shown[0]));
        harness.key_press(egui::Key::ArrowDown);
        harness.run();
        assert_eq!(harness.state().session.sel.call, Some(shown[1]));
        harness.key_press(egui::Key::ArrowDown);
        harness.run();
        assert_eq!(harness.state().session.sel.call, Some(shown[1]));
        harness.key_press(egui::Key::ArrowUp);
        harness.run();
        assert_eq!(harness.state().session.sel.call, Some(shown[0]));
        // Enter opens the selected call's ladder.
        harness.key_press(egui::Key::Enter);
        harness.run();
        assert_eq!(harness.state().views.current, View::Ladder);
        // Ctrl+F goes back to the calls and focuses the search box: typing filters, arrows do not move.
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
        harness.run();
        assert_eq!(harness.state().views.current, View::Calls);
        let id = harness.state().session.analysis.clone().unwrap().calls[shown[1]]
            .call_id
            .clone();
        // The search box is the first text input (the filter box follows it).
        harness
            .get_all_by_role(egui::accesskit::Role::TextInput)
            .next()
            .unwrap()
            .type_text(&id);
        harness.run();
        assert_eq!(harness.state().views.calls.filter, id);
        assert_eq!(harness.state().views.calls.shown(), vec![shown[1]]);
        harness.key_press(egui::Key::ArrowDown);
        harness.run();
        assert_eq!(harness.state().session.sel.call, Some(shown[0]));
    }
}
