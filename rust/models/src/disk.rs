//! Free space and durable renames.

use std::fs::File;
use std::path::Path;

use crate::error::{ModelError, Result};

/// Bytes an unprivileged process can still write on the file system holding `path`.
pub fn available_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let mut p = path;
    // statvfs needs an existing path: walk up to the nearest one.
    while !p.exists() {
        p = p.parent().unwrap_or(Path::new("/"));
    }
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is NUL-terminated, st is a valid out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// Fails with `NoSpace` unless `needed` bytes fit in `dir` (plus a margin for
/// metadata and the manifest).
pub fn ensure_space(dir: &Path, needed: u64) -> Result<()> {
    const MARGIN: u64 = 8 << 20;
    let available = available_bytes(dir).map_err(|e| ModelError::io(dir, e))?;
    if available < needed.saturating_add(MARGIN) {
        return Err(ModelError::NoSpace { path: dir.to_path_buf(), needed: needed.saturating_add(MARGIN), available });
    }
    Ok(())
}

/// Renames `from` to `to` durably: the file's data first, then the directory
/// entry, so after a crash `to` is either absent or complete.
pub fn durable_rename(from: &Path, to: &Path) -> Result<()> {
    File::open(from).and_then(|f| f.sync_all()).map_err(|e| ModelError::io(from, e))?;
    std::fs::rename(from, to).map_err(|e| ModelError::io(to, e))?;
    if let Some(dir) = to.parent() {
        // Directory fsync is best effort (some file systems refuse it).
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// A small JSON state file (a download's metadata, an assembly's progress);
/// `None` when it is missing or unreadable, which means "start afresh".
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Replaces `path` with `value` as JSON through a temporary file and a rename,
/// so a reader never sees half a file.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(value).expect("serializable")).map_err(|e| ModelError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| ModelError::io(path, e))
}

/// An exclusive advisory lock (`flock`) on `path`, created if missing; held
/// until the returned file is dropped. Each call opens its own file
/// description, so the lock excludes other threads of this process as well as
/// other processes. `wait`: `None` waits as long as it takes; `Some(d)` gives
/// up after `d` with `InProgress` (a paused pull lets go within milliseconds,
/// so a short wait lets "pause, then pull again" through at once).
pub fn lock(path: &Path, wait: Option<std::time::Duration>) -> Result<File> {
    use std::os::fd::AsRawFd;
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(|e| ModelError::io(path, e))?;
    let deadline = wait.map(|d| std::time::Instant::now() + d);
    let op = if wait.is_some() { libc::LOCK_EX | libc::LOCK_NB } else { libc::LOCK_EX };
    loop {
        // SAFETY: a valid open descriptor; flock has no memory arguments.
        if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
            return Ok(f);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if deadline.is_some_and(|d| std::time::Instant::now() < d) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Some(libc::EWOULDBLOCK) => return Err(ModelError::InProgress { path: path.to_path_buf() }),
            _ => return Err(ModelError::io(path, e)),
        }
    }
}
