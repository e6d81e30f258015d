//! One resumable, verified download: URL → file, or a typed error.
//!
//! The partial file is `.NAME.part` beside the destination, with a small
//! `.NAME.part.json` naming the URL, the expected hash and the server's
//! validator (ETag / Last-Modified). Any interruption — dropped connection,
//! truncated body, 5xx, `cancel()`, the process being killed — leaves a prefix
//! of correct bytes there, and the next call continues with `Range` +
//! `If-Range`. A server that ignores `Range` (or whose object changed) sends
//! the whole body with 200, and the download restarts cleanly from zero.
//!
//! The SHA-256 runs over the bytes as they are written (after re-reading the
//! kept prefix once when a new process resumes), and the file becomes visible
//! under its real name only after the hash matches, by an fsynced rename.
//! A mismatch removes the partial file: it can never become valid.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ModelError, Result};
use crate::http::Client;
use crate::{disk, hash};

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Consecutive failed attempts (no new byte received) before giving up.
    pub max_failures: u32,
    /// Backoff after the first failure; doubles per consecutive failure.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_failures: 6, initial_backoff: Duration::from_millis(500), max_backoff: Duration::from_secs(30) }
    }
}

/// Reported as bytes arrive (at most once per chunk).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the file on disk so far, resumed prefix included.
    pub downloaded: u64,
    pub total: Option<u64>,
    /// Bytes that were already on disk when this call started (not re-fetched).
    pub resumed_from: u64,
}

/// What a finished download did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// Bytes received over the network by this call.
    pub fetched: u64,
    /// Bytes kept from an earlier partial download.
    pub resumed_from: u64,
    /// HTTP requests made.
    pub requests: u32,
    /// Times the file had to start again from zero (server ignored `Range`, object changed).
    pub restarts: u32,
}

/// The download's request: where from, what it must hash to, where to.
pub struct Request<'a> {
    pub url: &'a str,
    pub sha256: &'a str,
    /// Expected size, if known (from a catalogue): checked early, and used for the free-space check.
    pub size: Option<u64>,
    pub dest: &'a Path,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct PartMeta {
    url: String,
    sha256: String,
    validator: Option<String>,
}

pub fn part_paths(dest: &Path) -> (PathBuf, PathBuf) {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = dest.parent().unwrap_or(Path::new("."));
    (dir.join(format!(".{name}.part")), dir.join(format!(".{name}.part.json")))
}

/// The lock a download of `dest` holds, so that a second download of the
/// same file (another thread or process) fails with `InProgress` instead of
/// writing into the same partial file.
fn lock_path(dest: &Path) -> PathBuf {
    let (part, _) = part_paths(dest);
    part.with_extension("lock")
}

/// Removes a download's partial file and its metadata.
pub fn discard_partial(dest: &Path) {
    let (part, meta) = part_paths(dest);
    let _ = fs::remove_file(part);
    let _ = fs::remove_file(meta);
    let _ = fs::remove_file(lock_path(dest));
}

const CHUNK: usize = 256 << 10;

/// How long a pull waits for another pull of the same file to let go before
/// failing with `InProgress`: long enough for a just-paused pull to stop.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Downloads `req` into `req.dest`, resuming any partial file; see the module docs.
pub fn download(
    client: &Client,
    req: &Request,
    policy: &RetryPolicy,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Outcome> {
    if !hash::is_sha256_hex(req.sha256) {
        return Err(ModelError::Invalid(format!("{:?} is not a SHA-256 in hex", req.sha256)));
    }
    let want = req.sha256.to_ascii_lowercase();
    let dir = req.dest.parent().unwrap_or(Path::new(".")).to_path_buf();
    fs::create_dir_all(&dir).map_err(|e| ModelError::io(&dir, e))?;
    if req.dest.is_dir() {
        return Err(ModelError::Invalid(format!("{} is a directory", req.dest.display())));
    }
    let _lock = disk::lock(&lock_path(req.dest), Some(LOCK_WAIT))?;
    if req.dest.is_file() && hash::file_sha256(req.dest)? == want {
        // Already complete (e.g. the process died after the rename).
        let size = std::fs::metadata(req.dest).map_err(|e| ModelError::io(req.dest, e))?.len();
        discard_partial(req.dest);
        return Ok(Outcome { path: req.dest.to_path_buf(), size, sha256: want, resumed_from: size, ..Default::default() });
    }
    let (part, meta_path) = part_paths(req.dest);
    let mut meta: Option<PartMeta> = disk::read_json(&meta_path);
    // A partial file of another URL or hash is not ours to continue.
    if meta.as_ref().is_some_and(|m| m.url != req.url || m.sha256 != want) {
        discard_partial(req.dest);
        meta = None;
    }
    if meta.is_none() && part.exists() {
        let _ = fs::remove_file(&part);
    }
    let mut out = Outcome { path: req.dest.to_path_buf(), ..Default::default() };
    let mut file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&part).map_err(|e| ModelError::io(&part, e))?;
    let mut have = file.metadata().map_err(|e| ModelError::io(&part, e))?.len();
    if req.size.is_some_and(|s| have > s) {
        file.set_len(0).map_err(|e| ModelError::io(&part, e))?;
        have = 0;
    }
    out.resumed_from = have;
    // The running hash of bytes 0..have of the part file.
    let mut hasher = if have > 0 { hash::hash_prefix(&part, Some(have))?.0 } else { Sha256::new() };
    let mut total = req.size;
    let mut failures = 0u32;
    let mut last_error = String::new();
    let mut last_status = None;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(ModelError::Cancelled);
        }
        if total.is_some_and(|t| have == t) {
            break;
        }
        if failures >= policy.max_failures {
            return Err(match last_status {
                Some(status) => ModelError::Http { url: req.url.to_string(), status },
                None => ModelError::Network { url: req.url.to_string(), attempts: out.requests, message: last_error },
            });
        }
        if failures > 0 {
            let backoff = policy.initial_backoff.saturating_mul(1 << (failures - 1).min(16)).min(policy.max_backoff);
            sleep_unless_cancelled(backoff, cancel);
            continue_if_not_cancelled(cancel)?;
        }
        if let Some(t) = total {
            disk::ensure_space(&dir, t - have)?;
        }
        out.requests += 1;
        let validator = meta.as_ref().and_then(|m| m.validator.clone());
        let resp = match client.get(req.url, have, validator.as_deref()) {
            Ok(r) => r,
            Err(e) => {
                (failures, last_error, last_status) = (failures + 1, e, None);
                continue;
            }
        };
        match resp.status {
            206 if resp.range_start == Some(have) => {
                if let Some(t) = resp.range_total {
                    total = Some(t);
                }
            }
            200 | 206 => {
                // The whole object again (Range ignored, or If-Range saw a change).
                if have > 0 {
                    out.restarts += 1;
                }
                file.set_len(0).map_err(|e| ModelError::io(&part, e))?;
                (have, hasher) = (0, Sha256::new());
                total = resp.content_length.or(req.size);
                if resp.status == 206 {
                    // A range we did not ask for: ask again from zero.
                    failures += 1;
                    last_error = "server sent an unexpected range".into();
                    continue;
                }
            }
            416 => {
                // Nothing after `have`: complete if the server says so, else start over.
                if resp.range_total == Some(have) {
                    total = Some(have);
                    continue;
                }
                file.set_len(0).map_err(|e| ModelError::io(&part, e))?;
                (have, hasher) = (0, Sha256::new());
                out.restarts += 1;
                failures += 1;
                continue;
            }
            s if s == 408 || s == 429 || s >= 500 => {
                (failures, last_error, last_status) = (failures + 1, format!("HTTP {s}"), Some(s));
                continue;
            }
            s => return Err(ModelError::Http { url: req.url.to_string(), status: s }),
        }
        if total.is_none() {
            total = resp.content_length.map(|n| n + have);
        }
        if let Some(t) = total {
            if req.size.is_some_and(|s| s != t) {
                discard_partial(req.dest);
                return Err(ModelError::Invalid(format!("{} is {t} bytes, the catalogue says {}", req.url, req.size.unwrap_or(0))));
            }
            disk::ensure_space(&dir, t.saturating_sub(have))?;
        }
        let new_meta = PartMeta { url: req.url.to_string(), sha256: want.clone(), validator: resp.validator.clone() };
        if meta.as_ref() != Some(&new_meta) {
            disk::write_json(&meta_path, &new_meta)?;
            meta = Some(new_meta);
        }
        file.seek(SeekFrom::Start(have)).map_err(|e| ModelError::io(&part, e))?;
        let before = have;
        let result = copy_body(resp.body, &mut file, &part, &mut hasher, &mut have, cancel, &mut |downloaded| {
            progress(Progress { downloaded, total, resumed_from: out.resumed_from })
        });
        out.fetched += have - before;
        match result {
            Ok(()) if total.is_none() => {
                // No length announced: a clean end of body is the end of the file.
                total = Some(have);
            }
            Ok(()) if total.is_some_and(|t| have < t) => {
                (failures, last_error, last_status) = (if have > before { 0 } else { failures + 1 }, "connection closed early".into(), None);
            }
            Ok(()) => {}
            Err(CopyError::Cancelled) => return Err(ModelError::Cancelled),
            Err(CopyError::Write(e)) => return Err(e),
            Err(CopyError::Read(e)) => {
                // Progress resets the failure count (and retries at once): only a stuck download gives up.
                (failures, last_error, last_status) = (if have > before { 0 } else { failures + 1 }, e, None);
            }
        }
        if total.is_some_and(|t| have > t) {
            // More bytes than announced: nothing here can be trusted.
            discard_partial(req.dest);
            return Err(ModelError::Network {
                url: req.url.to_string(),
                attempts: out.requests,
                message: format!("server sent {have} bytes, more than the {} announced", total.unwrap_or(0)),
            });
        }
    }
    file.sync_all().map_err(|e| ModelError::io(&part, e))?;
    drop(file);
    let got = hash::hex(&hasher.finalize());
    if got != want {
        discard_partial(req.dest);
        return Err(ModelError::Checksum { path: req.dest.to_path_buf(), expected: want, actual: got });
    }
    disk::durable_rename(&part, req.dest)?;
    let _ = fs::remove_file(&meta_path);
    let _ = fs::remove_file(lock_path(req.dest));
    out.size = have;
    out.sha256 = got;
    Ok(out)
}

enum CopyError {
    Read(String),
    Write(ModelError),
    Cancelled,
}

fn copy_body(
    mut body: Box<dyn Read + Send>,
    file: &mut File,
    part: &Path,
    hasher: &mut Sha256,
    have: &mut u64,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(), CopyError> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(CopyError::Cancelled);
        }
        let n = match body.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e.to_string())),
        };
        // Written before hashed: a failed write leaves the hash of what is on disk.
        file.write_all(&buf[..n]).map_err(|e| CopyError::Write(ModelError::io(part, e)))?;
        hasher.update(&buf[..n]);
        *have += n as u64;
        progress(*have);
    }
}

fn sleep_unless_cancelled(d: Duration, cancel: &AtomicBool) {
    let step = Duration::from_millis(20);
    let mut left = d;
    while !left.is_zero() && !cancel.load(Ordering::Relaxed) {
        let s = left.min(step);
        std::thread::sleep(s);
        left -= s;
    }
}

fn continue_if_not_cancelled(cancel: &AtomicBool) -> Result<()> {
    if cancel.load(Ordering::Relaxed) {
        Err(ModelError::Cancelled)
    } else {
        Ok(())
    }
}
