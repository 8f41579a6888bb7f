//! Speex RTP payloads (RFC 5574 §3: one or more Speex frames back to back, not byte-aligned, ended by a terminator
//! or padding). libavcodec's native Speex decoder decodes one frame per packet, so a payload holding several is
//! split here: each frame — its narrowband part and the wideband layers that follow it — is copied to start on a
//! byte boundary. Frame sizes are Speex's own (libspeex `modes.c`, the skip tables in `nb_celp.c`; the same ones
//! Asterisk uses to count Speex samples).

use super::bits::{BitReader, BitWriter};

/// Bits of a narrowband frame per submode (0–8), the 5 header bits (wideband flag, submode) included.
const NB_FRAME_BITS: [usize; 9] = [5, 43, 119, 160, 220, 300, 364, 492, 79];
/// Bits of a wideband (or ultra-wideband) layer per submode (0–4), the 4 header bits included; 5–7 are invalid.
const WB_LAYER_BITS: [usize; 5] = [4, 36, 112, 192, 352];
/// Bits of an in-band signal's data per signal id (after the 5-bit code 14 and the 4-bit id).
const INBAND_BITS: [usize; 16] = [1, 1, 4, 4, 4, 4, 4, 4, 8, 8, 16, 16, 32, 32, 64, 64];
/// Narrowband code 13: user in-band data (4-bit length in bytes, 5-bit id); 14: in-band signal; 15: terminator.
const CODE_USER_INBAND: u32 = 13;
const CODE_INBAND: u32 = 14;
const CODE_TERMINATOR: u32 = 15;

/// The frames of a Speex payload, each re-packed from bit 0 (in-band signalling dropped). `None` when the payload
/// does not parse as Speex frames (the caller then hands the payload to libavcodec as it is).
pub(super) fn frames(payload: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut r = BitReader::new(payload);
    let mut frames: Vec<Vec<u8>> = Vec::new();
    // Start of the narrowband part of the frame being read (its wideband layers come next).
    let mut current: Option<usize> = None;
    loop {
        // Wideband layers follow their narrowband frame.
        while r.remaining() >= 4 && r.peek(1)? == 1 {
            r.skip(1)?;
            let submode = r.field(3)? as usize;
            let bits = WB_LAYER_BITS.get(submode)?;
            r.skip(bits - 4)?;
            // A wideband layer with no narrowband frame before it is not Speex.
            current?;
        }
        if let Some(start) = current.take() {
            let mut w = BitWriter::default();
            w.copy(payload, start, r.position())?;
            // Speex's terminator padding: a 0, then 1s to the byte boundary.
            if !w.is_aligned() {
                w.bit(0);
                while !w.is_aligned() {
                    w.bit(1);
                }
            }
            frames.push(w.bytes);
        }
        if r.remaining() < 5 {
            break;
        }
        let start = r.position();
        let code = r.field(5)?;
        match code {
            CODE_TERMINATOR => break,
            CODE_INBAND => {
                let id = r.field(4)? as usize;
                r.skip(*INBAND_BITS.get(id)?)?;
            }
            CODE_USER_INBAND => {
                let len = r.field(4)? as usize;
                r.skip(5 + len * 8)?;
            }
            submode => {
                let bits = NB_FRAME_BITS.get(submode as usize)?;
                r.skip(bits - 5)?;
                current = Some(start);
            }
        }
    }
    Some(frames)
}
