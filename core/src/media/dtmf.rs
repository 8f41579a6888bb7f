//! DTMF: RFC 4733 telephone-events carried in RTP, and SIP INFO bodies (`application/dtmf-relay`,
//! `application/dtmf`).

use crate::model::{DtmfEvent, FrameNo};

/// The character for an RFC 4733 event code: `0`-`9`, `*` (10), `#` (11), `A`-`D` (12-15), `flash` (16);
/// `event-N` otherwise.
pub fn event_name(_event: u8) -> String {
    String::new()
}

/// Why an RTP payload is not a telephone-event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    #[error("telephone-event payload of {len} bytes (needs 4)")]
    TooShort { len: usize },
}

/// Collects RFC 4733 events of one stream. An event is identified by its RTP timestamp (RFC 4733 2.5.1.3): every
/// packet with the same timestamp belongs to the same event (updates, and the three retransmitted end packets).
#[derive(Debug, Default)]
pub struct DtmfTracker {}

impl DtmfTracker {
    /// Feed one telephone-event packet. `clock_rate` converts the duration field to milliseconds.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        _frame: FrameNo,
        _ts_nanos: i64,
        _ssrc: u32,
        _rtp_timestamp: u32,
        _marker: bool,
        _payload: &[u8],
        _clock_rate: u32,
    ) -> Result<(), DtmfError> {
        Ok(())
    }

    /// The events in order of their first packet.
    pub fn events(&self) -> Vec<DtmfEvent> {
        Vec::new()
    }
}

/// A DTMF digit from a SIP INFO body, with its duration in ms when given. `content_type` is the message's
/// Content-Type (parameters allowed, case-insensitive). Returns `None` for other content types or no digit.
pub fn parse_info_body(_content_type: &str, _body: &[u8]) -> Option<(String, Option<f64>)> {
    None
}
