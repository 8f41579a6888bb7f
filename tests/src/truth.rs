//! Parser for the TShark ground-truth files (`truth/<capture>.txt`, see the shared MANIFEST.md).

use std::path::Path;

/// One row of a `-z rtp,streams` table.
#[derive(Debug, Clone, PartialEq)]
pub struct RtpStreamTruth {
    pub src: String,
    pub src_port: u16,
    pub dst: String,
    pub dst_port: u16,
    pub ssrc: u32,
    pub payload: String,
    pub packets: u64,
    pub lost: i64,
    pub max_delta_ms: f64,
    pub mean_jitter_ms: f64,
    pub max_jitter_ms: f64,
}

/// The figures the tests compare with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Truth {
    pub frames: u64,
    /// Section 2: "Number of SIP messages".
    pub sip_messages: u64,
    /// Section 2: "Number of resent SIP messages".
    pub sip_resent: u64,
    /// Section 5.
    pub call_ids: u64,
    pub invite_dialogs: u64,
    pub answered: u64,
    /// Section 2 (SDP-announced streams).
    pub sdp_streams: Vec<RtpStreamTruth>,
    /// Section 7 (heuristic RTP).
    pub heuristic_streams: Vec<RtpStreamTruth>,
}

fn after_colon_u64(line: &str) -> Option<u64> {
    line.rsplit(':').next()?.trim().parse().ok()
}

fn parse_stream_row(line: &str) -> Option<RtpStreamTruth> {
    // Start End SrcIP SrcPort DstIP DstPort SSRC Payload... Pkts Lost (pct) MinDelta MeanDelta MaxDelta MinJit MeanJit MaxJit [X]
    let toks: Vec<&str> = line.split_whitespace().collect();
    if toks.len() < 16 || !toks.get(6)?.starts_with("0x") {
        return None;
    }
    let ssrc = u32::from_str_radix(toks.get(6)?.trim_start_matches("0x"), 16).ok()?;
    // The payload column may contain spaces ("g711A, telephone-event"): find "Pkts" as the token before "Lost",
    // which is followed by "(N%)".
    let pct_idx = toks
        .iter()
        .position(|t| t.starts_with('(') && t.ends_with("%)"))?;
    let lost: i64 = toks.get(pct_idx - 1)?.parse().ok()?;
    let packets: u64 = toks.get(pct_idx - 2)?.parse().ok()?;
    let payload = toks.get(7..pct_idx - 2)?.join(" ");
    let nums: Vec<f64> = toks
        .get(pct_idx + 1..pct_idx + 7)?
        .iter()
        .map(|t| t.parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    Some(RtpStreamTruth {
        src: toks.get(2)?.to_string(),
        src_port: toks.get(3)?.parse().ok()?,
        dst: toks.get(4)?.to_string(),
        dst_port: toks.get(5)?.parse().ok()?,
        ssrc,
        payload,
        packets,
        lost,
        max_delta_ms: *nums.get(2)?,
        mean_jitter_ms: *nums.get(4)?,
        max_jitter_ms: *nums.get(5)?,
    })
}

impl Truth {
    pub fn parse(text: &str) -> Truth {
        let mut t = Truth::default();
        let mut section = 0u32;
        let mut in_streams = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("## ") {
                section = rest
                    .split('.')
                    .next()
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or(section);
                in_streams = false;
                continue;
            }
            let l = line.trim();
            match section {
                1 if l.starts_with("Number of packets:") && t.frames == 0 => {
                    t.frames = after_colon_u64(l).unwrap_or(0);
                }
                2 | 7 => {
                    if l.starts_with("=====") && l.contains("RTP Streams") {
                        in_streams = true;
                        continue;
                    }
                    if l.starts_with("=====") {
                        in_streams = false;
                        continue;
                    }
                    if in_streams {
                        if let Some(row) = parse_stream_row(l) {
                            if section == 2 {
                                t.sdp_streams.push(row);
                            } else {
                                t.heuristic_streams.push(row);
                            }
                        }
                        continue;
                    }
                    if section == 2 {
                        if l.starts_with("Number of SIP messages:") {
                            t.sip_messages = after_colon_u64(l).unwrap_or(0);
                        } else if l.starts_with("Number of resent SIP messages:") {
                            t.sip_resent = after_colon_u64(l).unwrap_or(0);
                        }
                    }
                }
                5 => {
                    if l.starts_with("Distinct Call-IDs:") {
                        t.call_ids = after_colon_u64(l).unwrap_or(0);
                    } else if l.starts_with("Call-IDs containing an INVITE request") {
                        t.invite_dialogs = after_colon_u64(l).unwrap_or(0);
                    } else if l.starts_with("of which answered") {
                        t.answered = after_colon_u64(l).unwrap_or(0);
                    }
                }
                _ => {}
            }
        }
        t
    }

    /// The truth file for a capture in the shared directory.
    pub fn for_capture(capture: &Path) -> Truth {
        let name = capture
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let path = capture
            .parent()
            .unwrap_or(Path::new("."))
            .join("truth")
            .join(format!("{name}.txt"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read truth file {}: {e}", path.display()));
        Truth::parse(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_dtmf_truth() {
        let t = Truth::for_capture(&crate::captures_dir().join("SIP_DTMF2.cap"));
        assert_eq!(t.frames, 1360);
        assert_eq!(t.sip_messages, 29);
        assert_eq!(t.sip_resent, 0);
        assert_eq!(t.call_ids, 5);
        assert_eq!(t.invite_dialogs, 2);
        assert_eq!(t.answered, 1);
        assert_eq!(t.sdp_streams.len(), 2);
        let s = &t.sdp_streams[0];
        assert_eq!(s.ssrc, 0x5711BF84);
        assert_eq!(s.payload, "g711A, telephone-event");
        assert_eq!(s.packets, 666);
        assert_eq!(s.lost, 0);
        assert!((s.max_jitter_ms - 15.767).abs() < 1e-9);
        assert_eq!(t.sdp_streams[1].lost, 2);
        assert_eq!(t.heuristic_streams.len(), 2);
    }
}
