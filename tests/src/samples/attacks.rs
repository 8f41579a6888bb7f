//! Attack scenarios for trainers (signalling-centric): each sample is one attack, written deterministically from
//! 2026-01-01 UTC with documentation/private addresses (phones and PBX in 10.0.0.0/8, attackers in 198.51.100.0/24
//! and 203.0.113.0/24, outside the trusted networks).

mod auth;
mod calls;
mod scan;
pub(crate) mod wire;

use super::{Reproduce, Sample};

pub static SAMPLES: &[Sample] = &[
    Sample {
        name: "scanner-sweep",
        summary: "sipvicious friendly-scanner OPTIONS sweep of 30 hosts; 4 Asterisk 16.2.1 answer",
        findings: &["scanner", "plaintext-sip", "version-disclosure"],
        write: scan::scanner_sweep,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "extension-enumeration",
        summary: "REGISTER walk of extensions 100-199: 404 except 101, 120, 150 (challenged)",
        findings: &["extension-enumeration", "scanner"],
        write: auth::extension_enumeration,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "brute-force-success",
        summary: "80 wrong digest passwords for 2001, the 81st right, then a call to +88216",
        findings: &[
            "brute-force",
            "weak-password",
            "digest-exposed",
            "toll-fraud",
        ],
        write: auth::brute_force_success,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "weak-password",
        summary: "phone registers 2002 with digest password 1234 (and 2004 with a strong one)",
        findings: &["weak-password", "digest-exposed"],
        write: auth::weak_password,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "toll-fraud-night",
        summary: "12 calls in 5 minutes at 02:00 UTC to +88213000111 and 0900 numbers, 8 answered",
        findings: &["toll-fraud"],
        write: calls::toll_fraud_night,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "spoofing-injection",
        summary: "forged Via/Contact, police display name, PAI mismatch, SQL/script/format/shell/bidi/ANSI payloads",
        findings: &["caller-id-spoofing", "header-injection"],
        write: calls::spoofing_injection,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "invite-flood",
        summary: "600 INVITEs in 1 s then 150/s for 5 s from one source, all answered 503",
        findings: &["flood"],
        write: calls::invite_flood,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "challenge-flood",
        summary: "40 REGISTERs in 60 s, each challenged 401, never answered",
        findings: &["challenge-flood"],
        write: auth::challenge_flood,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "voicemail-pin",
        summary: "call to *97 with PIN 1357# as RFC 4733 events and a SIP INFO digit, G.711 both ways",
        findings: &["dtmf-secret", "unencrypted-media"],
        write: calls::voicemail_pin,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "routing-loop",
        summary: "INVITE looping between two proxies until Max-Forwards 0 (483), and a 482 Loop Detected",
        findings: &["routing-loop"],
        write: calls::routing_loop,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "management-ports",
        summary: "Asterisk AMI login from the internet, MySQL realtime queries and TFTP provisioning in clear",
        findings: &["management-port"],
        write: scan::management_ports,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "registration-hijack",
        summary: "2003 re-registered from outside without a challenge; unregistered 112 call; anonymous call",
        findings: &[
            "registration-hijack",
            "unauthenticated-accepted",
            "emergency-call",
        ],
        write: auth::registration_hijack,
        reproduce: Reproduce::Bytes,
    },
];
