//! The writer thread: every write transaction of this process runs here, on one connection,
//! with group commit.
//!
//! Callers hand in a job (a closure) and block until it is durable. The thread takes the first
//! waiting job and up to `max_batch - 1` more that are already queued, opens one batch
//! transaction (SQLite `BEGIN IMMEDIATE`; PostgreSQL `BEGIN` then the advisory lock that the
//! writers of every replica take, see `backend.rs`), runs each job under its own `SAVEPOINT`
//! (a job that fails rolls back only its own changes), commits once, and only then answers
//! every caller. Under load one fsync covers many grants; alone, a job commits immediately
//! (no waiting for company). Jobs run one after the other on the same connection, so each
//! sees the writes of the jobs before it: consuming a code twice in one batch still fails the
//! second time.
//!
//! A grant whose write is nothing but its rows (`Store::insert_tokens_later`: client
//! credentials) is queued as rows, not as a closure: the rows queued next to each other are
//! inserted together (`Backend::insert_grants`: one statement on PostgreSQL, one savepoint on
//! SQLite) at their place in the batch, before the next closure runs. If that fails, each
//! grant is inserted alone, so one bad row fails only its own grant. Each is still answered
//! only after the `COMMIT`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use futures_channel::oneshot;
use gatehouse_domain::store::{Pending, WriteTx};
use gatehouse_domain::Error as DomainError;

use crate::backend::{Backend, GrantRows};
use crate::StorageError;

/// Called with the outcome of the commit; sends the job's result to its caller.
type Finisher = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs inside the batch transaction and returns what to do once the batch committed.
type Job<C> = Box<dyn FnOnce(&mut C) -> (Finisher, bool) + Send>;

/// Answers the caller of an insert with its outcome.
type Deliver = Box<dyn FnOnce(Result<(), DomainError>) + Send>;

/// What the thread runs: a closure in a savepoint of its own, or the rows of a grant that only
/// inserts them (written together with the rows queued next to them).
enum Work<C> {
    Job(Job<C>),
    Insert(Box<GrantRows>, Deliver),
}

/// The handle through which writes reach the thread.
pub(crate) struct Writer<C: Backend> {
    jobs: mpsc::Sender<Work<C>>,
    stats: Arc<Counters>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<C: Backend> Drop for Writer<C> {
    /// Closes the queue and waits for the thread to finish the jobs already queued and close
    /// its connection, so that once the last `Storage` is gone the file is closed too (a
    /// process that reopens it, or deletes it, sees no lingering writer).
    fn drop(&mut self) {
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.jobs, closed));
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

/// Counters of the writer thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    transactions: AtomicU64,
    writes: AtomicU64,
}

/// How the writer has batched so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteStats {
    /// Write transactions committed or attempted (one per batch).
    pub transactions: u64,
    /// Writes (callers' closures) run.
    pub writes: u64,
}

/// What a rolled-back write's savepoint ends with.
const ROLLED_BACK: &str = "rolled back (dry run)";

impl<C: Backend> Writer<C> {
    /// Starts the thread on an open, migrated connection.
    pub(crate) fn spawn(
        conn: C,
        url: String,
        settings: C::Settings,
        compiles: crate::compiles::Counter,
        max_batch: usize,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Work<C>>();
        let stats = Arc::new(Counters::default());
        let counters = stats.clone();
        let thread = std::thread::Builder::new()
            .name(C::WRITER_THREAD.to_owned())
            .spawn(move || {
                let opener = Opener {
                    url: &url,
                    settings: &settings,
                    compiles: &compiles,
                };
                run(conn, &opener, &queue, max_batch.max(1), &counters);
            })?;
        Ok(Self {
            jobs,
            stats,
            thread: Some(thread),
        })
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> WriteStats {
        WriteStats {
            transactions: self.stats.transactions.load(Ordering::Relaxed),
            writes: self.stats.writes.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` in a savepoint of the next batch and rolls the savepoint back, whatever `f`
    /// returns; `f`'s answer is returned once the batch is done.
    pub(crate) fn write_rolled_back<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R, DomainError> + Send + 'static,
    ) -> Result<R, DomainError> {
        let slot = Arc::new(std::sync::Mutex::new(None));
        let kept = slot.clone();
        let outcome = self.write(move |tx| {
            let answer = f(tx);
            if let Ok(mut slot) = kept.lock() {
                *slot = Some(answer);
            }
            // An error rolls the savepoint back.
            Err::<(), _>(DomainError::storage(StorageError::Writer(
                ROLLED_BACK.to_owned(),
            )))
        });
        let answer = slot.lock().ok().and_then(|mut s| s.take());
        match (answer, outcome) {
            (Some(answer), _) => answer,
            (None, Err(e)) => Err(e),
            (None, Ok(())) => Err(DomainError::storage(StorageError::Writer(
                "a rolled-back write gave no answer".to_owned(),
            ))),
        }
    }

    /// Runs `f` in a savepoint of the next batch and waits until the batch committed.
    pub(crate) fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R, DomainError> + Send + 'static,
    ) -> Result<R, DomainError> {
        let (done, result) = mpsc::sync_channel::<Result<R, DomainError>>(1);
        self.submit(f, move |r| {
            // The caller may have gone away; nothing to do then.
            let _ = done.send(r);
        })?;
        result.recv().map_err(|_| not_started())?
    }

    /// [`Self::write`] without waiting: the future resolves once the batch committed. The
    /// writer answers through a oneshot, so the awaiting task holds no thread.
    pub(crate) fn write_later<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R, DomainError> + Send + 'static,
    ) -> Pending<R> {
        let (done, result) = oneshot::channel::<Result<R, DomainError>>();
        let queued = self.submit(f, move |r| {
            let _ = done.send(r);
        });
        Box::pin(async move {
            queued?;
            result.await.map_err(|_| not_started())?
        })
    }

    /// [`Self::write_rolled_back`] without waiting.
    pub(crate) fn write_rolled_back_later<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R, DomainError> + Send + 'static,
    ) -> Pending<R> {
        let (done, result) = oneshot::channel::<Result<R, DomainError>>();
        let queued = self.submit(
            move |tx| {
                let _ = done.send(f(tx));
                // An error rolls the savepoint back.
                Err::<(), _>(DomainError::storage(StorageError::Writer(
                    ROLLED_BACK.to_owned(),
                )))
            },
            |_| {},
        );
        Box::pin(async move {
            queued?;
            result.await.map_err(|_| not_started())?
        })
    }

    /// Queues a grant's rows for the next batch (inserted with the rows queued next to them);
    /// the future resolves once the batch committed.
    pub(crate) fn insert_later(&self, rows: GrantRows) -> Pending<()> {
        let (done, result) = oneshot::channel::<Result<(), DomainError>>();
        let deliver: Deliver = Box::new(move |r| {
            let _ = done.send(r);
        });
        let queued = self
            .jobs
            .send(Work::Insert(Box::new(rows), deliver))
            .map_err(|_| gone());
        Box::pin(async move {
            queued?;
            result.await.map_err(|_| not_started())?
        })
    }

    /// Queues `f` for a savepoint of the next batch; `deliver` gets its result once the
    /// batch committed (or the commit's failure).
    fn submit<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R, DomainError> + Send + 'static,
        deliver: impl FnOnce(Result<R, DomainError>) + Send + 'static,
    ) -> Result<(), DomainError> {
        let job: Job<C> = Box::new(move |conn: &mut C| {
            let outcome = catch_unwind(AssertUnwindSafe(|| conn.savepoint(f)));
            let (outcome, panicked) = match outcome {
                Ok(result) => (result, false),
                Err(_) => (
                    Err(DomainError::storage(StorageError::Writer(
                        "a write transaction panicked".to_owned(),
                    ))),
                    true,
                ),
            };
            (finisher(outcome, deliver), panicked)
        });
        self.jobs.send(Work::Job(job)).map_err(|_| gone())
    }
}

/// What answers a write once its batch committed: its own outcome, or the commit's failure.
fn finisher<R: Send + 'static>(
    outcome: Result<R, DomainError>,
    deliver: impl FnOnce(Result<R, DomainError>) + Send + 'static,
) -> Finisher {
    Box::new(move |commit: Result<(), String>| {
        let result = match commit {
            Ok(()) => outcome,
            Err(e) => Err(DomainError::storage(StorageError::Writer(format!(
                "commit failed: {e}"
            )))),
        };
        deliver(result);
    })
}

/// The error of a write queued after the thread ended.
fn gone() -> DomainError {
    DomainError::storage(StorageError::Writer("the writer thread is gone".to_owned()))
}

/// Inserts the grants queued next to each other (`inserts`, drained) and pushes their
/// finishers: all in one go, or when that fails each alone (its own failure is its own).
/// `more`: other work follows in this batch. `Err` (a panic: the transaction's state is
/// unknown) fails the whole batch.
fn flush<C: Backend>(
    conn: &mut C,
    inserts: &mut Vec<(GrantRows, Deliver)>,
    more: bool,
    finishers: &mut Vec<Finisher>,
) -> Result<(), ()> {
    let (rows, delivers): (Vec<GrantRows>, Vec<Deliver>) = inserts.drain(..).unzip();
    let together = catch_unwind(AssertUnwindSafe(|| conn.insert_grants(&rows, more)));
    let outcomes: Vec<Result<(), DomainError>> = match together {
        Ok(Ok(())) => rows.iter().map(|_| Ok(())).collect(),
        Ok(Err(_)) if rows.len() > 1 => {
            // (Not the error: its detail may hold a row's values.)
            tracing::warn!(
                grants = rows.len(),
                "grants inserted together failed; one by one"
            );
            let last = rows.len() - 1;
            let alone = catch_unwind(AssertUnwindSafe(|| {
                rows.iter()
                    .enumerate()
                    .map(|(i, g)| {
                        conn.insert_grants(std::slice::from_ref(g), more || i < last)
                            .map_err(|e| DomainError::storage(StorageError::Query(e)))
                    })
                    .collect::<Vec<_>>()
            }));
            match alone {
                Ok(outcomes) => outcomes,
                Err(_) => return panicked(delivers, finishers),
            }
        }
        Ok(Err(e)) => vec![Err(DomainError::storage(StorageError::Query(e)))],
        Err(_) => return panicked(delivers, finishers),
    };
    for (outcome, deliver) in outcomes.into_iter().zip(delivers) {
        finishers.push(finisher(outcome, deliver));
    }
    Ok(())
}

/// After a panic while inserting: the grants fail, and so does their batch.
fn panicked(delivers: Vec<Deliver>, finishers: &mut Vec<Finisher>) -> Result<(), ()> {
    for deliver in delivers {
        let failed = Err(DomainError::storage(StorageError::Writer(
            "a write transaction panicked".to_owned(),
        )));
        finishers.push(finisher(failed, deliver));
    }
    Err(())
}

/// The error of a write whose transaction never began (its job was dropped unrun).
fn not_started() -> DomainError {
    DomainError::storage(StorageError::Writer(
        "the write transaction could not be started".to_owned(),
    ))
}

/// How the writer thread opens a fresh connection.
struct Opener<'a, C: Backend> {
    url: &'a str,
    settings: &'a C::Settings,
    compiles: &'a crate::compiles::Counter,
}

impl<C: Backend> Opener<'_, C> {
    fn open(&self) -> Result<C, StorageError> {
        C::open_writer(self.url, self.settings, self.compiles)
    }
}

fn run<C: Backend>(
    mut conn: C,
    opener: &Opener<'_, C>,
    queue: &mpsc::Receiver<Work<C>>,
    max_batch: usize,
    counters: &Counters,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let size = batch.len();
        counters.transactions.fetch_add(1, Ordering::Relaxed);
        counters
            .writes
            .fetch_add(u64::try_from(size).unwrap_or(u64::MAX), Ordering::Relaxed);
        let mut finishers = Vec::with_capacity(size);
        let mut panicked = false;
        let mut run_batch = |conn: &mut C, batch: &mut Vec<Work<C>>| {
            conn.batch(|c| {
                let mut inserts = Vec::new();
                let mut work = batch.drain(..).peekable();
                while let Some(next) = work.next() {
                    match next {
                        Work::Job(job) => {
                            let (finisher, job_panicked) = job(c);
                            panicked |= job_panicked;
                            finishers.push(finisher);
                        }
                        Work::Insert(rows, deliver) => {
                            inserts.push((*rows, deliver));
                            if matches!(work.peek(), Some(Work::Insert(..))) {
                                continue;
                            }
                            let more = work.peek().is_some();
                            if flush(c, &mut inserts, more, &mut finishers).is_err() {
                                panicked = true;
                                return Err(diesel::result::Error::QueryBuilderError(
                                    "a write transaction panicked".into(),
                                ));
                            }
                        }
                    }
                }
                Ok(())
            })
        };
        let mut committed = run_batch(&mut conn, &mut batch);
        // The transaction could not even begin (no job ran) on a connection that is gone (a
        // restarted server, a failover): once more on a fresh connection, so that a stale
        // writer connection costs no failed write.
        if committed.is_err() && !batch.is_empty() && conn.lost() {
            match opener.open() {
                Ok(fresh) => {
                    conn = fresh;
                    committed = run_batch(&mut conn, &mut batch);
                }
                Err(e) => tracing::error!(error = %e, "cannot reopen the writer connection"),
            }
        }
        // Jobs never started (BEGIN failed again) drop their senders: their callers get an
        // error.
        drop(batch);
        let committed = committed.map_err(|e| e.to_string());
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = size, "write batch failed to commit");
        } else if size > 1 {
            tracing::trace!(jobs = size, "group commit");
        }
        for finisher in finishers {
            finisher(committed.clone());
        }
        // A panic may have left diesel's transaction bookkeeping inconsistent, and a
        // network connection may have gone (a restarted PostgreSQL): start over on a fresh
        // connection. (The URL is never logged: it may hold a password.)
        if panicked || (committed.is_err() && conn.lost()) {
            match opener.open() {
                Ok(fresh) => conn = fresh,
                Err(e) => tracing::error!(error = %e, "cannot reopen the writer connection"),
            }
        }
    }
}
