//! TLS and DTLS decryption over hostile bytes: the input is cut into a key log (first part) and records fed to a
//! TLS connection from both sides and to the DTLS tracker; nothing may panic, and a record only yields data when it
//! authenticates (which random bytes never do, so no plaintext may come out without a key that fits).
#![no_main]

use earshot_core::tls::dtls::DtlsTracker;
use earshot_core::tls::{Keys, ResumptionCache, TlsConn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (log, rest) = data.split_at(split);
    let mut keys = Keys::new();
    keys.add_keylog("keylog", "fuzz", log, false);
    let mut conn = TlsConn::new();
    let mut cache = ResumptionCache::default();
    let mut rest = rest;
    let mut from_client = true;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]])).min(rest.len() - 5);
        let (rec, tail) = rest.split_at(5 + len);
        let _ = conn.on_record(from_client, &rec[..5], &rec[5..], &keys, &mut cache);
        from_client = !from_client;
        rest = tail;
    }
    conn.note_gap(true);
    let mut dtls = DtlsTracker::new();
    let a = "192.0.2.1:1000".parse().expect("addr");
    let b = "192.0.2.2:2000".parse().expect("addr");
    dtls.push(1, a, b, data);
    dtls.push(2, b, a, data);
    let _ = dtls.sessions(Some(&keys));
});
