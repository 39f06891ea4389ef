//! Temporary files, and leaving none behind on SIGINT or SIGTERM.
//!
//! Every named temporary path a run creates (the hidden output file beside `-o`, a directory
//! archive being built, a spooled large object, the archive handed to pg_restore) is created
//! through [`create`] and stays registered here while it exists. [`watch_signals`] starts a
//! thread that, on SIGINT or SIGTERM, removes every registered path and ends the process with
//! status 128 + the signal number at once, whatever the other threads are blocked on (a stalled
//! stdin, a downstream program that stopped reading). A finished output is renamed into place
//! with [`commit`], under the same lock: after a signal nothing is renamed any more, so an
//! interrupted run never leaves an output behind.
//!
//! Spool files (data whose size must be known before it is written) go to [`temp_dir`]:
//! `--temp-dir`, else the system's. Like every file created here they have mode 0600.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

#[derive(Default)]
struct State {
    next: u64,
    /// Registered paths: id, path, whether it is a directory.
    paths: Vec<(u64, PathBuf, bool)>,
    /// The signal that arrived (0 for none).
    signal: usize,
}

static STATE: Mutex<State> = Mutex::new(State { next: 0, paths: Vec::new(), signal: 0 });
static TEMP_DIR: OnceLock<PathBuf> = OnceLock::new();

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sets the directory for spool files (`--temp-dir`). Only the first call counts.
pub fn set_temp_dir(dir: PathBuf) {
    let _ = TEMP_DIR.set(dir);
}

/// Where spool files go: `--temp-dir`, else the system's temporary directory.
pub fn temp_dir() -> PathBuf {
    TEMP_DIR.get().cloned().unwrap_or_else(std::env::temp_dir)
}

/// The error for work refused because a signal arrived.
fn interrupted_error() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "interrupted by a signal")
}

/// A registered temporary path; dropping it unregisters the path (the value it belongs to
/// removes the file itself).
#[derive(Debug)]
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        state().paths.retain(|(id, _, _)| *id != self.0);
    }
}

/// A temporary file or directory, registered for removal on a signal while it exists.
#[derive(Debug)]
pub struct Tracked<T> {
    // Field order matters: the value (which removes the file when dropped) goes first.
    value: T,
    _registered: Registered,
}

impl<T> Tracked<T> {
    /// The value and its registration, for a holder that keeps both (the registration must be
    /// dropped after the value, which removes the file).
    pub fn into_parts(self) -> (T, Registered) {
        (self.value, self._registered)
    }
}

impl<T> std::ops::Deref for Tracked<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> std::ops::DerefMut for Tracked<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

/// Creates a temporary file or directory with `make` (which returns it and its path) and
/// registers the path, atomically with respect to a signal: after a signal nothing new is
/// created.
pub fn create<T>(is_dir: bool, make: impl FnOnce() -> io::Result<(T, PathBuf)>) -> io::Result<Tracked<T>> {
    let mut st = state();
    if st.signal != 0 {
        return Err(interrupted_error());
    }
    let (value, path) = make()?;
    st.next += 1;
    let id = st.next;
    st.paths.push((id, path, is_dir));
    Ok(Tracked { value, _registered: Registered(id) })
}

/// A named temporary file (mode 0600) in [`temp_dir`], removed when dropped or on a signal.
pub fn named_temp_file(prefix: &str) -> io::Result<Tracked<tempfile::NamedTempFile>> {
    create(false, || {
        let file = tempfile::Builder::new().prefix(prefix).tempfile_in(temp_dir())?;
        let path = file.path().to_path_buf();
        Ok((file, path))
    })
}

/// An anonymous spool file (mode 0600, unlinked at once) in [`temp_dir`].
pub fn spool_file() -> io::Result<std::fs::File> {
    spool_file_in(&temp_dir())
}

/// An anonymous spool file (mode 0600, unlinked at once) in `dir`.
pub fn spool_file_in(dir: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::PermissionsExt;
    // On Linux this is an O_TMPFILE file, which has no name but is created with the default
    // mode (0666 less the umask); make it private like every other temporary file.
    let file = tempfile::tempfile_in(dir)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// Runs `finish` (the rename that publishes a finished output) unless a signal arrived; a signal
/// that arrives meanwhile waits for it, so an output is either complete and in place or absent.
pub fn commit<T>(finish: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let st = state();
    if st.signal != 0 {
        return Err(interrupted_error());
    }
    let result = finish();
    drop(st);
    result
}

/// The signal that interrupted the run, 0 if none.
pub fn interrupted() -> usize {
    state().signal
}

/// Removes every registered path; returns how many there were.
fn remove_all(st: &mut State) -> usize {
    let paths = std::mem::take(&mut st.paths);
    for (_, path, is_dir) in &paths {
        let _ = if *is_dir { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    }
    paths.len()
}

/// On SIGINT or SIGTERM: records the signal in `flag`, removes every registered temporary path,
/// says so on stderr and exits with 128 + the signal number, without waiting for the threads
/// that may be blocked reading or writing. Call it once, before any temporary file is created.
pub fn watch_signals(flag: Arc<AtomicUsize>) -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new().name("scrub-signals".into()).spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let sig = usize::try_from(sig).unwrap_or(1);
            flag.store(sig, Ordering::SeqCst);
            // Taking the lock waits for a rename in progress; from then on nothing is created
            // or renamed, and the process ends while still holding it.
            let mut st = state();
            st.signal = sig;
            remove_all(&mut st);
            let name = if sig == SIGINT as usize { "SIGINT" } else { "SIGTERM" };
            eprintln!("scrub: interrupted by {name}: stopped, temporary files removed, no output file was written");
            signal_hook::low_level::exit(128 + sig as i32);
        }
    })?;
    Ok(())
}

/// Whether `path` is registered (for tests).
pub fn is_registered(path: &Path) -> bool {
    state().paths.iter().any(|(_, p, _)| p == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_while_alive() {
        let dir = tempfile::tempdir().unwrap();
        let file = create(false, || {
            let f = tempfile::NamedTempFile::new_in(dir.path())?;
            let p = f.path().to_path_buf();
            Ok((f, p))
        })
        .unwrap();
        let path = file.path().to_path_buf();
        assert!(is_registered(&path));
        drop(file);
        assert!(!is_registered(&path));
        assert!(!path.exists());
    }
}
