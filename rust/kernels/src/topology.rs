//! CPU topology: how many inference threads `threads = 0` means.
//!
//! Decode is a few hundred small parallel loops per token, and a loop is as
//! slow as its slowest thread, so the default must avoid the little cores but
//! use every big one. Counting only the cores at the single highest frequency
//! (what the pool used to do) picks ONE thread on flagship phones with a lone
//! prime core (Snapdragon 8 Gen 1–3, Dimensity 9x00: 1+3+4, 1+4+3, 1+5+2), and
//! on iOS, which has no /sys, it used every core, efficiency ones included.
//!
//! Sources, in order: Apple's `hw.perflevel*` sysctls; Linux/Android sysfs
//! (`cpuN/cpu_capacity`, the kernel's normalised capacity with 1024 = the
//! biggest core, and `cpuN/cpufreq/cpuinfo_max_freq`); otherwise one uniform
//! cluster of `available_parallelism()` cores.
//!
//! Classification rule (sysfs). Cores are grouped into clusters by
//! (capacity, max frequency), biggest first. Only the LOWEST cluster can be
//! little, and only if there are at least two clusters:
//! - when `cpu_capacity` tells the clusters apart: it is little when its
//!   capacity is below 50 % of the highest (A510/A520/A55 sit at 15–40 %;
//!   mid cores such as Tensor G1's A76 at 48 % stay performance, because only
//!   the lowest cluster is ever dropped);
//! - otherwise (no `cpu_capacity`, or every CPU reports the kernel's default
//!   1024 because the device tree has no `capacity-dmips-mhz`): it is little
//!   when its max frequency is below 75 % of the highest.
//!
//! Everything else is performance. The default thread count is the number of
//! performance cores, clamped to the threads this process may run on
//! (`available_parallelism`, which honours the affinity mask / cpuset), and at
//! least 1. Frequency alone cannot see microarchitecture: a big core run slow
//! (Dimensity 9300's A720 at 2.0 GHz next to X4 at 3.25 GHz) reads as little.

use std::fmt;
use std::path::Path;

/// Whether a cluster counts towards the default thread count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoreKind {
    Performance,
    /// Little / efficiency cores: left out of the default thread count.
    Efficiency,
}

impl CoreKind {
    pub fn name(self) -> &'static str {
        match self {
            CoreKind::Performance => "performance",
            CoreKind::Efficiency => "efficiency",
        }
    }
}

/// Where a [`CpuTopology`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopologySource {
    /// Linux / Android `/sys/devices/system/cpu`.
    Sysfs,
    /// Apple's `hw.perflevel{0,1}.physicalcpu` sysctls.
    AppleSysctl,
    /// Nothing readable: one uniform cluster of `available_parallelism()` cores.
    Fallback,
}

impl TopologySource {
    pub fn name(self) -> &'static str {
        match self {
            TopologySource::Sysfs => "sysfs",
            TopologySource::AppleSysctl => "apple-sysctl",
            TopologySource::Fallback => "fallback",
        }
    }
}

/// Cores that share a capacity and a maximum frequency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// Logical CPU numbers, ascending. From Apple sysctls, which give only
    /// counts, they are positional (performance cores first), not OS numbers.
    pub cpus: Vec<usize>,
    pub max_freq_khz: Option<u64>,
    /// The kernel's `cpu_capacity` (1024 = the biggest core).
    pub capacity: Option<u32>,
    pub kind: CoreKind,
}

/// The machine's CPU clusters, biggest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuTopology {
    pub clusters: Vec<Cluster>,
    pub source: TopologySource,
}

/// Threads this process may run on (affinity mask / cpuset aware), at least 1.
pub fn available_parallelism() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

impl CpuTopology {
    /// The running machine's topology; never fails (see [`TopologySource::Fallback`]).
    pub fn detect() -> Self {
        #[cfg(any(target_os = "ios", target_os = "macos"))]
        if let Some(t) = apple::detect() {
            return t;
        }
        #[cfg(not(any(target_os = "ios", target_os = "macos")))]
        if let Some(t) = Self::from_sysfs(Path::new("/sys/devices/system/cpu")) {
            return t;
        }
        Self::fallback(available_parallelism())
    }

    /// One uniform cluster of `n` cores with no frequency or capacity data.
    pub fn fallback(n: usize) -> Self {
        let cluster = Cluster { cpus: (0..n.max(1)).collect(), max_freq_khz: None, capacity: None, kind: CoreKind::Performance };
        CpuTopology { clusters: vec![cluster], source: TopologySource::Fallback }
    }

    /// Reads a sysfs CPU directory laid out like `/sys/devices/system/cpu`:
    /// the CPUs listed in `online` (else `possible`, else every `cpuN`
    /// directory), each with optional `cpuN/cpu_capacity` and
    /// `cpuN/cpufreq/cpuinfo_max_freq`. `None` if no CPU is found.
    pub fn from_sysfs(root: &Path) -> Option<Self> {
        let ids = ["online", "possible"]
            .iter()
            .find_map(|f| std::fs::read_to_string(root.join(f)).ok().and_then(|s| parse_cpu_list(&s)))
            .unwrap_or_else(|| scan_cpu_dirs(root));
        if ids.is_empty() {
            return None;
        }
        let cores: Vec<(usize, Option<u32>, Option<u64>)> = ids
            .into_iter()
            .map(|id| {
                let dir = root.join(format!("cpu{id}"));
                (id, read_num(&dir.join("cpu_capacity")), read_num(&dir.join("cpufreq/cpuinfo_max_freq")))
            })
            .collect();
        Some(Self::from_cores(&cores, TopologySource::Sysfs))
    }

    /// Groups `(cpu, capacity, max_freq_khz)` triples into classified clusters.
    fn from_cores(cores: &[(usize, Option<u32>, Option<u64>)], source: TopologySource) -> Self {
        let mut clusters: Vec<Cluster> = Vec::new();
        for &(cpu, capacity, max_freq_khz) in cores {
            match clusters.iter_mut().find(|c| c.capacity == capacity && c.max_freq_khz == max_freq_khz) {
                Some(c) => c.cpus.push(cpu),
                None => clusters.push(Cluster { cpus: vec![cpu], max_freq_khz, capacity, kind: CoreKind::Performance }),
            }
        }
        let by_capacity = capacity_informative(&clusters);
        clusters.sort_by_key(|c| {
            let cap = c.capacity.unwrap_or(0);
            std::cmp::Reverse((if by_capacity { cap } else { 0 }, c.max_freq_khz.unwrap_or(0), cap))
        });
        for c in &mut clusters {
            c.cpus.sort_unstable();
        }
        if let [hi, .., lo] = clusters.as_mut_slice() {
            let little = if by_capacity {
                matches!((lo.capacity, hi.capacity), (Some(l), Some(h)) if 2 * u64::from(l) < u64::from(h))
            } else {
                matches!((lo.max_freq_khz, hi.max_freq_khz), (Some(l), Some(h)) if 4 * l < 3 * h)
            };
            if little {
                lo.kind = CoreKind::Efficiency;
            }
        }
        CpuTopology { clusters, source }
    }

    /// All cores found.
    pub fn cpu_count(&self) -> usize {
        self.clusters.iter().map(|c| c.cpus.len()).sum()
    }

    /// Cores in performance clusters.
    pub fn performance_cores(&self) -> usize {
        self.clusters.iter().filter(|c| c.kind == CoreKind::Performance).map(|c| c.cpus.len()).sum()
    }

    /// The default inference thread count: performance cores, clamped to
    /// `available_parallelism()`, at least 1.
    pub fn default_threads(&self) -> usize {
        self.default_threads_with(available_parallelism())
    }

    /// [`Self::default_threads`] with the affinity limit given (for tests).
    pub fn default_threads_with(&self, available: usize) -> usize {
        self.performance_cores().clamp(1, available.max(1))
    }

    /// Compact layout, biggest first, e.g. "1×3.00 GHz + 3×2.50 GHz + 4×1.80 GHz little".
    pub fn summary(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for CpuTopology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by_capacity = capacity_informative(&self.clusters);
        for (i, c) in self.clusters.iter().enumerate() {
            if i > 0 {
                f.write_str(" + ")?;
            }
            write!(f, "{}×", c.cpus.len())?;
            match (c.max_freq_khz, c.capacity) {
                (Some(khz), _) => write!(f, "{:.2} GHz", khz as f64 / 1e6)?,
                (None, Some(cap)) if by_capacity => write!(f, "cap {cap}")?,
                (None, _) if self.source == TopologySource::AppleSysctl => {
                    f.write_str(if c.kind == CoreKind::Performance { "P-core" } else { "E-core" })?
                }
                (None, _) => f.write_str("core")?,
            }
            if c.kind == CoreKind::Efficiency {
                f.write_str(" little")?;
            }
        }
        Ok(())
    }
}

/// Capacity separates clusters only if every cluster has one and they differ:
/// without `capacity-dmips-mhz` in the device tree the kernel reports 1024 for all.
fn capacity_informative(clusters: &[Cluster]) -> bool {
    let caps: Option<Vec<u32>> = clusters.iter().map(|c| c.capacity).collect();
    caps.is_some_and(|caps| caps.iter().any(|&c| c != caps[0]))
}

fn read_num<T: std::str::FromStr>(path: &Path) -> Option<T> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Parses the kernel's CPU list format, e.g. "0-3,5,7-8\n"; `None` if malformed.
fn parse_cpu_list(s: &str) -> Option<Vec<usize>> {
    let mut ids = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        if b < a || b - a > 4096 {
            return None;
        }
        ids.extend(a..=b);
    }
    ids.sort_unstable();
    ids.dedup();
    Some(ids)
}

fn scan_cpu_dirs(root: &Path) -> Vec<usize> {
    let mut ids: Vec<usize> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("cpu")?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids
}

#[cfg(any(target_os = "ios", target_os = "macos"))]
mod apple {
    use super::{Cluster, CoreKind, CpuTopology, TopologySource};
    use std::ffi::{c_char, c_int, c_void, CStr};

    // libSystem's; declared here rather than pulling in `libc`, to keep this
    // crate dependency-free.
    extern "C" {
        fn sysctlbyname(name: *const c_char, oldp: *mut c_void, oldlenp: *mut usize, newp: *mut c_void, newlen: usize)
            -> c_int;
    }

    fn sysctl_u32(name: &CStr) -> Option<usize> {
        let mut v: i32 = 0;
        let mut len = std::mem::size_of::<i32>();
        // SAFETY: `v` is a writable i32 and `len` its size; no new value is set.
        let r = unsafe { sysctlbyname(name.as_ptr(), (&mut v as *mut i32).cast(), &mut len, std::ptr::null_mut(), 0) };
        (r == 0 && len == std::mem::size_of::<i32>() && v > 0).then_some(v as usize)
    }

    /// Performance level 0 is the fastest; level 1, where present, is the
    /// efficiency cores, which are always little. Absent on Intel Macs (then
    /// `None`: the fallback).
    pub(super) fn detect() -> Option<CpuTopology> {
        let p = sysctl_u32(c"hw.perflevel0.physicalcpu")?;
        let e = sysctl_u32(c"hw.perflevel1.physicalcpu").unwrap_or(0);
        let cluster = |cpus: std::ops::Range<usize>, kind| Cluster { cpus: cpus.collect(), max_freq_khz: None, capacity: None, kind };
        let mut clusters = vec![cluster(0..p, CoreKind::Performance)];
        if e > 0 {
            clusters.push(cluster(p..p + e, CoreKind::Efficiency));
        }
        Some(CpuTopology { clusters, source: TopologySource::AppleSysctl })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,5,7-8\n"), Some(vec![0, 1, 2, 3, 5, 7, 8]));
        assert_eq!(parse_cpu_list("0\n"), Some(vec![0]));
        assert_eq!(parse_cpu_list("\n"), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn uniform_and_missing_data_use_every_core() {
        let t = CpuTopology::from_cores(&[(0, None, None), (1, None, None)], TopologySource::Sysfs);
        assert_eq!(t.clusters.len(), 1);
        assert_eq!(t.default_threads_with(8), 2);
        assert_eq!(t.default_threads_with(1), 1);
        assert_eq!(CpuTopology::fallback(0).default_threads_with(4), 1);
        assert_eq!(t.summary(), "2×core");
        let t = CpuTopology::from_cores(&[(0, Some(1024), None), (1, Some(1024), None)], TopologySource::Sysfs);
        assert_eq!(t.summary(), "2×core", "a capacity every CPU shares says nothing");
        let t = CpuTopology::from_cores(&[(0, Some(1024), None), (1, Some(300), None)], TopologySource::Sysfs);
        assert_eq!(t.summary(), "1×cap 1024 + 1×cap 300 little");
    }

    #[test]
    fn a_cluster_without_frequency_is_never_little() {
        let t = CpuTopology::from_cores(&[(0, None, Some(3_000_000)), (1, None, None)], TopologySource::Sysfs);
        assert!(t.clusters.iter().all(|c| c.kind == CoreKind::Performance));
    }
}
