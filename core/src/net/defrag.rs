//! IPv4 and IPv6 fragment reassembly, keyed by (src, dst, protocol, id), bounded in memory and time.
//! Overlapping fragments and datagrams that never complete become diagnostics. May import: `model`, `net`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use foldhash::HashMap;

use crate::model::{DiagLevel, Diagnostic, FrameNo, Layer};
use crate::net::Fragment;

/// Bounds on reassembly state. Defaults are documented in ARCHITECTURE.md.
#[derive(Debug, Clone)]
pub struct DefragLimits {
    /// Datagrams being reassembled at once; the oldest is dropped (with a diagnostic) past this.
    pub max_pending: usize,
    /// Largest reassembled datagram in bytes (IPv4 maximum is 65535).
    pub max_datagram_bytes: usize,
    /// Total bytes held in pending fragments.
    pub max_total_bytes: usize,
    /// A datagram whose first fragment is older than this (capture time) is expired as incomplete.
    pub timeout_nanos: i64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits {
            max_pending: 4096,
            max_datagram_bytes: 65_535 + 8,
            max_total_bytes: 64 * 1024 * 1024,
            timeout_nanos: 30_000_000_000,
        }
    }
}

/// A reassembled datagram's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    pub protocol: u8,
    pub payload: Vec<u8>,
    /// Frames of all fragments, ascending.
    pub frames: Vec<FrameNo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefragOutcome {
    /// More fragments are needed.
    Incomplete,
    Complete(Reassembled),
    /// The fragment was rejected (e.g. over the size bound); a diagnostic was pushed.
    Dropped,
}

/// Most fragments accepted for one datagram (65535 bytes in 8-byte units); past it the datagram is dropped.
pub const MAX_FRAGMENTS_PER_DATAGRAM: usize = 8192;
/// Most frame numbers listed in one diagnostic message.
const MAX_FRAMES_LISTED: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    id: u32,
}

/// One datagram being reassembled.
#[derive(Debug)]
struct Pending {
    /// Insertion order, for oldest-first eviction and expiry.
    seq: u64,
    first_ts: i64,
    /// Frames of the fragments in arrival order (sorted on completion).
    frames: Vec<FrameNo>,
    /// Received byte ranges as (start, bytes), sorted by start, never overlapping.
    pieces: Vec<(usize, Vec<u8>)>,
    /// Length of the datagram, once the last fragment (more_fragments = false) is in.
    end: Option<usize>,
    /// Bytes held in `pieces`.
    bytes: usize,
}

impl Defragmenter {
    /// The caps this stage reached.
    pub fn cap_hits(&self) -> Vec<crate::model::CapHit> {
        use crate::model::CapHit;
        let l = &self.limits;
        let mut v = Vec::new();
        if self.evicted_by_cap > 0 {
            v.push(CapHit::new(
                "IP reassembly cap",
                l.max_pending,
                self.evicted_by_cap,
                format!(
                    "IP reassembly cap ({} datagrams, {} bytes pending): {} unfinished datagrams evicted",
                    l.max_pending, l.max_total_bytes, self.evicted_by_cap
                ),
            ));
        }
        if self.dropped_by_cap > 0 {
            v.push(CapHit::new(
                "IP reassembly byte cap",
                l.max_total_bytes,
                self.dropped_by_cap,
                format!(
                    "IP reassembly cap ({} bytes pending, {} fragments per datagram): {} fragments or datagrams \
                     dropped",
                    l.max_total_bytes, MAX_FRAGMENTS_PER_DATAGRAM, self.dropped_by_cap
                ),
            ));
        }
        v
    }
}

#[derive(Debug, Default)]
pub struct Defragmenter {
    pub limits: DefragLimits,
    pending: HashMap<Key, Pending>,
    /// Insertion sequence → key, oldest first.
    order: BTreeMap<u64, Key>,
    next_seq: u64,
    total_bytes: usize,
    /// Datagrams evicted unfinished because `max_pending` or `max_total_bytes` was reached (caps hit).
    pub evicted_by_cap: u64,
    /// Fragments or datagrams dropped because `max_total_bytes` or [`MAX_FRAGMENTS_PER_DATAGRAM`] was reached.
    pub dropped_by_cap: u64,
}

impl Defragmenter {
    pub fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            limits,
            ..Default::default()
        }
    }

    /// Datagrams currently waiting for fragments.
    pub fn pending_datagrams(&self) -> usize {
        self.pending.len()
    }

    /// Fragment bytes currently held.
    pub fn pending_bytes(&self) -> usize {
        self.total_bytes
    }

    /// Add one fragment seen in `frame` at `ts_nanos`. Diagnostics (overlap, expiry, caps) go to `diags`.
    pub fn push(
        &mut self,
        frame: FrameNo,
        ts_nanos: i64,
        src: IpAddr,
        dst: IpAddr,
        fragment: &Fragment<'_>,
        diags: &mut Vec<Diagnostic>,
    ) -> DefragOutcome {
        self.expire(ts_nanos, diags);
        let key = Key {
            src,
            dst,
            protocol: fragment.protocol,
            id: fragment.id,
        };
        let data: &[u8] = &fragment.data;
        let start = fragment.offset as usize;
        let Some(stop) = start
            .checked_add(data.len())
            .filter(|s| *s <= self.limits.max_datagram_bytes)
        else {
            diags.push(diag(
                frame,
                format!(
                    "fragment dropped: {} bytes at offset {} exceed the {}-byte datagram limit ({})",
                    data.len(),
                    start,
                    self.limits.max_datagram_bytes,
                    describe(&key)
                ),
            ));
            return DefragOutcome::Dropped;
        };

        if !self.pending.contains_key(&key) {
            while self.pending.len() >= self.limits.max_pending.max(1) {
                if !self.evict_oldest(None, "too many datagrams pending", diags) {
                    break;
                }
                self.evicted_by_cap += 1;
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            self.order.insert(seq, key.clone());
            self.pending.insert(
                key.clone(),
                Pending {
                    seq,
                    first_ts: ts_nanos,
                    frames: Vec::new(),
                    pieces: Vec::new(),
                    end: None,
                    bytes: 0,
                },
            );
        }

        // What this fragment adds, and whether it overlaps what we have.
        let (new_pieces, overlap) = match self.pending.get(&key) {
            Some(p) => uncovered(&p.pieces, start, data),
            None => (vec![(start, data.to_vec())], None),
        };
        let added: usize = new_pieces.iter().map(|(_, b)| b.len()).sum();
        while self.total_bytes.saturating_add(added) > self.limits.max_total_bytes {
            if !self.evict_oldest(Some(&key), "fragment memory limit reached", diags) {
                break;
            }
            self.evicted_by_cap += 1;
        }
        if self.total_bytes.saturating_add(added) > self.limits.max_total_bytes {
            diags.push(diag(
                frame,
                format!(
                    "fragment dropped: {added} bytes would exceed the {}-byte fragment memory limit ({})",
                    self.limits.max_total_bytes,
                    describe(&key)
                ),
            ));
            self.remove_if_empty(&key);
            self.dropped_by_cap += 1;
            return DefragOutcome::Dropped;
        }

        let Some(p) = self.pending.get_mut(&key) else {
            return DefragOutcome::Dropped;
        };
        if p.frames.len() >= MAX_FRAGMENTS_PER_DATAGRAM {
            let frames = p.frames.clone();
            diags.push(diag(
                frame,
                format!(
                    "datagram dropped: more than {MAX_FRAGMENTS_PER_DATAGRAM} fragments ({}; frames {})",
                    describe(&key),
                    list_frames(&frames)
                ),
            ));
            self.remove(&key);
            self.dropped_by_cap += 1;
            return DefragOutcome::Dropped;
        }
        if let Some((lo, hi, conflict)) = overlap {
            let msg = if conflict {
                format!(
                    "overlap conflict: fragment bytes {lo}..{hi} differ from bytes already received; first-seen bytes kept ({})",
                    describe(&key)
                )
            } else {
                format!(
                    "overlapping fragment: bytes {lo}..{hi} already received (identical) ({})",
                    describe(&key)
                )
            };
            diags.push(diag(frame, msg));
        }
        p.frames.push(frame);
        if !fragment.more_fragments {
            match p.end {
                Some(end) if end != stop => diags.push(diag(
                    frame,
                    format!(
                        "conflicting last fragment: datagram ends at {stop}, earlier last fragment said {end}; first kept ({})",
                        describe(&key)
                    ),
                )),
                Some(_) => {}
                None => p.end = Some(stop),
            }
        }
        for piece in new_pieces {
            let at = p.pieces.partition_point(|(s, _)| *s < piece.0);
            p.pieces.insert(at, piece);
        }
        p.bytes += added;
        self.total_bytes += added;

        let Some(end) = p.end else {
            return DefragOutcome::Incomplete;
        };
        if !covers(&p.pieces, end) {
            return DefragOutcome::Incomplete;
        }
        let Some(mut done) = self.remove(&key) else {
            return DefragOutcome::Incomplete;
        };
        let mut payload = Vec::with_capacity(end);
        for (s, bytes) in &done.pieces {
            if *s >= end {
                break;
            }
            let take = (end - s).min(bytes.len());
            payload.extend_from_slice(bytes.get(..take).unwrap_or_default());
        }
        if done.bytes > end {
            diags.push(diag(
                frame,
                format!(
                    "fragment data beyond the datagram end ({end} bytes) ignored ({})",
                    describe(&key)
                ),
            ));
        }
        done.frames.sort_unstable();
        done.frames.dedup();
        DefragOutcome::Complete(Reassembled {
            protocol: key.protocol,
            payload,
            frames: done.frames,
        })
    }

    /// At the end of the capture: report every datagram still incomplete, and return how many there were.
    pub fn finish(&mut self, diags: &mut Vec<Diagnostic>) -> u64 {
        let mut n = 0;
        while self.evict_oldest(None, "capture ended", diags) {
            n += 1;
        }
        n
    }

    /// Expire datagrams whose first fragment is older than the timeout, oldest first.
    fn expire(&mut self, now: i64, diags: &mut Vec<Diagnostic>) {
        loop {
            let Some((_, key)) = self.order.first_key_value() else {
                return;
            };
            let Some(p) = self.pending.get(key) else {
                return;
            };
            if now.saturating_sub(p.first_ts) <= self.limits.timeout_nanos {
                return;
            }
            if !self.evict_oldest(None, "timed out", diags) {
                return;
            }
        }
    }

    /// Drop the oldest pending datagram other than `keep`, reporting it as incomplete. False if none.
    fn evict_oldest(&mut self, keep: Option<&Key>, why: &str, diags: &mut Vec<Diagnostic>) -> bool {
        let Some(key) = self.order.values().find(|k| Some(*k) != keep).cloned() else {
            return false;
        };
        if let Some(p) = self.remove(&key) {
            diags.push(incomplete_diag(&key, &p, why));
        }
        true
    }

    fn remove(&mut self, key: &Key) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.order.remove(&p.seq);
        self.total_bytes = self.total_bytes.saturating_sub(p.bytes);
        Some(p)
    }

    fn remove_if_empty(&mut self, key: &Key) {
        if self.pending.get(key).is_some_and(|p| p.frames.is_empty()) {
            self.remove(key);
        }
    }
}

/// The parts of `data` (at `start`) not yet covered by `pieces`, and the first overlapping range with whether any
/// overlapping byte differs.
#[allow(clippy::type_complexity)]
fn uncovered(
    pieces: &[(usize, Vec<u8>)],
    start: usize,
    data: &[u8],
) -> (Vec<(usize, Vec<u8>)>, Option<(usize, usize, bool)>) {
    let stop = start + data.len();
    let mut out = Vec::new();
    let mut overlap: Option<(usize, usize, bool)> = None;
    let mut cur = start;
    // Pieces do not overlap, so their ends are sorted too: skip those ending before `start`.
    let first = pieces.partition_point(|(s, b)| s + b.len() <= start);
    for (s, bytes) in pieces.get(first..).unwrap_or_default() {
        let e = s + bytes.len();
        if e <= cur {
            continue;
        }
        if *s >= stop {
            break;
        }
        if *s > cur {
            out.push((
                cur,
                data.get(cur - start..s - start)
                    .unwrap_or_default()
                    .to_vec(),
            ));
        }
        let lo = cur.max(*s);
        let hi = stop.min(e);
        let old = bytes.get(lo - s..hi - s).unwrap_or_default();
        let new = data.get(lo - start..hi - start).unwrap_or_default();
        let differ = old != new;
        overlap = Some(match overlap {
            None => (lo, hi, differ),
            Some((l, _, d)) => (l, hi, d || differ),
        });
        cur = hi;
        if cur >= stop {
            break;
        }
    }
    if cur < stop {
        out.push((cur, data.get(cur - start..).unwrap_or_default().to_vec()));
    }
    (out, overlap)
}

/// True when sorted, non-overlapping `pieces` cover 0..end without a hole.
fn covers(pieces: &[(usize, Vec<u8>)], end: usize) -> bool {
    let mut reached = 0;
    for (s, bytes) in pieces {
        if *s > reached {
            return false;
        }
        reached = reached.max(s + bytes.len());
        if reached >= end {
            return true;
        }
    }
    reached >= end
}

fn diag(frame: FrameNo, message: String) -> Diagnostic {
    Diagnostic::new(Some(frame), Layer::Defrag, DiagLevel::Warning, message)
}

fn describe(key: &Key) -> String {
    format!(
        "{} -> {} protocol {} id 0x{:x}",
        key.src, key.dst, key.protocol, key.id
    )
}

fn list_frames(frames: &[FrameNo]) -> String {
    let mut sorted = frames.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut s = sorted
        .iter()
        .take(MAX_FRAMES_LISTED)
        .map(|f| crate::model::frame_label(*f))
        .collect::<Vec<_>>()
        .join(", ");
    if sorted.len() > MAX_FRAMES_LISTED {
        s.push_str(&format!(" and {} more", sorted.len() - MAX_FRAMES_LISTED));
    }
    s
}

fn incomplete_diag(key: &Key, p: &Pending, why: &str) -> Diagnostic {
    let first = p.frames.iter().copied().min();
    let total = match p.end {
        Some(e) => e.to_string(),
        None => "?".into(),
    };
    Diagnostic::new(
        first,
        Layer::Defrag,
        DiagLevel::Warning,
        format!(
            "incomplete datagram ({why}): {} of {total} bytes received in frames {} ({})",
            p.bytes,
            list_frames(&p.frames),
            describe(key)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Encapsulation;
    use crate::net::{L4, NetOutcome, decode_frame, decode_ip_payload, linktype};
    use std::borrow::Cow;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const SRC: [u8; 4] = [10, 0, 0, 1];
    const DST: [u8; 4] = [10, 0, 0, 2];

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    fn frag(id: u32, offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            id,
            protocol: 17,
            offset,
            more_fragments: more,
            data: Cow::Borrowed(data),
        }
    }

    fn push(
        d: &mut Defragmenter,
        frame: FrameNo,
        ts: i64,
        f: &Fragment<'_>,
        diags: &mut Vec<Diagnostic>,
    ) -> DefragOutcome {
        d.push(frame, ts, v4(SRC), v4(DST), f, diags)
    }

    /// An Ethernet/IPv4 fragment frame.
    fn ipv4_fragment_frame(id: u16, offset: u16, more: bool, data: &[u8]) -> Vec<u8> {
        let mut f = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0];
        f.extend_from_slice(&((20 + data.len()) as u16).to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(&((offset / 8) | if more { 0x2000 } else { 0 }).to_be_bytes());
        f.extend_from_slice(&[64, 17, 0, 0]);
        f.extend_from_slice(&SRC);
        f.extend_from_slice(&DST);
        f.extend_from_slice(data);
        f.resize(f.len().max(60), 0); // Ethernet padding must not leak into fragments
        f
    }

    /// A UDP datagram of `n` payload bytes (payload bytes are i % 251).
    fn udp_datagram(n: usize) -> Vec<u8> {
        let mut u = vec![0x13, 0xc4, 0x13, 0xc4];
        u.extend_from_slice(&((8 + n) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend((0..n).map(|i| (i % 251) as u8));
        u
    }

    /// Decode frames, feed fragments to the defragmenter, and decode the reassembled result.
    fn reassemble_frames(frames: &[Vec<u8>]) -> (Option<(Reassembled, Vec<u8>)>, Vec<Diagnostic>) {
        let mut d = Defragmenter::default();
        let mut diags = Vec::new();
        let mut done = None;
        for (i, f) in frames.iter().enumerate() {
            let NetOutcome::Packet(p) = decode_frame(linktype::ETHERNET, f) else {
                panic!("frame {i} did not decode");
            };
            let L4::Fragment(fr) = &p.l4 else {
                panic!("frame {i} is not a fragment");
            };
            match d.push(i as u64 + 1, i as i64, p.src, p.dst, fr, &mut diags) {
                DefragOutcome::Complete(r) => {
                    let out = decode_ip_payload(
                        p.encapsulation.clone(),
                        p.src,
                        p.dst,
                        r.protocol,
                        &r.payload,
                    );
                    let NetOutcome::Packet(inner) = out else {
                        panic!("reassembled datagram did not decode: {out:?}");
                    };
                    let L4::Udp { payload, .. } = inner.l4 else {
                        panic!("not UDP");
                    };
                    let payload = payload.to_vec();
                    done = Some((r, payload));
                }
                DefragOutcome::Incomplete => {}
                DefragOutcome::Dropped => panic!("dropped"),
            }
        }
        assert_eq!(d.finish(&mut diags), 0);
        (done, diags)
    }

    fn split(datagram: &[u8]) -> Vec<Vec<u8>> {
        // 3 fragments: 0..1480, 1480..2960, 2960..end.
        let chunks: Vec<&[u8]> = datagram.chunks(1480).collect();
        chunks
            .iter()
            .enumerate()
            .map(|(i, c)| ipv4_fragment_frame(0x77, (i * 1480) as u16, i + 1 < chunks.len(), c))
            .collect()
    }

    #[test]
    fn ipv4_in_order() {
        let dgram = udp_datagram(3500);
        let frames = split(&dgram);
        assert_eq!(frames.len(), 3);
        let (done, diags) = reassemble_frames(&frames);
        let (r, payload) = done.expect("complete");
        assert_eq!(r.payload, dgram);
        assert_eq!(r.frames, vec![1, 2, 3]);
        assert_eq!(payload, dgram[8..]);
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn ipv4_out_of_order() {
        let dgram = udp_datagram(3500);
        let mut frames = split(&dgram);
        frames.reverse(); // last fragment first
        frames.swap(0, 1); // middle, last, first
        let (done, diags) = reassemble_frames(&frames);
        let (r, _) = done.expect("complete");
        assert_eq!(r.payload, dgram);
        assert_eq!(r.frames, vec![1, 2, 3]);
        assert!(diags.is_empty());
    }

    #[test]
    fn overlapping_identical_fragments() {
        let data: Vec<u8> = (0..64).collect();
        let mut d = Defragmenter::default();
        let mut diags = Vec::new();
        assert_eq!(
            push(&mut d, 1, 0, &frag(1, 0, true, &data[..32]), &mut diags),
            DefragOutcome::Incomplete
        );
        assert_eq!(
            push(&mut d, 2, 0, &frag(1, 16, true, &data[16..48]), &mut diags),
            DefragOutcome::Incomplete
        );
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0]
                .message
                .contains("overlapping fragment: bytes 16..32"),
            "{}",
            diags[0].message
        );
        assert_eq!(
            (diags[0].frame, diags[0].layer, diags[0].level),
            (Some(2), Layer::Defrag, DiagLevel::Warning)
        );
        let DefragOutcome::Complete(r) =
            push(&mut d, 3, 0, &frag(1, 48, false, &data[48..]), &mut diags)
        else {
            panic!("not complete");
        };
        assert_eq!(r.payload, data);
        assert_eq!(r.frames, vec![1, 2, 3]);
        assert_eq!(d.pending_bytes(), 0);
    }

    #[test]
    fn overlap_conflict_keeps_first_seen_bytes() {
        let mut d = Defragmenter::default();
        let mut diags = Vec::new();
        assert_eq!(
            push(&mut d, 1, 0, &frag(9, 8, false, &[1; 8]), &mut diags),
            DefragOutcome::Incomplete
        );
        // Bytes 8..16 conflict; the fragment still completes the datagram with the first-seen bytes.
        let DefragOutcome::Complete(r) =
            push(&mut d, 2, 0, &frag(9, 0, true, &[2; 16]), &mut diags)
        else {
            panic!("not complete");
        };
        let mut expect = vec![2; 8];
        expect.extend([1; 8]);
        assert_eq!((r.payload, r.frames), (expect, vec![1, 2]));
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("overlap conflict"));
    }

    #[test]
    fn overlap_conflict_diagnostic() {
        let mut d = Defragmenter::default();
        let mut diags = Vec::new();
        push(&mut d, 1, 0, &frag(9, 8, true, &[1; 8]), &mut diags);
        push(&mut d, 2, 0, &frag(9, 0, true, &[2; 16]), &mut diags);
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0]
                .message
                .starts_with("overlap conflict: fragment bytes 8..16 differ"),
            "{}",
            diags[0].message
        );
        let DefragOutcome::Complete(r) =
            push(&mut d, 3, 0, &frag(9, 16, false, &[3; 4]), &mut diags)
        else {
            panic!("not complete");
        };
        let mut expect = vec![2; 8];
        expect.extend([1; 8]);
        expect.extend([3; 4]);
        assert_eq!(r.payload, expect);
    }

    #[test]
    fn max_pending_evicts_oldest() {
        let mut d = Defragmenter::new(DefragLimits {
            max_pending: 2,
            ..DefragLimits::default()
        });
        let mut diags = Vec::new();
        for id in 1..=3u32 {
            assert_eq!(
                push(
                    &mut d,
                    u64::from(id) * 10,
                    0,
                    &frag(id, 0, true, &[0; 8]),
                    &mut diags
                ),
                DefragOutcome::Incomplete
            );
        }
        assert_eq!(d.pending_datagrams(), 2);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].frame, Some(10));
        assert!(
            diags[0]
                .message
                .contains("incomplete datagram (too many datagrams pending)"),
            "{}",
            diags[0].message
        );
        assert!(diags[0].message.contains("id 0x1"));
        assert_eq!(d.finish(&mut diags), 2);
        assert_eq!(d.pending_datagrams(), 0);
    }

    #[test]
    fn timeout_expires_old_datagrams() {
        let mut d = Defragmenter::new(DefragLimits {
            timeout_nanos: 1_000,
            ..DefragLimits::default()
        });
        let mut diags = Vec::new();
        push(&mut d, 1, 0, &frag(1, 0, true, &[0; 8]), &mut diags);
        push(&mut d, 2, 500, &frag(2, 0, true, &[0; 8]), &mut diags);
        push(&mut d, 3, 1_000, &frag(3, 0, true, &[0; 8]), &mut diags);
        assert!(diags.is_empty());
        // At t=1501 datagrams 1 and 2 are older than the timeout; 3 is not.
        push(&mut d, 4, 1_501, &frag(1, 8, false, &[0; 8]), &mut diags);
        assert_eq!(diags.len(), 2);
        assert!(
            diags[0]
                .message
                .starts_with("incomplete datagram (timed out): 8 of ? bytes received in frames 1 ")
        );
        assert_eq!(diags[1].frame, Some(2));
        // The late last fragment of datagram 1 started a new datagram; it and datagram 3 remain.
        assert_eq!(d.pending_datagrams(), 2);
    }

    #[test]
    fn finish_reports_incomplete_with_frames() {
        let mut d = Defragmenter::default();
        let mut diags = Vec::new();
        push(&mut d, 7, 0, &frag(5, 16, false, &[0; 8]), &mut diags);
        push(&mut d, 4, 0, &frag(5, 0, true, &[0; 8]), &mut diags);
        push(&mut d, 9, 0, &frag(6, 0, true, &[0; 8]), &mut diags);
        assert_eq!(d.finish(&mut diags), 2);
        assert_eq!(diags.len(), 2);
        assert_eq!(diags[0].frame, Some(4), "first fragment's frame (lowest)");
        assert_eq!(diags[0].layer, Layer::Defrag);
        assert_eq!(diags[0].level, DiagLevel::Warning);
        assert!(
            diags[0]
                .message
                .contains("16 of 24 bytes received in frames 4, 7"),
            "{}",
            diags[0].message
        );
        assert!(diags[1].message.contains("frames 9"));
        assert_eq!(d.finish(&mut diags), 0);
        assert_eq!(d.pending_bytes(), 0);
    }

    #[test]
    fn size_limits() {
        let mut d = Defragmenter::new(DefragLimits {
            max_datagram_bytes: 100,
            max_total_bytes: 64,
            ..DefragLimits::default()
        });
        let mut diags = Vec::new();
        assert_eq!(
            push(&mut d, 1, 0, &frag(1, 96, true, &[0; 8]), &mut diags),
            DefragOutcome::Dropped
        );
        assert!(diags[0].message.contains("100-byte datagram limit"));
        diags.clear();
        push(&mut d, 2, 0, &frag(2, 0, true, &[0; 40]), &mut diags);
        // 40 + 40 > 64: the oldest datagram (2) is evicted to make room.
        assert_eq!(
            push(&mut d, 3, 0, &frag(3, 0, true, &[0; 40]), &mut diags),
            DefragOutcome::Incomplete
        );
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0].message.contains("fragment memory limit"),
            "{}",
            diags[0].message
        );
        assert_eq!(d.pending_bytes(), 40);
        // A datagram that cannot fit even alone is dropped.
        assert_eq!(
            push(&mut d, 3, 0, &frag(3, 40, true, &[0; 40]), &mut diags),
            DefragOutcome::Dropped
        );
        assert!(d.pending_bytes() <= 64);
    }

    #[test]
    fn ipv6_fragments_end_to_end() {
        let a = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).octets();
        let b = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2).octets();
        let dgram = udp_datagram(100);
        let pieces = [(0usize, &dgram[..56], true), (56, &dgram[56..], false)];
        let mut d = Defragmenter::default();
        let mut diags = Vec::new();
        let mut result = None;
        for (i, (off, data, more)) in pieces.iter().enumerate().rev() {
            let mut pkt = vec![0x60, 0, 0, 0];
            pkt.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
            pkt.extend_from_slice(&[44, 64]);
            pkt.extend_from_slice(&a);
            pkt.extend_from_slice(&b);
            pkt.extend_from_slice(&[17, 0]);
            pkt.extend_from_slice(&((*off as u16) | u16::from(*more)).to_be_bytes());
            pkt.extend_from_slice(&0xabcd_0001u32.to_be_bytes());
            pkt.extend_from_slice(data);
            let NetOutcome::Packet(p) = decode_frame(linktype::IPV6, &pkt) else {
                panic!("decode");
            };
            let L4::Fragment(f) = &p.l4 else {
                panic!("not a fragment")
            };
            if let DefragOutcome::Complete(r) = d.push(i as u64 + 1, 0, p.src, p.dst, f, &mut diags)
            {
                result = Some((r, p.src, p.dst));
            }
        }
        let (r, src, dst) = result.expect("complete");
        assert_eq!(
            (r.payload.as_slice(), r.frames.as_slice()),
            (dgram.as_slice(), &[1u64, 2][..])
        );
        let NetOutcome::Packet(p) =
            decode_ip_payload(Encapsulation::default(), src, dst, r.protocol, &r.payload)
        else {
            panic!("inner");
        };
        assert!(matches!(p.l4, L4::Udp { src_port: 5060, .. }));
    }

    #[test]
    fn memory_stays_bounded_under_fragment_spray() {
        let limits = DefragLimits {
            max_pending: 16,
            max_datagram_bytes: 2_000,
            max_total_bytes: 4_000,
            timeout_nanos: 1_000_000,
        };
        let mut d = Defragmenter::new(limits.clone());
        let mut diags = Vec::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let buf = [0x5au8; 600];
        for frame in 1..=20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let id = (x % 40) as u32;
            let offset = ((x >> 8) % 2_500) as u32 & !7;
            let len = ((x >> 20) % 600) as usize;
            let f = frag(id, offset, !(x >> 40).is_multiple_of(4), &buf[..len]);
            let _ = push(&mut d, frame, (frame * 1_000) as i64, &f, &mut diags);
            assert!(d.pending_datagrams() <= limits.max_pending);
            assert!(d.pending_bytes() <= limits.max_total_bytes);
            assert_eq!(
                d.pending_bytes(),
                d.pending.values().map(|p| p.bytes).sum::<usize>()
            );
            assert_eq!(d.order.len(), d.pending.len());
            diags.clear();
        }
        let _ = d.finish(&mut diags);
        assert_eq!((d.pending_datagrams(), d.pending_bytes()), (0, 0));
    }

    #[test]
    fn conflicting_last_fragment_and_data_beyond_end() {
        let mut d = Defragmenter::default();
        let mut diags = Vec::new();
        push(&mut d, 1, 0, &frag(4, 8, false, &[1; 8]), &mut diags);
        push(&mut d, 2, 0, &frag(4, 8, false, &[1; 16]), &mut diags);
        assert!(
            diags
                .iter()
                .any(|g| g.message.contains("conflicting last fragment"))
        );
        let DefragOutcome::Complete(r) = push(&mut d, 3, 0, &frag(4, 0, true, &[0; 8]), &mut diags)
        else {
            panic!("not complete");
        };
        assert_eq!(r.payload.len(), 16);
        assert!(
            diags
                .iter()
                .any(|g| g.message.contains("beyond the datagram end"))
        );
    }
}
