//! AMR and AMR-WB RTP payloads (RFC 4867 §4.3, §4.4) → the frames of the AMR storage format (RFC 4867 §5.3:
//! one header byte `0 FT(4) Q 0 0`, then the frame's speech bits, MSB first, padded to a byte), which is what
//! libavcodec's `amrnb`/`amrwb` decoders take. Both payload modes: bandwidth-efficient (fields packed back to back)
//! and octet-aligned (each field padded to a byte). No interleaving, CRC or robust sorting: `decoder_for` refuses
//! those before a decoder exists.

use super::bits::BitReader;

/// Speech bits per frame type (RFC 4867 §3.6; 3GPP TS 26.101 and 26.201). `None`: reserved.
const NB_BITS: [Option<u16>; 16] = [
    Some(95),  // 4.75 kbit/s
    Some(103), // 5.15
    Some(118), // 5.90
    Some(134), // 6.70
    Some(148), // 7.40
    Some(159), // 7.95
    Some(204), // 10.2
    Some(244), // 12.2
    Some(39),  // SID
    Some(43),  // GSM-EFR SID
    Some(38),  // TDMA-EFR SID
    Some(37),  // PDC-EFR SID
    None,
    None,
    None,
    Some(0), // NO_DATA
];
const WB_BITS: [Option<u16>; 16] = [
    Some(132), // 6.60 kbit/s
    Some(177), // 8.85
    Some(253), // 12.65
    Some(285), // 14.25
    Some(317), // 15.85
    Some(365), // 18.25
    Some(397), // 19.85
    Some(461), // 23.05
    Some(477), // 23.85
    Some(40),  // SID
    None,
    None,
    None,
    None,
    Some(0), // SPEECH_LOST
    Some(0), // NO_DATA
];

/// One 20 ms frame of a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AmrFrame {
    /// A speech frame in storage format (header byte first).
    Speech(Vec<u8>),
    /// SID, NO_DATA or SPEECH_LOST: no speech to decode (libavcodec has no AMR DTX); 20 ms of silence.
    NoSpeech,
}

/// Splits one RFC 4867 payload (single channel) into its frames.
pub(super) fn frames(
    payload: &[u8],
    wide: bool,
    octet_aligned: bool,
) -> Result<Vec<AmrFrame>, &'static str> {
    let sizes = if wide { &WB_BITS } else { &NB_BITS };
    let mut r = BitReader::new(payload);
    r.field(4).ok_or("no CMR")?;
    if octet_aligned {
        r.align(); // the CMR's 4 reserved bits
    }
    let mut toc = Vec::new();
    loop {
        let more = r.bit().ok_or("table of contents runs past the payload")?;
        let ft = r
            .field(4)
            .ok_or("table of contents runs past the payload")? as u8;
        let q = r.bit().ok_or("table of contents runs past the payload")?;
        if octet_aligned {
            r.align();
        }
        toc.push((ft, q));
        if more == 0 {
            break;
        }
    }
    let mut out = Vec::with_capacity(toc.len());
    for (ft, q) in toc {
        let bits = usize::from(
            sizes
                .get(usize::from(ft))
                .copied()
                .flatten()
                .ok_or("reserved frame type")?,
        );
        let mut frame = vec![(ft << 3) | (q << 2)];
        for _ in 0..bits.div_ceil(8) {
            let take = bits.saturating_sub((frame.len() - 1) * 8).min(8);
            let v = r.field(take).ok_or("speech frame runs past the payload")?;
            frame.push((v << (8 - take)) as u8);
        }
        if octet_aligned {
            r.align();
        }
        let speech = if wide { ft <= 8 } else { ft <= 7 };
        out.push(if speech {
            AmrFrame::Speech(frame)
        } else {
            AmrFrame::NoSpeech
        });
    }
    Ok(out)
}
