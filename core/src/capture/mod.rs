//! Capture reading: pcap (µs and ns magic, both byte orders) and pcapng (several interfaces, each with its own link
//! type and `if_tsresol`/`if_tsoffset`; EPB, SPB and the obsolete PB), plain or gzip-compressed. Files are
//! memory-mapped read-only and frames are borrowed slices of the map: nothing is copied and the file is never
//! modified. Block and record parsing uses `pcap-file`'s slice parsers; timestamps and lengths are validated here
//! leniently (a frame whose captured length exceeds its original length is kept, with a diagnostic).
//! May import: `model`, `error`.

use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pcap_file::pcap::{PcapHeader, RawPcapPacket};
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::{Endianness, PcapError, TsResolution};

use crate::error::CaptureError;
use crate::model::{DiagLevel, Diagnostic, FrameNo, Layer};

/// One captured frame, borrowed from the capture.
#[derive(Debug, Clone)]
pub struct RawFrame<'a> {
    /// 1-based, as Wireshark numbers frames (pcapng: packet blocks only).
    pub number: FrameNo,
    pub ts_nanos: i64,
    /// pcapng interface index (0 for pcap).
    pub interface: u32,
    pub link_type: u32,
    /// Length on the wire; `data.len()` is the captured length.
    pub orig_len: u32,
    pub data: Cow<'a, [u8]>,
    /// Byte offset of the record in the (decompressed) file, for progress and evidence extraction.
    pub file_offset: u64,
}

/// An opened capture file.
pub struct CaptureFile {
    pub path: PathBuf,
    /// Size of the file on disk.
    pub file_size: u64,
    pub gzip: bool,
    /// The file as stored, memory-mapped read-only (the frames of uncompressed input are read from it).
    stored: memmap2::Mmap,
    /// The decompressed capture, for gzip input.
    decompressed: Option<Vec<u8>>,
    /// The open file: its SHA-256 is read through it, not through the map (pages read by `read` do not count in
    /// the process's resident memory; mapped pages do until released).
    file: File,
    /// Bytes at the start of the map already handed back to the kernel ([`CaptureFile::release_before`]).
    released: AtomicUsize,
}

/// Largest decompressed size accepted for gzip input (a decompression bomb stops here with an error).
pub const MAX_GZIP_DECOMPRESSED_BYTES: u64 = 16 * 1024 * 1024 * 1024;

impl CaptureFile {
    /// Open `path` read-only. Gzip input (magic 1f 8b) is decompressed into memory.
    pub fn open(path: &Path) -> Result<CaptureFile, CaptureError> {
        let file = File::open(path).map_err(|source| CaptureError::Open {
            path: path.to_path_buf(),
            error: source,
        })?;
        let meta = file.metadata().map_err(|source| CaptureError::Read {
            path: path.to_path_buf(),
            error: source,
        })?;
        if meta.is_dir() {
            return Err(CaptureError::NotAFile {
                path: path.to_path_buf(),
                what: "a directory",
            });
        }
        if !meta.is_file() {
            return Err(CaptureError::NotAFile {
                path: path.to_path_buf(),
                what: "not a regular file (a device, pipe or socket)",
            });
        }
        let file_size = meta.len();
        if file_size == 0 {
            return Err(CaptureError::Empty {
                path: path.to_path_buf(),
            });
        }
        // SAFETY: the map is read-only (PROT_READ, MAP_PRIVATE semantics of memmap2's `map`). If another process
        // truncates the file while we read it, accesses past the new end fault; evidence files are not expected
        // to change under analysis, and the file is never written by us.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| CaptureError::Read {
            path: path.to_path_buf(),
            error: source,
        })?;
        if map.get(..2) == Some(&[0x1f, 0x8b][..]) {
            let mut out = Vec::new();
            let decoder = flate2::read::MultiGzDecoder::new(&map[..]);
            decoder
                .take(MAX_GZIP_DECOMPRESSED_BYTES)
                .read_to_end(&mut out)
                .map_err(|source| CaptureError::Read {
                    path: path.to_path_buf(),
                    error: source,
                })?;
            return Ok(CaptureFile {
                path: path.to_path_buf(),
                file_size,
                gzip: true,
                stored: map,
                decompressed: Some(out),
                file,
                released: AtomicUsize::new(0),
            });
        }
        Ok(CaptureFile {
            path: path.to_path_buf(),
            file_size,
            gzip: false,
            stored: map,
            decompressed: None,
            file,
            released: AtomicUsize::new(0),
        })
    }

    /// SHA-256 of the file as stored (compressed bytes for gzip input), in lowercase hex. Read in 1 MiB chunks
    /// through the file handle opened with the map: the same file, whatever happens to its path meanwhile, and no
    /// mapped pages kept resident.
    pub fn sha256_hex(&self) -> Result<String, CaptureError> {
        let err = |source| CaptureError::Read {
            path: self.path.clone(),
            error: source,
        };
        let mut f = self.file.try_clone().map_err(err)?;
        f.seek(SeekFrom::Start(0)).map_err(err)?;
        crate::hash::sha256_hex(f).map(|(hex, _)| hex).map_err(err)
    }

    /// Tells the kernel the mapped bytes before `offset` will not be read again, so they stop counting in the
    /// process's resident memory (the file's pages stay in the page cache). Callers must hold no slice into that
    /// range. Does nothing for gzip input (its frames are in a heap buffer) or off Unix.
    pub fn release_before(&self, offset: u64) {
        const PAGE: usize = 1 << 16;
        if self.decompressed.is_some() {
            return;
        }
        let upto = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.stored.len())
            / PAGE
            * PAGE;
        let done = self.released.load(Ordering::Relaxed);
        if upto <= done {
            return;
        }
        #[cfg(unix)]
        {
            // SAFETY: the map is read-only and shared with the file; MADV_DONTNEED only drops this process's page
            // table entries for the range, and a later access would fault the same bytes back in from the file.
            // The analysis holds no slice into [done, upto): frames before `offset` are merged and dropped, and
            // everything kept from them was copied.
            #[allow(unsafe_code)]
            let released = unsafe {
                self.stored.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    done,
                    upto - done,
                )
            };
            if released.is_err() {
                return;
            }
        }
        self.released.store(upto, Ordering::Relaxed);
    }

    /// The capture's bytes (decompressed for gzip input).
    pub fn data(&self) -> &[u8] {
        match &self.decompressed {
            Some(d) => d,
            None => &self.stored,
        }
    }

    /// Start reading frames.
    pub fn frames(&self) -> Result<FrameReader<'_>, CaptureError> {
        FrameReader::new(&self.path, self.data())
    }
}

#[derive(Debug, Clone)]
struct Interface {
    link_type: u32,
    snaplen: u32,
    /// Ticks per second of EPB timestamps.
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

enum Format {
    Pcap {
        endianness: Endianness,
        nanos: bool,
        link_type: u32,
    },
    PcapNg {
        parser: PcapNgParser,
        interfaces: Vec<Interface>,
        /// SPB has no timestamp: it takes the previous packet's.
        last_ts_nanos: i64,
    },
}

/// Iterates over the frames of a capture in file order.
pub struct FrameReader<'a> {
    all: &'a [u8],
    rest: &'a [u8],
    format: Format,
    next_number: FrameNo,
    done: bool,
    /// Diagnostics found while reading (truncation, bad blocks); drained by the caller.
    pub diagnostics: Vec<Diagnostic>,
    /// Interfaces seen so far (pcapng), or 1 for pcap.
    pub interfaces_seen: usize,
    /// Link types of the interfaces (pcap: one).
    pub link_types: Vec<u32>,
    /// Fractional digits of timestamps: 6 or 9 (the finest of all interfaces for pcapng).
    pub ts_precision_digits: u8,
    /// `pcap`, `pcap-nsec` or `pcapng`.
    pub format_name: &'static str,
    /// TLS key logs from pcapng Decryption Secrets Blocks (`editcap --inject-secrets`), drained by the caller:
    /// (block number among the capture's secrets blocks, 1-based; the key log text).
    pub secrets: Vec<(usize, Vec<u8>)>,
    secrets_seen: usize,
    /// Added to every frame number (a case numbers each file's frames `file × CASE_FILE_STRIDE + frame`).
    frame_base: FrameNo,
    /// Added to every timestamp (a clock correction the analyst set for this file).
    ts_offset_nanos: i64,
    /// Earliest and latest timestamps read so far (after the offset).
    pub first_ts_nanos: Option<i64>,
    pub last_ts_nanos: Option<i64>,
}

/// pcapng Decryption Secrets Block type, and its TLS key log secrets type (`TLSK`).
const PCAPNG_DSB: u32 = 0x0000_000a;
const DSB_TLS_KEY_LOG: u32 = 0x544c_534b;
/// Key log text kept from all secrets blocks of one capture.
const MAX_DSB_BYTES: usize = 64 * 1024 * 1024;

const PCAP_MAGIC_US: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;

fn be_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

impl<'a> FrameReader<'a> {
    /// Read frames from a capture already in memory (uncompressed pcap or pcapng bytes): live-capture buffers, the
    /// fuzz targets. `name` only labels errors.
    pub fn from_bytes(name: &Path, all: &'a [u8]) -> Result<FrameReader<'a>, CaptureError> {
        FrameReader::new(name, all)
    }

    fn new(path: &Path, all: &'a [u8]) -> Result<FrameReader<'a>, CaptureError> {
        if all.is_empty() {
            return Err(CaptureError::Empty {
                path: path.to_path_buf(),
            });
        }
        let Some(magic) = be_u32(all) else {
            return Err(CaptureError::BadHeader {
                path: path.to_path_buf(),
                reason: format!(
                    "file is only {} bytes long, shorter than any capture header",
                    all.len()
                ),
            });
        };
        let swapped = magic.swap_bytes();
        if magic == PCAPNG_SHB {
            let (rest, parser) = PcapNgParser::new(all).map_err(|e| CaptureError::BadHeader {
                path: path.to_path_buf(),
                reason: format!("pcapng section header block: {}", describe_pcap_error(&e)),
            })?;
            return Ok(FrameReader {
                all,
                rest,
                format: Format::PcapNg {
                    parser,
                    interfaces: Vec::new(),
                    last_ts_nanos: 0,
                },
                next_number: 1,
                done: false,
                diagnostics: Vec::new(),
                interfaces_seen: 0,
                link_types: Vec::new(),
                ts_precision_digits: 6,
                format_name: "pcapng",
                secrets: Vec::new(),
                secrets_seen: 0,
                frame_base: 0,
                ts_offset_nanos: 0,
                first_ts_nanos: None,
                last_ts_nanos: None,
            });
        }
        if [PCAP_MAGIC_US, PCAP_MAGIC_NS].contains(&magic)
            || [PCAP_MAGIC_US, PCAP_MAGIC_NS].contains(&swapped)
        {
            let (rest, header) =
                PcapHeader::from_slice(all).map_err(|e| CaptureError::BadHeader {
                    path: path.to_path_buf(),
                    reason: format!("pcap file header: {}", describe_pcap_error(&e)),
                })?;
            let nanos = header.ts_resolution == TsResolution::NanoSecond;
            let link_type = u32::from(header.datalink);
            return Ok(FrameReader {
                all,
                rest,
                format: Format::Pcap {
                    endianness: header.endianness,
                    nanos,
                    link_type,
                },
                next_number: 1,
                done: false,
                diagnostics: Vec::new(),
                interfaces_seen: 1,
                link_types: vec![link_type],
                ts_precision_digits: if nanos { 9 } else { 6 },
                format_name: if nanos { "pcap-nsec" } else { "pcap" },
                secrets: Vec::new(),
                secrets_seen: 0,
                frame_base: 0,
                ts_offset_nanos: 0,
                first_ts_nanos: None,
                last_ts_nanos: None,
            });
        }
        Err(CaptureError::NotACapture {
            path: path.to_path_buf(),
            reason: format!(
                "unknown magic number 0x{magic:08x} (expected pcap 0xa1b2c3d4/0xa1b23c4d or pcapng 0x0a0d0d0a)"
            ),
        })
    }

    /// Bytes consumed so far (for progress).
    pub fn offset(&self) -> u64 {
        (self.all.len() - self.rest.len()) as u64
    }

    /// Fractional digits (6 or 9) that hold the timestamps of `interface` exactly, for the frame just read (pcapng
    /// interface indices are per section). 9 for an interface not seen.
    pub fn interface_ts_digits(&self, interface: u32) -> u8 {
        match &self.format {
            Format::Pcap { nanos, .. } => {
                if *nanos {
                    9
                } else {
                    6
                }
            }
            Format::PcapNg { interfaces, .. } => match interfaces.get(interface as usize) {
                Some(i) if i.units_per_sec > 0 && 1_000_000 % i.units_per_sec == 0 => 6,
                _ => 9,
            },
        }
    }

    /// Total bytes of the (decompressed) capture.
    pub fn total(&self) -> u64 {
        self.all.len() as u64
    }

    fn diag(&mut self, frame: Option<FrameNo>, level: DiagLevel, message: String) {
        self.diagnostics
            .push(Diagnostic::new(frame, Layer::Capture, level, message));
    }

    /// Number this reader's frames as file `file` of a case (`file × CASE_FILE_STRIDE + frame`) and shift its
    /// timestamps by `ts_offset_nanos`. Call before the first frame is read.
    pub fn set_case_file(&mut self, file: u32, ts_offset_nanos: i64) {
        self.frame_base = crate::model::case_frame(file, 0);
        self.next_number = self.frame_base + 1;
        self.ts_offset_nanos = ts_offset_nanos;
    }

    /// Frames read so far.
    pub fn frames_read(&self) -> u64 {
        self.next_number.saturating_sub(self.frame_base + 1)
    }

    /// The next frame, or `None` at the end (or when the rest of the file is unreadable, with a diagnostic).
    pub fn next_frame(&mut self) -> Option<RawFrame<'a>> {
        if self.done {
            return None;
        }
        let frame = match self.format {
            Format::Pcap { .. } => self.next_pcap(),
            Format::PcapNg { .. } => self.next_pcapng(),
        };
        let Some(mut frame) = frame else {
            self.done = true;
            return None;
        };
        frame.ts_nanos = frame.ts_nanos.saturating_add(self.ts_offset_nanos);
        self.first_ts_nanos = Some(
            self.first_ts_nanos
                .map_or(frame.ts_nanos, |t| t.min(frame.ts_nanos)),
        );
        self.last_ts_nanos = Some(
            self.last_ts_nanos
                .map_or(frame.ts_nanos, |t| t.max(frame.ts_nanos)),
        );
        Some(frame)
    }

    fn next_pcap(&mut self) -> Option<RawFrame<'a>> {
        let Format::Pcap {
            endianness,
            nanos,
            link_type,
        } = self.format
        else {
            return None;
        };
        if self.rest.is_empty() {
            return None;
        }
        let file_offset = self.offset();
        let parsed = match endianness {
            Endianness::Big => RawPcapPacket::from_slice::<byteorder_slice::BigEndian>(self.rest),
            Endianness::Little => {
                RawPcapPacket::from_slice::<byteorder_slice::LittleEndian>(self.rest)
            }
        };
        let number = self.next_number;
        match parsed {
            Ok((rest, raw)) => {
                self.rest = rest;
                self.next_number += 1;
                let frac_nanos = if nanos {
                    i64::from(raw.ts_frac)
                } else {
                    i64::from(raw.ts_frac).saturating_mul(1000)
                };
                if frac_nanos >= 1_000_000_000 {
                    self.diag(
                        Some(number),
                        DiagLevel::Warning,
                        format!("record timestamp fraction {} is out of range", raw.ts_frac),
                    );
                }
                let ts_nanos = i64::from(raw.ts_sec)
                    .saturating_mul(1_000_000_000)
                    .saturating_add(frac_nanos);
                if raw.incl_len > raw.orig_len {
                    self.diag(
                        Some(number),
                        DiagLevel::Warning,
                        format!(
                            "captured length {} exceeds original length {}",
                            raw.incl_len, raw.orig_len
                        ),
                    );
                }
                Some(RawFrame {
                    number,
                    ts_nanos,
                    interface: 0,
                    link_type,
                    orig_len: raw.orig_len,
                    data: raw.data,
                    file_offset,
                })
            }
            Err(e) => {
                let have = self.rest.len();
                let msg = match e {
                    PcapError::IncompleteBuffer => format!(
                        "capture ends inside record {number} at byte offset {file_offset} ({have} bytes left): \
                         the last packet is truncated and was skipped"
                    ),
                    other => format!(
                        "unreadable record {number} at byte offset {file_offset}: {}; the rest of the file \
                         ({have} bytes) was skipped",
                        describe_pcap_error(&other)
                    ),
                };
                self.diag(Some(number), DiagLevel::Error, msg);
                None
            }
        }
    }

    fn next_pcapng(&mut self) -> Option<RawFrame<'a>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let file_offset = self.offset();
            let Format::PcapNg {
                parser,
                interfaces,
                last_ts_nanos,
            } = &mut self.format
            else {
                return None;
            };
            let block = match parser.next_block(self.rest) {
                Ok((rest, block)) => {
                    self.rest = rest;
                    block
                }
                Err(e) => {
                    // Skip an unparseable block by its length when its framing is sound.
                    let reason = describe_pcap_error(&e);
                    match parser.next_raw_block(self.rest) {
                        Ok((rest, raw)) => {
                            let ty = raw.type_;
                            self.rest = rest;
                            let is_packet = matches!(ty, 2 | 3 | 6);
                            let number = self.next_number;
                            if is_packet {
                                // Keep numbering in step with Wireshark, which shows such a frame as malformed.
                                self.next_number += 1;
                            }
                            push_diag(
                                &mut self.diagnostics,
                                is_packet.then_some(number),
                                DiagLevel::Warning,
                                format!(
                                    "pcapng block type 0x{ty:08x} at byte offset {file_offset} could not be \
                                     decoded ({reason}) and was skipped"
                                ),
                            );
                            continue;
                        }
                        Err(_) => {
                            let have = self.rest.len();
                            let msg = if matches!(e, PcapError::IncompleteBuffer) {
                                format!(
                                    "capture ends inside a pcapng block at byte offset {file_offset} \
                                     ({have} bytes left): the last block is truncated and was skipped"
                                )
                            } else {
                                format!(
                                    "unreadable pcapng block at byte offset {file_offset}: {reason}; the rest of \
                                     the file ({have} bytes) was skipped"
                                )
                            };
                            let number = self.next_number;
                            push_diag(&mut self.diagnostics, Some(number), DiagLevel::Error, msg);
                            return None;
                        }
                    }
                }
            };
            match block {
                Block::SectionHeader(_) => {
                    interfaces.clear();
                }
                Block::InterfaceDescription(idb) => {
                    let mut units_per_sec: u64 = 1_000_000;
                    let mut digits = 6u8;
                    let mut offset_secs = 0i64;
                    for opt in &idb.options {
                        match opt {
                            InterfaceDescriptionOption::IfTsResol(r) => {
                                let (u, d) = tsresol_units(*r);
                                units_per_sec = u;
                                digits = d;
                            }
                            InterfaceDescriptionOption::IfTsOffset(o) => offset_secs = *o as i64,
                            _ => {}
                        }
                    }
                    let link_type = u32::from(idb.linktype);
                    interfaces.push(Interface {
                        link_type,
                        snaplen: idb.snaplen,
                        units_per_sec,
                        offset_secs,
                    });
                    self.interfaces_seen += 1;
                    if !self.link_types.contains(&link_type) {
                        self.link_types.push(link_type);
                    }
                    self.ts_precision_digits = self.ts_precision_digits.max(digits);
                }
                Block::EnhancedPacket(epb) => {
                    let number = self.next_number;
                    self.next_number += 1;
                    let Some(iface) = interfaces.get(epb.interface_id as usize).cloned() else {
                        push_diag(
                            &mut self.diagnostics,
                            Some(number),
                            DiagLevel::Error,
                            format!(
                                "packet refers to interface {} but only {} are described; frame skipped",
                                epb.interface_id,
                                interfaces.len()
                            ),
                        );
                        continue;
                    };
                    // pcap-file stores the raw 64-bit tick count in `timestamp` as nanoseconds.
                    let ticks = u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX);
                    let ts_nanos = ticks_to_nanos(ticks, &iface);
                    *last_ts_nanos = ts_nanos;
                    return Some(RawFrame {
                        number,
                        ts_nanos,
                        interface: epb.interface_id,
                        link_type: iface.link_type,
                        orig_len: epb.original_len,
                        data: epb.data,
                        file_offset,
                    });
                }
                Block::SimplePacket(spb) => {
                    let number = self.next_number;
                    self.next_number += 1;
                    let Some(iface) = interfaces.first().cloned() else {
                        push_diag(
                            &mut self.diagnostics,
                            Some(number),
                            DiagLevel::Error,
                            "simple packet block before any interface description; frame skipped"
                                .into(),
                        );
                        continue;
                    };
                    let mut data = spb.data;
                    let keep = (iface.snaplen as usize)
                        .max(1)
                        .min(spb.original_len as usize);
                    if iface.snaplen != 0 && data.len() > keep {
                        data = match data {
                            Cow::Borrowed(d) => Cow::Borrowed(d.get(..keep).unwrap_or(d)),
                            Cow::Owned(mut v) => {
                                v.truncate(keep);
                                Cow::Owned(v)
                            }
                        };
                    }
                    return Some(RawFrame {
                        number,
                        ts_nanos: *last_ts_nanos,
                        interface: 0,
                        link_type: iface.link_type,
                        orig_len: spb.original_len,
                        data,
                        file_offset,
                    });
                }
                Block::Packet(pb) => {
                    let number = self.next_number;
                    self.next_number += 1;
                    let Some(iface) = interfaces.get(usize::from(pb.interface_id)).cloned() else {
                        push_diag(
                            &mut self.diagnostics,
                            Some(number),
                            DiagLevel::Error,
                            format!(
                                "packet block refers to missing interface {}; frame skipped",
                                pb.interface_id
                            ),
                        );
                        continue;
                    };
                    let ts_nanos = ticks_to_nanos(pb.timestamp, &iface);
                    *last_ts_nanos = ts_nanos;
                    return Some(RawFrame {
                        number,
                        ts_nanos,
                        interface: u32::from(pb.interface_id),
                        link_type: iface.link_type,
                        orig_len: pb.original_len,
                        data: pb.data,
                        file_offset,
                    });
                }
                Block::Unknown(b) if b.type_ == PCAPNG_DSB => {
                    let big = parser.section().endianness == pcap_file::Endianness::Big;
                    self.decryption_secrets(&b.value, big, file_offset);
                }
                // Statistics, name resolution, journal, custom and unknown blocks carry no frame: skipped
                // (Wireshark does not number them either).
                _ => {}
            }
        }
    }
}

/// `if_tsresol`: MSB clear → 10^-n seconds, MSB set → 2^-n seconds. Returns (ticks per second, display digits).
fn tsresol_units(r: u8) -> (u64, u8) {
    let n = u32::from(r & 0x7f);
    if r & 0x80 == 0 {
        let units = 10u64.checked_pow(n).unwrap_or(1_000_000_000);
        (units.max(1), (n.min(9)) as u8)
    } else {
        let units = 1u64.checked_shl(n).unwrap_or(1 << 30).max(1);
        // Enough decimal digits to show the binary resolution, capped at ns.
        let digits = ((f64::from(n) * std::f64::consts::LOG10_2).ceil() as u8).min(9);
        (units, digits)
    }
}

fn ticks_to_nanos(ticks: u64, iface: &Interface) -> i64 {
    let units = iface.units_per_sec.max(1);
    let secs = ticks / units;
    let rem = ticks % units;
    let frac_nanos = (u128::from(rem) * 1_000_000_000 / u128::from(units)) as i64;
    i64::try_from(secs)
        .unwrap_or(i64::MAX / 1_000_000_000)
        .saturating_add(iface.offset_secs)
        .saturating_mul(1_000_000_000)
        .saturating_add(frac_nanos)
}

impl FrameReader<'_> {
    /// A Decryption Secrets Block's body: secrets type, length, data (then padding and options).
    fn decryption_secrets(&mut self, body: &[u8], big_endian: bool, file_offset: u64) {
        let u32_at = |i: usize| -> Option<u32> {
            let b: [u8; 4] = body.get(i..i.checked_add(4)?)?.try_into().ok()?;
            Some(if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        self.secrets_seen = self.secrets_seen.saturating_add(1);
        let (Some(kind), Some(len)) = (u32_at(0), u32_at(4)) else {
            push_diag(
                &mut self.diagnostics,
                None,
                DiagLevel::Warning,
                format!(
                    "pcapng decryption secrets block at byte offset {file_offset} is too short; skipped"
                ),
            );
            return;
        };
        if kind != DSB_TLS_KEY_LOG {
            push_diag(
                &mut self.diagnostics,
                None,
                DiagLevel::Info,
                format!(
                    "pcapng decryption secrets block at byte offset {file_offset} holds secrets of type \
                     0x{kind:08x} (not a TLS key log); not used"
                ),
            );
            return;
        }
        let Some(data) = body.get(8..8usize.saturating_add(len as usize)) else {
            push_diag(
                &mut self.diagnostics,
                None,
                DiagLevel::Warning,
                format!(
                    "pcapng decryption secrets block at byte offset {file_offset} says {len} bytes of secrets \
                     but holds fewer; skipped"
                ),
            );
            return;
        };
        let held: usize = self.secrets.iter().map(|(_, d)| d.len()).sum();
        if held.saturating_add(data.len()) > MAX_DSB_BYTES {
            push_diag(
                &mut self.diagnostics,
                None,
                DiagLevel::Warning,
                format!(
                    "pcapng decryption secrets block at byte offset {file_offset}: more than {} MiB of key logs \
                     in the capture; this block was not used",
                    MAX_DSB_BYTES / (1024 * 1024)
                ),
            );
            return;
        }
        self.secrets.push((self.secrets_seen, data.to_vec()));
    }
}

fn push_diag(
    diags: &mut Vec<Diagnostic>,
    frame: Option<FrameNo>,
    level: DiagLevel,
    message: String,
) {
    diags.push(Diagnostic::new(frame, Layer::Capture, level, message));
}

fn describe_pcap_error(e: &PcapError) -> String {
    match e {
        PcapError::IncompleteBuffer => "the data ends early (truncated)".into(),
        PcapError::InvalidField(f) => format!("invalid field: {f}"),
        other => other.to_string(),
    }
}
