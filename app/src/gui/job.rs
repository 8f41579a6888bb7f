//! One background job: a named thread that computes a `T` while the UI keeps drawing, polled once a frame, with
//! updates `U` on the way (a load's progress and snapshots; `()` for jobs that have none) and a cancel flag the
//! work may check. Loading, live capture, audio decoding, exports, store writes and rules re-evaluation all run as
//! a `Job`. A job whose thread panics (or ends without a result) is reported as a failure with the reason — never
//! left as "running" forever, which would block the next export, decode or rules change.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

/// What a poll finds.
#[derive(Debug)]
pub enum Poll<T> {
    Running,
    Done(T),
    /// The worker panicked or disappeared: what the user is told.
    Failed(String),
}

/// What the worker sends: updates, then its end.
enum Msg<T, U> {
    Update(U),
    End(Result<T, String>),
}

pub struct Job<T, U = ()> {
    name: &'static str,
    rx: Receiver<Msg<T, U>>,
    cancel: Arc<AtomicBool>,
}

/// The worker's side: sends updates (each wakes the UI) and reads the cancel flag.
pub struct Updates<T, U> {
    tx: Sender<Msg<T, U>>,
    wake: Arc<dyn Fn() + Send + Sync>,
    cancel: Arc<AtomicBool>,
}

impl<T, U> Clone for Updates<T, U> {
    fn clone(&self) -> Self {
        Updates {
            tx: self.tx.clone(),
            wake: self.wake.clone(),
            cancel: self.cancel.clone(),
        }
    }
}

impl<T, U> Updates<T, U> {
    /// Sends an update and wakes the UI; an update nobody polls any more is dropped.
    pub fn send(&self, u: U) {
        let _ = self.tx.send(Msg::Update(u));
        (self.wake)();
    }

    /// The flag [`Job::cancel`] sets, for work that checks it itself (the analysis, the live capture).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }
}

/// The text of a panic payload.
pub fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a thread named `earshot-NAME`; `wake` is called when it ends (the UI's repaint request).
    pub fn spawn(
        name: &'static str,
        wake: Arc<dyn Fn() + Send + Sync>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Job<T>, String> {
        Job::spawn_with_updates(name, wake, move |_| work())
    }

    /// The end of the job, if it has come (a job without updates).
    pub fn poll(&self) -> Poll<T> {
        self.poll_updates().1
    }
}

impl<T: Send + 'static, U: Send + 'static> Job<T, U> {
    /// Runs `work` on a thread named `earshot-NAME`, handing it the [`Updates`] to report through; `wake` is
    /// called with every update and when the work ends.
    pub fn spawn_with_updates(
        name: &'static str,
        wake: Arc<dyn Fn() + Send + Sync>,
        work: impl FnOnce(Updates<T, U>) -> T + Send + 'static,
    ) -> Result<Job<T, U>, String> {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let updates = Updates {
            tx: tx.clone(),
            wake: wake.clone(),
            cancel: cancel.clone(),
        };
        std::thread::Builder::new()
            .name(format!("earshot-{name}"))
            .spawn(move || {
                let r = std::panic::catch_unwind(AssertUnwindSafe(|| work(updates)))
                    .map_err(|p| panic_text(&*p));
                let _ = tx.send(Msg::End(r));
                wake();
            })
            .map_err(|e| format!("cannot start the {name} thread: {e}"))?;
        Ok(Job { name, rx, cancel })
    }

    /// The updates sent since the last poll, in order, and whether the job has ended.
    pub fn poll_updates(&self) -> (Vec<U>, Poll<T>) {
        let mut updates = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(Msg::Update(u)) => updates.push(u),
                Ok(Msg::End(r)) => return (updates, self.end(r)),
                Err(e) => return (updates, self.empty(e)),
            }
        }
    }

    /// Asks the work to stop (it checks [`Updates::cancel_flag`]; its result still arrives).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// The flag [`Job::cancel`] sets (the capture window's Stop sets it too).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    fn end(&self, r: Result<T, String>) -> Poll<T> {
        match r {
            Ok(v) => Poll::Done(v),
            Err(p) => Poll::Failed(format!("the {} worker failed: {p}", self.name)),
        }
    }

    fn empty(&self, e: TryRecvError) -> Poll<T> {
        match e {
            TryRecvError::Empty => Poll::Running,
            TryRecvError::Disconnected => {
                Poll::Failed(format!("the {} worker stopped without a result", self.name))
            }
        }
    }

    /// A job whose worker is already gone, leaving `updates` and no result (what a thread killed outside the
    /// unwinder would leave): for tests of the failure path.
    #[cfg(test)]
    pub fn vanished(name: &'static str, updates: Vec<U>) -> Job<T, U> {
        let (tx, rx) = channel();
        for u in updates {
            let _ = tx.send(Msg::Update(u));
        }
        Job {
            name,
            rx,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn wait<T: Send + 'static>(j: &Job<T>) -> Poll<T> {
        let start = Instant::now();
        loop {
            match j.poll() {
                Poll::Running if start.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                other => return other,
            }
        }
    }

    #[test]
    fn a_job_returns_its_value() {
        let j = Job::spawn("test", Arc::new(|| {}), || 6 * 7).unwrap();
        assert!(matches!(wait(&j), Poll::Done(42)));
    }

    #[test]
    fn updates_arrive_in_order_before_the_result_and_cancel_reaches_the_work() {
        let j: Job<u32, u32> = Job::spawn_with_updates("test", Arc::new(|| {}), |up| {
            for i in 0..3 {
                up.send(i);
            }
            let cancel = up.cancel_flag();
            while !cancel.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
            }
            7
        })
        .unwrap();
        let start = Instant::now();
        let mut seen = Vec::new();
        while seen.len() < 3 {
            assert!(start.elapsed() < Duration::from_secs(10));
            let (u, p) = j.poll_updates();
            assert!(matches!(p, Poll::Running), "not before cancel");
            seen.extend(u);
        }
        assert_eq!(seen, [0, 1, 2]);
        j.cancel();
        loop {
            assert!(start.elapsed() < Duration::from_secs(10));
            match j.poll_updates() {
                (_, Poll::Running) => std::thread::sleep(Duration::from_millis(1)),
                (_, Poll::Done(v)) => break assert_eq!(v, 7),
                (_, Poll::Failed(e)) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn a_panicking_job_is_a_failure_with_its_message() {
        let j: Job<u32> =
            Job::spawn("test", Arc::new(|| {}), || panic!("index out of range")).unwrap();
        match wait(&j) {
            Poll::Failed(m) => assert_eq!(m, "the test worker failed: index out of range"),
            other => panic!("{other:?}"),
        }
    }
}
