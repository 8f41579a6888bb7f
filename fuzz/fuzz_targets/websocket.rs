//! WebSocket framing (RFC 6455): a byte stream cut into frames with the size bound, every frame within the buffer,
//! and a frame built from the input parses back to the same payload.
#![no_main]

use earshot_core::transport::websocket::{WsParse, build_frame, parse_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for max_payload in [125usize, 64 * 1024] {
        let mut rest = data;
        let mut frame = None;
        while let WsParse::Complete(n) = parse_frame(rest, max_payload, &mut frame) {
            assert!(
                n > 0 && n <= rest.len(),
                "frame length {n} outside the buffer"
            );
            let f = frame.take().expect("a complete parse yields the frame");
            assert!(f.payload.len() <= max_payload);
            rest = &rest[n..];
        }
    }
    // Round trip: opcode and mask from the first bytes, the rest as payload.
    if let [sel, m0, m1, m2, m3, payload @ ..] = data {
        let opcode = [0x0u8, 0x1, 0x2, 0x8, 0x9, 0xA][usize::from(sel & 0x7) % 6];
        let control = opcode & 0x8 != 0;
        let payload = if control {
            &payload[..payload.len().min(125)]
        } else {
            payload
        };
        let fin = control || sel & 0x80 != 0;
        let mask = (sel & 0x40 != 0).then_some([*m0, *m1, *m2, *m3]);
        let wire = build_frame(fin, opcode, payload, mask);
        let mut frame = None;
        assert_eq!(
            parse_frame(&wire, usize::MAX, &mut frame),
            WsParse::Complete(wire.len())
        );
        let f = frame.expect("parsed");
        assert_eq!(
            (f.fin, f.opcode, f.payload.as_slice()),
            (fin, opcode, payload)
        );
    }
});
