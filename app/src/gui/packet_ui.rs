//! The selected message: frame, time, addresses, encapsulation, the SIP text with header names highlighted, the
//! SDP decoded (key material never shown) and the body as a hex dump. Everything from the wire is escaped.

use earshot_core::model::{Encapsulation, Sdp, SipMessage, StartLine};
use earshot_core::report::terminal_safe;
use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, FontId};

use super::{Action, Cx};

/// Body bytes shown in the hex dump at most.
pub const MAX_DUMP_BYTES: usize = 64 * 1024;
/// Characters of one header value shown at most.
const MAX_VALUE_CHARS: usize = 2000;

pub fn packet_ui(ui: &mut egui::Ui, cx: &mut Cx) {
    let Some(a) = cx.analysis().cloned() else {
        return;
    };
    if let Some(r) = cx.session.sel.signal.and_then(|i| a.signals.get(i)) {
        signal_ui(ui, cx, r);
        return;
    }
    let Some(m) = cx.session.sel.message.and_then(|i| a.messages.get(i)) else {
        return;
    };
    egui::ScrollArea::vertical()
        .id_salt("packet")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(
                    egui::RichText::new(format!(
                        "frame {}",
                        earshot_core::model::frame_label(m.frame)
                    ))
                    .strong(),
                );
                if m.frames.len() > 1 {
                    ui.label(format!("(carried in frames {})", frames_text(&m.frames)));
                }
                ui.label(cx.time(m.ts_nanos));
                ui.label(format!("{} -> {}", m.src, m.dst));
                ui.label(match m.transport {
                    earshot_core::model::Transport::Tls => {
                        "TLS, decrypted (from the records of these frames)".to_string()
                    }
                    earshot_core::model::Transport::Wss => {
                        "WSS, decrypted (from the records of these frames)".to_string()
                    }
                    t => t.as_str().to_uppercase(),
                });
                ui.label(encapsulation_text(&m.encapsulation));
                ui.label(format!("{} bytes", m.size));
                if m.retransmission {
                    retransmission_label(ui, m.retransmission_of);
                }
                if ui.small_button("Close").clicked() {
                    cx.act(Action::SelectMessage(None));
                }
            });
            ui.separator();
            // The selected call's STIR/SHAKEN verification, on the INVITE that carried the Identity headers.
            if let Some(id) = cx
                .session
                .sel
                .call
                .and_then(|c| a.calls.get(c))
                .filter(|c| m.message.call_id.as_deref() == Some(c.call_id.as_str()))
                .and_then(|c| c.identity.as_ref())
                .filter(|id| id.frame == m.frame)
            {
                egui::CollapsingHeader::new("Caller identity (STIR/SHAKEN)")
                    .id_salt(("identity", m.index))
                    .default_open(true)
                    .show(ui, |ui| identity_ui(ui, cx, id, m.ts_nanos));
                ui.separator();
            }
            let mono = FontId::monospace(12.0);
            ui.label(sip_job(&m.message, ui.visuals(), &mono));
            if !m.message.warnings.is_empty() {
                for w in &m.message.warnings {
                    ui.label(
                        egui::RichText::new(format!("parser: {}", terminal_safe(w, 300)))
                            .color(ui.visuals().warn_fg_color),
                    );
                }
            }
            if let Some(sdp) = &m.message.sdp {
                ui.separator();
                egui::CollapsingHeader::new("SDP")
                    .id_salt(("sdp", m.index))
                    .default_open(true)
                    .show(ui, |ui| {
                        for line in sdp_lines(sdp) {
                            ui.label(line);
                        }
                    });
            }
            if !m.message.body.is_empty() {
                ui.separator();
                let body = &m.message.body;
                egui::CollapsingHeader::new(format!("Body ({} bytes)", body.len()))
                    .id_salt(("body", m.index))
                    .default_open(body.len() <= 4096)
                    .show(ui, |ui| {
                        ui.label(egui::RichText::new(hex_dump(body, MAX_DUMP_BYTES)).font(mono));
                    });
            }
        });
}

/// "retransmission of frame N" (or just "retransmission"), greyed, in a message's header line.
fn retransmission_label(ui: &mut egui::Ui, of: Option<earshot_core::model::FrameNo>) {
    ui.label(
        egui::RichText::new(match of {
            Some(f) => format!(
                "retransmission of frame {}",
                earshot_core::model::frame_label(f)
            ),
            None => "retransmission".to_string(),
        })
        .color(Color32::GRAY),
    );
}

/// An MGCP or MEGACO message: where and when, what the parser read (commands, context, digits, events, signals),
/// its session descriptions, and its text. All wire text escaped.
fn signal_ui(ui: &mut egui::Ui, cx: &mut Cx, r: &earshot_core::model::SignalRecord) {
    egui::ScrollArea::vertical()
        .id_salt("signal")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(
                    egui::RichText::new(format!(
                        "frame {}",
                        earshot_core::model::frame_label(r.frame)
                    ))
                    .strong(),
                );
                ui.label(cx.time(r.ts_nanos));
                ui.label(format!("{} -> {}", r.src, r.dst));
                ui.label(format!(
                    "{} over {}",
                    r.protocol.label(),
                    r.transport.as_str().to_uppercase()
                ));
                ui.label(format!("{} bytes", r.size));
                if r.retransmission {
                    retransmission_label(ui, r.retransmission_of);
                }
                if ui.small_button("Close").clicked() {
                    cx.act(Action::SelectSignal(None));
                }
            });
            ui.separator();
            let field = |ui: &mut egui::Ui, name: &str, value: &str| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(egui::RichText::new(name).strong());
                    ui.label(terminal_safe(value, 400));
                });
            };
            if let Some(t) = &r.transaction {
                field(ui, "Transaction", t);
            }
            if let Some(c) = &r.context {
                let name = match r.protocol {
                    earshot_core::model::Protocol::Mgcp => "CallId",
                    _ => "Context",
                };
                field(ui, name, c);
            }
            if let Some([source, dest]) = r.call_numbers {
                field(
                    ui,
                    "Call numbers",
                    &format!("source {source}, destination {dest}"),
                );
            }
            if let Some(code) = r.status {
                field(ui, "Status", &code.to_string());
            }
            for c in &r.commands {
                let mode = c
                    .mode
                    .as_deref()
                    .map(|m| format!(" (mode {m})"))
                    .unwrap_or_default();
                field(ui, &c.name, &format!("{}{mode}", c.target));
            }
            if !r.digits.is_empty() {
                field(ui, "Digits", &r.digits);
            }
            if let Some(c) = &r.caller_id {
                field(ui, "Caller ID", c);
            }
            if r.protocol == earshot_core::model::Protocol::Iax2 {
                // One information element a line: `called number=1000`.
                for e in &r.events {
                    let (name, value) = e.split_once('=').unwrap_or((e, ""));
                    field(ui, name, value);
                }
            } else if !r.events.is_empty() {
                field(ui, "Events", &r.events.join(", "));
            }
            if !r.signals.is_empty() {
                field(ui, "Signals", &r.signals.join(", "));
            }
            if let Some(agent) = &r.agent {
                field(ui, "Sender", agent);
            }
            for w in &r.warnings {
                ui.label(
                    egui::RichText::new(format!("parser: {}", terminal_safe(w, 300)))
                        .color(ui.visuals().warn_fg_color),
                );
            }
            for (i, s) in r.sdp.iter().enumerate() {
                ui.separator();
                egui::CollapsingHeader::new(format!(
                    "SDP ({} {})",
                    s.role,
                    terminal_safe(&s.target, 60)
                ))
                .id_salt(("signal-sdp", r.index, i))
                .default_open(true)
                .show(ui, |ui| {
                    for line in sdp_lines(&s.sdp) {
                        ui.label(line);
                    }
                });
            }
            ui.separator();
            ui.label(
                egui::RichText::new(terminal_safe(
                    &r.text,
                    earshot_core::model::SIGNAL_TEXT_BYTES,
                ))
                .font(FontId::monospace(12.0)),
            );
        });
}

/// The verdict, signer and reasons, then each PASSporT's claims and checks (all text from the wire escaped).
fn identity_ui(ui: &mut egui::Ui, cx: &Cx, id: &earshot_core::model::CallIdentity, invite_ts: i64) {
    use earshot_core::model::IdentityVerdict as V;
    let color = match id.verdict {
        V::Valid => ui.visuals().text_color(),
        V::InvalidSignature | V::ClaimsMismatch | V::Replayed | V::Stale => {
            ui.visuals().error_fg_color
        }
        _ => ui.visuals().warn_fg_color,
    };
    ui.label(
        egui::RichText::new(format!(
            "{} (attestation {})",
            id.verdict,
            id.attestation
                .as_deref()
                .map_or("none".to_string(), |a| terminal_safe(a, 4))
        ))
        .strong()
        .color(color),
    );
    if let Some(s) = &id.signer {
        ui.label(format!(
            "signed by {}, issued by {}",
            terminal_safe(&s.label(), 240),
            terminal_safe(&s.issuer, 200)
        ));
        if !s.tns.is_empty() {
            ui.label(format!(
                "certificate numbers: {}",
                terminal_safe(&s.tns.join(", "), 300)
            ));
        }
        ui.label(
            egui::RichText::new(format!("certificate SHA-256 {}", s.sha256)).color(Color32::GRAY),
        );
    }
    for r in &id.reasons {
        ui.label(egui::RichText::new(terminal_safe(r, 400)).color(color));
    }
    for p in &id.passports {
        ui.separator();
        let iat = p.iat.map_or("no iat".to_string(), |iat| {
            format!(
                "iat {} ({:+} s from the INVITE)",
                cx.time(iat.saturating_mul(1_000_000_000)),
                iat.saturating_sub(invite_ts.div_euclid(1_000_000_000))
            )
        });
        ui.label(
            egui::RichText::new(format!(
                "PASSporT {}: {}",
                if p.ppt.is_empty() {
                    "(base)".to_string()
                } else {
                    terminal_safe(&p.ppt, 20)
                },
                p.verdict
            ))
            .strong(),
        );
        ui.label(format!(
            "orig {} -> dest {}{}",
            p.orig
                .as_deref()
                .map_or("-".to_string(), |o| terminal_safe(o, 60)),
            terminal_safe(&p.dest.join(", "), 200),
            p.div.as_deref().map_or(String::new(), |d| format!(
                ", diverted from {}",
                terminal_safe(d, 60)
            ))
        ));
        ui.label(format!(
            "attest {}, {iat}, signature {}",
            p.attest
                .as_deref()
                .map_or("-".to_string(), |a| terminal_safe(a, 4)),
            match p.signature {
                earshot_core::model::SignatureCheck::Verified => "verified",
                earshot_core::model::SignatureCheck::Failed => "FAILED",
                earshot_core::model::SignatureCheck::Unchecked => "not checked",
            }
        ));
        if let Some(u) = &p.x5u {
            ui.label(
                egui::RichText::new(format!("certificate URL {}", terminal_safe(u, 300)))
                    .color(Color32::GRAY),
            );
        }
        if let Some(o) = &p.origid {
            ui.label(
                egui::RichText::new(format!("origid {}", terminal_safe(o, 80)))
                    .color(Color32::GRAY),
            );
        }
    }
}

/// `3, 4, 5` (at most 20 listed).
fn frames_text(frames: &[u64]) -> String {
    let mut s: Vec<String> = frames
        .iter()
        .take(20)
        .map(|f| earshot_core::model::frame_label(*f))
        .collect();
    if frames.len() > 20 {
        s.push(format!("… {} more", frames.len() - 20));
    }
    s.join(", ")
}

/// `no VLAN, no tunnel`, `VLAN 10 / 20, 1 tunnel layer`.
pub fn encapsulation_text(e: &Encapsulation) -> String {
    let vlan = if e.vlan_ids.is_empty() {
        "no VLAN".to_string()
    } else {
        let ids: Vec<String> = e.vlan_ids.iter().map(|v| v.to_string()).collect();
        format!("VLAN {}", ids.join(" / "))
    };
    let tunnel = match e.tunnel_depth {
        0 => "no tunnel".to_string(),
        1 => "1 tunnel layer".to_string(),
        n => format!("{n} tunnel layers"),
    };
    format!("{vlan}, {tunnel}")
}

/// The start line and headers, header names in a strong color, every string escaped.
pub fn sip_job(msg: &SipMessage, visuals: &egui::Visuals, font: &FontId) -> LayoutJob {
    let mut job = LayoutJob::default();
    let plain = TextFormat::simple(font.clone(), visuals.text_color());
    let strong = TextFormat::simple(
        font.clone(),
        if visuals.dark_mode {
            Color32::from_rgb(110, 190, 255)
        } else {
            Color32::from_rgb(20, 80, 170)
        },
    );
    let start = match &msg.start {
        StartLine::Request { method, uri } => format!(
            "{} {} SIP/2.0",
            terminal_safe(method, 100),
            terminal_safe(uri, MAX_VALUE_CHARS)
        ),
        StartLine::Response { code, reason } => {
            format!("SIP/2.0 {code} {}", terminal_safe(reason, 200))
        }
    };
    job.append(&start, 0.0, strong.clone());
    for (name, value) in &msg.headers {
        job.append("\n", 0.0, plain.clone());
        job.append(&terminal_safe(name, 100), 0.0, strong.clone());
        job.append(": ", 0.0, plain.clone());
        job.append(&terminal_safe(value, MAX_VALUE_CHARS), 0.0, plain.clone());
    }
    job
}

/// The SDP as readable lines: origin, session, and per media line the port, proto, codecs, direction, connection
/// address and crypto suites (never the keys).
pub fn sdp_lines(sdp: &Sdp) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(o) = &sdp.origin {
        out.push(format!(
            "origin: {} session {} version {} address {}",
            terminal_safe(&o.username, 60),
            terminal_safe(&o.session_id, 40),
            terminal_safe(&o.version, 40),
            terminal_safe(&o.address, 60)
        ));
    }
    if let Some(s) = &sdp.session_name {
        out.push(format!("session: {}", terminal_safe(s, 100)));
    }
    if let Some(c) = sdp.connection {
        out.push(format!("connection: {c}"));
    }
    if let Some(d) = &sdp.direction {
        out.push(format!("direction: {}", terminal_safe(d, 20)));
    }
    if !sdp.fingerprints.is_empty() {
        out.push(format!(
            "DTLS fingerprint: {} (session level)",
            sdp.fingerprints.len()
        ));
    }
    for m in &sdp.media {
        let codecs: Vec<String> = m
            .formats
            .iter()
            .map(|f| {
                let name = f.parse::<u8>().ok().and_then(|pt| {
                    m.rtpmaps.iter().find(|r| r.payload_type == pt).map(|r| {
                        let ch = r.channels.map_or(String::new(), |c| format!("/{c}"));
                        format!("{}/{}{ch}", terminal_safe(&r.encoding, 30), r.clock_rate_hz)
                    })
                });
                match name {
                    Some(n) => format!("{} {n}", terminal_safe(f, 10)),
                    None => terminal_safe(f, 30),
                }
            })
            .collect();
        let mut line = format!(
            "m={} port {} {} — {}",
            terminal_safe(&m.media, 30),
            m.port,
            terminal_safe(&m.proto, 40),
            codecs.join(", ")
        );
        let conn = m.connection.or(sdp.connection);
        if let Some(c) = conn {
            line.push_str(&format!(" — address {c}"));
        }
        line.push_str(&format!(
            " — {}",
            m.direction
                .as_deref()
                .or(sdp.direction.as_deref())
                .map_or("sendrecv (default)".to_string(), |d| terminal_safe(d, 20))
        ));
        if let Some(p) = m.rtcp_port {
            line.push_str(&format!(" — rtcp port {p}"));
        }
        if m.rtcp_mux {
            line.push_str(" — rtcp-mux");
        }
        if let Some(p) = m.ptime_ms {
            line.push_str(&format!(" — ptime {p} ms"));
        }
        out.push(line);
        for c in &m.crypto {
            // The key parameters are secret material: only the suite is shown.
            out.push(format!(
                "    crypto {}: {} (key present, not shown)",
                c.tag,
                terminal_safe(&c.suite, 60)
            ));
        }
        if !m.fingerprints.is_empty() {
            out.push(format!("    DTLS fingerprint: {}", m.fingerprints.len()));
        }
    }
    out
}

/// Hex + ASCII dump, 16 bytes a line, at most `max` bytes, then `… N more bytes`.
pub fn hex_dump(data: &[u8], max: usize) -> String {
    let shown = data.get(..max).unwrap_or(data);
    let mut out = String::with_capacity(shown.len() / 16 * 80 + 40);
    for (i, chunk) in shown.chunks(16).enumerate() {
        out.push_str(&format!("{:08x}  ", i * 16));
        for j in 0..16 {
            match chunk.get(j) {
                Some(b) => out.push_str(&format!("{b:02x} ")),
                None => out.push_str("   "),
            }
            if j == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        out.extend(chunk.iter().map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    if data.len() > shown.len() {
        out.push_str(&format!("… {} more bytes", data.len() - shown.len()));
    } else {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_packet_sdp_shows_suite_not_key() {
        let body = b"v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\na=sendonly\r\n";
        let sdp = earshot_core::sip::sdp::parse_sdp(body).expect("parses");
        let text = sdp_lines(&sdp).join("\n");
        assert!(text.contains("AES_CM_128_HMAC_SHA1_80"), "{text}");
        assert!(
            !text.contains("inline:") && !text.contains("WVNf"),
            "{text}"
        );
        assert!(text.contains("0 PCMU/8000"), "{text}");
        assert!(text.contains("101 telephone-event/8000"), "{text}");
        assert!(text.contains("sendonly"), "{text}");
        assert!(text.contains("port 4000 RTP/SAVP"), "{text}");
        assert!(text.contains("address 10.0.0.1"), "{text}");
    }

    #[test]
    fn ladder_packet_encapsulation_and_dump() {
        let e = Encapsulation {
            vlan_ids: vec![10, 20],
            tunnel_depth: 1,
        };
        assert_eq!(encapsulation_text(&e), "VLAN 10 / 20, 1 tunnel layer");
        let d = hex_dump(b"ab\x1bc", MAX_DUMP_BYTES);
        assert!(!d.contains('\u{1b}'));
        assert!(d.ends_with("ab.c"), "{d}");
        assert_eq!(hex_dump(&[0; 32], MAX_DUMP_BYTES).lines().count(), 2);
    }
}
