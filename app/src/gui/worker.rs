//! Loading a capture or a case off the UI thread: a [`Job`] runs `Source::analyze` and sends progress and
//! progressive snapshots (calls appear while the file loads) as updates, then the final analysis; the UI polls it
//! each frame and requests a repaint when something arrives. Cancel sets the job's flag, which the analysis checks
//! after every batch. The live capture (`capture_ui`) is a `LoadJob` too, fed by `crate::live::run`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use earshot_core::case::Source;
use earshot_core::findings::Settings;
use earshot_core::model::Analysis;
use earshot_core::{AnalyzeOptions, Progress, SnapshotSink};

use super::job::{Job, Poll, Updates};

/// What a poll of a load finds (its progress is in `LoadJob::progress`).
pub enum LoadEvent {
    Snapshot(Arc<Analysis>),
    Done(Arc<Analysis>),
    Failed(String),
}

/// What a load sends on the way.
pub enum LoadUpdate {
    Progress(Progress),
    Snapshot(Arc<Analysis>),
}

/// The work's side of a load: where progress and snapshots go.
pub type LoadUpdates = Updates<Result<Arc<Analysis>, String>, LoadUpdate>;

/// A capture being loaded.
pub struct LoadJob {
    pub path: PathBuf,
    pub progress: Progress,
    /// The rules asked for password cracking, which this load leaves out: the calls and every other finding show
    /// first, the cracker runs after (`AppState::poll_loading`).
    pub crack_after: bool,
    job: Result<Job<Result<Arc<Analysis>, String>, LoadUpdate>, String>,
}

impl LoadJob {
    /// Starts loading a capture or a case; `wake` is called whenever an event is sent (the UI's repaint request).
    pub fn start(
        source: Source,
        rules: Settings,
        keys: Option<Arc<earshot_core::tls::Keys>>,
        identity: Option<Arc<earshot_core::identity::CertStore>>,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> LoadJob {
        let path = source.first_path();
        let crack_after = rules.crack_passwords;
        let rules = Settings {
            crack_passwords: false,
            ..rules
        };
        let mut job = LoadJob::spawn("load", path, Arc::new(wake), move |up| {
            run(source, rules, keys, identity, up)
        });
        job.crack_after = crack_after;
        job
    }

    /// A load whose analysis `work` makes itself, reporting through the same updates (the live capture).
    pub fn spawn(
        name: &'static str,
        path: PathBuf,
        wake: Arc<dyn Fn() + Send + Sync>,
        work: impl FnOnce(LoadUpdates) -> Result<Arc<Analysis>, String> + Send + 'static,
    ) -> LoadJob {
        LoadJob {
            path,
            progress: Progress::default(),
            crack_after: false,
            // A thread that cannot start is reported on the next poll.
            job: Job::spawn_with_updates(name, wake, work),
        }
    }

    pub fn cancel(&self) {
        if let Ok(j) = &self.job {
            j.cancel();
        }
    }

    /// The flag `cancel` sets, or why the thread could not start.
    pub fn cancel_flag(&self) -> Result<Arc<std::sync::atomic::AtomicBool>, String> {
        self.job
            .as_ref()
            .map(|j| j.cancel_flag())
            .map_err(Clone::clone)
    }

    /// Events that arrived since the last poll. A worker that panicked, or went away without a result, is reported
    /// as `Failed`, so the load never stays "loading…" forever.
    pub fn poll(&mut self) -> Vec<LoadEvent> {
        let (updates, end) = match &self.job {
            Ok(j) => j.poll_updates(),
            Err(e) => (Vec::new(), Poll::Failed(e.clone())),
        };
        let mut events = Vec::new();
        for u in updates {
            match u {
                LoadUpdate::Progress(p) => self.progress = p,
                LoadUpdate::Snapshot(a) => events.push(LoadEvent::Snapshot(a)),
            }
        }
        match end {
            Poll::Running => {}
            Poll::Done(Ok(a)) => events.push(LoadEvent::Done(a)),
            Poll::Done(Err(e)) | Poll::Failed(e) => events.push(LoadEvent::Failed(e)),
        }
        events
    }

    /// A load whose worker vanished after sending `updates` (tests of the failure path).
    #[cfg(test)]
    pub fn vanished(path: PathBuf, updates: Vec<LoadUpdate>) -> LoadJob {
        LoadJob {
            path,
            progress: Progress::default(),
            crack_after: false,
            job: Ok(Job::vanished("load", updates)),
        }
    }
}

fn run(
    source: Source,
    rules: Settings,
    keys: Option<Arc<earshot_core::tls::Keys>>,
    identity: Option<Arc<earshot_core::identity::CertStore>>,
    up: LoadUpdates,
) -> Result<Arc<Analysis>, String> {
    let snap_up = up.clone();
    let opts = AnalyzeOptions {
        cancel: Some(up.cancel_flag()),
        rules,
        keys,
        identity,
        snapshots: Some(SnapshotSink {
            every: Duration::from_millis(400),
            sink: Arc::new(move |a| snap_up.send(LoadUpdate::Snapshot(Arc::new(a)))),
        }),
        ..AnalyzeOptions::default()
    };
    let mut last = std::time::Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        source.analyze(&opts, &mut |p| {
            if last.elapsed() >= Duration::from_millis(50) {
                up.send(LoadUpdate::Progress(*p));
                last = std::time::Instant::now();
            }
        })
    }));
    match result {
        Ok(Ok(a)) => Ok(Arc::new(a)),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(format!(
            "the analysis stopped: {} (please report it with the capture)",
            super::job::panic_text(&*p)
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use earshot_e2e::r#gen::{BenchSpec, write_bench};

    use super::{LoadEvent, LoadJob, LoadUpdate};

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
        let mut job = LoadJob::vanished(
            PathBuf::from("x.pcap"),
            vec![LoadUpdate::Progress(Default::default())],
        );
        let events = job.poll();
        assert!(
            matches!(events.last(), Some(LoadEvent::Failed(m)) if m.contains("stopped without a result"))
        );
    }
}
