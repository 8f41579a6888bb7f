//! Loading a capture off the UI thread: a named thread runs `analyze_file` and sends progress, progressive
//! snapshots (calls appear while the file loads) and the final analysis over a channel; the UI polls it each frame
//! and requests a repaint when something arrives. Cancel sets a flag the analysis checks after every batch.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use earshot_core::findings::Settings;
use earshot_core::model::Analysis;
use earshot_core::{AnalyzeOptions, Progress, SnapshotSink, analyze_file};

/// What the loading thread reports.
pub enum LoadEvent {
    Progress(Progress),
    Snapshot(Arc<Analysis>),
    Done(Arc<Analysis>),
    Failed(String),
}

/// A capture being loaded.
pub struct LoadJob {
    pub path: PathBuf,
    pub progress: Progress,
    cancel: Arc<AtomicBool>,
    rx: Receiver<LoadEvent>,
}

impl LoadJob {
    /// Starts loading `path`; `wake` is called whenever an event is sent (the UI's repaint request).
    pub fn start(
        path: PathBuf,
        rules: Settings,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> LoadJob {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(wake);
        let job = LoadJob {
            path: path.clone(),
            progress: Progress::default(),
            cancel: cancel.clone(),
            rx,
        };
        let spawn = std::thread::Builder::new()
            .name("earshot-load".into())
            .spawn(move || run(path, rules, cancel, tx, wake));
        if let Err(e) = spawn {
            // The job reports the failure through its channel on the next poll.
            let (tx2, rx2) = channel();
            let _ = tx2.send(LoadEvent::Failed(format!(
                "cannot start the loading thread: {e}"
            )));
            return LoadJob { rx: rx2, ..job };
        }
        job
    }

    /// A job fed by another producer through the same events (the live capture: `capture_ui`).
    pub fn attach(path: PathBuf, cancel: Arc<AtomicBool>, rx: Receiver<LoadEvent>) -> LoadJob {
        LoadJob {
            path,
            progress: Progress::default(),
            cancel,
            rx,
        }
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Events that arrived since the last poll.
    pub fn poll(&mut self) -> Vec<LoadEvent> {
        let events: Vec<LoadEvent> = self.rx.try_iter().collect();
        for e in &events {
            if let LoadEvent::Progress(p) = e {
                self.progress = *p;
            }
        }
        events
    }
}

fn run(
    path: PathBuf,
    rules: Settings,
    cancel: Arc<AtomicBool>,
    tx: Sender<LoadEvent>,
    wake: Arc<dyn Fn() + Send + Sync>,
) {
    let snap_tx = tx.clone();
    let snap_wake = wake.clone();
    let opts = AnalyzeOptions {
        cancel: Some(cancel),
        rules,
        snapshots: Some(SnapshotSink {
            every: Duration::from_millis(400),
            sink: Arc::new(move |a| {
                let _ = snap_tx.send(LoadEvent::Snapshot(Arc::new(a)));
                snap_wake();
            }),
        }),
        ..AnalyzeOptions::default()
    };
    let mut last = std::time::Instant::now();
    let result = analyze_file(&path, &opts, &mut |p| {
        if last.elapsed() >= Duration::from_millis(50) {
            let _ = tx.send(LoadEvent::Progress(*p));
            wake();
            last = std::time::Instant::now();
        }
    });
    let _ = tx.send(match result {
        Ok(a) => LoadEvent::Done(Arc::new(a)),
        Err(e) => LoadEvent::Failed(e.to_string()),
    });
    wake();
}
