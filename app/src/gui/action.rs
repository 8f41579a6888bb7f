//! What a view may ask of the app, and what it draws from.
//!
//! A main view is `fn NAME_ui(ui, cx: &mut Cx, view: &mut NameView)`: it reads the [`Session`] and the services'
//! state through `cx`, keeps its own filters and zoom in `view`, and asks for every change of selection, view,
//! cursor, playback, audit or message by pushing an [`Action`] with [`Cx::act`]. `AppState::apply` carries the
//! frame's actions out in order, after drawing, in one place (the pattern of rerun's `SystemCommand` and
//! egui_demo_app's `Command`). A view therefore cannot half-change the session, and a new view needs nothing but
//! this module and its own file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use earshot_core::audio::TimingMode;
use earshot_core::case::CaseOptions;
use earshot_core::model::{Analysis, Call};

use super::{Services, Session, View};

/// A change a view asks for.
#[derive(Debug, Clone)]
pub enum Action {
    /// Selects a call (index into `Analysis::calls`) and clears the message and stream of the previous one.
    SelectCall(Option<usize>),
    /// Selects a message (index into `Analysis::messages`).
    SelectMessage(Option<usize>),
    /// Selects an MGCP or MEGACO message (index into `Analysis::signals`).
    SelectSignal(Option<usize>),
    /// Selects a stream (index into `Analysis::streams`).
    SelectStream(Option<usize>),
    /// Selects the message or stream at this frame, with its call, and shows its view (evidence links).
    SelectFrame(u64),
    SetView(View),
    /// Moves the shared cursor (capture time, UTC ns).
    SetCursor(Option<i64>),
    /// Moves the cursor to a time the analyst clicked; when the loaded audio covers it, the player seeks there.
    CursorTo(i64),
    /// The analyst's decision on a proposed leg link: `(a, b, confirmed)`.
    DecideLeg(String, String, bool),
    /// Decodes the audio of a call (no-op when it is loaded or loading in that mode; a failed decode is tried again).
    DecodeAudio {
        call_id: String,
        mode: TimingMode,
    },
    /// Play when paused, pause when playing (the Play/Pause button).
    PlayPause,
    /// The same from the keyboard (Space): a failure is also a toast, as the player may not be on screen.
    TogglePlay,
    /// Seeks the player (seconds from the start of the call's audio); the cursor follows.
    Seek(f64),
    /// Mutes or unmutes one track of the player.
    SetMute(usize, bool),
    /// Pans one track (-1 left … 1 right).
    SetPan(usize, f32),
    /// Opens captures as one case with these options (the Case window's "Analyse again").
    OpenCase(Vec<PathBuf>, CaseOptions),
    /// Adds a TLS key log or a PEM key to the session's keys (the open capture is analysed again with them).
    AddKeyFile(PathBuf),
    /// Forgets the session's keys (the open capture is analysed again without them).
    ClearKeys,
    /// Sets the STIR/SHAKEN certificate folder and trust anchors (`None` for both: forget them); remembered, and
    /// the open capture is analysed again with them.
    SetStiCerts {
        certs: Option<PathBuf>,
        roots: Option<PathBuf>,
    },
    /// Starts the export the Export window describes.
    Export,
    /// Light or dark theme (persisted, audited).
    SetTheme {
        light: bool,
    },
    /// Times in local time or UTC (persisted, audited).
    SetLocalTime(bool),
    /// The audio output device (`None`: the system default).
    SetDevice(Option<String>),
    /// The rules file last loaded in Settings (persisted).
    SetRulesFile(PathBuf),
    /// Applies the Settings window's rules: persisted, and the open analysis's findings re-evaluated.
    ApplyRules,
    /// Runs SQL over the open store.
    StoreQuery(String),
    /// Opens the capture of a store row (and its call's ladder).
    OpenStoreCapture {
        sha256: String,
        call_id: Option<String>,
    },
    /// Cuts a store row's call out of its original capture into a pcapng.
    PullStoreCall {
        sha256: String,
        call_id: String,
        out: PathBuf,
    },
    /// Starts the live capture the Capture window describes.
    StartCapture,
    /// Stops the live capture (its evidence is flushed and its analysis finished).
    StopCapture,
    /// Opens a capture with the key log its TLS/DTLS stack wrote beside it (`NAME.keys`), if there is one: the
    /// real-tool samples ship theirs.
    OpenSample(PathBuf),
    /// The capture dialog.
    OpenDialog,
}

/// What a view draws from this frame, and the actions it asks for.
pub struct Cx<'a> {
    pub session: &'a Session,
    /// The services' state, to show (changes go through [`Action`]s).
    pub services: &'a Services,
    /// The capture being loaded, if one is.
    pub loading: Option<&'a Path>,
    actions: Vec<Action>,
}

impl<'a> Cx<'a> {
    pub fn new(session: &'a Session, services: &'a Services, loading: Option<&'a Path>) -> Self {
        Cx {
            session,
            services,
            loading,
            actions: Vec::new(),
        }
    }

    /// Asks for a change, carried out after this frame's drawing.
    pub fn act(&mut self, a: Action) {
        self.actions.push(a);
    }

    /// The actions asked for, in order.
    pub fn into_actions(self) -> Vec<Action> {
        self.actions
    }

    /// The analysis open (a snapshot while loading).
    pub fn analysis(&self) -> Option<&'a Arc<Analysis>> {
        self.session.analysis.as_ref()
    }

    /// The selected call, if any.
    pub fn call(&self) -> Option<&'a Call> {
        self.session.call()
    }

    /// Time as the user reads it (UTC or local, at the capture's precision).
    pub fn time(&self, ts_nanos: i64) -> String {
        self.session
            .time(ts_nanos, self.services.persisted.local_time)
    }
}
