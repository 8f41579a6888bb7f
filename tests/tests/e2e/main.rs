//! End-to-end tests over captures, one test binary (one link of the core and its dependencies instead of one per file).

mod adversarial;
mod audio;
mod bad_input;
mod case;
mod determinism;
mod dtls_srtp;
mod eval;
mod extract;
mod findings;
mod findings_auth;
mod findings_classes;
mod findings_crack;
mod iax2;
mod legs;
mod media;
mod media_samples;
mod redact;
mod report_files;
mod report_pdf;
mod rtp_truth;
mod samples;
mod signalling;
mod sip_truth;
mod stir_shaken;
mod tls_decrypt;
mod transports;
