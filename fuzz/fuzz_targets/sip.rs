//! SIP message parsing (rsip, then the tolerant scanner), with default and with tiny limits, and the stream framing
//! (Content-Length) the TCP/WebSocket/SCTP transports use.
#![no_main]

use earshot_core::sip::{SipLimits, parse_message};
use earshot_core::transport::{self, SipFraming};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_message(data, &SipLimits::default());
    if let Ok(m) = &parsed {
        std::hint::black_box(m);
    }
    let tiny = SipLimits {
        max_headers: 3,
        max_header_value_bytes: 16,
        max_body_bytes: 8,
    };
    let _ = std::hint::black_box(parse_message(data, &tiny));
    for limit in [64usize, 64 * 1024] {
        match transport::frame_sip(data, limit) {
            SipFraming::Complete(n) => assert!(n <= data.len(), "framed past the buffer"),
            SipFraming::Incomplete | SipFraming::Invalid => {}
        }
        if let Some(n) = transport::sip_total_len(data, limit) {
            std::hint::black_box(n);
        }
    }
    let k = transport::keepalive_len(data);
    assert!(k <= data.len());
    std::hint::black_box((
        transport::starts_like_sip(data),
        transport::tls_record_len(data),
    ));
});
