//! Whether a stream's audio can be played, and if not exactly why — computed for every stream of an analysis so
//! the UI and the reports say it without decoding anything.

use std::collections::HashMap;

use crate::model::{Encryption, MediaStream, StreamKind};

use super::{CodecSpec, PayloadKind, decoder_for, payload_kind};

/// Remembers which codecs this build can decode (opening a decoder once per codec name and rate).
#[derive(Default)]
pub struct StatusCache {
    known: HashMap<(String, u32), Result<(), String>>,
}

impl StatusCache {
    fn decodable(&mut self, name: &str, rate: u32) -> Result<(), String> {
        self.known
            .entry((name.to_ascii_lowercase(), rate))
            .or_insert_with(|| {
                decoder_for(&CodecSpec {
                    name: name.to_string(),
                    clock_rate_hz: rate,
                    channels: 1,
                    fmtp: None,
                })
                .map(|_| ())
                .map_err(|e| e.to_string())
            })
            .clone()
    }
}

/// One line: `decodable (PCMA)`, `encrypted (SRTP): keys in the SDP, decryptable (PCMU)`, `G729: no decoder`,
/// `encrypted (DTLS-SRTP): keys not in the capture`, `not audio (T.38 fax)`.
pub fn audio_status(s: &MediaStream, cache: &mut StatusCache) -> String {
    audio_status_keyed(s, cache, false)
}

/// [`audio_status`], knowing whether DTLS-SRTP keys were exported for the stream's flow (a key log held the
/// DTLS session): then `encrypted (DTLS-SRTP): keys from the DTLS handshake, decryptable (PCMU)`.
pub fn audio_status_keyed(s: &MediaStream, cache: &mut StatusCache, dtls_keys: bool) -> String {
    if s.kind == StreamKind::T38 {
        return "not audio (T.38 fax)".into();
    }
    // The audio payload types of the stream (events and comfort noise are not what one listens to).
    let audio: Vec<&String> = s
        .codecs
        .iter()
        .filter(|c| payload_kind(c) == PayloadKind::Audio)
        .collect();
    let codec_line = if audio.is_empty() {
        Err("no audio payload (only events or comfort noise)".to_string())
    } else if let Some(unknown) = audio.iter().find(|c| c.starts_with("PT")) {
        Err(format!(
            "{unknown}: no decoder (dynamic payload type without SDP; give the codec by hand)"
        ))
    } else {
        let mut ok = Vec::new();
        let mut err = None;
        for c in &audio {
            let rate = if Some(c.as_str()) == Some(s.codec.as_str()) {
                s.clock_rate_hz.unwrap_or(8000)
            } else {
                8000
            };
            match cache.decodable(c, rate) {
                Ok(()) => ok.push(c.as_str()),
                Err(e) => err = err.or(Some(e)),
            }
        }
        match (ok.is_empty(), err) {
            (false, _) => Ok(ok.join("+")),
            (true, Some(e)) => Err(e),
            (true, None) => Err("no decoder".into()),
        }
    };
    match s.encryption {
        Encryption::None => match codec_line {
            Ok(c) => format!("decodable ({c})"),
            Err(e) => e,
        },
        Encryption::Srtp => {
            let sdes = s
                .encryption_evidence
                .as_deref()
                .is_some_and(|e| e.contains("a=crypto"));
            match (sdes, codec_line) {
                (true, Ok(c)) => {
                    format!("encrypted (SRTP): keys in the SDP, decryptable ({c})")
                }
                (true, Err(e)) => format!("encrypted (SRTP): keys in the SDP; {e}"),
                (false, _) => "encrypted (SRTP): no key in the capture".into(),
            }
        }
        Encryption::DtlsSrtp if dtls_keys => match codec_line {
            Ok(c) => {
                format!("encrypted (DTLS-SRTP): keys from the DTLS handshake, decryptable ({c})")
            }
            Err(e) => format!("encrypted (DTLS-SRTP): keys from the DTLS handshake; {e}"),
        },
        Encryption::DtlsSrtp => "encrypted (DTLS-SRTP): keys not in the capture".into(),
        Encryption::Zrtp => "encrypted (ZRTP): keys not in the capture".into(),
        // Not "decodable": that word is the claim that the audio plays back.
        Encryption::Unknown => match codec_line {
            Ok(c) => format!(
                "encryption unknown (no SDP): played as clear {c}, it is speech only if it was not encrypted"
            ),
            Err(e) => format!("encryption unknown (no SDP); {e}"),
        },
    }
}
