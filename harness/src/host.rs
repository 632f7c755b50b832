//! Facts about the running system that plans and reports depend on: OS, release, arch,
//! page size, who we are, and the capabilities and tunables that change mmap's answers.

use crate::names::Os;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Host {
    /// `None` on an OS the suite has no expectations for.
    pub os: Option<Os>,
    pub os_name: String,
    pub release: String,
    pub arch: String,
    pub page_size: usize,
    pub uid: u32,
    pub euid: u32,
    /// Capabilities that change mmap-family results (Linux), as `NAME=yes|no`.
    pub capabilities: Vec<String>,
    /// Tunables that change mmap-family results, as `name=value`.
    pub tunables: Vec<String>,
    /// One past the highest user address on this OS and architecture.
    pub top: u64,
    /// What the suite ran under when that is not the kernel itself (a sandbox, an
    /// emulator), as given with `run --under`; empty on bare kernels.
    pub under: String,
}

impl Host {
    pub fn detect() -> Host {
        let uts = nix::sys::utsname::uname().ok();
        let field = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
            uts.as_ref()
                .map(|u| f(u).to_string_lossy().into_owned())
                .unwrap_or_else(|| "unknown".into())
        };
        Host {
            os: Os::current(),
            os_name: field(|u| u.sysname()),
            release: field(|u| u.release()),
            arch: std::env::consts::ARCH.to_string(),
            page_size: page_size(),
            uid: nix::unistd::getuid().as_raw(),
            euid: nix::unistd::geteuid().as_raw(),
            capabilities: capabilities(),
            tunables: tunables(),
            top: user_top(page_size() as u64),
            under: String::new(),
        }
    }

    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    /// `linux-6.18.0-arch` style directory name for reports.
    pub fn report_dir_name(&self) -> String {
        let os = self
            .os
            .map(|o| o.key().to_string())
            .unwrap_or_else(|| self.os_name.to_lowercase());
        format!("{os}-{}-{}", self.release, self.arch)
    }
}

/// The page size from the running system (never a constant: 4 KiB and 16 KiB kernels exist).
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 { v as usize } else { 1 << 12 }
}

/// End of the user address space: the first address no user mapping may reach.
///
/// Measured where possible: the smallest power-of-two candidate (minus one page on x86_64,
/// whose TASK_SIZE_MAX keeps the last page below 2^47 unmappable) such that a hinted
/// one-page mapping lands exactly one page below it and not at it. A hint never replaces
/// anything, so this is safe in a running harness, and it also holds under emulators whose
/// stacks sit far below their top. Otherwise, Linux: the stack's end rounded up to a power
/// of two; FreeBSD: VM_MAXUSER_ADDRESS, 2^47 on amd64 and 2^48 on arm64.
fn user_top(page: u64) -> u64 {
    if let Some(top) = probe_top(page) {
        return top;
    }
    #[cfg(target_os = "linux")]
    if let Some(end) = linux_stack_end() {
        let top = end.next_power_of_two();
        return if cfg!(target_arch = "x86_64") {
            top - page
        } else {
            top
        };
    }
    match std::env::consts::ARCH {
        "x86_64" => 1 << 47,
        "aarch64" => 1 << 48,
        // Sv39, the smallest riscv64 paging mode: user addresses are the lower 2^38 bytes.
        "riscv64" => 1 << 38,
        _ => 1 << 31,
    }
}

fn probe_top(page: u64) -> Option<u64> {
    let below = if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        page
    } else {
        0
    };
    [38u32, 39, 42, 47, 48, 52, 56, 57]
        .into_iter()
        .map(|bits| (1u64 << bits) - below)
        // A hint just past a window may be refused only because the kernel keeps a default
        // window below its real limit (arm64 and x86_64 with 52/57-bit addresses honour
        // hints strictly above the window): the next page must be refused too.
        .find(|&top| {
            placed_at(top - page, page) && !placed_at(top, page) && !placed_at(top + page, page)
        })
}

/// Whether a PROT_NONE page hinted at `addr` lands exactly there (it is unmapped again).
fn placed_at(addr: u64, page: u64) -> bool {
    // SAFETY: a hint without MAP_FIXED never replaces a mapping; we unmap only what we got.
    unsafe {
        let p = libc::mmap(
            addr as *mut libc::c_void,
            page as usize,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANON,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return false;
        }
        libc::munmap(p, page as usize);
        p as u64 == addr
    }
}

#[cfg(target_os = "linux")]
fn linux_stack_end() -> Option<u64> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("[stack]"))?;
    let range = line.split_whitespace().next()?;
    let (_, end) = range.split_once('-')?;
    u64::from_str_radix(end, 16).ok()
}

#[cfg(target_os = "linux")]
fn capabilities() -> Vec<String> {
    const WATCHED: [(&str, u32); 5] = [
        ("CAP_IPC_LOCK", 14),
        ("CAP_SYS_RAWIO", 17),
        ("CAP_SYS_RESOURCE", 24),
        ("CAP_SETUID", 7),
        ("CAP_SYS_ADMIN", 21),
    ];
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok());
    match eff {
        Some(eff) => WATCHED
            .iter()
            .map(|(n, bit)| format!("{n}={}", if eff >> bit & 1 == 1 { "yes" } else { "no" }))
            .collect(),
        None => vec!["unknown (no /proc/self/status)".into()],
    }
}

#[cfg(not(target_os = "linux"))]
fn capabilities() -> Vec<String> {
    Vec::new()
}

#[cfg(target_os = "linux")]
fn tunables() -> Vec<String> {
    [
        "vm/mmap_min_addr",
        "vm/max_map_count",
        "vm/overcommit_memory",
    ]
    .iter()
    .map(|t| {
        let v = std::fs::read_to_string(format!("/proc/sys/{t}"))
            .unwrap_or_else(|_| "unreadable".into());
        format!("{}={}", t.replace('/', "."), v.trim())
    })
    .collect()
}

#[cfg(not(target_os = "linux"))]
fn tunables() -> Vec<String> {
    Vec::new()
}
