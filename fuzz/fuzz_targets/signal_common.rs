// Shared by the `mgcp`, `megaco` and `iax2` fuzz targets (included, not a target): the payload is parsed as `protocol`,
// every message placed by the signalling tracker both ways (requests, their answers, retransmissions), and the
// calls built (the bounds and matching code on hostile input).

use earshot_core::model::{PacketMeta, Protocol, Transport};
use earshot_core::signal::{SignalLimits, SignalTracker, calls, parse};

fn run(protocol: Protocol, data: &[u8]) {
    let mut t = SignalTracker::new(SignalLimits::default());
    let a = "10.0.0.1:2944".parse().expect("address");
    let b = "10.0.0.2:2944".parse().expect("address");
    let meta = |frame, src, dst| PacketMeta {
        frame,
        ts_nanos: 1,
        src,
        dst,
    };
    // IAX2 media frames are tallied, as the pipeline does.
    if protocol == Protocol::Iax2 && t.push_iax2_media(meta(1, a, b), data) {
        std::hint::black_box(calls::build(&t.records, &t.media, &[], 2));
        return;
    }
    let Ok(parsed) = parse(protocol, data) else {
        return;
    };
    t.push(protocol, meta(1, a, b), Transport::Udp, parsed.clone());
    t.push(protocol, meta(2, b, a), Transport::Udp, parsed.clone());
    t.push(protocol, meta(3, a, b), Transport::Udp, parsed);
    for r in &t.records {
        std::hint::black_box(calls::bind_key(r, &t.records));
    }
    std::hint::black_box(calls::build(&t.records, &t.media, &[], 2));
}
