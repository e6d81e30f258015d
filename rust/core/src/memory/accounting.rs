//! Where the memory goes: weights, KV caches, scratch, and the process's
//! footprint as the OS counts it (the figure it kills apps by).

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct MemoryReport {
    /// Bytes of weight tensors the engine holds (0 when released).
    pub weights_bytes: u64,
    /// Of those, bytes currently resident in RAM.
    pub weights_resident_bytes: u64,
    /// KV cache bytes allocated across live sessions.
    pub kv_cache_bytes: u64,
    /// KV cache bytes actually holding tokens.
    pub kv_cache_used_bytes: u64,
    /// Working buffers: KV capacity beyond what is used.
    pub scratch_bytes: u64,
    /// Resident set (Linux/Android `/proc/self/statm`) or `phys_footprint` (Apple).
    pub process_footprint_bytes: u64,
}

/// The process footprint the OS judges us by.
pub fn process_footprint_bytes() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // statm's second field is resident pages.
        if let Ok(s) = std::fs::read_to_string("/proc/self/statm") {
            if let Some(pages) = s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()) {
                return pages * page_size();
            }
        }
        0
    }
    #[cfg(target_vendor = "apple")]
    {
        apple::phys_footprint().unwrap_or(0)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    {
        0
    }
}

/// Memory the OS would still give this process, where it can tell.
/// Android apps pass `ActivityManager.MemoryInfo.availMem` instead.
pub fn available_memory_bytes() -> Option<u64> {
    #[cfg(target_os = "ios")]
    {
        return Some(apple::available_memory());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let s = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
        let kb: u64 = line["MemAvailable:".len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        return Some(kb * 1024);
    }
    #[allow(unreachable_code)]
    None
}

/// Hands freed heap pages back to the OS. glibc keeps freed memory in its
/// arenas, where it still counts against the process; Android's and Apple's
/// allocators return large frees on their own.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory at the top of the heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}

pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 {
        v as u64
    } else {
        4096
    }
}

/// Bytes of `[ptr, ptr + len)` resident in RAM, by `mincore`.
pub fn resident_bytes(ptr: *const u8, len: usize) -> u64 {
    if len == 0 {
        return 0;
    }
    let page = page_size() as usize;
    let start = (ptr as usize) & !(page - 1);
    let span = (ptr as usize + len) - start;
    let pages = span.div_ceil(page);
    let mut vec = vec![0u8; pages];
    // SAFETY: the range lies within a live mapping the caller holds; mincore
    // only reports on it and writes `pages` bytes into `vec`.
    #[cfg(not(target_vendor = "apple"))]
    let rc = unsafe { libc::mincore(start as *mut libc::c_void, span, vec.as_mut_ptr() as *mut _) };
    #[cfg(target_vendor = "apple")]
    let rc = unsafe { libc::mincore(start as *const libc::c_void, span, vec.as_mut_ptr() as *mut _) };
    if rc != 0 {
        return 0;
    }
    vec.iter().filter(|&&b| b & 1 != 0).count() as u64 * page as u64
}

#[cfg(target_vendor = "apple")]
mod apple {
    use std::os::raw::{c_int, c_void};

    const RUSAGE_INFO_V2: c_int = 2;

    extern "C" {
        fn proc_pid_rusage(pid: c_int, flavor: c_int, buffer: *mut c_void) -> c_int;
        #[cfg(target_os = "ios")]
        fn os_proc_available_memory() -> usize;
    }

    /// `phys_footprint`, the figure jetsam compares against the app's limit.
    pub fn phys_footprint() -> Option<u64> {
        // SAFETY: rusage_info_v2 is plain data; the call fills it.
        let mut info: libc::rusage_info_v2 = unsafe { std::mem::zeroed() };
        let rc = unsafe {
            proc_pid_rusage(std::process::id() as c_int, RUSAGE_INFO_V2, &mut info as *mut _ as *mut c_void)
        };
        (rc == 0).then_some(info.ri_phys_footprint)
    }

    #[cfg(target_os = "ios")]
    pub fn available_memory() -> u64 {
        // SAFETY: no arguments, no preconditions (iOS 13+).
        unsafe { os_proc_available_memory() as u64 }
    }
}
