//! The evidence file: every captured packet, written as pcapng before anything analyses it. One section header
//! (application "Earshot <version>", a comment naming host, interface, filter and start time) and one interface
//! description (link type, snaplen, `if_name`, `if_filter`, `if_tsresol` = 9: pcap-file writes nanosecond
//! timestamps) per file; with a ring, files `NAME_00001.pcapng`, `NAME_00002.pcapng`... rotate at a size and only
//! the newest COUNT are kept. The SHA-256 of each file is computed while it is written.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use sha2::{Digest, Sha256};

/// Rotation: a new file every `size_bytes`, keep the newest `count` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ring {
    pub size_bytes: u64,
    pub count: usize,
}

/// What goes into each file's headers.
#[derive(Debug, Clone)]
pub struct EvidenceHeader {
    pub interface: String,
    pub filter: Option<String>,
    pub link_type: u32,
    pub snaplen: u32,
    /// The SHB comment (host, interface, filter, start time).
    pub comment: String,
}

/// One evidence file, closed or still being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    pub path: PathBuf,
    pub bytes: u64,
    /// Hex SHA-256 of the file's bytes (empty while it is being written).
    pub sha256: String,
    /// Live frame numbers (1-based over the whole capture) of the first and last packet it holds.
    pub first_frame: Option<u64>,
    pub last_frame: Option<u64>,
    /// Packets it holds.
    pub packets: u64,
}

/// Counts and hashes what passes through to the file.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(done) = buf.get(..n) {
            self.hash.update(done);
        }
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the evidence, rotating when a ring is set. Memory stays bounded: at most `count` file records.
pub struct EvidenceWriter {
    base: PathBuf,
    ring: Option<Ring>,
    header: EvidenceHeader,
    writer: Option<PcapNgWriter<Hashing<BufWriter<File>>>>,
    current: EvidenceFile,
    /// Files closed and still on disk (ring: the newest `count - 1`).
    closed: VecDeque<EvidenceFile>,
    /// Files created so far (the ring's sequence number).
    files_created: u64,
    /// Files the ring deleted.
    pub files_removed: u64,
    /// Bytes of the files closed so far (deleted ones included).
    closed_bytes: u64,
}

/// `dir/name.pcapng` → `dir/name_00007.pcapng`.
pub fn ring_path(base: &Path, seq: u64) -> PathBuf {
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "evidence".into());
    let ext = base
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pcapng".into());
    base.with_file_name(format!("{stem}_{seq:05}.{ext}"))
}

fn to_linktype(dlt: u32) -> u32 {
    // libpcap's DLT_RAW (12, 14 on some BSDs) is LINKTYPE_RAW (101) in files; the others used on Linux match.
    match dlt {
        12 | 14 => 101,
        other => other,
    }
}

impl EvidenceWriter {
    /// Creates the first file (refuses to overwrite an existing one: evidence is never clobbered).
    pub fn create(base: &Path, ring: Option<Ring>, header: EvidenceHeader) -> Result<Self> {
        let mut w = EvidenceWriter {
            base: base.to_path_buf(),
            ring,
            header,
            writer: None,
            current: EvidenceFile {
                path: PathBuf::new(),
                bytes: 0,
                sha256: String::new(),
                first_frame: None,
                last_frame: None,
                packets: 0,
            },
            closed: VecDeque::new(),
            files_created: 0,
            files_removed: 0,
            closed_bytes: 0,
        };
        w.open_next()?;
        Ok(w)
    }

    /// The link type as written in the file (LINKTYPE_ value).
    pub fn file_link_type(&self) -> u32 {
        to_linktype(self.header.link_type)
    }

    fn open_next(&mut self) -> Result<()> {
        self.files_created += 1;
        let path = match self.ring {
            Some(_) => ring_path(&self.base, self.files_created),
            None => self.base.clone(),
        };
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "cannot create the evidence file (it must not exist yet) {}",
                    path.display()
                )
            })?;
        let sink = Hashing {
            inner: BufWriter::with_capacity(1 << 20, file),
            hash: Sha256::new(),
            bytes: 0,
        };
        let shb = SectionHeaderBlock {
            options: vec![
                SectionHeaderOption::UserApplication(Cow::Owned(format!(
                    "Earshot {}",
                    env!("CARGO_PKG_VERSION")
                ))),
                SectionHeaderOption::OS(Cow::Owned(std::env::consts::OS.to_string())),
                SectionHeaderOption::Comment(Cow::Owned(self.header.comment.clone())),
            ],
            ..Default::default()
        };
        let mut writer = PcapNgWriter::with_section_header(sink, shb)
            .with_context(|| format!("cannot write the evidence file {}", path.display()))?;
        let mut options = vec![
            InterfaceDescriptionOption::IfName(Cow::Owned(self.header.interface.clone())),
            // pcap-file writes every EPB timestamp in nanoseconds.
            InterfaceDescriptionOption::IfTsResol(9),
        ];
        if let Some(f) = &self.header.filter {
            // First byte 0: a libpcap filter string follows.
            let mut v = vec![0u8];
            v.extend_from_slice(f.as_bytes());
            options.push(InterfaceDescriptionOption::IfFilter(Cow::Owned(v)));
        }
        let idb = InterfaceDescriptionBlock {
            linktype: DataLink::from(to_linktype(self.header.link_type)),
            snaplen: self.header.snaplen,
            options,
        };
        writer
            .write_pcapng_block(idb)
            .with_context(|| format!("cannot write the evidence file {}", path.display()))?;
        self.current = EvidenceFile {
            path,
            bytes: 0,
            sha256: String::new(),
            first_frame: None,
            last_frame: None,
            packets: 0,
        };
        self.writer = Some(writer);
        Ok(())
    }

    /// Flushes and closes the current file, recording its hash.
    fn close_current(&mut self) -> Result<()> {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        let mut sink = writer.into_inner();
        sink.flush().with_context(|| {
            format!(
                "cannot write the evidence file {}",
                self.current.path.display()
            )
        })?;
        sink.inner.get_ref().sync_all().with_context(|| {
            format!(
                "cannot sync the evidence file {}",
                self.current.path.display()
            )
        })?;
        let mut done = self.current.clone();
        done.bytes = sink.bytes;
        done.sha256 = hex(&sink.hash.finalize());
        self.closed_bytes += done.bytes;
        self.closed.push_back(done);
        Ok(())
    }

    /// Writes one packet (offset of its block in the current file is returned).
    pub fn write(
        &mut self,
        frame_no: u64,
        ts_nanos: i64,
        orig_len: u32,
        data: &[u8],
    ) -> Result<u64> {
        if let (Some(ring), Some(w)) = (self.ring, &self.writer)
            && w.get_ref().bytes >= ring.size_bytes
            && self.current.packets > 0
        {
            self.rotate(ring)?;
        }
        let Some(w) = self.writer.as_mut() else {
            anyhow::bail!("the evidence file is closed");
        };
        let offset = w.get_ref().bytes;
        let epb = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_nanos(u64::try_from(ts_nanos).unwrap_or(0)),
            original_len: orig_len,
            data: Cow::Borrowed(data),
            options: vec![],
        };
        w.write_pcapng_block(epb).with_context(|| {
            format!(
                "cannot write the evidence file {}",
                self.current.path.display()
            )
        })?;
        self.current.packets += 1;
        self.current.first_frame.get_or_insert(frame_no);
        self.current.last_frame = Some(frame_no);
        self.current.bytes = w.get_ref().bytes;
        Ok(offset)
    }

    fn rotate(&mut self, ring: Ring) -> Result<()> {
        self.close_current()?;
        // Keep at most `count` files including the one about to be opened.
        while self.closed.len() >= ring.count.max(1) {
            let Some(old) = self.closed.pop_front() else {
                break;
            };
            std::fs::remove_file(&old.path).with_context(|| {
                format!("cannot remove the old ring file {}", old.path.display())
            })?;
            self.files_removed += 1;
        }
        self.open_next()
    }

    /// Pushes buffered bytes to the file (called about once a second, so a crash loses little).
    pub fn flush(&mut self) -> Result<()> {
        if let Some(w) = self.writer.as_mut() {
            w.get_mut().flush().with_context(|| {
                format!(
                    "cannot write the evidence file {}",
                    self.current.path.display()
                )
            })?;
        }
        Ok(())
    }

    /// Bytes written to all evidence files so far (rotated-away ones included).
    pub fn total_bytes(&self) -> u64 {
        self.closed_bytes + self.writer.as_ref().map_or(0, |w| w.get_ref().bytes)
    }

    /// Closes the last file and returns the files still on disk, oldest first.
    pub fn finish(mut self) -> Result<Vec<EvidenceFile>> {
        self.close_current()?;
        Ok(self.closed.into_iter().collect())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn header() -> EvidenceHeader {
        EvidenceHeader {
            interface: "lo".into(),
            filter: Some("udp".into()),
            link_type: 1,
            snaplen: 262_144,
            comment: "test".into(),
        }
    }

    #[test]
    fn ring_keeps_count_files_and_hashes_them() {
        let dir = std::env::temp_dir().join(format!("earshot-ring-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let base = dir.join("ev.pcapng");
        let mut w = EvidenceWriter::create(
            &base,
            Some(Ring {
                size_bytes: 1000,
                count: 2,
            }),
            header(),
        )
        .unwrap();
        let pkt = [0u8; 200];
        for n in 1..=20u64 {
            w.write(n, 1_700_000_000_000_000_000 + n as i64, 200, &pkt)
                .unwrap();
        }
        let files = w.finish().unwrap();
        assert_eq!(files.len(), 2);
        // 232-byte packet blocks against a 1000-byte size: several rotations, only the newest two files stay.
        let on_disk = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(on_disk, 2);
        assert!(!ring_path(&base, 1).exists());
        assert_eq!(files[1].last_frame, Some(20));
        assert_eq!(
            files[0].last_frame.unwrap() + 1,
            files[1].first_frame.unwrap()
        );
        assert_eq!(
            files[0].packets + files[1].packets,
            21 - files[0].first_frame.unwrap()
        );
        for f in &files {
            let bytes = std::fs::read(&f.path).unwrap();
            assert_eq!(bytes.len() as u64, f.bytes);
            assert_eq!(hex(&Sha256::digest(&bytes)), f.sha256);
        }
        // The writer refuses to clobber an existing file.
        assert!(EvidenceWriter::create(&files[1].path, None, header()).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
