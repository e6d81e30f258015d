//! Process memory figures from the operating system.

/// Peak resident set size of this process, in bytes (0 if unknown).
pub fn peak_rss_bytes() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if let Some(kb) = proc_status_kb("VmHWM:") {
            return kb * 1024;
        }
    }
    rusage_max_rss()
}

/// Current resident set size of this process, in bytes (0 if unknown).
pub fn current_rss_bytes() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if let Some(kb) = proc_status_kb("VmRSS:") {
            return kb * 1024;
        }
    }
    0
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn proc_status_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

fn rusage_max_rss() -> u64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0;
    }
    let v = u.ru_maxrss.max(0) as u64;
    // Darwin reports bytes, Linux kilobytes.
    if cfg!(target_vendor = "apple") {
        v
    } else {
        v * 1024
    }
}
