//! RTP fixed header (RFC 3550 5.1), CSRC list, header extension (5.3.1) and padding.

/// A parsed RTP header. Offsets index into the packet given to [`parse_rtp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub padding: bool,
    pub extension: bool,
    pub csrc_count: u8,
    pub marker: bool,
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Header extension profile (the 16 bits before the length), when `extension`.
    pub extension_profile: Option<u16>,
    /// Offset of the payload (12 + 4×CC + extension).
    pub payload_offset: usize,
    /// Payload length without padding.
    pub payload_len: usize,
    /// Padding bytes (the last byte's value) when `padding`, else 0.
    pub padding_len: usize,
}

/// Why bytes are not a valid RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("RTP packet of {len} bytes is shorter than the 12-byte fixed header")]
    TooShort { len: usize },
    #[error("RTP version {0} (must be 2)")]
    BadVersion(u8),
    #[error("RTP CSRC count {count} needs {needed} bytes but the packet has {len}")]
    CsrcPastEnd {
        count: u8,
        needed: usize,
        len: usize,
    },
    #[error("RTP header extension needs {needed} bytes but the packet has {len}")]
    ExtensionPastEnd { needed: usize, len: usize },
    #[error("RTP padding of {padding} bytes is larger than the {available} bytes after the header")]
    BadPadding { padding: usize, available: usize },
}

/// Parse an RTP packet. Never panics; every length is checked.
///
/// Checks, in order: the 12-byte fixed header is present ([`RtpError::TooShort`]), the version is 2
/// ([`RtpError::BadVersion`]), the CSRC list fits ([`RtpError::CsrcPastEnd`]), the header extension (when X is set)
/// fits ([`RtpError::ExtensionPastEnd`]), and the padding count (when P is set) is at least 1 and at most the bytes
/// after the header ([`RtpError::BadPadding`]). A zero-length payload is valid.
pub fn parse_rtp(data: &[u8]) -> Result<RtpHeader, RtpError> {
    let len = data.len();
    let Some(&[b0, b1, s0, s1, t0, t1, t2, t3, i0, i1, i2, i3]) = data.first_chunk::<12>() else {
        return Err(RtpError::TooShort { len });
    };
    let version = b0 >> 6;
    if version != 2 {
        return Err(RtpError::BadVersion(version));
    }
    let padding = b0 & 0x20 != 0;
    let extension = b0 & 0x10 != 0;
    let csrc_count = b0 & 0x0f;
    let marker = b1 & 0x80 != 0;
    let payload_type = b1 & 0x7f;

    // 12 + 4×CC is at most 72: no overflow, but keep the arithmetic checked-by-construction.
    let csrc_end = usize::from(csrc_count).saturating_mul(4).saturating_add(12);
    if csrc_end > len {
        return Err(RtpError::CsrcPastEnd {
            count: csrc_count,
            needed: csrc_end,
            len,
        });
    }

    let mut payload_offset = csrc_end;
    let mut extension_profile = None;
    if extension {
        let ext_header_end = csrc_end.saturating_add(4);
        let Some(&[p0, p1, l0, l1]) = data
            .get(csrc_end..)
            .and_then(|rest| rest.first_chunk::<4>())
        else {
            return Err(RtpError::ExtensionPastEnd {
                needed: ext_header_end,
                len,
            });
        };
        let words = usize::from(u16::from_be_bytes([l0, l1]));
        let ext_end = ext_header_end.saturating_add(words.saturating_mul(4));
        if ext_end > len {
            return Err(RtpError::ExtensionPastEnd {
                needed: ext_end,
                len,
            });
        }
        extension_profile = Some(u16::from_be_bytes([p0, p1]));
        payload_offset = ext_end;
    }

    let available = len.saturating_sub(payload_offset);
    let padding_len = if padding {
        // The header is at least 12 bytes, so there is a last byte.
        let pad = usize::from(data.last().copied().unwrap_or(0));
        if pad == 0 || pad > available {
            return Err(RtpError::BadPadding {
                padding: pad,
                available,
            });
        }
        pad
    } else {
        0
    };

    Ok(RtpHeader {
        padding,
        extension,
        csrc_count,
        marker,
        payload_type,
        seq: u16::from_be_bytes([s0, s1]),
        timestamp: u32::from_be_bytes([t0, t1, t2, t3]),
        ssrc: u32::from_be_bytes([i0, i1, i2, i3]),
        extension_profile,
        payload_offset,
        payload_len: available.saturating_sub(padding_len),
        padding_len,
    })
}

/// The CSRC identifiers of a packet parsed by [`parse_rtp`] (empty when the list does not fit, which
/// [`parse_rtp`] has already ruled out).
pub fn csrcs(data: &[u8], h: &RtpHeader) -> Vec<u32> {
    let end = usize::from(h.csrc_count)
        .saturating_mul(4)
        .saturating_add(12);
    data.get(12..end)
        .unwrap_or_default()
        .chunks_exact(4)
        .filter_map(|c| c.first_chunk::<4>().map(|b| u32::from_be_bytes(*b)))
        .collect()
}

/// The payload bytes (no padding) of a packet parsed by [`parse_rtp`].
pub fn payload<'a>(data: &'a [u8], h: &RtpHeader) -> &'a [u8] {
    data.get(h.payload_offset..h.payload_offset.saturating_add(h.payload_len))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{XorShift, hex};

    /// sip-rtp-g711.pcap frame 6 (UDP payload, 172 bytes). tshark: PT=0 (PCMU), marker=1, seq=37595, ts=160,
    /// SSRC=0x343da99b.
    const G711_FRAME6: &str = "808092db000000a0343da99bffffffffffffffffffffffffffffffffffffffffffffffffffffffff\
        ffffffff7fffff7fff7f7fffff7f7fff7ffffffffffffffffffffffffffffffffffefffffe7efd7dfd7e75fc7375fe717b7e7afc\
        fdf9fbfbf6fff9f87cfafd7dfcff7efefefe7efd7e7dfe7c7c7d7a7b7b7c7d7ffdfbf8f5f4f1f0f1f0f2f5f7fbff7a76716e6d6b\
        6b6b6b6c6e70757cf9f2ebe8e3dfdedbe3dfe47ef46f62665e5e5f60";

    /// SIP_Eyebeam2Eyebeam_Video_Audio.pcap frame 4 (UDP payload, 92 bytes). tshark: PT=107, marker=1, seq=3311,
    /// ts=2345900, SSRC=0xd3e36c44.
    const EYEBEAM_FRAME4: &str = "80eb0cef0023cbacd3e36c44fd190b2414c48cf35711c3d2c33347db4d88d32db87909ef978918\
        4786462e3a8e92bb9de6dec1e8b95c2ec1f3c7c1b0615599966f14120e82ac24ef54e68c50ecda5df99395d9631c0a88965e20adfd";

    /// SIP_DTMF2.cap frame 339 (UDP payload, 16 bytes, an RFC 4733 event). tshark: PT=96, marker=1, seq=62676,
    /// ts=3931130841, SSRC=0x5711bf84.
    const DTMF_FRAME339: &str = "80e0f4d4ea504bd95711bf8406070000";

    /// A valid packet exercising CSRCs, an extension and padding: V=2 P=1 X=1 CC=2, M=1 PT=8, seq 0x1234,
    /// ts 0xdeadbeef, SSRC 0x01020304, CSRCs 0xaabbccdd and 0x11223344, extension profile 0xbede with 1 word,
    /// 3 payload bytes, 2 padding bytes.
    fn full_packet() -> Vec<u8> {
        let mut p = vec![
            0xb2, 0x88, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04,
        ];
        p.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd, 0x11, 0x22, 0x33, 0x44]);
        p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x01, 0x10, 0xff, 0x00, 0x00]);
        p.extend_from_slice(&[0x61, 0x62, 0x63]);
        p.extend_from_slice(&[0x00, 0x02]);
        p
    }

    fn minimal(b0: u8) -> Vec<u8> {
        vec![b0, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]
    }

    #[test]
    fn real_g711_packet_matches_tshark() {
        let p = hex(G711_FRAME6);
        assert_eq!(p.len(), 172);
        let h = parse_rtp(&p).unwrap();
        assert_eq!(
            h,
            RtpHeader {
                padding: false,
                extension: false,
                csrc_count: 0,
                marker: true,
                payload_type: 0,
                seq: 37595,
                timestamp: 160,
                ssrc: 0x343d_a99b,
                extension_profile: None,
                payload_offset: 12,
                payload_len: 160,
                padding_len: 0,
            }
        );
        assert_eq!(payload(&p, &h), &p[12..]);
    }

    #[test]
    fn real_eyebeam_video_packet_matches_tshark() {
        let p = hex(EYEBEAM_FRAME4);
        assert_eq!(p.len(), 92);
        let h = parse_rtp(&p).unwrap();
        assert!(h.marker);
        assert_eq!(h.payload_type, 107);
        assert_eq!(h.seq, 3311);
        assert_eq!(h.timestamp, 2_345_900);
        assert_eq!(h.ssrc, 0xd3e3_6c44);
        assert!(!h.padding && !h.extension);
        assert_eq!(h.csrc_count, 0);
        assert_eq!(
            (h.payload_offset, h.payload_len, h.padding_len),
            (12, 80, 0)
        );
    }

    #[test]
    fn real_dtmf_event_packet_matches_tshark() {
        let p = hex(DTMF_FRAME339);
        let h = parse_rtp(&p).unwrap();
        assert!(h.marker);
        assert_eq!(h.payload_type, 96);
        assert_eq!(h.seq, 62676);
        assert_eq!(h.timestamp, 3_931_130_841);
        assert_eq!(h.ssrc, 0x5711_bf84);
        assert_eq!(payload(&p, &h), &[0x06, 0x07, 0x00, 0x00]);
    }

    #[test]
    fn every_field_of_a_full_packet() {
        let p = full_packet();
        let h = parse_rtp(&p).unwrap();
        assert_eq!(
            h,
            RtpHeader {
                padding: true,
                extension: true,
                csrc_count: 2,
                marker: true,
                payload_type: 8,
                seq: 0x1234,
                timestamp: 0xdead_beef,
                ssrc: 0x0102_0304,
                extension_profile: Some(0xbede),
                payload_offset: 28,
                payload_len: 3,
                padding_len: 2,
            }
        );
        assert_eq!(payload(&p, &h), b"abc");
        assert_eq!(csrcs(&p, &h), vec![0xaabb_ccdd, 0x1122_3344]);
    }

    #[test]
    fn zero_length_payloads_are_valid() {
        let p = minimal(0x80);
        let h = parse_rtp(&p).unwrap();
        assert_eq!((h.payload_offset, h.payload_len, h.padding_len), (12, 0, 0));
        assert_eq!(payload(&p, &h), b"");
        assert!(csrcs(&p, &h).is_empty());
        assert_eq!((h.seq, h.timestamp, h.ssrc), (1, 2, 3));
        assert!(!h.marker);

        // Extension with zero words and nothing after it.
        let mut p = minimal(0x90);
        p.extend_from_slice(&[0x10, 0x00, 0x00, 0x00]);
        let h = parse_rtp(&p).unwrap();
        assert_eq!(h.extension_profile, Some(0x1000));
        assert_eq!((h.payload_offset, h.payload_len), (16, 0));

        // Padding only: 4 bytes of padding, no payload.
        let mut p = minimal(0xa0);
        p.extend_from_slice(&[0, 0, 0, 4]);
        let h = parse_rtp(&p).unwrap();
        assert_eq!((h.payload_offset, h.payload_len, h.padding_len), (12, 0, 4));
    }

    #[test]
    fn marker_and_payload_type_bits() {
        let mut p = minimal(0x80);
        p[1] = 0xff;
        let h = parse_rtp(&p).unwrap();
        assert!(h.marker);
        assert_eq!(h.payload_type, 127);
        p[1] = 0x7f;
        let h = parse_rtp(&p).unwrap();
        assert!(!h.marker);
        assert_eq!(h.payload_type, 127);
    }

    #[test]
    fn short_headers() {
        let p = full_packet();
        for n in 0..12 {
            assert_eq!(
                parse_rtp(&p[..n]),
                Err(RtpError::TooShort { len: n }),
                "{n} bytes"
            );
        }
    }

    #[test]
    fn bad_versions() {
        for v in [0u8, 1, 3] {
            let p = minimal(v << 6);
            assert_eq!(parse_rtp(&p), Err(RtpError::BadVersion(v)));
        }
    }

    #[test]
    fn csrc_count_past_end() {
        let mut p = minimal(0x83);
        p.extend_from_slice(&[0; 8]);
        assert_eq!(
            parse_rtp(&p),
            Err(RtpError::CsrcPastEnd {
                count: 3,
                needed: 24,
                len: 20
            })
        );
        let p = minimal(0x8f);
        assert_eq!(
            parse_rtp(&p),
            Err(RtpError::CsrcPastEnd {
                count: 15,
                needed: 72,
                len: 12
            })
        );
        // Exactly fitting is fine.
        let mut p = minimal(0x83);
        p.extend_from_slice(&[0; 12]);
        let h = parse_rtp(&p).unwrap();
        assert_eq!((h.csrc_count, h.payload_offset, h.payload_len), (3, 24, 0));
    }

    #[test]
    fn extension_past_end() {
        // Not even the 4-byte extension header.
        let mut p = minimal(0x90);
        p.extend_from_slice(&[0xbe, 0xde]);
        assert_eq!(
            parse_rtp(&p),
            Err(RtpError::ExtensionPastEnd {
                needed: 16,
                len: 14
            })
        );
        // Header present, claims 2 words, only 1 present.
        let mut p = minimal(0x91);
        p.extend_from_slice(&[9, 9, 9, 9]);
        p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4]);
        assert_eq!(
            parse_rtp(&p),
            Err(RtpError::ExtensionPastEnd {
                needed: 28,
                len: 24
            })
        );
        // Maximum length claim.
        let mut p = minimal(0x90);
        p.extend_from_slice(&[0xbe, 0xde, 0xff, 0xff]);
        assert_eq!(
            parse_rtp(&p),
            Err(RtpError::ExtensionPastEnd {
                needed: 16 + 4 * 65535,
                len: 16
            })
        );
    }

    #[test]
    fn bad_padding() {
        // Padding count 0.
        let mut p = minimal(0xa0);
        p.extend_from_slice(&[1, 2, 3, 0]);
        assert_eq!(
            parse_rtp(&p),
            Err(RtpError::BadPadding {
                padding: 0,
                available: 4
            })
        );
        // Padding larger than the bytes after the header.
        let mut p = minimal(0xa0);
        p.extend_from_slice(&[1, 2, 3, 5]);
        assert_eq!(
            parse_rtp(&p),
            Err(RtpError::BadPadding {
                padding: 5,
                available: 4
            })
        );
        // P set but nothing after the header: the last byte is a header byte (SSRC low byte = 3).
        let p = minimal(0xa0);
        assert_eq!(
            parse_rtp(&p),
            Err(RtpError::BadPadding {
                padding: 3,
                available: 0
            })
        );
        // Padding may not reach into the extension.
        let mut p = minimal(0xb0);
        p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x00, 0xaa, 0x02]);
        let h = parse_rtp(&p).unwrap();
        assert_eq!((h.payload_offset, h.payload_len, h.padding_len), (16, 0, 2));
        p[17] = 3;
        assert_eq!(
            parse_rtp(&p),
            Err(RtpError::BadPadding {
                padding: 3,
                available: 2
            })
        );
    }

    #[test]
    fn error_messages_are_informative() {
        let e = parse_rtp(&minimal(0x8f)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "RTP CSRC count 15 needs 72 bytes but the packet has 12"
        );
        let e = parse_rtp(&[0x80; 5]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "RTP packet of 5 bytes is shorter than the 12-byte fixed header"
        );
    }

    fn check_consistent(data: &[u8]) {
        if let Ok(h) = parse_rtp(data) {
            assert!(h.payload_offset >= 12);
            assert_eq!(h.payload_offset + h.payload_len + h.padding_len, data.len());
            assert_eq!(payload(data, &h).len(), h.payload_len);
            assert_eq!(csrcs(data, &h).len(), usize::from(h.csrc_count));
        }
    }

    #[test]
    fn no_panic_sweep() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let len = rng.below(96);
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // Bias half of the inputs towards version 2 so the deeper checks are reached.
            if rng.below(2) == 0
                && let Some(b) = buf.first_mut()
            {
                *b = (*b & 0x3f) | 0x80;
            }
            check_consistent(&buf);
        }
        let valid = [
            hex(G711_FRAME6),
            hex(EYEBEAM_FRAME4),
            hex(DTMF_FRAME339),
            full_packet(),
        ];
        for p in &valid {
            assert!(parse_rtp(p).is_ok());
            for n in 0..=p.len() {
                check_consistent(&p[..n]);
            }
        }
    }
}
