//! The media path's pure parsers: RTP headers (CSRCs, extension, padding), compound RTCP (SR/RR/SDES/BYE/APP/XR),
//! RFC 4733 telephone-events through the per-stream DTMF tracker, DTMF in SIP INFO bodies, and the RFC 7983
//! demultiplexer with STUN/TURN, ChannelData, DTLS, ZRTP and UDPTL recognition.
//!
//! The input is also cut into packets (`len (1 byte) ‖ bytes`) fed as one telephone-event stream.
#![no_main]

use earshot_core::media::{demux, dtmf, rtcp, rtp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = rtp::parse_rtp(data) {
        let p = rtp::payload(data, &h);
        assert!(p.len() <= data.len());
        assert_eq!(rtp::csrcs(data, &h).len(), usize::from(h.csrc_count));
    }
    let (packets, err) = rtcp::parse_rtcp(data);
    std::hint::black_box((packets, err));
    std::hint::black_box(demux::classify(data));
    let _ = std::hint::black_box(demux::parse_stun(data));
    std::hint::black_box(demux::parse_channel_data(data).map(|c| c.data.len()));
    std::hint::black_box(demux::tcp_frame_len(data));
    std::hint::black_box(demux::tcp_frame_unpadded_len(data));
    std::hint::black_box((
        demux::dtls_content_type(data),
        demux::zrtp_message_type(data),
    ));
    std::hint::black_box(demux::parse_udptl(data));
    for ct in [
        "application/dtmf-relay",
        "application/dtmf",
        "audio/telephone-event",
    ] {
        std::hint::black_box(dtmf::parse_info_body(ct, data));
    }

    // RFC 4733: a stream of telephone-event packets. Each record: ts (4) ‖ marker/ssrc selector (1) ‖ len (1) ‖
    // payload.
    let mut tracker = dtmf::DtmfTracker::default();
    let mut rest = data;
    let mut frame = 0u64;
    while let [t0, t1, t2, t3, sel, len, body @ ..] = rest {
        let take = usize::from(*len).min(body.len());
        let (payload, tail) = body.split_at(take);
        frame += 1;
        let _ = tracker.push(
            frame,
            frame as i64 * 20_000_000,
            u32::from(*sel & 0x3),
            u32::from_be_bytes([*t0, *t1, *t2, *t3]),
            sel & 0x80 != 0,
            payload,
            if sel & 0x40 != 0 { 48_000 } else { 8_000 },
        );
        rest = tail;
    }
    let events = tracker.events();
    assert!(events.len() as u64 <= frame);
    for e in &events {
        std::hint::black_box(dtmf::event_name(e.event));
    }
});
