//! MGCP text from the wire, as the pipeline hands it over: parsed into messages, and every message placed by the
//! signalling tracker and its calls built (the bounds and matching code on hostile input).
#![no_main]

use earshot_core::model::{PacketMeta, Protocol, Transport};
use earshot_core::signal::{SignalLimits, SignalTracker, calls, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = parse(Protocol::Mgcp, data) else {
        return;
    };
    let mut t = SignalTracker::new(SignalLimits::default());
    let a = "10.0.0.1:2944".parse().expect("address");
    let b = "10.0.0.2:2944".parse().expect("address");
    let meta = |frame, src, dst| PacketMeta {
        frame,
        ts_nanos: 1,
        src,
        dst,
    };
    // The same messages both ways (requests and their answers, retransmissions).
    t.push(Protocol::Mgcp, meta(1, a, b), Transport::Udp, parsed.clone());
    t.push(Protocol::Mgcp, meta(2, b, a), Transport::Udp, parsed.clone());
    t.push(Protocol::Mgcp, meta(3, a, b), Transport::Udp, parsed);
    for r in &t.records {
        std::hint::black_box(calls::bind_key(r, &t.records));
    }
    std::hint::black_box(calls::build(&t.records, &[], 2));
});
