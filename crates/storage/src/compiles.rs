//! Counting the SQL this process compiles, so that "no SQL compiled per request" is a number
//! a test can hold flat (`Storage::sql_compiles`, `/metrics`).
//!
//! * **SQLite**: exact, and free on the hot path. SQLite calls a connection's *authorizer*
//!   while it compiles a statement (`sqlite3_prepare`, the `sqlite3_exec` that diesel's
//!   `batch_execute` uses, and the automatic re-prepare after a schema change), never when a
//!   prepared statement runs again. Every connection the storage opens gets an authorizer
//!   that allows everything and adds one to the store's counter per check; a statement makes
//!   one or more checks (one per statement kind, table and column it touches). A counter that
//!   stays flat under load therefore means that every statement came from a cache.
//!   The authorizer is installed through `sqlite3_auto_extension` (SQLite calls the entry
//!   point for every connection opened in the process, on the opening thread, which is the
//!   only way to reach the `sqlite3*` of a connection diesel opened): a thread-local names
//!   the counter of the connection being opened by [`establish_sqlite`]; connections opened
//!   by anything else get nothing.
//! * **PostgreSQL**: diesel's instrumentation reports each statement it prepares for its
//!   cache (`InstrumentationEvent::CacheQuery`); those are counted. Statements diesel does
//!   not cache at all cannot be told apart from cache hits there, but every query is the same
//!   diesel code on both backends (`repo.rs`), so the SQLite count covers them.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::{Connection, ConnectionResult, SqliteConnection};
use libsqlite3_sys as ffi;

/// How many SQL compilation checks (SQLite) or statement preparations (PostgreSQL) this
/// store's connections made.
pub(crate) type Counter = Arc<AtomicU64>;

thread_local! {
    /// The counter of the SQLite connection this thread is opening right now.
    static OPENING: RefCell<Option<Counter>> = const { RefCell::new(None) };
}

/// Opens a SQLite connection whose compilations add to `counter`.
pub(crate) fn establish_sqlite(url: &str, counter: &Counter) -> ConnectionResult<SqliteConnection> {
    install_auto_extension();
    OPENING.with(|o| *o.borrow_mut() = Some(counter.clone()));
    let conn = SqliteConnection::establish(url);
    // Taken by the entry point on success; cleared here whatever happened.
    OPENING.with(|o| o.borrow_mut().take());
    conn
}

fn install_auto_extension() {
    static ONCE: Once = Once::new();
    ONCE.call_once(register_entry_point);
}

#[expect(
    unsafe_code,
    reason = "FFI: registers a plain extern \"C\" function with SQLite"
)]
fn register_entry_point() {
    // SAFETY: `entry_point` has the signature SQLite calls an auto extension with and stays
    // valid for the life of the process (a plain function).
    let rc = unsafe { ffi::sqlite3_auto_extension(Some(entry_point)) };
    if rc != ffi::SQLITE_OK {
        tracing::warn!(
            rc,
            "cannot count SQLite compilations (sqlite3_auto_extension)"
        );
    }
}

/// Called by SQLite for every connection the process opens, on the opening thread.
#[expect(
    unsafe_code,
    reason = "FFI: installs the authorizer on the connection SQLite is opening"
)]
unsafe extern "C" fn entry_point(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    let Ok(Some(counter)) = OPENING.try_with(|o| o.borrow_mut().take()) else {
        return ffi::SQLITE_OK;
    };
    let data = Arc::into_raw(counter).cast_mut().cast::<c_void>();
    // SAFETY: `db` is the connection being opened. The counter's reference is owned by a SQL
    // function registered on the connection: SQLite calls `release` exactly once, when the
    // connection closes (or at once if the registration fails), so the pointer the
    // authorizer gets stays valid for every call it receives.
    unsafe {
        let rc = ffi::sqlite3_create_function_v2(
            db,
            c"gatehouse_sql_compiles".as_ptr(),
            0,
            ffi::SQLITE_UTF8,
            data,
            Some(current_count),
            None,
            None,
            Some(release),
        );
        if rc == ffi::SQLITE_OK {
            ffi::sqlite3_set_authorizer(db, Some(authorize), data);
        }
        // The query planner stability guarantee: without it SQLite (3.47+) reads the value
        // bound to `LIMIT ?` while planning and marks the statement to be compiled again
        // whenever that parameter is bound, and diesel binds every parameter on every run:
        // each `.first()` (`LIMIT ?` = 1) was re-prepared on every call, 15-40 compile
        // checks per read (see `docs/performance.md`). With it, a plan never depends on a
        // bound value (nor on STAT4 samples of one), so a cached statement stays compiled.
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        );
    }
    ffi::SQLITE_OK
}

/// The authorizer: allows everything, counts the check.
#[expect(
    unsafe_code,
    reason = "FFI callback: reads the counter SQLite hands back"
)]
unsafe extern "C" fn authorize(
    data: *mut c_void,
    action: c_int,
    a: *const c_char,
    b: *const c_char,
    _c: *const c_char,
    _d: *const c_char,
) -> c_int {
    // SAFETY: `data` is the `Arc<AtomicU64>` pointer installed with this authorizer, alive
    // until `release` runs at the connection's close (after its last compilation).
    let counter = unsafe { &*data.cast_const().cast::<AtomicU64>() };
    counter.fetch_add(1, Ordering::Relaxed);
    // Which statement compiled: `GATEHOUSE_LOG=gatehouse_sql_compile=debug` names the action
    // code (sqlite3.h `SQLITE_SELECT` = 21, `SQLITE_UPDATE` = 23, `SQLITE_TRANSACTION` = 22,
    // ...) and its table or statement, for the hunt of an uncached statement.
    if tracing::enabled!(target: "gatehouse_sql_compile", tracing::Level::DEBUG) {
        // SAFETY: SQLite passes NUL-terminated strings or NULL, valid during the call.
        let text = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                unsafe { std::ffi::CStr::from_ptr(p) }
                    .to_string_lossy()
                    .into_owned()
            }
        };
        tracing::debug!(target: "gatehouse_sql_compile", action, a = %text(a), b = %text(b));
    }
    ffi::SQLITE_OK
}

/// `SELECT gatehouse_sql_compiles()`: the counter, for a look from SQL.
#[expect(unsafe_code, reason = "FFI callback: reads the function's user data")]
unsafe extern "C" fn current_count(
    ctx: *mut ffi::sqlite3_context,
    _argc: c_int,
    _argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: the user data is the counter registered with the function (see `entry_point`).
    unsafe {
        let counter = &*ffi::sqlite3_user_data(ctx).cast_const().cast::<AtomicU64>();
        let n = i64::try_from(counter.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        ffi::sqlite3_result_int64(ctx, n);
    }
}

/// Drops the connection's reference to the counter (SQLite calls it once, at close).
#[expect(
    unsafe_code,
    reason = "FFI callback: gives back the Arc taken in entry_point"
)]
unsafe extern "C" fn release(data: *mut c_void) {
    // SAFETY: `data` came from `Arc::into_raw` in `entry_point` and SQLite calls this once.
    drop(unsafe { Arc::from_raw(data.cast_const().cast::<AtomicU64>()) });
}

/// diesel instrumentation of a PostgreSQL connection: counts the statements diesel prepares
/// for its cache (cache misses).
pub(crate) struct CacheMisses(pub(crate) Counter);

impl Instrumentation for CacheMisses {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::CacheQuery { .. } = event {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}
