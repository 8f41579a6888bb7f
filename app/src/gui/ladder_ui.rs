//! Ladder diagram of the selected call: one column per signalling (or media) address, one row per SIP message
//! (an arrow from source to destination) and per media stream (a band at its start time). Other calls that share
//! an endpoint or a user (B2BUA legs) can be merged in; their messages interleave by time. The layout is core's
//! `report::ladder::Ladder` (unbounded here), the one the SVG/PNG/text exports draw: the same order on screen and
//! on paper.

use std::collections::BTreeSet;

use earshot_core::calls::legs;
use earshot_core::model::{Analysis, Call, LinkMethod, Transport};
use earshot_core::report::ladder::{Arrow, Bounds, Ladder, Row, arrow, relative_time};
use earshot_core::report::terminal_safe;
use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Shape, Stroke, Vec2};

use super::{Action, Cx, Session};

/// Row height bounds (px) for the zoom.
pub const MIN_ROW: f32 = 16.0;
pub const MAX_ROW: f32 = 60.0;
const DEFAULT_ROW: f32 = 28.0;
/// Width of the time column on the left and of each host column.
const TIME_COL: f32 = 90.0;
const HOST_COL: f32 = 230.0;
/// How many other calls the "merge with" list offers.
const MAX_MERGE_CANDIDATES: usize = 20;

#[derive(Debug, Default)]
pub struct LadderView {
    /// Row height in px (`MIN_ROW..=MAX_ROW`); 0 means the default.
    pub zoom: f32,
    /// Other calls (indices into `Analysis::calls`) merged into the ladder of `merged_for`.
    pub merged: BTreeSet<usize>,
    /// The call the merge set belongs to (it is cleared when another call is selected).
    pub merged_for: Option<usize>,
    /// Scroll the selected message's row into view on the next frame (keyboard moves).
    pub scroll_to_selected: bool,
    /// Where the shared cursor was drawn last frame, in rows from the top (fractional), for tests and tools.
    pub cursor_row: Option<f32>,
}

impl LadderView {
    pub fn row_height(&self) -> f32 {
        if self.zoom <= 0.0 {
            DEFAULT_ROW
        } else {
            self.zoom.clamp(MIN_ROW, MAX_ROW)
        }
    }
}

/// The calls linked to `call` as legs of one call (by header, proposal or the analyst; not rejected links).
pub fn linked_legs(a: &Analysis, call: usize) -> BTreeSet<usize> {
    let Some(c) = a.calls.get(call) else {
        return BTreeSet::new();
    };
    legs::legs_of(&a.legs, &c.call_id)
        .iter()
        .skip(1)
        .filter_map(|id| a.calls.iter().position(|o| &o.call_id == id))
        .collect()
}

/// Other calls that share a signalling endpoint IP or a From/To user with `call` (B2BUA legs), at most 20.
pub fn merge_candidates(a: &Analysis, call: usize) -> Vec<usize> {
    let Some(c) = a.calls.get(call) else {
        return Vec::new();
    };
    let users = |c: &Call| -> Vec<String> {
        [&c.from, &c.to]
            .into_iter()
            .flatten()
            .filter_map(|n| n.user.clone())
            .collect()
    };
    let my_users = users(c);
    let my_ips: Vec<_> = c.endpoints.iter().map(|e| e.ip()).collect();
    a.calls
        .iter()
        .enumerate()
        .filter(|(i, o)| {
            *i != call
                && o.kind.is_call()
                && (o.endpoints.iter().any(|e| my_ips.contains(&e.ip()))
                    || users(o).iter().any(|u| my_users.contains(u)))
        })
        .map(|(i, _)| i)
        .take(MAX_MERGE_CANDIDATES)
        .collect()
}

/// The calls the ladder shows: the selected one and the legs merged into it.
fn ladder_calls(session: &Session, view: &LadderView) -> Option<Vec<usize>> {
    let call = session.sel.call?;
    let mut calls = vec![call];
    if view.merged_for == Some(call) {
        calls.extend(view.merged.iter().copied());
    }
    Some(calls)
}

/// Up/Down in the ladder: the previous/next message becomes the selection (and the cursor), kept in view.
pub fn move_selection(session: &Session, view: &mut LadderView, step: isize) -> Vec<Action> {
    let (Some(a), Some(calls)) = (session.analysis.as_ref(), ladder_calls(session, view)) else {
        return Vec::new();
    };
    let msgs: Vec<Row> = Ladder::for_calls(a, &calls, Bounds::ALL)
        .rows
        .into_iter()
        .filter(|r| !matches!(r, Row::Stream(_)))
        .collect();
    if msgs.is_empty() {
        return Vec::new();
    }
    let current = match (session.sel.message, session.sel.signal) {
        (Some(m), _) => Some(Row::Message(m)),
        (None, Some(s)) => Some(Row::Signal(s)),
        _ => None,
    };
    let pos = match current.and_then(|m| msgs.iter().position(|&x| x == m)) {
        Some(p) => p.saturating_add_signed(step).min(msgs.len() - 1),
        None if step < 0 => msgs.len() - 1,
        None => 0,
    };
    let Some(&row) = msgs.get(pos) else {
        return Vec::new();
    };
    view.scroll_to_selected = true;
    let select = match row {
        Row::Signal(s) => Action::SelectSignal(Some(s)),
        Row::Message(m) => Action::SelectMessage(Some(m)),
        Row::Stream(_) => return Vec::new(),
    };
    vec![
        select,
        Action::SetCursor(arrow(a, row, 0).map(|m| m.ts_nanos)),
    ]
}

/// Row position (fractional, from the first row) of time `t` in the ladder: between the rows whose times bracket
/// it, linearly by time; `None` outside the ladder's time span.
pub fn cursor_row(a: &Analysis, l: &Ladder, t: i64) -> Option<f32> {
    let time = |r: &Row| match r {
        Row::Message(_) | Row::Signal(_) => arrow(a, *r, 0).map(|m| m.ts_nanos),
        Row::Stream(s) => a.streams.get(*s).map(|s| s.first_ts_nanos),
    };
    let times: Vec<i64> = l.rows.iter().filter_map(time).collect();
    let (&first, &last) = (times.first()?, times.last()?);
    // Streams run on after their row: the span ends at the last stream packet or message.
    let end = l
        .rows
        .iter()
        .filter_map(|r| match r {
            Row::Stream(s) => a.streams.get(*s).map(|s| s.last_ts_nanos),
            Row::Message(_) | Row::Signal(_) => None,
        })
        .max()
        .unwrap_or(last)
        .max(last);
    if t < first || t > end {
        return None;
    }
    // Row k's centre is at k + 0.5.
    let k = times.partition_point(|&x| x <= t);
    let Some(&before) = k.checked_sub(1).and_then(|i| times.get(i)) else {
        return Some(0.5);
    };
    let Some(&after) = times.get(k) else {
        return Some(k as f32 - 0.5);
    };
    let frac = if after > before {
        (t - before) as f32 / (after - before) as f32
    } else {
        0.0
    };
    Some(k as f32 - 0.5 + frac)
}

pub fn ladder_ui(ui: &mut egui::Ui, cx: &mut Cx, view: &mut LadderView) {
    let (Some(a), Some(call)) = (cx.analysis().cloned(), cx.session.sel.call) else {
        ui.label("Select a call in the Calls view");
        return;
    };
    if a.calls.get(call).is_none() {
        ui.label("Select a call in the Calls view");
        return;
    }
    if view.merged_for != Some(call) {
        view.merged_for = Some(call);
        view.merged = linked_legs(&a, call);
    }
    controls_ui(ui, cx, view, &a, call);

    let mut calls = vec![call];
    calls.extend(view.merged.iter().copied());
    let ladder = Ladder::for_calls(&a, &calls, Bounds::ALL);
    let row_h = view.row_height();

    // Ctrl+wheel zooms (row height) while the pointer is over the ladder.
    if ui.ui_contains_pointer() {
        let zoom = ui.input(|i| i.zoom_delta());
        if zoom != 1.0 {
            view.zoom = (row_h * zoom).clamp(MIN_ROW, MAX_ROW);
        }
    }

    egui::ScrollArea::both()
        .id_salt("ladder")
        .auto_shrink([false, false])
        .show(ui, |ui| draw_ladder(ui, cx, view, &a, &ladder, row_h));
}

fn controls_ui(ui: &mut egui::Ui, cx: &mut Cx, view: &mut LadderView, a: &Analysis, call: usize) {
    let Some(c) = a.calls.get(call) else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "Call {} — {} messages, {} streams",
            terminal_safe(&c.call_id, 60),
            c.messages.len(),
            c.streams.len()
        ));
        ui.separator();
        let mut h = view.row_height();
        if ui
            .add(egui::Slider::new(&mut h, MIN_ROW..=MAX_ROW).text("row height (Ctrl+wheel)"))
            .changed()
        {
            view.zoom = h;
        }
        ui.separator();
        let mut decision = None;
        for l in a
            .legs
            .iter()
            .filter(|l| l.a == c.call_id || l.b == c.call_id)
        {
            let other = if l.a == c.call_id { &l.b } else { &l.a };
            let how = match (&l.header, l.method) {
                (Some(h), _) => format!("by {}", terminal_safe(h, 40)),
                (None, m) => format!("{} {:.2}", m.as_str(), l.score),
            };
            ui.label(format!(
                "Leg {} — {} ({how})",
                terminal_safe(other, 40),
                l.status.as_str()
            ))
            .on_hover_text(terminal_safe(&l.evidence.join("\n"), 2000));
            if l.method != LinkMethod::Header {
                if ui.small_button("Confirm").clicked() {
                    decision = Some((l.a.clone(), l.b.clone(), true));
                }
                if ui.small_button("Reject").clicked() {
                    decision = Some((l.a.clone(), l.b.clone(), false));
                }
            }
            ui.separator();
        }
        if let Some((a, b, confirmed)) = decision {
            cx.act(Action::DecideLeg(a, b, confirmed));
        }
        let cands = merge_candidates(a, call);
        let title = if view.merged.is_empty() {
            format!("Merge with… ({} related)", cands.len())
        } else {
            format!("Merge with… ({} merged)", view.merged.len())
        };
        ui.menu_button(title, |ui| {
            if cands.is_empty() {
                ui.label("No other call shares an endpoint or a user");
            }
            for (i, o) in cands.into_iter().filter_map(|i| Some((i, a.calls.get(i)?))) {
                let who = |n: &Option<earshot_core::model::NameAddr>| {
                    n.as_ref()
                        .map_or("?".to_string(), |n| terminal_safe(&n.uri, 40))
                };
                let mut on = view.merged.contains(&i);
                let text = format!(
                    "{} ({} -> {})",
                    terminal_safe(&o.call_id, 40),
                    who(&o.from),
                    who(&o.to)
                );
                if ui.checkbox(&mut on, text).changed() {
                    if on {
                        view.merged.insert(i);
                    } else {
                        view.merged.remove(&i);
                    }
                }
            }
        });
    });
}

fn column_x(left: f32, col: usize) -> f32 {
    left + TIME_COL + HOST_COL * (col as f32 + 0.5)
}

/// Colours and sizes of one frame's ladder.
struct Style {
    row_h: f32,
    font: FontId,
    text: Color32,
    weak: Color32,
}

fn draw_ladder(
    ui: &mut egui::Ui,
    cx: &mut Cx,
    view: &mut LadderView,
    a: &Analysis,
    l: &Ladder,
    row_h: f32,
) {
    let width = TIME_COL + HOST_COL * l.hosts.len().max(1) as f32;
    let visuals = ui.visuals().clone();
    let style = Style {
        row_h,
        font: FontId::proportional((row_h * 0.45).clamp(10.0, 14.0)),
        text: visuals.strong_text_color(),
        weak: visuals.weak_text_color(),
    };
    header_ui(ui, l, width, style.weak);
    let cursor = cx.session.cursor.and_then(|t| cursor_row(a, l, t));
    view.cursor_row = cursor;

    // Only the rows in view are laid out (a flood can put thousands of messages in one call); the rest is space.
    ui.spacing_mut().item_spacing.y = 0.0;
    let top = ui.cursor().top();
    let clip = ui.clip_rect();
    let n = l.rows.len();
    if std::mem::take(&mut view.scroll_to_selected)
        && let Some(i) = l.rows.iter().position(|r| match r {
            Row::Message(m) => cx.session.sel.message == Some(*m),
            Row::Signal(s) => cx.session.sel.signal == Some(*s),
            Row::Stream(_) => false,
        })
    {
        let y = top + row_h * i as f32;
        ui.scroll_to_rect(
            Rect::from_min_size(Pos2::new(ui.min_rect().left(), y), Vec2::new(width, row_h)),
            None,
        );
    }
    let first = (((clip.top() - top) / row_h).floor().max(0.0) as usize).min(n);
    let last = (((clip.bottom() - top) / row_h).ceil().max(0.0) as usize).clamp(first, n);
    if first > 0 {
        ui.allocate_exact_size(Vec2::new(width, row_h * first as f32), Sense::hover());
    }
    // Centre of each row laid out (the cursor line is placed between them).
    let mut centres: Vec<f32> = Vec::with_capacity(last - first);
    for row in l.rows.get(first..last).unwrap_or_default() {
        let (rect, resp) = ui.allocate_exact_size(Vec2::new(width, row_h), Sense::click());
        centres.push(rect.center().y);
        let selected = match row {
            Row::Message(m) => cx.session.sel.message == Some(*m),
            Row::Signal(r) => cx.session.sel.signal == Some(*r),
            Row::Stream(s) => cx.session.sel.stream == Some(*s),
        };
        let painter = ui.painter_at(rect);
        if selected {
            painter.rect_filled(rect, 0.0, visuals.selection.bg_fill.gamma_multiply(0.5));
        } else if resp.hovered() {
            painter.rect_filled(
                rect,
                0.0,
                visuals.widgets.hovered.bg_fill.gamma_multiply(0.3),
            );
        }
        // Lifelines.
        for i in 0..l.hosts.len() {
            let x = column_x(rect.left(), i);
            painter.line_segment(
                [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
                Stroke::new(1.0, style.weak.gamma_multiply(0.5)),
            );
        }
        // A row is clicked on its background or its label; a row whose ends have no column is not clickable.
        match *row {
            Row::Message(_) | Row::Signal(_) => {
                if let Some(m) = arrow(a, *row, 80)
                    && let Some(label) = message_row(ui, &painter, rect, l, &m, &style)
                    && (label || resp.clicked())
                {
                    cx.act(match *row {
                        Row::Signal(i) => Action::SelectSignal(Some(i)),
                        _ => Action::SelectMessage(match *row {
                            Row::Message(i) => Some(i),
                            _ => None,
                        }),
                    });
                    cx.act(Action::CursorTo(m.ts_nanos));
                }
            }
            Row::Stream(si) => {
                if let Some(st) = a.streams.get(si)
                    && let Some(label) = stream_row(ui, &painter, rect, l, st, &style)
                    && (label || resp.clicked())
                {
                    cx.act(Action::SelectStream(Some(st.index)));
                }
            }
        }
    }
    if last < n {
        ui.allocate_exact_size(Vec2::new(width, row_h * (n - last) as f32), Sense::hover());
    }
    if let Some(r) = cursor
        && let Some(y) = row_y(&centres, first, r)
    {
        cursor_line(ui, y, width, cx.session.cursor.unwrap_or(l.t0), l.t0);
    }
}

/// The header: the address and the first user agent of each column.
fn header_ui(ui: &mut egui::Ui, l: &Ladder, width: f32, weak: Color32) {
    let (hdr, _) = ui.allocate_exact_size(Vec2::new(width, 40.0), Sense::hover());
    for (i, h) in l.hosts.iter().enumerate() {
        let x = column_x(hdr.left(), i);
        let r = Rect::from_center_size(
            Pos2::new(x, hdr.top() + 10.0),
            Vec2::new(HOST_COL - 8.0, 18.0),
        );
        ui.put(
            r,
            egui::Label::new(egui::RichText::new(h.to_string()).strong()).truncate(),
        );
        let ua = l
            .agents
            .get(i)
            .and_then(|u| u.as_deref())
            .map_or(String::new(), |u| terminal_safe(u, 40));
        let r = r.translate(Vec2::new(0.0, 18.0));
        ui.put(
            r,
            egui::Label::new(egui::RichText::new(ua).small().color(weak)).truncate(),
        );
    }
}

/// A row's time, relative to the ladder's first, at its left.
fn row_time(painter: &egui::Painter, rect: Rect, ts: i64, t0: i64, style: &Style) {
    painter.text(
        Pos2::new(rect.left() + 4.0, rect.center().y),
        Align2::LEFT_CENTER,
        relative_time(ts, t0),
        style.font.clone(),
        style.weak,
    );
}

/// A message's row: its time, its arrow and its label; `Some(label clicked)`, or `None` when its ends have no
/// column (then only the time is drawn).
fn message_row(
    ui: &mut egui::Ui,
    painter: &egui::Painter,
    rect: Rect,
    l: &Ladder,
    m: &Arrow<'_>,
    style: &Style,
) -> Option<bool> {
    let row_h = style.row_h;
    row_time(painter, rect, m.ts_nanos, l.t0, style);
    let (Some(s), Some(d)) = (l.column(Some(m.src)), l.column(Some(m.dst))) else {
        return None;
    };
    let y = rect.center().y + row_h * 0.2;
    let (xs, xd) = (column_x(rect.left(), s), column_x(rect.left(), d));
    let color = if m.retransmission {
        Color32::GRAY
    } else if m.request {
        style.text
    } else if m.failure {
        Color32::from_rgb(220, 90, 80)
    } else {
        Color32::from_rgb(90, 170, 230)
    };
    draw_arrow(
        painter,
        xs,
        xd,
        y,
        Stroke::new(1.5, color),
        m.retransmission,
    );
    let mid = (xs + xd) / 2.0;
    let lr = Rect::from_center_size(
        Pos2::new(mid, rect.center().y - row_h * 0.15),
        Vec2::new(((xd - xs).abs() - 12.0).max(60.0), (row_h * 0.6).max(12.0)),
    );
    let rich = egui::RichText::new(m.label.clone())
        .color(color)
        .font(style.font.clone());
    let lresp = ui.put(
        lr,
        egui::Label::new(rich)
            .sense(Sense::click())
            .selectable(false)
            .truncate(),
    );
    let lresp = lresp.on_hover_text(format!(
        "frame {} — {} -> {} ({}){}",
        earshot_core::model::frame_label(m.frame),
        m.src,
        m.dst,
        match m.transport {
            Transport::Tls => "TLS, decrypted",
            Transport::Wss => "WSS, decrypted",
            t => t.as_str(),
        },
        if m.retransmission {
            ", retransmission"
        } else {
            ""
        }
    ));
    Some(lresp.clicked())
}

/// A media stream's row: its first time, a band between its ends and a label; `Some(label clicked)`, or `None`
/// when its ends have no column.
fn stream_row(
    ui: &mut egui::Ui,
    painter: &egui::Painter,
    rect: Rect,
    l: &Ladder,
    s: &earshot_core::model::MediaStream,
    style: &Style,
) -> Option<bool> {
    let row_h = style.row_h;
    row_time(painter, rect, s.first_ts_nanos, l.t0, style);
    let (Some(c1), Some(c2)) = (l.column(s.src), l.column(s.dst)) else {
        return None;
    };
    let (xs, xd) = (column_x(rect.left(), c1), column_x(rect.left(), c2));
    let green = Color32::from_rgb(80, 170, 90);
    let band = Rect::from_min_max(
        Pos2::new(xs.min(xd), rect.top() + row_h * 0.15),
        Pos2::new(
            xs.max(xd).max(xs.min(xd) + 4.0),
            rect.bottom() - row_h * 0.15,
        ),
    );
    painter.rect_filled(band, 3.0, green.gamma_multiply(0.35));
    draw_arrow(
        painter,
        xs,
        xd,
        band.bottom() - 1.0,
        Stroke::new(1.0, green),
        false,
    );
    let kind = match s.kind {
        earshot_core::model::StreamKind::Rtp => "RTP",
        earshot_core::model::StreamKind::T38 => "T.38",
    };
    let enc = match s.encryption {
        earshot_core::model::Encryption::None => String::new(),
        e => format!(" ({})", e.as_str()),
    };
    let text = format!(
        "{kind} {} {} pkts, lost {}{enc}",
        terminal_safe(&s.codec, 24),
        s.packets,
        s.lost
    );
    let lr = Rect::from_center_size(
        band.center(),
        Vec2::new(band.width().max(120.0) - 8.0, (row_h * 0.6).max(12.0)),
    );
    let lresp = ui.put(
        lr,
        egui::Label::new(egui::RichText::new(text).font(style.font.clone()))
            .sense(Sense::click())
            .selectable(false)
            .truncate(),
    );
    let lresp = lresp.on_hover_text(format!(
        "frames {}–{}, {} – {}",
        earshot_core::model::frame_label(s.first_frame),
        earshot_core::model::frame_label(s.last_frame),
        relative_time(s.first_ts_nanos, l.t0),
        relative_time(s.last_ts_nanos, l.t0)
    ));
    Some(lresp.clicked())
}

/// The shared cursor: a horizontal line across the ladder at `y`, labelled with its time for screen readers and
/// tests.
fn cursor_line(ui: &mut egui::Ui, y: f32, width: f32, cursor: i64, t0: i64) {
    let left = ui.min_rect().left();
    let red = Color32::from_rgb(230, 60, 60);
    ui.painter().line_segment(
        [Pos2::new(left, y), Pos2::new(left + width, y)],
        Stroke::new(1.5, red),
    );
    let text = format!("cursor {}", relative_time(cursor, t0));
    let lr = Rect::from_min_size(
        Pos2::new(left + 2.0, y - 14.0),
        Vec2::new(TIME_COL - 4.0, 14.0),
    );
    ui.put(
        lr,
        egui::Label::new(egui::RichText::new(text).small().color(red)).selectable(false),
    );
}

/// The y of fractional row position `r` (row k's centre is at k + 0.5) from the centres of the rows laid out
/// (`centres[0]` is row `first`); `None` when it is outside them (scrolled out of view).
fn row_y(centres: &[f32], first: usize, r: f32) -> Option<f32> {
    let pos = r - 0.5 - first as f32;
    if pos < -0.5 || pos > centres.len() as f32 - 0.5 {
        return None;
    }
    let stride = match centres {
        [a, b, ..] => b - a,
        _ => 0.0,
    };
    let k = (pos.floor().max(0.0) as usize).min(centres.len().saturating_sub(1));
    let base = *centres.get(k)?;
    Some(base + (pos - k as f32) * stride)
}

/// A horizontal arrow from `xs` to `xd` at `y` (a loop when both are the same column).
fn draw_arrow(p: &egui::Painter, xs: f32, xd: f32, y: f32, stroke: Stroke, dashed: bool) {
    let (a, b) = if (xs - xd).abs() < 1.0 {
        // Same host: a short self-loop stub.
        (Pos2::new(xs, y), Pos2::new(xs + 30.0, y))
    } else {
        (Pos2::new(xs, y), Pos2::new(xd, y))
    };
    if dashed {
        p.extend(Shape::dashed_line(&[a, b], stroke, 6.0, 4.0));
    } else {
        p.line_segment([a, b], stroke);
    }
    let dir = if b.x >= a.x { 1.0 } else { -1.0 };
    let head = vec![
        b,
        Pos2::new(b.x - dir * 8.0, b.y - 4.0),
        Pos2::new(b.x - dir * 8.0, b.y + 4.0),
    ];
    p.add(Shape::convex_polygon(head, stroke.color, Stroke::NONE));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::AppState;
    use crate::gui::View;
    use earshot_core::model::{Encapsulation, LinkStatus, MessageRecord, Transport};
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use std::sync::Arc;

    fn loaded(path: &str) -> AppState {
        let mut st = AppState::new(Default::default(), Arc::new(|| {}));
        st.open(std::path::Path::new(path));
        let t = std::time::Instant::now();
        while st.is_loading() {
            st.poll();
            assert!(t.elapsed().as_secs() < 30, "capture did not load in 30 s");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(st.session.analysis.is_some(), "capture did not load");
        st
    }

    fn harness(st: AppState) -> Harness<'static, AppState> {
        let mut h = Harness::builder()
            .with_size(egui::vec2(1400.0, 1000.0))
            .build_ui_state(|ui, st: &mut AppState| st.ui(ui), st);
        h.run_steps(3);
        h
    }

    #[test]
    fn ladder_shows_a_proposed_leg_merged_and_the_analyst_confirms_or_rejects_it() {
        // Real calls through kamailio with topology hiding, both sides captured (tests/b2bua): no correlation
        // header, so each outer leg gets a scored proposal; the ladder opens with both legs merged.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/b2bua/captures/");
        let mut st = AppState::new(Default::default(), Arc::new(|| {}));
        st.open_case(&[
            format!("{dir}nohdr-outer.pcap").into(),
            format!("{dir}nohdr-inner.pcap").into(),
        ]);
        let t = std::time::Instant::now();
        while st.is_loading() {
            st.poll();
            assert!(t.elapsed().as_secs() < 30, "case did not load in 30 s");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let a = st.session.analysis.clone().unwrap();
        let first = a.legs.first().unwrap().clone();
        let call = a.calls.iter().position(|c| c.call_id == first.a).unwrap();
        let other = a.calls.iter().position(|c| c.call_id == first.b).unwrap();
        st.select_call(Some(call));
        st.views.current = View::Ladder;
        let mut h = harness(st);
        assert!(
            h.state().views.ladder.merged.contains(&other),
            "the other leg is merged"
        );
        // Both legs' INVITEs are drawn (labelled as on paper: with their SDP).
        let invites = |h: &Harness<'_, AppState>| {
            h.query_all_by_label("INVITE").count() + h.query_all_by_label("INVITE (SDP)").count()
        };
        assert_eq!(invites(&h), 2);
        h.get_by_label_contains("proposed (score").hover();
        h.get_by_label("Reject").click();
        h.run_steps(3);
        let a = h.state().session.analysis.clone().unwrap();
        assert_eq!(a.legs.first().unwrap().status, LinkStatus::Rejected);
        assert!(
            !h.state().views.ladder.merged.contains(&other),
            "a rejected leg is not merged"
        );
        assert_eq!(invites(&h), 1);
        h.get_by_label("Confirm").click();
        h.run_steps(3);
        let a = h.state().session.analysis.clone().unwrap();
        assert_eq!(a.legs.first().unwrap().status, LinkStatus::Confirmed);
        assert_eq!(
            h.state().session.leg_decisions,
            [(first.a.clone(), first.b.clone(), true)]
        );
    }

    #[test]
    fn ladder_mgcp_call_shows_commands_and_their_detail() {
        let mut st = loaded(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sample-captures/mgcp-call/mgcp-call.pcap"
        ));
        let a = st.session.analysis.clone().unwrap();
        let call = a
            .calls
            .iter()
            .position(|c| c.call_id == "mgcp:A3C47F21456789F0")
            .expect("the MGCP call");
        st.select_call(Some(call));
        st.views.current = View::Ladder;
        let mut h = harness(st);
        // tshark -Y mgcp: frames 13 and 14 are the CRCX to gw2 and its retransmission; 20 is the MDCX that answers.
        assert_eq!(
            h.query_all_by_label("CRCX aaln/1@gw2.example.net (SDP) [1004]")
                .count(),
            1
        );
        assert_eq!(
            h.query_all_by_label("CRCX aaln/1@gw2.example.net (SDP) [1004] (retransmission)")
                .count(),
            1
        );
        h.get_by_label("MDCX aaln/1@gw1.example.net [1006]").click();
        h.run_steps(3);
        let r = h.state().session.sel.signal.expect("a signal is selected");
        assert_eq!(a.signals[r].frame, 20);
        assert_eq!(h.state().session.sel.message, None);
        // The detail pane: frame, the CallId and the mode the command set.
        h.get_by_label("frame 20");
        h.get_by_label("A3C47F21456789F0");
        h.get_by_label("aaln/1@gw1.example.net (mode sendrecv)");
    }

    #[test]
    fn ladder_iax2_call_shows_frames_and_their_elements() {
        let mut st = loaded(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sample-captures/iax2-call/iax2-call.pcap"
        ));
        let a = st.session.analysis.clone().unwrap();
        let call = a
            .calls
            .iter()
            .position(|c| c.call_id.starts_with("iax2:127.0.0.2:4569/3#"))
            .expect("the answered IAX2 call");
        st.select_call(Some(call));
        st.views.current = View::Ladder;
        let mut h = harness(st);
        // tshark -Y iax2: frame 6 is the NEW to 1000, 223 the HANGUP with cause code 16.
        h.get_by_label("HANGUP Normal Clearing (16)");
        h.get_by_label("NEW 1000").click();
        h.run_steps(3);
        let r = h.state().session.sel.signal.expect("a frame is selected");
        assert_eq!(a.signals[r].frame, 6);
        h.get_by_label("frame 6");
        h.get_by_label("source 3, destination 0");
        h.get_by_label("calling name");
        h.get_by_label("Alice Example");
    }

    #[test]
    fn ladder_clean_call_shows_messages_and_selects_on_click() {
        let mut st = loaded(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sample-captures/clean-call/clean-call.pcap"
        ));
        st.select_call(Some(0));
        st.views.current = View::Ladder;
        let mut h = harness(st);
        // tshark -Y sdp: the INVITE (frame 1) and the 200 OK that answers it (frame 4) carry SDP; the BYE's does not.
        for l in [
            "INVITE (SDP)",
            "100 Trying",
            "180 Ringing",
            "200 OK (SDP)",
            "ACK",
            "BYE",
            "200 OK",
        ] {
            assert_eq!(h.query_all_by_label(l).count(), 1, "label {l}");
        }
        assert!(
            h.query_all_by_label_contains("RTP ").count() >= 1,
            "RTP band"
        );
        // Columns: the caller's address first, with the user agent it announced.
        let a = h.state().session.analysis.clone().unwrap();
        let l = Ladder::for_calls(&a, &[0], Bounds::ALL);
        let first = &a.messages[a.calls[0].messages[0]];
        assert_eq!(l.hosts[0], first.src);
        assert_eq!(l.rows.len(), 7 + a.calls[0].streams.len());
        h.get_by_label(&first.src.to_string());
        if let Some(ua) = &l.agents[0] {
            let ua = terminal_safe(ua, 40);
            assert!(
                h.query_all_by_label(&ua).count() >= 1,
                "user agent in header"
            );
        }
        h.get_by_label("ACK").click();
        h.run_steps(3);
        let st = h.state();
        let a = st.session.analysis.clone().unwrap();
        let m = &a.messages[st.session.sel.message.expect("a message is selected")];
        assert_eq!(m.message.method(), Some("ACK"));
        assert_eq!(m.frame, 5);
        h.get_by_label("frame 5");
    }

    #[test]
    fn ladder_merges_related_calls_by_time() {
        let mut st = loaded(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sample-captures/toll-fraud-night/toll-fraud-night.pcap"
        ));
        let a = st.session.analysis.clone().unwrap();
        let (call, cands) = (0..a.calls.len())
            .filter(|&c| a.calls[c].kind.is_call())
            .map(|c| (c, merge_candidates(&a, c)))
            .find(|(_, m)| !m.is_empty())
            .expect("two related calls in the sample");
        assert!(cands.len() <= MAX_MERGE_CANDIDATES && !cands.contains(&call));
        let other = cands[0];
        let l = Ladder::for_calls(&a, &[call, other], Bounds::ALL);
        let n = |c: usize| a.calls[c].messages.len() + a.calls[c].streams.len();
        assert_eq!(l.rows.len(), n(call) + n(other));
        let times: Vec<i64> = l
            .rows
            .iter()
            .filter_map(|r| match r {
                Row::Message(m) => Some(a.messages[*m].ts_nanos),
                Row::Signal(_) | Row::Stream(_) => None,
            })
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "interleaved by time"
        );
        // The UI draws the merged ladder.
        st.select_call(Some(call));
        st.views.current = View::Ladder;
        st.views.ladder.merged_for = Some(call);
        st.views.ladder.merged.insert(other);
        let h = harness(st);
        let shown = [
            "INVITE",
            "INVITE (SDP)",
            "INVITE (retransmission)",
            "INVITE (SDP) (retransmission)",
        ]
        .iter()
        .map(|l| h.query_all_by_label(l).count())
        .sum::<usize>();
        let invites = l
            .rows
            .iter()
            .filter(|r| matches!(r, Row::Message(m) if a.messages[*m].message.method() == Some("INVITE")))
            .count();
        assert_eq!(shown, invites);
    }

    #[test]
    fn ladder_without_call_shows_hint() {
        let mut st = loaded(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sample-captures/clean-call/clean-call.pcap"
        ));
        st.views.current = View::Ladder;
        let h = harness(st);
        h.get_by_label("Select a call in the Calls view");
    }

    #[test]
    fn ladder_packet_view_escapes_hostile_headers() {
        let raw = b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: evil\r\nCSeq: 1 OPTIONS\r\nUser-Agent: x\x1b[31mred\r\nContent-Length: 4\r\n\r\nab\x1bc";
        let message =
            earshot_core::sip::parse_message(raw, &earshot_core::sip::SipLimits::default())
                .expect("parses");
        let rec = MessageRecord {
            index: 0,
            frame: 1,
            frames: vec![1],
            ts_nanos: 0,
            src: "10.0.0.1:5060".parse().unwrap(),
            dst: "10.0.0.2:5060".parse().unwrap(),
            transport: Transport::Udp,
            encapsulation: Encapsulation::default(),
            retransmission: false,
            retransmission_of: None,
            message,
            size: raw.len(),
        };
        let a = Analysis {
            messages: vec![rec],
            ..Default::default()
        };
        let mut st = AppState::new(Default::default(), Arc::new(|| {}));
        st.session.analysis = Some(Arc::new(a));
        st.session.complete = true;
        st.views.current = View::Traffic;
        st.session.sel.message = Some(0);
        let h = harness(st);
        h.get_by_label("frame 1");
        assert!(
            h.query_by_label_contains("\u{1b}").is_none(),
            "raw ESC shown"
        );
        assert!(h.query_by_label_contains("x\\u{1b}[31mred").is_some());
    }

    #[test]
    fn ladder_helpers() {
        assert_eq!(relative_time(1_234_567_890, 0), "+1.234");
        assert_eq!(relative_time(5, 5), "+0.000");
        let d = crate::gui::packet_ui::hex_dump(&[0x41; 20], 16);
        assert!(d.starts_with("00000000  41 41"));
        assert!(d.ends_with("… 4 more bytes"));
        assert!(d.contains("AAAAAAAAAAAAAAAA"));
    }

    #[test]
    fn ladder_shared_cursor_marker_and_arrow_click() {
        let mut st = loaded(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sample-captures/clean-call/clean-call.pcap"
        ));
        st.select_call(Some(0));
        st.views.current = View::Ladder;
        let a = st.session.analysis.clone().unwrap();
        let l = Ladder::for_calls(&a, &[0], Bounds::ALL);
        // The cursor at the 180 Ringing's time sits on that row's centre.
        let (row, ringing) = l
            .rows
            .iter()
            .enumerate()
            .find_map(|(i, r)| match r {
                Row::Message(m) if a.messages[*m].message.status() == Some(180) => Some((i, *m)),
                _ => None,
            })
            .unwrap();
        st.session.cursor = Some(a.messages[ringing].ts_nanos);
        let mut h = harness(st);
        let r = h.state().views.ladder.cursor_row.expect("cursor drawn");
        assert!((r - (row as f32 + 0.5)).abs() < 1e-3, "row {r} vs {row}");
        let label = h
            .get_by_label(&format!(
                "cursor {}",
                relative_time(a.messages[ringing].ts_nanos, l.t0)
            ))
            .rect();
        // The line (the label's bottom edge) is on the 180's row centre, whose label sits 0.15 rows above it.
        let msg = h.get_by_label("180 Ringing").rect();
        let row_h = h.state().views.ladder.row_height();
        assert!(
            (label.max.y - (msg.center().y + 0.15 * row_h)).abs() < 3.0,
            "cursor line at {} vs the 180's row centre {}",
            label.max.y,
            msg.center().y + 0.15 * row_h
        );
        // Clicking the ACK arrow moves the cursor to the ACK's time (frame 5 of the sample).
        h.get_by_label("ACK").click();
        h.run_steps(3);
        let ack = h.state().session.sel.message.unwrap();
        assert_eq!(a.messages[ack].frame, 5);
        assert_eq!(h.state().session.cursor, Some(a.messages[ack].ts_nanos));
        let ack_row = l.rows.iter().position(|r| *r == Row::Message(ack)).unwrap();
        let r = h.state().views.ladder.cursor_row.unwrap();
        assert!((r - (ack_row as f32 + 0.5)).abs() < 1e-3);
        // Outside the call's time span there is no marker.
        h.state_mut().session.cursor = Some(l.t0 - 1_000_000_000);
        h.run_steps(2);
        assert_eq!(h.state().views.ladder.cursor_row, None);
        assert_eq!(h.query_all_by_label_contains("cursor +").count(), 0);
    }

    #[test]
    fn ladder_arrow_keys_move_message_selection() {
        let mut st = loaded(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sample-captures/clean-call/clean-call.pcap"
        ));
        st.select_call(Some(0));
        st.views.current = View::Ladder;
        let a = st.session.analysis.clone().unwrap();
        let mut h = harness(st);
        // Messages in ladder order are the call's messages in time order; frames 1, 2, 3... in this sample.
        let frames = |h: &Harness<'static, AppState>| {
            a.messages[h.state().session.sel.message.unwrap()].frame
        };
        h.key_press(egui::Key::ArrowDown);
        h.run();
        assert_eq!(frames(&h), 1);
        h.key_press(egui::Key::ArrowDown);
        h.run();
        h.key_press(egui::Key::ArrowDown);
        h.run();
        assert_eq!(frames(&h), 3);
        h.key_press(egui::Key::ArrowUp);
        h.run();
        assert_eq!(frames(&h), 2);
        let m = h.state().session.sel.message.unwrap();
        assert_eq!(h.state().session.cursor, Some(a.messages[m].ts_nanos));
    }
}
