//! One background job: a named thread that computes a `T` while the UI keeps drawing, polled once a frame. A job
//! whose thread panics (or ends without a result) is reported as a failure with the reason — never left as
//! "running" forever, which would block the next export, decode or rules change.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// What a poll finds.
#[derive(Debug)]
pub enum Poll<T> {
    Running,
    Done(T),
    /// The worker panicked or disappeared: what the user is told.
    Failed(String),
}

pub struct Job<T> {
    name: &'static str,
    rx: Receiver<Result<T, String>>,
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
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name(format!("earshot-{name}"))
            .spawn(move || {
                let r =
                    std::panic::catch_unwind(AssertUnwindSafe(work)).map_err(|p| panic_text(&*p));
                let _ = tx.send(r);
                wake();
            })
            .map_err(|e| format!("cannot start the {name} thread: {e}"))?;
        Ok(Job { name, rx })
    }

    pub fn poll(&self) -> Poll<T> {
        match self.rx.try_recv() {
            Ok(Ok(v)) => Poll::Done(v),
            Ok(Err(p)) => Poll::Failed(format!("the {} worker failed: {p}", self.name)),
            Err(TryRecvError::Empty) => Poll::Running,
            Err(TryRecvError::Disconnected) => {
                Poll::Failed(format!("the {} worker stopped without a result", self.name))
            }
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
    fn a_panicking_job_is_a_failure_with_its_message() {
        let j: Job<u32> =
            Job::spawn("test", Arc::new(|| {}), || panic!("index out of range")).unwrap();
        match wait(&j) {
            Poll::Failed(m) => assert_eq!(m, "the test worker failed: index out of range"),
            other => panic!("{other:?}"),
        }
    }
}
