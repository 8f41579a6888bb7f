//! STIR/SHAKEN inputs the attacker or a bad download controls: the first byte picks the parser — an `Identity` header
//! value and its PASSporT (base64url JSON), a certificate file (PEM chain or DER), or a TNAuthList extension.
#![no_main]

use earshot_core::identity::{certs, passport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let value = String::from_utf8_lossy(rest);
            if let Ok(h) = passport::parse_header(&value) {
                let _ = std::hint::black_box(passport::decode(&h));
            }
            let _ = std::hint::black_box(passport::canonical_tn(&value));
        }
        1 => {
            if let Ok(certs) = certs::parse_certs(rest, "fuzz") {
                for c in &certs {
                    std::hint::black_box((&c.subject, c.valid_at(0), &c.tn_auth));
                }
            }
        }
        _ => {
            if let Ok(l) = certs::parse_tn_auth_list(rest) {
                std::hint::black_box((l.numbers(), l.covers("12025550100")));
            }
        }
    }
});
