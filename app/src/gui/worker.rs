//! Loading a capture or a case off the UI thread: a named thread runs `Source::analyze` and sends progress, progressive
//! snapshots (calls appear while the file loads) and the final analysis over a channel; the UI polls it each frame
//! and requests a repaint when something arrives. Cancel sets a flag the analysis checks after every batch.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use earshot_core::case::Source;
use earshot_core::findings::Settings;
use earshot_core::model::Analysis;
use earshot_core::{AnalyzeOptions, Progress, SnapshotSink};

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
    /// Starts loading a capture or a case; `wake` is called whenever an event is sent (the UI's repaint request).
    pub fn start(
        source: Source,
        rules: Settings,
        keys: Option<Arc<earshot_core::tls::Keys>>,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> LoadJob {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(wake);
        let job = LoadJob {
            path: source.first_path(),
            progress: Progress::default(),
            cancel: cancel.clone(),
            rx,
        };
        let spawn = std::thread::Builder::new()
            .name("earshot-load".into())
            .spawn(move || run(source, rules, keys, cancel, tx, wake));
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

    /// Events that arrived since the last poll. A producer that went away without `Done` or `Failed` (a thread
    /// that died) is reported as `Failed`, so the load never stays "loading…" forever.
    pub fn poll(&mut self) -> Vec<LoadEvent> {
        let mut events: Vec<LoadEvent> = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(e) => events.push(e),
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    if !events
                        .iter()
                        .any(|e| matches!(e, LoadEvent::Done(_) | LoadEvent::Failed(_)))
                    {
                        events.push(LoadEvent::Failed(
                            "the loading thread stopped without a result".into(),
                        ));
                    }
                    break;
                }
            }
        }
        for e in &events {
            if let LoadEvent::Progress(p) = e {
                self.progress = *p;
            }
        }
        events
    }
}

fn run(
    source: Source,
    rules: Settings,
    keys: Option<Arc<earshot_core::tls::Keys>>,
    cancel: Arc<AtomicBool>,
    tx: Sender<LoadEvent>,
    wake: Arc<dyn Fn() + Send + Sync>,
) {
    let snap_tx = tx.clone();
    let snap_wake = wake.clone();
    let opts = AnalyzeOptions {
        cancel: Some(cancel),
        rules,
        keys,
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
    let progress_tx = tx.clone();
    let progress_wake = wake.clone();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        source.analyze(&opts, &mut |p| {
            if last.elapsed() >= Duration::from_millis(50) {
                let _ = progress_tx.send(LoadEvent::Progress(*p));
                progress_wake();
                last = std::time::Instant::now();
            }
        })
    }));
    let _ = tx.send(match result {
        Ok(Ok(a)) => LoadEvent::Done(Arc::new(a)),
        Ok(Err(e)) => LoadEvent::Failed(e.to_string()),
        Err(p) => LoadEvent::Failed(format!(
            "the analysis stopped: {} (please report it with the capture)",
            super::job::panic_text(&*p)
        )),
    });
    wake();
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use earshot_e2e::r#gen::{BenchSpec, write_bench};

    use super::{LoadEvent, LoadJob};

    /// The largest shared capture with calls (FAX-Call-t38…, 7217 frames, its call starting at frame 23; the larger
    /// marseillaise-srtp.pcap holds no SIP): its calls are in a snapshot delivered before the load is done, because
    /// the first snapshot is sent as soon as a Call-ID is known.
    #[test]
    fn largest_shared_capture_with_calls_shows_them_before_loading_ends() {
        let path = earshot_e2e::captures_dir().join("FAX-Call-t38-CA-TDM-SIP-FB-1.pcap");
        let mut job = LoadJob::start(
            earshot_core::case::Source::File(path),
            Default::default(),
            None,
            || {},
        );
        let start = Instant::now();
        let mut first_snapshot_calls = None;
        let done = loop {
            assert!(start.elapsed() < Duration::from_secs(120), "load timed out");
            let mut finished = None;
            for ev in job.poll() {
                match ev {
                    LoadEvent::Snapshot(a) if first_snapshot_calls.is_none() => {
                        first_snapshot_calls = Some(a.calls.len());
                    }
                    LoadEvent::Done(a) => finished = Some(a),
                    LoadEvent::Failed(e) => panic!("load failed: {e}"),
                    _ => {}
                }
            }
            if let Some(a) = finished {
                break a;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let first = first_snapshot_calls.expect("a snapshot arrived before the load finished");
        assert!(first >= 1, "the first snapshot already lists the call");
        // TShark (truth/FAX-Call-t38-CA-TDM-SIP-FB-1): 2 INVITE dialogs.
        assert_eq!(done.summary.invite_dialogs, 2);
        assert!(first <= done.calls.len());
    }

    /// The largest capture of the shared set (2.8 MB) loads in well under the 400 ms between snapshots (a 41 MB
    /// one loaded in 0.28 s in a debug build), so the test generates a ≈ 210 MB one (SIP calls with two-way G.711
    /// and DNS noise, as `scripts/bench.sh`) that takes over a second.
    #[test]
    fn large_capture_shows_calls_before_loading_ends_and_off_the_ui_thread() {
        let dir = std::env::temp_dir().join(format!("earshot-large-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path: PathBuf = dir.join("bench.pcap");
        let spec = BenchSpec {
            calls: 160,
            talk_secs: 60,
            ..BenchSpec::default()
        };
        let expected = write_bench(
            &spec,
            std::io::BufWriter::new(std::fs::File::create(&path).unwrap()),
        )
        .unwrap();
        let threads: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let t2 = threads.clone();
        let start = Instant::now();
        let mut job = LoadJob::start(
            earshot_core::case::Source::File(path.clone()),
            Default::default(),
            None,
            move || {
                let name = std::thread::current().name().unwrap_or("?").to_string();
                t2.lock().unwrap().insert(name);
            },
        );
        let mut first_snapshot_calls = None;
        let mut snapshots = 0;
        let done = loop {
            assert!(start.elapsed() < Duration::from_secs(300), "load timed out");
            let mut finished = None;
            for ev in job.poll() {
                match ev {
                    LoadEvent::Snapshot(a) => {
                        snapshots += 1;
                        let calls = a.calls.iter().filter(|c| c.kind.is_call()).count();
                        if calls > 0 && first_snapshot_calls.is_none() {
                            first_snapshot_calls = Some((calls, start.elapsed()));
                        }
                    }
                    LoadEvent::Done(a) => finished = Some(a),
                    LoadEvent::Failed(e) => panic!("load failed: {e}"),
                    LoadEvent::Progress(_) => {}
                }
            }
            if let Some(a) = finished {
                break a;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let total = start.elapsed();
        eprintln!(
            "{} MB: {snapshots} snapshots, first calls {first_snapshot_calls:?}, loaded in {total:?}",
            expected.bytes / 1_000_000
        );
        let (calls, at) =
            first_snapshot_calls.expect("a snapshot with calls arrived before the load finished");
        assert!(calls >= 1 && at < total);
        assert_eq!(done.summary.invite_dialogs, expected.calls);
        // Every event came from the loading thread, never from this (the UI's) thread.
        let names = threads.lock().unwrap().clone();
        assert_eq!(names, BTreeSet::from(["earshot-load".to_string()]));
        assert_ne!(std::thread::current().name(), Some("earshot-load"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A producer that goes away without a result (a thread that died): the job fails instead of loading forever.
    #[test]
    fn a_vanished_producer_is_a_failure() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut job = LoadJob::attach(
            PathBuf::from("x.pcap"),
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
            rx,
        );
        tx.send(LoadEvent::Progress(Default::default())).unwrap();
        drop(tx);
        let events = job.poll();
        assert!(
            matches!(events.last(), Some(LoadEvent::Failed(m)) if m.contains("stopped without a result"))
        );
    }
}
