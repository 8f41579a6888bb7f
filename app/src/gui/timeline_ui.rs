//! The timeline: calls and findings over time, one lane per capture point (a single capture is one lane).
//! Each call is a bar from its INVITE to its end, in every lane whose files hold its frames; concurrent calls
//! stack. Findings are ticks at their first time. Ctrl+wheel or the slider zooms; a click selects the call, a
//! double click opens its ladder.

use std::collections::BTreeMap;

use earshot_core::model::{Analysis, Severity};
use earshot_core::report::terminal_safe;
use egui::{Color32, FontId, Pos2, Rect, Sense, Stroke, Vec2};

use super::{Action, Cx, View};

/// Left margin for lane names.
const LABEL_W: f32 = 140.0;
const BAR_H: f32 = 14.0;
const ROW_GAP: f32 = 3.0;
const LANE_GAP: f32 = 18.0;
/// Rows of stacked calls drawn per lane (the rest counted).
pub const MAX_ROWS: usize = 400;

/// The timeline's zoom (pixels per second; 0 = fit the window).
#[derive(Debug, Default)]
pub struct TimelineView {
    pub px_per_sec: f32,
}

/// One lane: a capture point and its calls packed into rows.
#[derive(Debug, Default)]
pub struct Lane {
    pub name: String,
    /// Rows of (call index, start, end), no two overlapping in a row.
    pub rows: Vec<Vec<(usize, i64, i64)>>,
    /// Calls that did not fit in [`MAX_ROWS`] rows.
    pub hidden: usize,
}

/// The lanes of an analysis: one per capture point of a case, else one.
pub fn lanes(a: &Analysis) -> Vec<Lane> {
    let names: Vec<String> = match &a.case {
        Some(c) if !c.points.is_empty() => (0..c.points.len())
            .map(|p| c.point_label(p).to_string())
            .collect(),
        _ => vec![String::from("capture")],
    };
    let mut per_lane: BTreeMap<usize, Vec<(usize, i64, i64)>> = BTreeMap::new();
    for (i, c) in a.calls.iter().enumerate().filter(|(_, c)| c.kind.is_call()) {
        let end = c.end_ts_nanos.max(c.start_ts_nanos);
        let mut points: Vec<usize> = match &a.case {
            Some(case) => case
                .call_files(c, &a.streams)
                .iter()
                .filter_map(|&n| case.point_of(n))
                .collect(),
            None => vec![0],
        };
        points.sort_unstable();
        points.dedup();
        for p in points {
            per_lane
                .entry(p)
                .or_default()
                .push((i, c.start_ts_nanos, end));
        }
    }
    names
        .into_iter()
        .enumerate()
        .map(|(p, name)| {
            let mut calls = per_lane.remove(&p).unwrap_or_default();
            calls.sort_by_key(|&(i, s, _)| (s, i));
            let mut lane = Lane {
                name,
                ..Lane::default()
            };
            for call in calls {
                let free = lane
                    .rows
                    .iter()
                    .position(|r| r.last().is_none_or(|l| l.2 < call.1));
                let full = lane.rows.len() >= MAX_ROWS;
                match free.and_then(|i| lane.rows.get_mut(i)) {
                    Some(r) => r.push(call),
                    None if !full => lane.rows.push(vec![call]),
                    None => lane.hidden += 1,
                }
            }
            lane
        })
        .collect()
}

/// The zoom slider, Fit and the legend, and Ctrl+wheel over the view; the pixels per second to draw with.
fn zoom_ui(ui: &mut egui::Ui, view: &mut TimelineView, fit: f32, legend: &str) -> f32 {
    ui.horizontal(|ui| {
        let mut px = if view.px_per_sec <= 0.0 {
            fit
        } else {
            view.px_per_sec
        };
        if ui
            .add(
                egui::Slider::new(&mut px, (fit / 4.0)..=(fit * 2000.0).max(fit * 4.0))
                    .logarithmic(true)
                    .text("px per second (Ctrl+wheel)"),
            )
            .changed()
        {
            view.px_per_sec = px;
        }
        if ui.button("Fit").clicked() {
            view.px_per_sec = 0.0;
        }
        ui.label(legend);
    });
    if ui.ui_contains_pointer() {
        let zoom = ui.input(|i| i.zoom_delta());
        if zoom != 1.0 {
            let cur = if view.px_per_sec <= 0.0 {
                fit
            } else {
                view.px_per_sec
            };
            view.px_per_sec = (cur * zoom).clamp(fit / 4.0, fit * 2000.0);
        }
    }
    if view.px_per_sec <= 0.0 {
        fit
    } else {
        view.px_per_sec
    }
}

/// The line beside the zoom: what is drawn and what the colours mean.
fn legend(a: &Analysis, lanes: usize, findings: usize) -> String {
    format!(
        "{lanes} lane(s), {} calls, {findings} findings; bars: calls (red: a high finding, orange: medium, blue: \
         answered, grey: not answered), ticks: findings",
        a.calls.iter().filter(|c| c.kind.is_call()).count(),
    )
}

/// The worst severity of the findings on each call (it colours the call's bar).
fn worst_severities(
    findings: &[earshot_core::model::Finding],
) -> std::collections::HashMap<&str, Severity> {
    let mut worst: std::collections::HashMap<&str, Severity> = std::collections::HashMap::new();
    for f in findings {
        for id in &f.call_ids {
            let e = worst.entry(id.as_str()).or_insert(f.severity);
            *e = (*e).max(f.severity);
        }
    }
    worst
}

pub fn timeline_ui(ui: &mut egui::Ui, cx: &mut Cx, view: &mut TimelineView) {
    let Some(a) = cx.analysis().cloned() else {
        return;
    };
    let lanes = lanes(&a);
    let (Some(t0), Some(t1)) = (a.capture.first_ts_nanos, a.capture.last_ts_nanos) else {
        ui.label("No packets");
        return;
    };
    let span = ((t1 - t0) as f32 / 1e9).max(1.0);
    let fit = ((ui.available_width() - LABEL_W - 20.0) / span).max(0.001);
    let px = zoom_ui(
        ui,
        view,
        fit,
        &legend(&a, lanes.len(), cx.session.findings().len()),
    );
    let worst = worst_severities(cx.session.findings());
    let rows_h: f32 = lanes
        .iter()
        .map(|l| l.rows.len().max(1) as f32 * (BAR_H + ROW_GAP) + LANE_GAP + 14.0)
        .sum();
    let width = LABEL_W + span * px + 40.0;
    let mut clicked = None;
    let mut opened = None;
    egui::ScrollArea::both()
        .id_salt("timeline")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let (resp, painter) =
                ui.allocate_painter(Vec2::new(width, rows_h + 30.0), Sense::click());
            let origin = resp.rect.min;
            let x_of = |ts: i64| origin.x + LABEL_W + (ts - t0) as f32 / 1e9 * px;
            let visuals = ui.visuals().clone();
            let font = FontId::proportional(11.0);
            // Time axis: about one tick per 100 px, at a round step.
            let step = [
                1.0f32, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
                21600.0,
            ]
            .into_iter()
            .find(|s| s * px >= 100.0)
            .unwrap_or(86400.0);
            let mut t = 0.0f32;
            while t <= span {
                let x = origin.x + LABEL_W + t * px;
                painter.line_segment(
                    [
                        Pos2::new(x, origin.y + 14.0),
                        Pos2::new(x, origin.y + rows_h + 20.0),
                    ],
                    Stroke::new(0.5, visuals.weak_text_color().gamma_multiply(0.4)),
                );
                painter.text(
                    Pos2::new(x + 2.0, origin.y),
                    egui::Align2::LEFT_TOP,
                    format!("+{t:.0} s"),
                    font.clone(),
                    visuals.weak_text_color(),
                );
                t += step;
            }
            let pointer = resp.hover_pos();
            let mut y = origin.y + 20.0;
            for lane in &lanes {
                painter.text(
                    Pos2::new(origin.x + 4.0, y),
                    egui::Align2::LEFT_TOP,
                    terminal_safe(&lane.name, 30),
                    FontId::proportional(12.0),
                    visuals.strong_text_color(),
                );
                if lane.hidden > 0 {
                    painter.text(
                        Pos2::new(origin.x + 4.0, y + 14.0),
                        egui::Align2::LEFT_TOP,
                        format!("+{} calls not drawn", lane.hidden),
                        font.clone(),
                        visuals.weak_text_color(),
                    );
                }
                for row in &lane.rows {
                    for &(i, s, e) in row {
                        let Some(c) = a.calls.get(i) else { continue };
                        let rect = Rect::from_min_max(
                            Pos2::new(x_of(s), y),
                            Pos2::new(x_of(e).max(x_of(s) + 3.0), y + BAR_H),
                        );
                        let mut fill = match worst.get(c.call_id.as_str()) {
                            Some(Severity::High | Severity::Critical) => {
                                visuals.error_fg_color.gamma_multiply(0.8)
                            }
                            Some(Severity::Medium) => Color32::from_rgb(200, 120, 30),
                            _ if c.answered => Color32::from_rgb(70, 130, 180),
                            _ => visuals.weak_text_color().gamma_multiply(0.6),
                        };
                        if cx.session.sel.call == Some(i) {
                            fill = visuals.selection.bg_fill;
                        }
                        painter.rect_filled(rect, 2.0, fill);
                        if rect.width() > 60.0 {
                            let who =
                                c.to.as_ref()
                                    .map(|n| n.user.clone().unwrap_or_else(|| n.uri.clone()))
                                    .unwrap_or_default();
                            painter.text(
                                rect.left_center() + Vec2::new(3.0, 0.0),
                                egui::Align2::LEFT_CENTER,
                                terminal_safe(&who, 30),
                                font.clone(),
                                Color32::WHITE,
                            );
                        }
                        if let Some(p) = pointer
                            && rect.contains(p)
                        {
                            let tip = format!(
                                "{} → {}\n{}\n{}",
                                c.from
                                    .as_ref()
                                    .map_or("?".into(), |n| terminal_safe(&n.uri, 60)),
                                c.to.as_ref()
                                    .map_or("?".into(), |n| terminal_safe(&n.uri, 60)),
                                terminal_safe(&c.call_id, 80),
                                cx.time(c.start_ts_nanos)
                            );
                            resp.clone().on_hover_text_at_pointer(tip);
                            if resp.clicked() {
                                clicked = Some(i);
                            }
                            if resp.double_clicked() {
                                opened = Some(i);
                            }
                        }
                    }
                    y += BAR_H + ROW_GAP;
                }
                if lane.rows.is_empty() {
                    y += BAR_H + ROW_GAP;
                }
                y += LANE_GAP;
            }
            // Findings: a tick at their first time across all lanes.
            for f in cx.session.findings() {
                let Some(ts) = f.first_ts_nanos else { continue };
                let x = x_of(ts);
                painter.line_segment(
                    [Pos2::new(x, origin.y + 14.0), Pos2::new(x, origin.y + 20.0)],
                    Stroke::new(2.0, visuals.error_fg_color),
                );
            }
        });
    if let Some(i) = clicked.or(opened) {
        cx.act(Action::SelectCall(Some(i)));
    }
    if opened.is_some() {
        cx.act(Action::SetView(View::Ladder));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_calls_stack_and_sequential_ones_share_a_row() {
        // DTMF2: a declined call, then an answered one after it ends: one row.
        let path = super::super::calls_ui::tests::dtmf2();
        let a = earshot_core::analyze_file(&path, &Default::default(), &mut |_| {}).unwrap();
        let l = lanes(&a);
        assert_eq!(l.len(), 1);
        let calls: usize = l[0].rows.iter().map(Vec::len).sum();
        assert_eq!(calls, a.calls.iter().filter(|c| c.kind.is_call()).count());
        for row in &l[0].rows {
            assert!(
                row.windows(2).all(|w| w[0].2 < w[1].1),
                "no overlap within a row"
            );
        }
    }

    #[test]
    fn a_call_seen_at_two_capture_points_is_in_both_lanes() {
        // tests/case: three calls captured on both sides of a router; the B2BUA captures: each leg on one side.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/");
        let open = |a: &str, b: &str| {
            earshot_core::case::Source::from_inputs(
                &[format!("{dir}{a}").into(), format!("{dir}{b}").into()],
                Default::default(),
            )
            .unwrap()
            .analyze(&Default::default(), &mut |_| {})
            .unwrap()
        };
        let a = open(
            "case/captures/twopoint-a.pcap",
            "case/captures/twopoint-b.pcapng",
        );
        let l = lanes(&a);
        assert_eq!(l.len(), 2);
        for lane in &l {
            assert_eq!(
                lane.rows.iter().map(Vec::len).sum::<usize>(),
                3,
                "{}",
                lane.name
            );
        }
        let a = open(
            "b2bua/captures/hdr-outer.pcap",
            "b2bua/captures/hdr-inner.pcap",
        );
        let l = lanes(&a);
        let outer: Vec<&str> = l[0]
            .rows
            .iter()
            .flatten()
            .map(|&(i, _, _)| a.calls[i].call_id.as_str())
            .collect();
        assert_eq!(outer.len(), 3);
        assert!(outer.iter().all(|id| !id.starts_with("!!")), "{outer:?}");
    }
}
