//! Decoding a call's audio off the UI thread (the capture is re-read for its streams), then handing it to the
//! player. One job at a time; a newer request replaces an older one's result.

use std::sync::Arc;

use earshot_core::AnalyzeOptions;
use earshot_core::audio::{
    self, AudioRequest, CallAudio, StreamAudio, TimelineOptions, TimingMode,
};
use earshot_core::model::Analysis;

use super::AppState;
use super::job::{Job, Poll};

/// A finished decode: the mixed call and each stream's status line.
pub struct Decoded {
    pub call_id: String,
    pub audio: Arc<CallAudio>,
    pub streams: Vec<(usize, bool, String)>,
}

#[derive(Default)]
pub struct AudioState {
    /// Call-ID whose audio is loaded (or loading).
    pub call_id: Option<String>,
    pub mode: Option<TimingMode>,
    pub loaded: Option<Decoded>,
    pub error: Option<String>,
    job: Option<Job<Result<Decoded, String>>>,
}

impl AudioState {
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }
}

/// Starts decoding the audio of `call_id` (no-op if it is already loaded or loading in that mode).
pub fn request(st: &mut AppState, call_id: &str, mode: TimingMode) {
    if st.services.audio.call_id.as_deref() == Some(call_id) && st.services.audio.mode == Some(mode)
    {
        return;
    }
    let (Some(source), Some(analysis)) = (st.session.source.clone(), st.session.analysis.clone())
    else {
        return;
    };
    st.services.audio.call_id = Some(call_id.to_string());
    st.services.audio.mode = Some(mode);
    st.services.audio.error = None;
    let call = call_id.to_string();
    match Job::spawn("audio", st.services.waker.clone(), move || {
        decode(&source, &analysis, &call, mode)
    }) {
        Ok(j) => st.services.audio.job = Some(j),
        Err(e) => {
            st.services.audio.job = None;
            st.services.audio.error = Some(e);
        }
    }
}

fn decode(
    source: &earshot_core::case::Source,
    a: &Arc<Analysis>,
    call_id: &str,
    mode: TimingMode,
) -> Result<Decoded, String> {
    let streams = audio::call_streams(a, call_id).map_err(|e| e.to_string())?;
    let req = AudioRequest {
        streams,
        timeline: TimelineOptions {
            mode,
            ..Default::default()
        },
        ..Default::default()
    };
    let tap = audio::collect_packets_from(source, a, &req, &AnalyzeOptions::default(), &mut |_| {})
        .map_err(|e| e.to_string())?;
    let decoded: Vec<StreamAudio> = audio::decode_collected(a, &req, &tap);
    let statuses = decoded
        .iter()
        .map(|s| (s.stream_index, s.playable, s.status.clone()))
        .collect();
    Ok(Decoded {
        call_id: call_id.to_string(),
        audio: Arc::new(audio::mix(decoded)),
        streams: statuses,
    })
}

/// Takes a finished decode, if any, and loads it into the player.
pub fn poll(st: &mut AppState) {
    let Some(job) = &st.services.audio.job else {
        return;
    };
    let res = match job.poll() {
        Poll::Running => return,
        Poll::Done(r) => r,
        Poll::Failed(e) => Err(e),
    };
    st.services.audio.job = None;
    match res {
        Ok(d) if st.services.audio.call_id.as_deref() == Some(d.call_id.as_str()) => {
            st.services.player.load(d.audio.clone());
            st.services.audio.loaded = Some(d);
        }
        Ok(_) => {}
        Err(e) => st.services.audio.error = Some(e),
    }
}
