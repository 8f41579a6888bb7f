//! Playback engine for the GUI and the headless `earshot play` command: plays a [`CallAudio`] through the default
//! audio output with rodio, with per-track mute, solo and pan, seeking, and an exact playback cursor.
//!
//! * The output device is opened lazily, on the first [`Player::play`] (or [`Player::open_output`]), never by
//!   [`Player::new`] or [`Player::load`]. Without a usable device `play` fails with
//!   [`PlayerError::NoOutputDevice`] and remembers why in [`Player::output_status`]; loading, seeking, the cursor,
//!   mute, solo and pan keep working, and the next `play` tries to open the device again.
//! * [`MixSource`] is the rodio [`Source`]: it mixes the tracks to interleaved stereo `f32` at the call's rate (rodio
//!   resamples to the device's rate). It reads every control from atomics, so the audio thread never takes a lock.
//! * The cursor ([`Player::position_samples`]) counts the frames that [`MixSource`] has handed to rodio, so it is
//!   exact in samples of the call rather than wall-clock. It runs ahead of what is audible by rodio's resampler and
//!   the device buffer (rodio asks ALSA for about 50 ms).
//! * Pan law: constant power, `left = sin((1 - pan)·π/4)`, `right = sin((1 + pan)·π/4)`: full gain on one side at
//!   ±1 (and exactly 0 on the other), −3 dB on both at 0.
//! * Mixing sums the audible tracks and passes the sum through a soft limiter ([`soft_limit`]) that is the identity
//!   up to ±0.8 and bends smoothly towards ±1 above, so ordinary speech levels reach the device untouched.

// Nothing outside the tests calls this yet: the GUI and `earshot play` will.
#![cfg_attr(not(test), allow(dead_code))]

use std::f32::consts::FRAC_PI_4;
use std::fmt;
use std::num::NonZero;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use earshot_core::audio::CallAudio;
use rodio::{DeviceSinkBuilder, MixerDeviceSink, Source};

/// Why playback could not start, or stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerError {
    /// The default output device could not be opened; [`Player::output_status`] tells why.
    NoOutputDevice,
    /// [`Player::play`] was called before [`Player::load`].
    NothingLoaded,
    /// [`play_blocking`]: the device stopped taking samples for [`STALL_TIMEOUT`] (unplugged, or its stream failed).
    OutputStalled,
}

impl fmt::Display for PlayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PlayerError::NoOutputDevice => "no audio output device",
            PlayerError::NothingLoaded => "no audio loaded",
            PlayerError::OutputStalled => "audio output stopped taking samples",
        })
    }
}

impl std::error::Error for PlayerError {}

/// State of the audio output, for the UI to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputStatus {
    /// Not opened yet: nothing has been played.
    Unopened,
    /// The default output device is open.
    Ready,
    /// The last attempt to open the default output device failed, with rodio's and the backend's messages.
    NoDevice(String),
}

// `Shared::state` packs the transport into one atomic word so that the audio thread and the UI thread change it with
// compare-and-swap only, and never see a position from one update with flags from another.
const PLAYING: u64 = 1 << 63;
const FINISHED: u64 = 1 << 62;
const POS_MASK: u64 = FINISHED - 1;

/// Controls of one track, written by the UI thread and read by the audio thread.
#[derive(Debug)]
struct TrackCtl {
    pan_bits: AtomicU32,
    muted: AtomicBool,
    solo: AtomicBool,
}

/// Everything the audio thread reads for one loaded [`CallAudio`].
#[derive(Debug)]
struct Shared {
    /// `PLAYING | FINISHED | position in frames`.
    state: AtomicU64,
    /// Length of the audio in frames.
    len: u64,
    /// Where playback stops (finished) if before `len`; `u64::MAX` for none.
    stop_at: AtomicU64,
    /// Set when another audio is loaded or the player is dropped: the source then ends and rodio drops it.
    retired: AtomicBool,
    tracks: Box<[TrackCtl]>,
}

impl Shared {
    fn new(audio: &CallAudio) -> Self {
        Shared {
            state: AtomicU64::new(0),
            stop_at: AtomicU64::new(u64::MAX),
            // Without a rate there is nothing to play.
            len: if audio.rate_hz == 0 {
                0
            } else {
                audio.len_samples() as u64
            },
            retired: AtomicBool::new(false),
            tracks: audio
                .tracks
                .iter()
                .map(|t| TrackCtl {
                    pan_bits: AtomicU32::new(clamp_pan(t.pan).to_bits()),
                    muted: AtomicBool::new(false),
                    solo: AtomicBool::new(false),
                })
                .collect(),
        }
    }

    /// Where playback ends: the end of the audio or the stop mark, whichever comes first.
    fn end(&self) -> u64 {
        self.len.min(self.stop_at.load(Ordering::Acquire))
    }

    fn empty() -> Self {
        Shared::new(&CallAudio::default())
    }

    /// Applies `f` to the state word until no other thread changed it in between.
    fn update_state(&self, f: impl Fn(u64) -> u64) {
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| Some(f(s)));
    }
}

fn clamp_pan(pan: f32) -> f32 {
    if pan.is_nan() {
        0.0
    } else {
        pan.clamp(-1.0, 1.0)
    }
}

/// Constant-power pan law: `(left, right)` gains for `pan` in -1 (left) ..= 1 (right).
pub fn pan_gains(pan: f32) -> (f32, f32) {
    let pan = clamp_pan(pan);
    // Hard pans are exact (the other side silent, this one unscaled) whatever the platform's `sin` returns.
    if pan <= -1.0 {
        return (1.0, 0.0);
    }
    if pan >= 1.0 {
        return (0.0, 1.0);
    }
    (
        ((1.0 - pan) * FRAC_PI_4).sin(),
        ((1.0 + pan) * FRAC_PI_4).sin(),
    )
}

/// Where [`soft_limit`] starts to bend.
const LIMIT_KNEE: f32 = 0.8;

/// Identity for `|x| <= 0.8`; above, a tanh curve with slope 1 at the knee that approaches ±1 and never passes it.
pub fn soft_limit(x: f32) -> f32 {
    let a = x.abs();
    if a <= LIMIT_KNEE {
        x
    } else {
        let room = 1.0 - LIMIT_KNEE;
        (LIMIT_KNEE + room * ((a - LIMIT_KNEE) / room).tanh()).copysign(x)
    }
}

/// The rodio [`Source`] that mixes a [`CallAudio`] to interleaved stereo at its own rate.
///
/// While paused, finished or before play it yields silence without advancing, so it stays attached to the device
/// mixer for the life of the loaded audio; it ends only when retired (another load, or the player dropped).
pub struct MixSource {
    audio: Arc<CallAudio>,
    shared: Arc<Shared>,
    rate: NonZero<u32>,
    /// The right sample of the frame whose left sample was just returned.
    pending_right: Option<f32>,
    /// Per track: the pan bits the gains were computed for, and the gains.
    gains: Vec<(u32, f32, f32)>,
}

impl MixSource {
    fn new(audio: Arc<CallAudio>, shared: Arc<Shared>) -> Self {
        let gains = shared
            .tracks
            .iter()
            .map(|t| {
                let bits = t.pan_bits.load(Ordering::Relaxed);
                let (l, r) = pan_gains(f32::from_bits(bits));
                (bits, l, r)
            })
            .collect();
        MixSource {
            rate: NonZero::new(audio.rate_hz).unwrap_or(NonZero::<u32>::MIN),
            audio,
            shared,
            pending_right: None,
            gains,
        }
    }

    /// The next frame: the mix at the cursor when playing (advancing the cursor), else silence.
    fn next_frame(&mut self) -> (f32, f32) {
        let state = self.shared.state.load(Ordering::Acquire);
        if state & PLAYING == 0 {
            return (0.0, 0.0);
        }
        let pos = state & POS_MASK;
        let end = self.shared.end();
        if pos >= end {
            // At the end or stop mark while playing: sought there, empty audio, or a new stop mark. If the UI changed
            // the state meanwhile, its change wins.
            let _ = self.shared.state.compare_exchange(
                state,
                pos | FINISHED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
            return (0.0, 0.0);
        }
        let frame = self.mix(pos as usize);
        let next = pos + 1;
        let new_state = if next >= end {
            next | FINISHED
        } else {
            next | PLAYING
        };
        // A seek or pause that raced this frame wins; the frame is still played.
        let _ = self.shared.state.compare_exchange(
            state,
            new_state,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
        frame
    }

    fn mix(&mut self, pos: usize) -> (f32, f32) {
        let ctls = &self.shared.tracks;
        let any_solo = ctls.iter().any(|t| t.solo.load(Ordering::Relaxed));
        let (mut left, mut right) = (0.0f32, 0.0f32);
        for ((track, ctl), gains) in self.audio.tracks.iter().zip(ctls).zip(&mut self.gains) {
            if ctl.muted.load(Ordering::Relaxed) || (any_solo && !ctl.solo.load(Ordering::Relaxed))
            {
                continue;
            }
            let sample = track.sample_at(pos);
            let bits = ctl.pan_bits.load(Ordering::Relaxed);
            if bits != gains.0 {
                let (l, r) = pan_gains(f32::from_bits(bits));
                *gains = (bits, l, r);
            }
            let x = f32::from(sample) / 32768.0;
            left += gains.1 * x;
            right += gains.2 * x;
        }
        (soft_limit(left), soft_limit(right))
    }
}

impl Iterator for MixSource {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        if let Some(right) = self.pending_right.take() {
            return Some(right);
        }
        if self.shared.retired.load(Ordering::Relaxed) {
            return None;
        }
        let (left, right) = self.next_frame();
        self.pending_right = Some(right);
        Some(left)
    }
}

impl Source for MixSource {
    fn current_span_len(&self) -> Option<usize> {
        None
    }

    fn channels(&self) -> rodio::ChannelCount {
        const STEREO: rodio::ChannelCount = NonZero::<u16>::MIN.saturating_add(1);
        STEREO
    }

    fn sample_rate(&self) -> rodio::SampleRate {
        self.rate
    }

    fn total_duration(&self) -> Option<Duration> {
        None
    }
}

/// Plays one [`CallAudio`] at a time; see the module documentation.
pub struct Player {
    audio: Option<Arc<CallAudio>>,
    shared: Arc<Shared>,
    /// Whether a [`MixSource`] over `shared` has been added to the device mixer.
    attached: bool,
    sink: Option<MixerDeviceSink>,
    status: OutputStatus,
    /// Output device chosen by name (`None`: the system default).
    device: Option<String>,
}

impl Default for Player {
    fn default() -> Self {
        Self::new()
    }
}

impl Player {
    /// A player with nothing loaded. Does not touch the audio device.
    pub fn new() -> Self {
        Player {
            audio: None,
            shared: Arc::new(Shared::empty()),
            attached: false,
            sink: None,
            status: OutputStatus::Unopened,
            device: None,
        }
    }

    /// Chooses the output device by name (`None`: the system default). Takes effect on the next
    /// [`Player::play`]: an open device is closed (playback pauses) when the choice changes.
    pub fn set_device(&mut self, device: Option<String>) {
        if self.device == device {
            return;
        }
        self.pause();
        self.device = device;
        self.sink = None;
        self.attached = false;
        self.status = OutputStatus::Unopened;
    }

    /// The chosen output device (`None`: the system default).
    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }

    /// Replaces the audio: stops playback, cursor to 0, every track unmuted, unsoloed, at its default pan.
    pub fn load(&mut self, audio: Arc<CallAudio>) {
        self.shared.retired.store(true, Ordering::Relaxed);
        self.shared = Arc::new(Shared::new(&audio));
        self.audio = Some(audio);
        self.attached = false;
    }

    /// The loaded audio.
    pub fn audio(&self) -> Option<&Arc<CallAudio>> {
        self.audio.as_ref()
    }

    /// State of the audio output.
    pub fn output_status(&self) -> &OutputStatus {
        &self.status
    }

    /// Opens the default output device unless it is open already. Called by [`Player::play`]; a UI may call it to
    /// retry after [`OutputStatus::NoDevice`] without starting playback.
    pub fn open_output(&mut self) -> Result<(), PlayerError> {
        if self.sink.is_some() {
            return Ok(());
        }
        let opened = match &self.device {
            None => DeviceSinkBuilder::open_default_sink().map_err(|e| error_chain(&e)),
            Some(name) => open_named(name),
        };
        match opened {
            Ok(mut sink) => {
                sink.log_on_drop(false);
                self.sink = Some(sink);
                self.status = OutputStatus::Ready;
                Ok(())
            }
            Err(why) => {
                self.status = OutputStatus::NoDevice(why);
                Err(PlayerError::NoOutputDevice)
            }
        }
    }

    /// Starts or resumes playback from the cursor; from the start if the cursor is at the end (or the stop mark).
    pub fn play(&mut self) -> Result<(), PlayerError> {
        let Some(audio) = &self.audio else {
            return Err(PlayerError::NothingLoaded);
        };
        let audio = Arc::clone(audio);
        self.open_output()?;
        if !self.attached
            && let Some(sink) = &self.sink
        {
            sink.mixer()
                .add(MixSource::new(audio, Arc::clone(&self.shared)));
            self.attached = true;
        }
        let end = self.shared.end();
        self.shared.update_state(|s| {
            let pos = s & POS_MASK;
            match (end, pos >= end) {
                (0, _) => FINISHED,
                (_, true) => PLAYING,
                (_, false) => pos | PLAYING,
            }
        });
        Ok(())
    }

    /// Pauses playback, keeping the cursor.
    pub fn pause(&self) {
        self.shared.state.fetch_and(!PLAYING, Ordering::AcqRel);
    }

    pub fn is_playing(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) & PLAYING != 0
    }

    /// Whether playback ran to the end (cleared by seek, play and load).
    pub fn finished(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) & FINISHED != 0
    }

    /// Makes playback stop, and report [`Player::finished`], when the cursor reaches frame `stop_at`, to the frame
    /// (unlike pausing from the UI thread, which lands wherever the device's last buffer ended); `None` plays to the
    /// end of the audio. Kept until changed or another audio is loaded.
    pub fn set_stop_at(&self, stop_at: Option<u64>) {
        self.shared
            .stop_at
            .store(stop_at.unwrap_or(u64::MAX), Ordering::Release);
    }

    /// Moves the cursor to `sample` (clamped to the length), keeping play or pause.
    pub fn seek_samples(&self, sample: u64) {
        let pos = sample.min(self.shared.len);
        self.shared.update_state(|s| (s & PLAYING) | pos);
    }

    /// Moves the cursor to `secs` from the start of the audio (clamped), keeping play or pause.
    pub fn seek_secs(&self, secs: f64) {
        let rate = self.rate_hz();
        if rate == 0 {
            return;
        }
        let sample = (secs.max(0.0) * f64::from(rate)).round();
        // `as` saturates, and NaN becomes 0.
        self.seek_samples(sample as u64);
    }

    /// The cursor: frames of the audio handed to the device so far, counted from the start of the audio.
    pub fn position_samples(&self) -> u64 {
        self.shared.state.load(Ordering::Acquire) & POS_MASK
    }

    /// The cursor in seconds from the start of the audio.
    pub fn position_secs(&self) -> f64 {
        self.samples_to_secs(self.position_samples())
    }

    /// Length of the loaded audio in frames (0 when nothing is loaded).
    pub fn len_samples(&self) -> u64 {
        self.shared.len
    }

    /// Length of the loaded audio in seconds (0 when nothing is loaded).
    pub fn duration_secs(&self) -> f64 {
        self.samples_to_secs(self.shared.len)
    }

    /// Mutes or unmutes a track; an unknown track index is ignored.
    pub fn set_mute(&self, track: usize, muted: bool) {
        if let Some(t) = self.shared.tracks.get(track) {
            t.muted.store(muted, Ordering::Relaxed);
        }
    }

    pub fn is_muted(&self, track: usize) -> bool {
        self.shared
            .tracks
            .get(track)
            .is_some_and(|t| t.muted.load(Ordering::Relaxed))
    }

    /// Solos or unsolos a track: while any track is soloed, only soloed tracks (that are not muted) are heard.
    pub fn set_solo(&self, track: usize, solo: bool) {
        if let Some(t) = self.shared.tracks.get(track) {
            t.solo.store(solo, Ordering::Relaxed);
        }
    }

    pub fn is_solo(&self, track: usize) -> bool {
        self.shared
            .tracks
            .get(track)
            .is_some_and(|t| t.solo.load(Ordering::Relaxed))
    }

    /// Pans a track: -1 left .. 1 right (clamped; NaN is centre). An unknown track index is ignored.
    pub fn set_pan(&self, track: usize, pan: f32) {
        if let Some(t) = self.shared.tracks.get(track) {
            t.pan_bits
                .store(clamp_pan(pan).to_bits(), Ordering::Relaxed);
        }
    }

    /// A track's pan (0 for an unknown track).
    pub fn pan(&self, track: usize) -> f32 {
        self.shared
            .tracks
            .get(track)
            .map_or(0.0, |t| f32::from_bits(t.pan_bits.load(Ordering::Relaxed)))
    }

    fn rate_hz(&self) -> u32 {
        self.audio.as_ref().map_or(0, |a| a.rate_hz)
    }

    fn samples_to_secs(&self, samples: u64) -> f64 {
        match self.rate_hz() {
            0 => 0.0,
            rate => samples as f64 / f64::from(rate),
        }
    }

    /// How long after the cursor reaches the end the device is still playing buffered audio.
    fn output_latency(&self) -> Duration {
        let Some(sink) = &self.sink else {
            return Duration::ZERO;
        };
        let config = sink.config();
        match config.buffer_size() {
            rodio::cpal::BufferSize::Fixed(frames) => {
                Duration::from_secs_f64(f64::from(*frames) / f64::from(config.sample_rate().get()))
            }
            rodio::cpal::BufferSize::Default => Duration::from_millis(100),
        }
    }

    /// A source over the loaded audio that is not attached to any device, for tests.
    #[cfg(test)]
    fn detached_source(&self) -> Option<MixSource> {
        let audio = Arc::clone(self.audio.as_ref()?);
        Some(MixSource::new(audio, Arc::clone(&self.shared)))
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.shared.retired.store(true, Ordering::Relaxed);
    }
}

/// `err` and its sources, joined by ": ".
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Names of the output devices of the default host (rodio's cpal), in the host's order.
pub fn output_devices() -> Result<Vec<String>, rodio::CpalError> {
    use rodio::cpal::traits::HostTrait;
    Ok(rodio::cpal::default_host()
        .output_devices()?
        .map(|d| d.to_string())
        .collect())
}

/// Opens the output device called `name`; the error says why (missing, or the device refused).
fn open_named(name: &str) -> Result<MixerDeviceSink, String> {
    use rodio::cpal::traits::HostTrait;
    let devices = rodio::cpal::default_host()
        .output_devices()
        .map_err(|e| format!("cannot list the output devices: {e}"))?;
    let Some(dev) = devices.into_iter().find(|d| d.to_string() == name) else {
        return Err(format!("output device {name:?} not found"));
    };
    DeviceSinkBuilder::from_device(dev)
        .and_then(|b| b.open_stream())
        .map_err(|e| format!("output device {name:?}: {}", error_chain(&e)))
}

/// How often [`play_blocking`] reports progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// How long [`play_blocking`] waits for a cursor that does not move before giving up.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Plays `audio` from `from_secs` to its end, or for at most `max_secs`, on the default output device, blocking
/// until done; calls `progress` with the position in seconds about every 100 ms and once more at the end. Stops at
/// `from_secs + max_secs` to the frame. Fails with [`PlayerError::NoOutputDevice`] when the default output cannot be
/// opened, and with [`PlayerError::OutputStalled`] when the cursor stops moving for [`STALL_TIMEOUT`].
pub fn play_blocking(
    audio: Arc<CallAudio>,
    from_secs: f64,
    max_secs: Option<f64>,
    mut progress: impl FnMut(f64),
) -> Result<(), PlayerError> {
    let rate = audio.rate_hz;
    let mut player = Player::new();
    player.load(audio);
    player.seek_secs(from_secs);
    let stop_at = match max_secs {
        Some(max) if rate > 0 => {
            let max = (max.max(0.0) * f64::from(rate)).round() as u64;
            player
                .position_samples()
                .saturating_add(max)
                .min(player.len_samples())
        }
        _ => player.len_samples(),
    };
    if player.position_samples() >= stop_at {
        progress(player.position_secs());
        return Ok(());
    }
    player.set_stop_at(Some(stop_at));
    player.play()?;
    let mut next_report = Instant::now();
    let (mut last_pos, mut last_move) = (player.position_samples(), Instant::now());
    loop {
        let pos = player.position_samples();
        if pos >= stop_at || !player.is_playing() {
            break;
        }
        let now = Instant::now();
        if pos != last_pos {
            (last_pos, last_move) = (pos, now);
        } else if now.duration_since(last_move) >= STALL_TIMEOUT {
            return Err(PlayerError::OutputStalled);
        }
        if now >= next_report {
            progress(player.position_secs());
            next_report = now + PROGRESS_EVERY;
        }
        let until_stop = Duration::from_secs_f64((stop_at - pos) as f64 / f64::from(rate));
        let until_report = next_report.saturating_duration_since(Instant::now());
        std::thread::sleep(until_stop.min(until_report).max(Duration::from_millis(1)));
    }
    progress(player.position_secs());
    // Let the device play what is still in its buffer before the stream closes.
    std::thread::sleep(player.output_latency());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_core::audio::Track;

    const RATE: u32 = 8000;

    fn sine(freq: f64, secs: f64, amplitude: f64) -> Vec<i16> {
        let n = (secs * f64::from(RATE)) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(RATE);
                (amplitude * 32767.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    fn track(label: &str, samples: Vec<i16>, pan: f32) -> Track {
        Track {
            label: label.to_string(),
            stream_index: None,
            offset: 0,
            samples,
            pan,
        }
    }

    /// A 440 Hz sine hard left and a 1000 Hz sine hard right, one second each.
    fn two_tones() -> Arc<CallAudio> {
        Arc::new(CallAudio {
            rate_hz: RATE,
            start_ts_nanos: 0,
            tracks: vec![
                track("caller", sine(440.0, 1.0, 0.5), -1.0),
                track("callee", sine(1000.0, 1.0, 0.5), 1.0),
            ],
        })
    }

    /// Takes `frames` frames from `source`, split into left and right.
    fn take_frames(source: &mut MixSource, frames: usize) -> (Vec<f32>, Vec<f32>) {
        let mut left = Vec::with_capacity(frames);
        let mut right = Vec::with_capacity(frames);
        for _ in 0..frames {
            left.push(source.next().expect("left sample"));
            right.push(source.next().expect("right sample"));
        }
        (left, right)
    }

    /// Power of `x` at `freq` (Goertzel), normalised so a full-scale sine gives about 0.25.
    fn goertzel(x: &[f32], freq: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * freq / f64::from(RATE);
        let coeff = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in x {
            let s = f64::from(v) + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        power / (x.len() as f64 * x.len() as f64)
    }

    fn energy(x: &[f32]) -> f64 {
        x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
    }

    fn playing_player(audio: Arc<CallAudio>) -> (Player, MixSource) {
        let mut player = Player::new();
        player.load(audio);
        let source = player.detached_source().expect("audio loaded");
        // Start the transport without a device, as `play` does after opening one.
        player.shared.update_state(|s| s | PLAYING);
        (player, source)
    }

    // Device tests. ALSA reads its configuration once per process, from `~/.asoundrc` among others, so each device
    // test runs one `child_*` test of this same binary in a child process whose `HOME` holds the `.asoundrc` it
    // needs. The `child_*` tests do nothing unless `CHILD_ENV` is set.
    const CHILD_ENV: &str = "EARSHOT_PLAYER_TEST_CHILD";

    fn is_child() -> bool {
        std::env::var_os(CHILD_ENV).is_some()
    }

    /// The child's temporary `HOME`, which holds its `.asoundrc`.
    fn child_dir() -> std::path::PathBuf {
        std::env::var_os("HOME")
            .expect("HOME is set for the child")
            .into()
    }

    /// Runs the test `name` of this module in a child process with `asoundrc` (where `@DIR@` stands for the child's
    /// temporary `HOME`) as its ALSA configuration; asserts that it ran that one test and passed, and returns its
    /// output.
    fn run_child(name: &str, asoundrc: &str) -> String {
        let module = module_path!()
            .split_once("::")
            .map_or(module_path!(), |(_, m)| m);
        let dir =
            std::env::temp_dir().join(format!("earshot-player-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let asoundrc = asoundrc.replace("@DIR@", &dir.display().to_string());
        std::fs::write(dir.join(".asoundrc"), asoundrc).expect("write .asoundrc");
        let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                &format!("{module}::{name}"),
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .env("HOME", &dir)
            .env("XDG_CONFIG_HOME", &dir)
            .output()
            .expect("run the test binary");
        let _ = std::fs::remove_dir_all(&dir);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        println!("child {name}:\n{text}");
        assert!(output.status.success(), "child {name} failed:\n{text}");
        assert!(
            text.contains("test result: ok. 1 passed"),
            "child {name} ran no test:\n{text}"
        );
        text
    }

    /// One second of a 440 Hz tone, centred.
    fn one_second() -> Arc<CallAudio> {
        Arc::new(CallAudio {
            rate_hz: RATE,
            start_ts_nanos: 0,
            tracks: vec![track("tone", sine(440.0, 1.0, 0.5), 0.0)],
        })
    }

    #[test]
    fn null_device_opens_and_plays_to_the_end() {
        run_child("child_null_device", "pcm.!default { type null }\n");
    }

    /// ALSA's null PCM swallows samples as fast as they come (it is not paced by a clock), so this checks that the
    /// device opens and the transport runs to the end, not the timing: see `paced_device_*` for that.
    #[test]
    fn child_null_device() {
        if !is_child() {
            return;
        }
        let mut player = Player::new();
        player.load(one_second());
        assert_eq!(player.output_status(), &OutputStatus::Unopened);
        assert_eq!(player.play(), Ok(()));
        assert_eq!(player.output_status(), &OutputStatus::Ready);
        let start = Instant::now();
        while !player.finished() && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        println!(
            "null device: 1 s of audio consumed in {:?}",
            start.elapsed()
        );
        assert!(player.finished());
        assert!(!player.is_playing());
        assert_eq!(player.position_samples(), player.len_samples());
        // Play again after the end: from the start, on the same open device.
        assert_eq!(player.play(), Ok(()));
        assert!(player.position_samples() < player.len_samples() || player.finished());
        player.pause();
        let paused_at = player.position_samples();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(player.position_samples(), paused_at);

        let mut reports = Vec::new();
        let result = play_blocking(one_second(), 0.0, None, |pos| reports.push(pos));
        assert_eq!(result, Ok(()));
        assert_eq!(reports.last().copied(), Some(1.0), "{reports:?}");
    }

    /// Bytes per second of the paced device below: S32_LE, 8 channels, 192 kHz.
    const PACED_BYTES_PER_SEC: f64 = 4.0 * 8.0 * 192_000.0;

    /// A device that plays in real time without a sound card: ALSA's file plugin writes to a FIFO that a thread of
    /// the child reads at `PACED_BYTES_PER_SEC`, so the writer blocks once the pipe is full. A plug converts to a
    /// wide format first so that the 64 KiB pipe holds only about 10 ms of sound.
    const PACED_ASOUNDRC: &str = "pcm.!default { type plug slave { pcm \"fifo\" format S32_LE rate 192000 channels 8 } }\n\
        pcm.fifo { type file slave.pcm \"null\" file \"@DIR@/fifo\" format \"raw\" }\n";

    #[test]
    fn paced_device_play_blocking_takes_real_time() {
        run_child("child_paced_device", PACED_ASOUNDRC);
    }

    #[test]
    fn child_paced_device() {
        if !is_child() {
            return;
        }
        let fifo = child_dir().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", fifo.display());
        // The reader plays the device's clock: it serves one writer after another (ALSA may also open and close
        // the file while probing) and reports the bytes and duration of each session that carried data. It is not
        // joined; the child process ends with the test.
        let (session_tx, session_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::Read;
            while let Ok(mut file) = std::fs::File::open(&fifo) {
                let mut total = 0u64;
                let mut first_data: Option<Instant> = None;
                let mut buf = [0u8; 16384];
                while let Ok(n @ 1..) = file.read(&mut buf) {
                    let start = *first_data.get_or_insert_with(Instant::now);
                    total += n as u64;
                    let due = Duration::from_secs_f64(total as f64 / PACED_BYTES_PER_SEC);
                    std::thread::sleep(due.saturating_sub(start.elapsed()));
                }
                if let Some(start) = first_data {
                    let _ = session_tx.send((total, start.elapsed()));
                }
            }
        });

        let start = Instant::now();
        let mut reports = Vec::new();
        let result = play_blocking(one_second(), 0.0, None, |pos| {
            reports.push((start.elapsed().as_secs_f64(), pos))
        });
        let elapsed = start.elapsed().as_secs_f64();
        let reader = session_rx.recv_timeout(Duration::from_secs(5));
        println!(
            "paced device: play_blocking of 1 s took {elapsed:.3} s; reader (bytes, time): {reader:?}"
        );
        println!("progress (elapsed s, position s): {reports:?}");
        assert_eq!(result, Ok(()));
        assert!((0.8..3.0).contains(&elapsed), "took {elapsed} s");
        let last = reports.last().map_or(0.0, |r| r.1);
        assert!(last >= 0.95, "last progress {last}");
        // About every 100 ms: at least 7 reports in 0.8 s, and no gap much over 100 ms.
        assert!(reports.len() >= 7, "{} reports", reports.len());
        for pair in reports.windows(2) {
            assert!(pair[1].0 - pair[0].0 < 0.25, "progress gap {pair:?}");
        }

        // max_secs stops early: 0.3 s from 0.5 s.
        let start = Instant::now();
        let mut last = 0.0;
        let result = play_blocking(one_second(), 0.5, Some(0.3), |pos| last = pos);
        let elapsed = start.elapsed().as_secs_f64();
        println!(
            "paced device: play_blocking from 0.5 s for 0.3 s took {elapsed:.3} s, ended at {last} s"
        );
        assert_eq!(result, Ok(()));
        assert!((0.79..=0.81).contains(&last), "ended at {last}");
        assert!(elapsed < 1.5, "took {elapsed} s");
    }

    #[test]
    fn missing_device_is_reported_and_the_player_keeps_working() {
        run_child(
            "child_missing_device",
            "pcm.!default { type hw card 99 }\nctl.!default { type hw card 99 }\n",
        );
    }

    #[test]
    fn child_missing_device() {
        if !is_child() {
            return;
        }
        let mut player = Player::new();
        player.load(two_tones());
        let err = player.play().expect_err("no device to open");
        assert_eq!(err, PlayerError::NoOutputDevice);
        assert_eq!(err.to_string(), "no audio output device");
        let OutputStatus::NoDevice(why) = player.output_status() else {
            panic!("status {:?}", player.output_status());
        };
        println!("output status: NoDevice({why:?})");
        assert!(!why.is_empty());
        assert!(!player.is_playing());
        // Everything but sound keeps working.
        player.seek_secs(0.5);
        assert_eq!(player.position_samples(), 4000);
        assert_eq!(player.position_secs(), 0.5);
        player.set_mute(1, true);
        assert!(player.is_muted(1));
        player.set_pan(0, 0.25);
        assert_eq!(player.pan(0), 0.25);
        assert_eq!(player.duration_secs(), 1.0);
        // Retrying tries the device again, and fails the same way.
        assert_eq!(player.open_output(), Err(PlayerError::NoOutputDevice));
        assert_eq!(player.play(), Err(PlayerError::NoOutputDevice));
        assert!(matches!(player.output_status(), OutputStatus::NoDevice(_)));
        assert_eq!(player.position_samples(), 4000);
        let result = play_blocking(two_tones(), 0.0, None, |_| {});
        assert_eq!(result, Err(PlayerError::NoOutputDevice));
    }

    #[test]
    fn chosen_device_that_is_missing_is_no_output_device() {
        let mut player = Player::new();
        player.load(two_tones());
        player.set_device(Some("earshot-test: no such device".into()));
        assert_eq!(player.device(), Some("earshot-test: no such device"));
        assert_eq!(player.output_status(), &OutputStatus::Unopened);
        assert_eq!(player.play(), Err(PlayerError::NoOutputDevice));
        let OutputStatus::NoDevice(why) = player.output_status() else {
            panic!("status {:?}", player.output_status());
        };
        assert!(why.contains("earshot-test: no such device"), "{why}");
        assert!(!player.is_playing());
        player.set_device(None);
        assert_eq!(player.output_status(), &OutputStatus::Unopened);
    }

    #[test]
    fn new_player_does_not_open_the_device() {
        let mut player = Player::new();
        assert_eq!(player.output_status(), &OutputStatus::Unopened);
        assert_eq!(player.play(), Err(PlayerError::NothingLoaded));
        assert_eq!(player.output_status(), &OutputStatus::Unopened);
        player.load(two_tones());
        assert_eq!(player.output_status(), &OutputStatus::Unopened);
        assert_eq!(player.audio().map(|a| a.tracks.len()), Some(2));
        assert_eq!(player.duration_secs(), 1.0);
        assert_eq!(player.len_samples(), u64::from(RATE));
    }

    #[test]
    fn hard_pan_separates_the_tones() {
        let (_player, mut source) = playing_player(two_tones());
        let (left, right) = take_frames(&mut source, RATE as usize);
        let (l440, l1000) = (goertzel(&left, 440.0), goertzel(&left, 1000.0));
        let (r440, r1000) = (goertzel(&right, 440.0), goertzel(&right, 1000.0));
        // A 0.5 amplitude sine gives 0.0625.
        assert!(l440 > 0.05, "left 440 Hz power {l440}");
        assert!(r1000 > 0.05, "right 1000 Hz power {r1000}");
        assert!(l1000 < 1e-9, "left 1000 Hz power {l1000}");
        assert!(r440 < 1e-9, "right 440 Hz power {r440}");
        // With the other side's gain exactly 0, each channel is exactly its track, scaled.
        let track0 = &two_tones().tracks[0].samples;
        for (i, &v) in left.iter().enumerate() {
            assert_eq!(v, f32::from(track0[i]) / 32768.0);
        }
    }

    #[test]
    fn mute_silences_a_track_and_pan_moves_it() {
        let (player, mut source) = playing_player(two_tones());
        player.set_mute(0, true);
        assert!(player.is_muted(0));
        let (left, right) = take_frames(&mut source, 2000);
        assert_eq!(energy(&left), 0.0);
        assert!(goertzel(&right, 1000.0) > 0.05);

        // Pan the 1000 Hz track to the centre: both sides carry it at -3 dB.
        player.set_pan(1, 0.0);
        let (left, right) = take_frames(&mut source, 2000);
        let (pl, pr) = (goertzel(&left, 1000.0), goertzel(&right, 1000.0));
        assert!((pl - pr).abs() < 1e-9, "{pl} vs {pr}");
        assert!((pl / 0.0625 - 0.5).abs() < 0.02, "centre power {pl}");
        assert!(goertzel(&left, 440.0) < 1e-9);

        // Solo the muted track: nothing is heard; unmute it: only it is heard.
        player.set_solo(0, true);
        assert!(player.is_solo(0) && !player.is_solo(1));
        let (left, right) = take_frames(&mut source, 1000);
        assert_eq!(energy(&left) + energy(&right), 0.0);
        player.set_mute(0, false);
        let (left, right) = take_frames(&mut source, 2000);
        assert!(goertzel(&left, 440.0) > 0.05);
        assert_eq!(energy(&right), 0.0);
    }

    #[test]
    fn seek_to_half_yields_exactly_the_remaining_frames() {
        let (player, mut source) = playing_player(two_tones());
        let len = player.len_samples();
        player.seek_samples(len / 2);
        assert!(player.is_playing());
        let remaining = (len - len / 2) as usize;
        take_frames(&mut source, remaining - 1);
        assert!(!player.finished());
        assert!(player.is_playing());
        assert_eq!(player.position_samples(), len - 1);
        take_frames(&mut source, 1);
        assert!(player.finished());
        assert!(!player.is_playing());
        assert_eq!(player.position_samples(), len);
        // After the end: silence, and the cursor stays.
        let (left, right) = take_frames(&mut source, 100);
        assert_eq!(energy(&left) + energy(&right), 0.0);
        assert_eq!(player.position_samples(), len);
        assert_eq!(player.position_secs(), 1.0);
    }

    #[test]
    fn position_counts_the_frames_consumed() {
        let (player, mut source) = playing_player(two_tones());
        assert_eq!(player.position_samples(), 0);
        take_frames(&mut source, 1234);
        assert_eq!(player.position_samples(), 1234);
        // Half a frame: the cursor counts the frame whose left sample was taken.
        source.next();
        assert_eq!(player.position_samples(), 1235);
        source.next();
        assert_eq!(player.position_samples(), 1235);

        player.pause();
        let (left, right) = take_frames(&mut source, 500);
        assert_eq!(energy(&left) + energy(&right), 0.0);
        assert_eq!(player.position_samples(), 1235);

        player.seek_secs(0.25);
        assert_eq!(player.position_samples(), 2000);
        player.shared.update_state(|s| s | PLAYING);
        take_frames(&mut source, 10);
        assert_eq!(player.position_samples(), 2010);
        assert!((player.position_secs() - 2010.0 / 8000.0).abs() < 1e-12);
        // Seeking past the end clamps.
        player.seek_secs(5.0);
        assert_eq!(player.position_samples(), player.len_samples());
    }

    #[test]
    fn loading_other_audio_retires_the_old_source() {
        let (mut player, mut source) = playing_player(two_tones());
        take_frames(&mut source, 10);
        player.load(two_tones());
        assert_eq!(source.next(), None);
        assert_eq!(player.position_samples(), 0);
        assert!(!player.is_playing());
    }

    #[test]
    fn soft_limit_is_transparent_below_the_knee_and_bounded() {
        assert_eq!(soft_limit(0.5), 0.5);
        assert_eq!(soft_limit(-0.8), -0.8);
        for x in [0.81f32, 1.0, 1.5, 4.0, 1e9, f32::INFINITY] {
            let y = soft_limit(x);
            assert!(y > LIMIT_KNEE && y <= 1.0, "{x} -> {y}");
            assert_eq!(soft_limit(-x), -y);
        }
        assert!(soft_limit(1.0) < soft_limit(1.5));
        assert_eq!(pan_gains(-1.0), (1.0, 0.0));
        assert_eq!(pan_gains(1.0), (0.0, 1.0));
        let (l, r) = pan_gains(0.0);
        assert!((l * l + r * r - 1.0).abs() < 1e-6);
    }
}
