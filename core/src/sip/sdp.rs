//! SDP (RFC 8866) parsing into [`crate::model::Sdp`].
//!
//! Lines are `x=value` ended by CRLF or LF; trailing whitespace and empty lines are tolerated, unknown lines
//! ignored. Work is linear in the body and the result bounded ([`MAX_MEDIA`], [`MAX_ATTRIBUTES`]).

use crate::model::{RtpMap, Sdp, SdpCrypto, SdpMedia, SdpOrigin};
use std::net::IpAddr;

/// At most this many `m=` sections are kept; later ones (and their lines) are ignored.
pub const MAX_MEDIA: usize = 64;
/// At most this many `a=` lines are interpreted per media section (and at session level).
pub const MAX_ATTRIBUTES: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("malformed SDP: {0}")]
    Malformed(String),
}

/// Parse an SDP body. Unknown lines are ignored; a body with no `v=`/`m=` structure is an error.
pub fn parse_sdp(body: &[u8]) -> Result<Sdp, SdpError> {
    parse_sdp_counted(body).map(|(sdp, _)| sdp)
}

/// [`parse_sdp`], also returning how many `m=` sections were ignored beyond [`MAX_MEDIA`] (for a warning).
pub fn parse_sdp_counted(body: &[u8]) -> Result<(Sdp, usize), SdpError> {
    let mut media_ignored = 0usize;
    let text = String::from_utf8_lossy(body);
    let mut sdp = Sdp::default();
    let mut saw_version = false;
    let mut saw_media = false;
    let mut session_attrs = 0usize;
    let mut media_attrs = 0usize;
    // When the media limit is hit, the lines of ignored sections must not land on the last kept one.
    let mut ignoring_media = false;
    for line in text.lines() {
        let line = line.trim_end();
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        let mut k = kind.chars();
        let (Some(kind), None) = (k.next(), k.next()) else {
            continue;
        };
        match kind {
            'v' => saw_version = true,
            'm' => {
                saw_media = true;
                if sdp.media.len() >= MAX_MEDIA {
                    ignoring_media = true;
                    media_ignored = media_ignored.saturating_add(1);
                    continue;
                }
                if let Some(m) = parse_media_line(value) {
                    sdp.media.push(m);
                    media_attrs = 0;
                    ignoring_media = false;
                } else {
                    ignoring_media = true;
                }
            }
            _ if ignoring_media => {}
            'o' if sdp.media.is_empty() => sdp.origin = parse_origin(value),
            's' if sdp.media.is_empty() => sdp.session_name = Some(value.to_string()),
            'c' => {
                let addr = parse_connection(value);
                match sdp.media.last_mut() {
                    Some(m) => m.connection = addr,
                    None => sdp.connection = addr,
                }
            }
            'a' => match sdp.media.last_mut() {
                Some(m) => {
                    if media_attrs < MAX_ATTRIBUTES {
                        media_attrs = media_attrs.saturating_add(1);
                        media_attribute(m, value);
                    }
                }
                None => {
                    if session_attrs < MAX_ATTRIBUTES {
                        session_attrs = session_attrs.saturating_add(1);
                        session_attribute(&mut sdp, value);
                    }
                }
            },
            _ => {}
        }
    }
    if !saw_version && !saw_media {
        return Err(SdpError::Malformed("no v= or m= line".into()));
    }
    Ok((sdp, media_ignored))
}

/// `o=username sess-id sess-version nettype addrtype unicast-address`
fn parse_origin(value: &str) -> Option<SdpOrigin> {
    let mut p = value.split_whitespace();
    let username = p.next()?.to_string();
    let session_id = p.next()?.to_string();
    let version = p.next()?.to_string();
    let _nettype = p.next();
    let _addrtype = p.next();
    let address = p.next().unwrap_or("").to_string();
    Some(SdpOrigin {
        username,
        session_id,
        version,
        address,
    })
}

/// `c=IN IP4 224.2.1.1/127` → the address (TTL / count stripped). `None` for FQDNs or garbage.
fn parse_connection(value: &str) -> Option<IpAddr> {
    let mut p = value.split_whitespace();
    let _nettype = p.next()?;
    let _addrtype = p.next()?;
    let addr = p.next()?;
    let addr = addr.split('/').next()?;
    addr.parse::<IpAddr>().ok()
}

/// `m=audio 49170[/2] RTP/AVP 0 8 101`
fn parse_media_line(value: &str) -> Option<SdpMedia> {
    let mut p = value.split_whitespace();
    let media = p.next()?.to_string();
    let port_field = p.next()?;
    let port = port_field.split('/').next()?.parse::<u16>().ok()?;
    let proto = p.next().unwrap_or("").to_string();
    let formats = p.take(MAX_ATTRIBUTES).map(str::to_string).collect();
    Some(SdpMedia {
        media,
        port,
        proto,
        formats,
        ..SdpMedia::default()
    })
}

fn is_direction(name: &str) -> bool {
    matches!(name, "sendrecv" | "sendonly" | "recvonly" | "inactive")
}

fn split_attr(value: &str) -> (&str, Option<&str>) {
    match value.split_once(':') {
        Some((n, v)) => (n.trim(), Some(v.trim())),
        None => (value.trim(), None),
    }
}

fn session_attribute(sdp: &mut Sdp, value: &str) {
    match split_attr(value) {
        (name, None) if is_direction(name) => sdp.direction = Some(name.to_string()),
        ("fingerprint", Some(v)) => sdp.fingerprints.push(v.to_string()),
        _ => {}
    }
}

fn media_attribute(m: &mut SdpMedia, value: &str) {
    match split_attr(value) {
        (name, None) if is_direction(name) => m.direction = Some(name.to_string()),
        ("rtcp-mux", None) => m.rtcp_mux = true,
        ("rtpmap", Some(v)) => {
            if let Some(r) = parse_rtpmap(v) {
                m.rtpmaps.push(r);
            }
        }
        ("fmtp", Some(v)) => {
            if let Some((pt, params)) = v.split_once(char::is_whitespace)
                && let Ok(pt) = pt.parse::<u8>()
            {
                m.fmtps.push((pt, params.trim().to_string()));
            }
        }
        ("crypto", Some(v)) => {
            let mut p = v.split_whitespace();
            if let (Some(tag), Some(suite), Some(key)) = (p.next(), p.next(), p.next())
                && let Ok(tag) = tag.parse::<u32>()
            {
                m.crypto.push(SdpCrypto {
                    tag,
                    suite: suite.to_string(),
                    key_params: key.to_string(),
                });
            }
        }
        ("fingerprint", Some(v)) => m.fingerprints.push(v.to_string()),
        ("rtcp", Some(v)) => {
            m.rtcp_port = v
                .split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok());
        }
        ("ptime", Some(v)) => {
            m.ptime_ms = v
                .split('.')
                .next()
                .and_then(|p| p.trim().parse::<u32>().ok());
        }
        _ => {}
    }
}

/// `PT encoding/rate[/channels]`
fn parse_rtpmap(v: &str) -> Option<RtpMap> {
    let (pt, rest) = v.split_once(char::is_whitespace)?;
    let payload_type = pt.parse::<u8>().ok()?;
    let mut p = rest.trim().split('/');
    let encoding = p.next()?.trim().to_string();
    if encoding.is_empty() {
        return None;
    }
    let clock_rate_hz = p.next()?.trim().parse::<u32>().ok()?;
    let channels = p.next().and_then(|c| c.trim().parse::<u8>().ok());
    Some(RtpMap {
        payload_type,
        encoding,
        clock_rate_hz,
        channels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Sdp {
        match parse_sdp(body.as_bytes()) {
            Ok(s) => s,
            Err(e) => unreachable!("SDP should parse: {e}"),
        }
    }

    const AUDIO: &str = "v=0\r\no=alice 2890844526 2890844527 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\n\
t=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n";

    #[test]
    fn audio_offer() {
        let s = ok(AUDIO);
        let o = s.origin.clone().unwrap_or_default();
        assert_eq!(o.username, "alice");
        assert_eq!(o.session_id, "2890844526");
        assert_eq!(o.version, "2890844527");
        assert_eq!(o.address, "198.51.100.1");
        assert_eq!(s.session_name.as_deref(), Some("-"));
        assert_eq!(s.connection, "198.51.100.1".parse().ok());
        assert_eq!(s.media.len(), 1);
        let m = s.media.first().cloned().unwrap_or_default();
        assert_eq!(
            (m.media.as_str(), m.port, m.proto.as_str()),
            ("audio", 49170, "RTP/AVP")
        );
        assert_eq!(m.formats, vec!["0", "8", "101"]);
        assert_eq!(m.rtpmaps.len(), 3);
        assert_eq!(
            m.rtpmaps.get(2),
            Some(&RtpMap {
                payload_type: 101,
                encoding: "telephone-event".into(),
                clock_rate_hz: 8000,
                channels: None
            })
        );
        assert_eq!(m.fmtps, vec![(101, "0-15".to_string())]);
        assert_eq!(m.ptime_ms, Some(20));
        assert_eq!(m.direction.as_deref(), Some("sendrecv"));
        assert_eq!(s.direction, None);
        // LF-only, trailing spaces and empty lines give the same result.
        let lf = AUDIO.replace("\r\n", "  \n\n");
        assert_eq!(ok(&lf), s);
    }

    #[test]
    fn ipv6_crypto_and_session_direction() {
        let s = ok(
            "v=0\no=- 1 1 IN IP6 2001:db8::1\ns=call\nc=IN IP6 2001:db8::1\na=sendonly\n\
m=audio 5004/2 RTP/SAVP 0 9\nc=IN IP6 2001:db8::2/64\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\n\
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32 KDR=1\n\
a=rtpmap:9 G722/8000/1\na=rtcp:5005 IN IP6 2001:db8::2\n",
        );
        assert_eq!(s.connection, "2001:db8::1".parse().ok());
        assert_eq!(s.direction.as_deref(), Some("sendonly"));
        let m = s.media.first().cloned().unwrap_or_default();
        assert_eq!(m.port, 5004);
        assert_eq!(m.connection, "2001:db8::2".parse().ok());
        assert_eq!(m.crypto.len(), 2);
        assert_eq!(
            m.crypto.first(),
            Some(&SdpCrypto {
                tag: 1,
                suite: "AES_CM_128_HMAC_SHA1_80".into(),
                key_params: "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4".into()
            })
        );
        assert_eq!(m.rtcp_port, Some(5005));
        assert_eq!(m.rtpmaps.first().and_then(|r| r.channels), Some(1));
    }

    #[test]
    fn t38_image() {
        let s = ok(
            "v=0\r\no=xx 1 2 IN IP4 10.0.0.5\r\ns=session\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n\
m=image 5000 udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\na=T38FaxRateManagement:transferredTCF\r\n",
        );
        let m = s.media.first().cloned().unwrap_or_default();
        assert_eq!(
            (m.media.as_str(), m.port, m.proto.as_str()),
            ("image", 5000, "udptl")
        );
        assert_eq!(m.formats, vec!["t38"]);
    }

    #[test]
    fn webrtc() {
        let s = ok(
            "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0\r\na=fingerprint:sha-256 19:E2:1C:3B:4B:9F:81:E6:B8:5C:F4:A5:A8:D8:73:04:BB:05:2F:70:9F:04:A9:0E:05:E9:26:33:E8:70:88:A2\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=rtcp-mux\r\n\
a=fingerprint:sha-256 AA:BB\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=recvonly\r\n",
        );
        assert_eq!(s.fingerprints.len(), 1);
        let m = s.media.first().cloned().unwrap_or_default();
        assert_eq!(m.proto, "UDP/TLS/RTP/SAVPF");
        assert!(m.rtcp_mux);
        assert_eq!(m.rtcp_port, Some(9));
        assert_eq!(m.fingerprints, vec!["sha-256 AA:BB"]);
        assert_eq!(m.connection, "0.0.0.0".parse().ok());
        assert_eq!(
            m.rtpmaps.first().map(|r| (r.clock_rate_hz, r.channels)),
            Some((48000, Some(2)))
        );
        assert_eq!(
            m.fmtps,
            vec![(111, "minptime=10;useinbandfec=1".to_string())]
        );
        assert_eq!(m.direction.as_deref(), Some("recvonly"));
    }

    #[test]
    fn garbage_and_bounds() {
        assert!(parse_sdp(b"").is_err());
        assert!(parse_sdp(b"hello world\r\n").is_err());
        assert!(parse_sdp(&[0xff, 0xfe, 0x00]).is_err());
        // m= without v= still counts as SDP.
        assert_eq!(ok("m=audio 1 RTP/AVP 0\n").media.len(), 1);
        let mut big = String::from("v=0\n");
        for i in 0..200 {
            big.push_str(&format!("m=audio {i} RTP/AVP 0\n"));
            for _ in 0..300 {
                big.push_str("a=rtpmap:0 PCMU/8000\n");
            }
        }
        let s = ok(&big);
        assert_eq!(s.media.len(), MAX_MEDIA);
        assert!(s.media.iter().all(|m| m.rtpmaps.len() == MAX_ATTRIBUTES));
        assert_eq!(s.media.last().map(|m| m.port), Some(63));
    }
}
