//! SCTP chunks: DATA chunks (and I-DATA) carrying SIP, with fragment reassembly by TSN within a stream.
//!
//! Unfragmented user messages (B and E flags set) are delivered at once. Fragments are kept per association
//! direction, stream and ordering (and message id for I-DATA) and joined when a run `B .. E` of consecutive TSNs
//! (I-DATA: fragment sequence numbers) is present. Duplicate DATA chunks (SCTP retransmissions, same TSN as one
//! of the last TSNs seen in that direction) are ignored. Every store is bounded.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use crate::model::{DiagLevel, Diagnostic, FrameNo, Layer, PacketMeta, Transport};
use crate::transport::{AppMessage, SipFraming, frame_sip, keepalive_len, starts_like_sip};

/// Chunk type of DATA.
pub const CHUNK_DATA: u8 = 0;
/// Chunk type of I-DATA (RFC 8260).
pub const CHUNK_IDATA: u8 = 64;

/// Association directions (and fragment keys) tracked at once.
const MAX_KEYS: usize = 4096;
/// Fragments held per message being reassembled.
const MAX_FRAGMENTS: usize = 512;
/// Largest reassembled user message.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// TSNs remembered per direction to recognise retransmitted DATA chunks.
const RECENT_TSNS: usize = 128;
/// Largest SIP header block when splitting concatenated messages.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// (source, destination, stream id, unordered, I-DATA message id).
type FragKey = (SocketAddr, SocketAddr, u16, bool, Option<u32>);

#[derive(Debug)]
struct Fragment {
    /// TSN for DATA, fragment sequence number for I-DATA.
    order: u32,
    begin: bool,
    end: bool,
    frame: FrameNo,
    data: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct SctpReassembler {
    fragments: BTreeMap<FragKey, Vec<Fragment>>,
    recent: BTreeMap<(SocketAddr, SocketAddr), VecDeque<u32>>,
    /// DATA / I-DATA chunks seen.
    pub data_chunks: u64,
    /// Duplicate DATA chunks ignored.
    pub duplicate_chunks: u64,
}

/// One user-data chunk, decoded.
struct UserData<'a> {
    tsn: u32,
    stream: u16,
    unordered: bool,
    begin: bool,
    end: bool,
    /// I-DATA: (message id, fragment sequence number).
    idata: Option<(u32, u32)>,
    data: &'a [u8],
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    let s: [u8; 4] = b.get(at..end)?.try_into().ok()?;
    Some(u32::from_be_bytes(s))
}

fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    let end = at.checked_add(2)?;
    let s: [u8; 2] = b.get(at..end)?.try_into().ok()?;
    Some(u16::from_be_bytes(s))
}

fn parse_user_data(ctype: u8, flags: u8, chunk: &[u8]) -> Option<UserData<'_>> {
    let unordered = flags & 0x04 != 0;
    let begin = flags & 0x02 != 0;
    let end = flags & 0x01 != 0;
    let tsn = be_u32(chunk, 4)?;
    let stream = be_u16(chunk, 8)?;
    if ctype == CHUNK_DATA {
        Some(UserData {
            tsn,
            stream,
            unordered,
            begin,
            end,
            idata: None,
            data: chunk.get(16..)?,
        })
    } else {
        let mid = be_u32(chunk, 12)?;
        // The field after the MID is the PPID on a first fragment and the FSN otherwise (first FSN is 0).
        let fsn = if begin { 0 } else { be_u32(chunk, 16)? };
        Some(UserData {
            tsn,
            stream,
            unordered,
            begin,
            end,
            idata: Some((mid, fsn)),
            data: chunk.get(20..)?,
        })
    }
}

impl SctpReassembler {
    /// Feed the chunk bytes of one SCTP packet. Complete user messages that look like SIP go to `out`
    /// (split into single SIP messages if several are concatenated).
    pub fn push(
        &mut self,
        meta: PacketMeta,
        chunks: &[u8],
        out: &mut Vec<AppMessage>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let frame = meta.frame;
        let mut offset = 0usize;
        while offset < chunks.len() {
            let rest = chunks.get(offset..).unwrap_or_default();
            let (Some(&ctype), Some(&flags), Some(len)) =
                (rest.first(), rest.get(1), be_u16(rest, 2))
            else {
                diags.push(Diagnostic::new(
                    Some(frame),
                    Layer::Sctp,
                    DiagLevel::Warning,
                    format!("SCTP chunk header truncated at offset {offset}"),
                ));
                return;
            };
            let len = usize::from(len);
            let min_len = match ctype {
                CHUNK_DATA => 16,
                CHUNK_IDATA => 20,
                _ => 4,
            };
            let Some(chunk) = rest.get(..len).filter(|_| len >= min_len) else {
                diags.push(Diagnostic::new(
                    Some(frame),
                    Layer::Sctp,
                    DiagLevel::Warning,
                    format!(
                        "SCTP chunk type {ctype} at offset {offset} has a bad length {len} ({} bytes left)",
                        rest.len()
                    ),
                ));
                return;
            };
            if (ctype == CHUNK_DATA || ctype == CHUNK_IDATA)
                && let Some(ud) = parse_user_data(ctype, flags, chunk)
            {
                self.user_data(meta, ud, out, diags);
            }
            // Chunks are padded to 4 bytes; the last chunk's padding may be missing.
            let padded = len.saturating_add(3) & !3;
            offset = offset.saturating_add(padded);
        }
    }

    fn user_data(
        &mut self,
        meta: PacketMeta,
        ud: UserData<'_>,
        out: &mut Vec<AppMessage>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let PacketMeta {
            frame,
            ts_nanos,
            src,
            dst,
        } = meta;
        self.data_chunks = self.data_chunks.saturating_add(1);
        // Retransmitted chunk?
        if !self.recent.contains_key(&(src, dst)) && self.recent.len() >= MAX_KEYS {
            self.recent.pop_first();
        }
        let recent = self.recent.entry((src, dst)).or_default();
        if recent.contains(&ud.tsn) {
            self.duplicate_chunks = self.duplicate_chunks.saturating_add(1);
            return;
        }
        if recent.len() >= RECENT_TSNS {
            recent.pop_front();
        }
        recent.push_back(ud.tsn);

        if ud.begin && ud.end {
            emit(frame, ts_nanos, src, dst, ud.data, vec![frame], out);
            return;
        }
        let (key, order) = match ud.idata {
            Some((mid, fsn)) => ((src, dst, ud.stream, ud.unordered, Some(mid)), fsn),
            None => ((src, dst, ud.stream, ud.unordered, None), ud.tsn),
        };
        if !self.fragments.contains_key(&key)
            && self.fragments.len() >= MAX_KEYS
            && let Some((old, frags)) = self.fragments.pop_first()
        {
            diags.push(Diagnostic::new(
                Some(frame),
                Layer::Sctp,
                DiagLevel::Warning,
                format!(
                    "SCTP reassembly limit: dropped {} fragments of stream {} {} -> {}",
                    frags.len(),
                    old.2,
                    old.0,
                    old.1
                ),
            ));
        }
        let frags = self.fragments.entry(key).or_default();
        let held: usize = frags.iter().map(|f| f.data.len()).sum();
        if frags.len() >= MAX_FRAGMENTS || held.saturating_add(ud.data.len()) > MAX_MESSAGE_BYTES {
            diags.push(Diagnostic::new(
                Some(frame),
                Layer::Sctp,
                DiagLevel::Warning,
                format!(
                    "SCTP fragmented message on stream {} {src} -> {dst} over the reassembly limit; dropped",
                    ud.stream
                ),
            ));
            self.fragments.remove(&key);
            return;
        }
        frags.push(Fragment {
            order,
            begin: ud.begin,
            end: ud.end,
            frame,
            data: ud.data.to_vec(),
        });
        // Try to assemble a run B, B+1, ..., E.
        let Some(run) = find_run(frags) else {
            return;
        };
        let mut data = Vec::new();
        let mut frames = Vec::new();
        for idx in &run {
            if let Some(f) = frags.get(*idx) {
                data.extend_from_slice(&f.data);
                frames.push(f.frame);
            }
        }
        let mut run_sorted = run;
        run_sorted.sort_unstable_by(|a, b| b.cmp(a));
        for idx in run_sorted {
            if idx < frags.len() {
                frags.swap_remove(idx);
            }
        }
        if frags.is_empty() {
            self.fragments.remove(&key);
        }
        frames.sort_unstable();
        frames.dedup();
        emit(frame, ts_nanos, src, dst, &data, frames, out);
    }

    /// Fragments still waiting for the rest of their message.
    pub fn pending_fragments(&self) -> usize {
        self.fragments.values().map(Vec::len).sum()
    }
}

/// Indices (in message order) of a complete run of fragments `B .. E`, if there is one.
fn find_run(frags: &[Fragment]) -> Option<Vec<usize>> {
    for (bi, b) in frags.iter().enumerate() {
        if !b.begin {
            continue;
        }
        let mut run = vec![bi];
        let mut cur = b;
        while !cur.end {
            let want = cur.order.wrapping_add(1);
            let (i, f) = frags
                .iter()
                .enumerate()
                .find(|(_, f)| f.order == want && !f.begin)?;
            run.push(i);
            cur = f;
            if run.len() > frags.len() {
                return None;
            }
        }
        return Some(run);
    }
    None
}

/// Deliver one user message: each SIP message in it becomes an [`AppMessage`].
fn emit(
    frame: FrameNo,
    ts_nanos: i64,
    src: SocketAddr,
    dst: SocketAddr,
    data: &[u8],
    frames: Vec<FrameNo>,
    out: &mut Vec<AppMessage>,
) {
    let mut rest = data.get(keepalive_len(data)..).unwrap_or_default();
    while starts_like_sip(rest) {
        // A message-oriented transport: the last (or only) message extends to the end of the user message.
        let n = match frame_sip(rest, MAX_HEADER_BYTES) {
            SipFraming::Complete(n) if n < rest.len() => {
                let after = rest.get(n..).unwrap_or_default();
                let after = after.get(keepalive_len(after)..).unwrap_or_default();
                if starts_like_sip(after) {
                    n
                } else {
                    rest.len()
                }
            }
            _ => rest.len(),
        };
        let (msg, tail) = rest.split_at_checked(n).unwrap_or((rest, &[]));
        out.push(AppMessage {
            proto: crate::transport::AppProto::Sip,
            transport: Transport::Sctp,
            src,
            dst,
            frame,
            ts_nanos,
            frames: frames.clone(),
            data: msg.to_vec(),
        });
        rest = tail.get(keepalive_len(tail)..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn data_chunk(tsn: u32, stream: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut c = vec![CHUNK_DATA, flags];
        c.extend_from_slice(&(len as u16).to_be_bytes());
        c.extend_from_slice(&tsn.to_be_bytes());
        c.extend_from_slice(&stream.to_be_bytes());
        c.extend_from_slice(&0u16.to_be_bytes());
        c.extend_from_slice(&0u32.to_be_bytes());
        c.extend_from_slice(payload);
        while c.len() % 4 != 0 {
            c.push(0);
        }
        c
    }

    fn idata_chunk(tsn: u32, mid: u32, fsn: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let len = 20 + payload.len();
        let mut c = vec![CHUNK_IDATA, flags];
        c.extend_from_slice(&(len as u16).to_be_bytes());
        c.extend_from_slice(&tsn.to_be_bytes());
        c.extend_from_slice(&1u16.to_be_bytes());
        c.extend_from_slice(&0u16.to_be_bytes());
        c.extend_from_slice(&mid.to_be_bytes());
        c.extend_from_slice(&fsn.to_be_bytes());
        c.extend_from_slice(payload);
        while c.len() % 4 != 0 {
            c.push(0);
        }
        c
    }

    const INVITE: &[u8] =
        b"INVITE sip:bob@example.com SIP/2.0\r\nCall-ID: a\r\nContent-Length: 3\r\n\r\nabc";
    const TRYING: &[u8] = b"SIP/2.0 100 Trying\r\nCall-ID: a\r\nContent-Length: 0\r\n\r\n";

    fn run(
        r: &mut SctpReassembler,
        frame: FrameNo,
        chunks: &[u8],
    ) -> (Vec<AppMessage>, Vec<Diagnostic>) {
        let mut out = Vec::new();
        let mut diags = Vec::new();
        let meta = PacketMeta {
            frame,
            ts_nanos: 0,
            src: addr("10.0.0.1:5060"),
            dst: addr("10.0.0.2:5060"),
        };
        r.push(meta, chunks, &mut out, &mut diags);
        (out, diags)
    }

    #[test]
    fn single_data_chunk() {
        let mut r = SctpReassembler::default();
        let (out, diags) = run(&mut r, 1, &data_chunk(10, 0, 0x03, INVITE));
        assert!(diags.is_empty());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, INVITE);
        assert_eq!(out[0].transport, Transport::Sctp);
        assert_eq!(out[0].frames, vec![1]);
    }

    #[test]
    fn bundled_chunks_with_other_chunk_types() {
        let mut r = SctpReassembler::default();
        let mut pkt = vec![3u8, 0, 0, 16]; // SACK with 12 bytes of body
        pkt.extend_from_slice(&[0; 12]);
        pkt.extend(data_chunk(1, 0, 0x03, INVITE));
        pkt.extend(data_chunk(2, 0, 0x03, TRYING));
        pkt.extend(data_chunk(3, 0, 0x03, b"not sip at all"));
        let (out, diags) = run(&mut r, 7, &pkt);
        assert!(diags.is_empty());
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].data, TRYING);
    }

    #[test]
    fn concatenated_sip_messages_split() {
        let mut r = SctpReassembler::default();
        let mut both = INVITE.to_vec();
        both.extend_from_slice(TRYING);
        let (out, _) = run(&mut r, 1, &data_chunk(1, 0, 0x03, &both));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data, INVITE);
        assert_eq!(out[1].data, TRYING);
    }

    #[test]
    fn fragmented_data_reassembly_out_of_order_and_duplicates() {
        let mut r = SctpReassembler::default();
        let (a, rest) = INVITE.split_at(10);
        let (b, c) = rest.split_at(20);
        assert!(run(&mut r, 1, &data_chunk(100, 2, 0x02, a)).0.is_empty());
        assert!(run(&mut r, 2, &data_chunk(102, 2, 0x01, c)).0.is_empty());
        // Duplicate of the first fragment: ignored.
        assert!(run(&mut r, 3, &data_chunk(100, 2, 0x02, a)).0.is_empty());
        let (out, _) = run(&mut r, 4, &data_chunk(101, 2, 0x00, b));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, INVITE);
        assert_eq!(out[0].frame, 4);
        assert_eq!(out[0].frames, vec![1, 2, 4]);
        assert_eq!(r.pending_fragments(), 0);
        assert_eq!(r.duplicate_chunks, 1);
    }

    #[test]
    fn fragmented_tsn_wraps() {
        let mut r = SctpReassembler::default();
        let (a, b) = TRYING.split_at(15);
        assert!(
            run(&mut r, 1, &data_chunk(u32::MAX, 0, 0x02, a))
                .0
                .is_empty()
        );
        let (out, _) = run(&mut r, 2, &data_chunk(0, 0, 0x01, b));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, TRYING);
    }

    #[test]
    fn idata_fragments() {
        let mut r = SctpReassembler::default();
        let (a, b) = INVITE.split_at(30);
        assert!(run(&mut r, 1, &idata_chunk(5, 9, 0, 0x02, a)).0.is_empty());
        let (out, _) = run(&mut r, 2, &idata_chunk(6, 9, 1, 0x01, b));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, INVITE);
    }

    #[test]
    fn bad_chunk_length_stops_with_diagnostic() {
        let mut r = SctpReassembler::default();
        let mut pkt = data_chunk(1, 0, 0x03, TRYING);
        pkt.extend_from_slice(&[0, 3, 0, 200, 1, 2, 3, 4]); // claims 200 bytes
        pkt.extend(data_chunk(2, 0, 0x03, INVITE));
        let (out, diags) = run(&mut r, 1, &pkt);
        assert_eq!(out.len(), 1);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].layer, Layer::Sctp);
        assert_eq!(diags[0].frame, Some(1));
        // Length below the header size, and a DATA chunk too short for its header.
        assert_eq!(run(&mut r, 2, &[1, 0, 0, 2]).1.len(), 1);
        assert_eq!(run(&mut r, 3, &[0, 3, 0, 8, 0, 0, 0, 1]).1.len(), 1);
        assert_eq!(run(&mut r, 4, &[0, 3]).1.len(), 1);
    }
}
