//! `gatehouse backup PATH` and `gatehouse restore PATH`: a consistent snapshot of the
//! database (either backend) into a new SQLite file of mode 0600 while `serve` keeps
//! writing, and back into an empty database of either backend; both verified by counts
//! ([`gatehouse_storage::snapshot_copy`]).

use std::path::{Path, PathBuf};

use gatehouse_domain::clock::{Clock as _, SystemClock};
use gatehouse_storage::{CopyReport, Database, Storage};

use super::exit::{Exit, Failure};
use crate::config::Settings;

/// `gatehouse backup`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  gatehouse backup /var/backups/gatehouse-$(date +%F).db\n  gatehouse backup --database postgres://gatehouse@db.internal/gatehouse snapshot.db"
)]
pub struct BackupArgs {
    /// The SQLite file to create (must not exist; created with mode 0600)
    pub path: PathBuf,
}

/// `gatehouse restore`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Example:\n  gatehouse restore /var/backups/gatehouse-2026-12-06.db --database /var/lib/gatehouse/restored.db"
)]
pub struct RestoreArgs {
    /// The backup file (`gatehouse backup`); it is read, never changed
    pub path: PathBuf,
}

fn print_report(report: &CopyReport) {
    for t in &report.tables {
        println!("{:<20} {:>10} rows", t.table, t.destination_rows);
    }
}

/// `gatehouse backup PATH`.
///
/// # Errors
/// [`Exit::Refused`] when `PATH` exists; otherwise a failure to open the database or to
/// write, seal or verify the copy (the half-written file is removed).
pub fn backup(settings: &Settings, args: &BackupArgs) -> Result<(), Failure> {
    if args.path.exists() {
        return Err(Failure::new(
            Exit::Refused,
            format!("backup: {} exists; name a new file", args.path.display()),
        ));
    }
    let written = write_backup(settings, &args.path);
    if written.is_err() {
        // A half-written backup must not be mistaken for one.
        remove_sqlite_files(&args.path);
    }
    let report = written?;
    print_report(&report);
    println!(
        "backup of {} written to {} and verified: every table holds the snapshot's rows",
        settings.database,
        args.path.display()
    );
    Ok(())
}

fn write_backup(settings: &Settings, path: &Path) -> Result<CopyReport, Failure> {
    let source = super::open(&settings.database, settings)?;
    let target = Storage::open(path, settings.storage_options())
        .map_err(|e| format!("backup {}: {e}", path.display()))?;
    let report = gatehouse_storage::snapshot_copy(&source, &target, SystemClock.now(), &mut |_| {})
        .map_err(|e| format!("backup: {e}"))?;
    drop(target);
    single_file(path)?;
    Ok(report)
}

/// Deletes a SQLite file and its `-wal` and `-shm` companions.
fn remove_sqlite_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Folds the backup's write-ahead log into the file (the one file is the backup) and checks
/// its integrity.
fn single_file(path: &Path) -> Result<(), Failure> {
    gatehouse_storage::seal_sqlite_file(path)
        .map_err(|e| Failure::from(format!("backup {}: {e}", path.display())))
}

/// `gatehouse restore PATH --database TARGET`.
///
/// # Errors
/// [`Exit::NotFound`] without the backup file, [`Exit::Refused`] when it is the target
/// itself or the target is not empty; otherwise a failure to open either database or to
/// copy and verify the rows.
pub fn restore(settings: &Settings, args: &RestoreArgs) -> Result<(), Failure> {
    if !args.path.is_file() {
        return Err(Failure::new(
            Exit::NotFound,
            format!("restore: no backup file {}", args.path.display()),
        ));
    }
    if let Database::Sqlite(target) = &settings.database {
        if same_file(target, &args.path) {
            return Err(Failure::new(
                Exit::Refused,
                "restore: the backup and --database are the same file",
            ));
        }
    }
    // A working copy: opening runs migrations, and the backup itself stays as it was.
    let work = working_copy(&args.path)?;
    let result = restore_from(settings, &work.0, &args.path);
    drop(work);
    result
}

fn restore_from(settings: &Settings, work: &Path, shown: &Path) -> Result<(), Failure> {
    let source = Storage::open(work, settings.storage_options())
        .map_err(|e| format!("restore {}: {e}", shown.display()))?;
    let target = super::open(&settings.database, settings)?;
    if !gatehouse_storage::is_empty(&target).map_err(|e| format!("restore: {e}"))? {
        return Err(Failure::new(
            Exit::Refused,
            format!(
                "restore: {} is not empty; restore into a new database and point serve at it",
                settings.database
            ),
        ));
    }
    let report = gatehouse_storage::snapshot_copy(&source, &target, SystemClock.now(), &mut |_| {})
        .map_err(|e| format!("restore: {e}"))?;
    print_report(&report);
    println!(
        "{} restored into {} and verified: every table holds the backup's rows",
        shown.display(),
        settings.database
    );
    super::audited(
        &super::service(settings)?,
        "restore",
        &shown.display().to_string(),
    );
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A private copy of the backup beside it, deleted when dropped.
struct WorkingCopy(PathBuf);

impl Drop for WorkingCopy {
    fn drop(&mut self) {
        remove_sqlite_files(&self.0);
    }
}

fn working_copy(backup: &Path) -> Result<WorkingCopy, Failure> {
    let mut name = backup.as_os_str().to_owned();
    name.push(format!(".restoring-{}", std::process::id()));
    let path = PathBuf::from(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut out = options
        .open(&path)
        .map_err(|e| format!("restore: {}: {e}", path.display()))?;
    let copy = WorkingCopy(path);
    let mut input =
        std::fs::File::open(backup).map_err(|e| format!("restore: {}: {e}", backup.display()))?;
    std::io::copy(&mut input, &mut out)
        .map_err(|e| format!("restore: {}: {e}", copy.0.display()))?;
    Ok(copy)
}
