//! IPv4 and IPv6 fragment reassembly, keyed by (src, dst, protocol, id), bounded in memory and time.
//! Overlapping fragments and datagrams that never complete become diagnostics. May import: `model`, `net`.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

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

#[derive(Debug, Default)]
pub struct Defragmenter {
    pub limits: DefragLimits,
    pending: HashMap<Key, Pending>,
    /// Insertion sequence → key, oldest first.
    order: BTreeMap<u64, Key>,
    next_seq: u64,
    total_bytes: usize,
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
    for (s, bytes) in pieces {
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
        .map(|f| f.to_string())
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
