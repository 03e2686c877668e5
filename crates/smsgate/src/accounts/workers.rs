//! The threads that run password checks and hashing.
//!
//! argon2id needs 19 MiB of working memory per check. Run on the blocking
//! pool, each check lands on whichever of up to 512 threads is free and
//! allocates afresh; glibc keeps a freed block of that size in the thread's
//! arena, so a storm of wrong passwords left the process about 17 MB larger
//! per check, for good. Here a fixed set of long-lived threads (as many as
//! `security.password_check_concurrency`) each keep one working memory for
//! every check they run: memory for password checks is that many times
//! 19 MiB, allocated on first use, however many checks are asked for.
//!
//! Callers wait (as cheap futures) for one of `concurrency` permits; a job
//! is handed over only with a permit, so the hand-over channel, bounded to
//! the same number, is never full.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tracing::warn;

use super::password::{self, Memory, PasswordError, Verification};

/// What a worker thread is asked to do.
enum Work {
    /// Check `password` against `hash` (`None`: against the dummy hash,
    /// for an unknown name, so that the answer takes as long).
    Verify {
        hash: Option<String>,
        password: String,
        reply: oneshot::Sender<Verification>,
    },
    /// Make an argon2id hash of `password`.
    Hash {
        password: String,
        reply: oneshot::Sender<Result<String, PasswordError>>,
    },
}

struct Job {
    work: Work,
    /// Held until the job is done, so no more than `concurrency` jobs are
    /// handed over at once.
    _permit: OwnedSemaphorePermit,
}

/// The password threads.
#[derive(Debug)]
pub struct PasswordWorkers {
    permits: Arc<Semaphore>,
    jobs: SyncSender<Job>,
}

impl PasswordWorkers {
    /// Starts `threads` password threads (at least one). They end when the
    /// value is dropped.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let (jobs, queue) = std::sync::mpsc::sync_channel(threads);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || work(&queue))?;
        }
        Ok(PasswordWorkers {
            permits: Arc::new(Semaphore::new(threads)),
            jobs,
        })
    }

    /// Checks `password` against `hash` (`None`: against the dummy hash).
    /// A check that cannot run (the threads are gone) is
    /// [`Verification::Invalid`].
    pub async fn verify(&self, hash: Option<String>, password: String) -> Verification {
        let (reply, answer) = oneshot::channel();
        if !self
            .hand_over(Work::Verify {
                hash,
                password,
                reply,
            })
            .await
        {
            return Verification::Invalid;
        }
        answer.await.unwrap_or(Verification::Invalid)
    }

    /// An argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let (reply, answer) = oneshot::channel();
        let gone = || PasswordError::Hashing("the password threads have stopped".into());
        if !self.hand_over(Work::Hash { password, reply }).await {
            return Err(gone());
        }
        answer.await.unwrap_or_else(|_| Err(gone()))
    }

    async fn hand_over(&self, work: Work) -> bool {
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return false;
        };
        match self.jobs.try_send(Job {
            work,
            _permit: permit,
        }) {
            Ok(()) => true,
            // Every queued job holds one of as many permits as the queue
            // has places, so it is never full; if it ever were, the caller
            // gets the same answer as when the threads are gone.
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }
}

/// One password thread: takes jobs until every sender is gone.
fn work(queue: &Mutex<Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        let job = {
            let queue = queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.recv()
        };
        let Ok(Job { work, _permit }) = job else {
            return;
        };
        // argon2 does not panic on any input we hand it; if it ever did,
        // the caller's answer channel closes (a refusal) and the thread
        // goes on with fresh memory.
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match work {
            Work::Verify {
                hash,
                password,
                reply,
            } => {
                let verdict = password::verify_evenly(&mut memory, hash.as_deref(), &password);
                let _ = reply.send(verdict);
            }
            Work::Hash { password, reply } => {
                let _ = reply.send(password::hash_in(&mut memory, &password));
            }
        }));
        if done.is_err() {
            warn!("a password check panicked; its caller was refused");
            memory = Memory::default();
        }
    }
}
