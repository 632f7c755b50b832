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
    /// `little` or `big`: the byte order of this build (and so of the kernel's ABI).
    pub endian: String,
    /// Bits of a word (size_t, pointers) in this build's ABI: 64, or 32 (also on a 64-bit
    /// kernel's compat ABI).
    pub word_bits: u32,
    /// The user address space measured (`top`) and, where the arch and page size make it
    /// unambiguous, the page-table levels it implies ("4-level paging, 47-bit user space").
    pub paging: String,
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
            endian: if cfg!(target_endian = "big") {
                "big"
            } else {
                "little"
            }
            .into(),
            word_bits: usize::BITS,
            paging: String::new(),
        }
        .with_paging()
    }

    /// Fills `paging` from `top`, the arch and the page size.
    fn with_paging(mut self) -> Host {
        self.paging = paging_text(&self.arch, self.page_size as u64, self.top);
        self
    }

    /// Native or compat: a 32-bit build on a 64-bit kernel is compat. The kernel's machine
    /// is not a host fact of the schema: it is read once per process, when first asked.
    pub fn abi(&self) -> crate::model::Abi {
        static MACHINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let machine = MACHINE.get_or_init(|| {
            nix::sys::utsname::uname()
                .map(|u| u.machine().to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        crate::model::Abi::of(self.word_bits, machine)
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

/// "N-level paging, B-bit user space" where the levels follow from arch, page size and the
/// top's bits (x86_64: 47 and 56 bits are 4 and 5 levels; riscv64 sv39/48/57; arm64 by
/// granule); otherwise only the bits. Empty when the top could not be read.
fn paging_text(arch: &str, page: u64, top: u64) -> String {
    if top == 0 {
        return String::new();
    }
    // Bits of the space: the top rounded up to a power of two (x86_64 keeps its last page
    // unmappable, ia32 its last two).
    let bits = 64 - (top - 1).leading_zeros();
    let levels = match (arch, page >> 10, bits) {
        ("x86_64", _, 47) | ("riscv64", _, 47) => Some(4),
        ("x86_64", _, 56) | ("riscv64", _, 56) => Some(5),
        ("riscv64", _, 38) => Some(3),
        ("aarch64", 4, 39) | ("aarch64", 16, 47) | ("aarch64", 64, 48) => Some(3),
        ("aarch64", 4, 48) | ("aarch64", 16, 48) => Some(4),
        ("aarch64", 64, 42) => Some(2),
        _ => None,
    };
    match levels {
        Some(n) => format!("{n}-level paging, {bits}-bit user space"),
        None => format!("{bits}-bit user space"),
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
/// Read from the system, never assumed:
/// - FreeBSD: the kernel's own limit for this process (vm_map_max): on amd64 from
///   procctl(PROC_LA_STATUS), LA48 or LA57 paging, whose limits are VM_MAXUSER_ADDRESS_LA48
///   (2^47) and _LA57 (2^56) in sys/amd64/include/vmparam.h; elsewhere, and if that
///   procctl is refused, from kern.proc.vmmap: the highest mapped end (the shared page or
///   the stack) rounded up to the next page-table window.
/// - Linux, and FreeBSD when neither answers: measured, the smallest power-of-two
///   candidate (minus one page on x86_64 Linux, whose TASK_SIZE_MAX keeps the last page
///   below 2^47 unmappable) such that a hinted one-page mapping lands exactly one page below
///   it and not at it. A hint never replaces anything, so this is safe in a running harness,
///   and it also holds under emulators whose stacks sit far below their top.
/// - s390x Linux first tries one page below 2^64: its TASK_SIZE.
/// - Then Linux: x86_64 with the `la57` CPU flag (the kernel clears it when it does not
///   run 5-level page tables) has TASK_SIZE 2^56 - 1p; otherwise the stack's end
///   (/proc/self/maps) rounded up to a power of two, minus one page on x86_64.
///
/// 0 when nothing could be read: cases that name `top` are then not applicable.
fn user_top(page: u64) -> u64 {
    #[cfg(target_os = "freebsd")]
    if let Some(top) = freebsd_top() {
        return top;
    }
    if let Some(top) = probe_top(page) {
        return top;
    }
    #[cfg(target_os = "linux")]
    if let Some(top) = linux_top(page) {
        return top;
    }
    0
}

/// The page-table windows a user address space can end at: 38 (riscv sv39, whose user half
/// is 2^38), 39 (3-level arm64), 42 (arm64 with 64 KiB pages), 47 (x86_64 4-level), 48 (arm64, riscv sv48), 52
/// (arm64 LVA), 56 (x86_64 LA57 user half), 57 (riscv sv57).
const WINDOWS: [u32; 8] = [38, 39, 42, 47, 48, 52, 56, 57];

/// The smallest window at or above `end`.
fn window_above(end: u64) -> Option<u64> {
    WINDOWS
        .into_iter()
        .map(|bits| 1u64 << bits)
        .find(|&w| w >= end)
}

#[cfg(target_os = "freebsd")]
fn freebsd_top() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        // sys/amd64/include/procctl.h; libc exports these only for its FreeBSD 14+ ABIs.
        const PROC_LA_STATUS: libc::c_int = libc::PROC_PROCCTL_MD_MIN + 3;
        const PROC_LA_STATUS_LA48: libc::c_int = 0x0100_0000;
        const PROC_LA_STATUS_LA57: libc::c_int = 0x0200_0000;
        let mut status: libc::c_int = 0;
        // SAFETY: PROC_LA_STATUS writes one int to `status`.
        let rc = unsafe {
            libc::procctl(
                libc::P_PID,
                libc::getpid() as libc::id_t,
                PROC_LA_STATUS,
                (&raw mut status).cast(),
            )
        };
        if rc == 0 && status & PROC_LA_STATUS_LA57 != 0 {
            return Some(1 << 56);
        }
        if rc == 0 && status & PROC_LA_STATUS_LA48 != 0 {
            return Some(1 << 47);
        }
    }
    vmmap_ends()
        .and_then(|ends| ends.into_iter().max())
        .and_then(window_above)
}

/// The end of every entry of this process's map, from sysctl kern.proc.vmmap.<pid>.
#[cfg(target_os = "freebsd")]
fn vmmap_ends() -> Option<Vec<u64>> {
    let mib = [
        libc::CTL_KERN,
        libc::KERN_PROC,
        libc::KERN_PROC_VMMAP,
        // SAFETY: getpid has no preconditions.
        unsafe { libc::getpid() },
    ];
    let mut len: libc::size_t = 0;
    // SAFETY: a size query (NULL buffer) writes only `len`.
    if unsafe {
        libc::sysctl(
            mib.as_ptr(),
            4,
            std::ptr::null_mut(),
            &mut len,
            std::ptr::null(),
            0,
        )
    } != 0
    {
        return None;
    }
    // Room for entries added between the two calls.
    len += len / 4;
    let mut buf = vec![0u8; len];
    // SAFETY: the kernel writes at most `len` bytes into `buf`.
    if unsafe {
        libc::sysctl(
            mib.as_ptr(),
            4,
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null(),
            0,
        )
    } != 0
    {
        return None;
    }
    buf.truncate(len);
    let mut ends = Vec::new();
    crate::exec::maps::kve_walk(&buf, |_, end, _, _| {
        ends.push(end);
        false
    })
    .ok()?;
    Some(ends)
}

#[cfg(target_os = "linux")]
fn linux_top(page: u64) -> Option<u64> {
    // The 32-bit ends (WINDOWS_32) lie too close together for a stack's end to tell them
    // apart: only the probe decides there.
    if usize::BITS == 32 {
        return None;
    }
    if cfg!(target_arch = "x86_64") {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
        let flags = cpuinfo.lines().find(|l| l.starts_with("flags"))?;
        if flags.split_whitespace().any(|f| f == "la57") {
            return Some((1 << 56) - page);
        }
    }
    let top = window_above(linux_stack_end()?)?;
    Some(if cfg!(target_arch = "x86_64") {
        top - page
    } else {
        top
    })
}

/// The ends a 32-bit user address space has: 3 GiB less 16 MiB (arm with the 3G/1G split:
/// TASK_SIZE is PAGE_OFFSET - SZ_16M), 3 GiB (i386), 4 GiB less 8 KiB (ia32 on x86_64:
/// IA32_PAGE_OFFSET), 4 GiB less one page, and 4 GiB.
const WINDOWS_32: [u64; 5] = [0xbf00_0000, 0xc000_0000, 0xffff_e000, 0xffff_f000, 1 << 32];

fn probe_top(page: u64) -> Option<u64> {
    if usize::BITS == 32 {
        return WINDOWS_32.into_iter().find(|&top| {
            user_page_at(top - page, page)
                && !user_page_at(top, page)
                && !placed_at(top + page, page)
        });
    }
    // s390x: TASK_SIZE is -PAGE_SIZE (arch/s390/include/asm/processor.h TASK_SIZE_MAX)
    // and the page tables grow on demand (crst_table_upgrade()), so no window in between
    // refuses a hint: the top is one page below 2^64.
    if cfg!(target_arch = "s390x") {
        let top = page.wrapping_neg();
        if user_page_at(top - page, page) && !user_page_at(top, page) {
            return Some(top);
        }
    }
    let below = if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        page
    } else {
        0
    };
    WINDOWS
        .into_iter()
        .map(|bits| (1u64 << bits) - below)
        // A hint just past a window may be refused only because the kernel keeps a default
        // window below its real limit (arm64 and x86_64 with 52/57-bit addresses honour
        // hints strictly above the window): the next page must be refused too.
        .find(|&top| {
            user_page_at(top - page, page)
                && !user_page_at(top, page)
                && !placed_at(top + page, page)
        })
}

/// Whether the page at `addr` belongs to the user address space: a hint lands there, or
/// something of this process already sits there (a hint for an occupied page lands
/// elsewhere: on 32-bit arm the stack can end exactly at TASK_SIZE, and the probe then
/// found no top at all).
fn user_page_at(addr: u64, page: u64) -> bool {
    placed_at(addr, page) || mapped_at(addr, page)
}

/// Whether `addr` lies in a mapping of this process ([`crate::exec::maps::mapped_in`]).
fn mapped_at(addr: u64, page: u64) -> bool {
    crate::exec::maps::mapped_in(addr, page as usize, page as usize)
}

/// Whether a PROT_NONE page hinted at `addr` lands exactly there (it is unmapped again);
/// never where the address does not fit a pointer (at or past 2^32 on a 32-bit ABI).
fn placed_at(addr: u64, page: u64) -> bool {
    // The range must fit a pointer and not wrap past 2^64 (s390x probes up to it).
    match addr.checked_add(page) {
        Some(end) if usize::try_from(addr).is_ok() && usize::try_from(end).is_ok() => {}
        _ => return false,
    }
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
        "vm/overcommit_ratio",
        "vm/nr_hugepages",
        "kernel/randomize_va_space",
    ]
    .iter()
    .map(|t| {
        let v = std::fs::read_to_string(format!("/proc/sys/{t}"))
            .unwrap_or_else(|_| "unreadable".into());
        format!("{}={}", t.replace('/', "."), v.trim())
    })
    .collect()
}

/// The sysctls that change mmap-family answers on FreeBSD: mlock as a user
/// (security.bsd.unprivileged_mlock, vm.max_user_wired, vm.old_mlock), overcommit
/// (vm.overcommit), placement (kern.elf64.aslr.*, security.bsd.map_at_zero), W^X
/// (kern.elf64.allow_wx), PROT_MAX (vm.imply_prot_max), superpages (vm.pmap.pg_ps_enabled).
#[cfg(target_os = "freebsd")]
fn tunables() -> Vec<String> {
    [
        "security.bsd.unprivileged_mlock",
        "vm.max_user_wired",
        "vm.old_mlock",
        "vm.overcommit",
        "kern.elf64.aslr.enable",
        "kern.elf64.aslr.stack",
        "security.bsd.map_at_zero",
        "kern.elf64.allow_wx",
        "vm.imply_prot_max",
        "vm.pmap.pg_ps_enabled",
    ]
    .iter()
    .map(|name| {
        format!(
            "{name}={}",
            sysctl_number(name).unwrap_or_else(|| "unreadable".into())
        )
    })
    .collect()
}

/// An integer sysctl by name, as text; these are int or u_long.
#[cfg(target_os = "freebsd")]
fn sysctl_number(name: &str) -> Option<String> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = [0u8; 8];
    let mut len: libc::size_t = buf.len();
    // SAFETY: the kernel writes at most `len` bytes into `buf`.
    let rc = unsafe {
        libc::sysctlbyname(
            cname.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null(),
            0,
        )
    };
    match (rc, len) {
        (0, 4) => Some(i32::from_ne_bytes(buf[..4].try_into().ok()?).to_string()),
        (0, 8) => Some(u64::from_ne_bytes(buf).to_string()),
        _ => None,
    }
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
fn tunables() -> Vec<String> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_rounds_up_to_the_next_page_table_window() {
        assert_eq!(window_above(1 << 47), Some(1 << 47));
        assert_eq!(window_above((1 << 47) - 3 * (16 << 10)), Some(1 << 47));
        assert_eq!(window_above((1 << 47) + 1), Some(1 << 48));
        assert_eq!(window_above((1 << 55) + 1), Some(1 << 56));
        assert_eq!(window_above(u64::MAX), None);
    }

    #[test]
    fn the_detected_top_is_read_and_a_hint_one_page_below_it_may_land_but_none_at_it() {
        let page = page_size() as u64;
        let top = user_top(page);
        assert_ne!(top, 0, "this system's top could not be read");
        assert_eq!(top % page, 0, "{top:#x}");
        // Nothing at or past the top can be mapped, hinted or not.
        assert!(!placed_at(top, page), "a page was placed at top {top:#x}");
        // SAFETY: MAP_FIXED at the top replaces nothing: the kernel refuses it.
        let p = unsafe {
            libc::mmap(
                top as *mut libc::c_void,
                page as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        assert_eq!(p, libc::MAP_FAILED, "MAP_FIXED at top {top:#x} succeeded");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_linux_reading_from_the_system_agrees_with_the_measured_top() {
        let page = page_size() as u64;
        if let Some(measured) = probe_top(page) {
            let expected = (usize::BITS == 64).then_some(measured);
            assert_eq!(linux_top(page), expected);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_page_the_process_already_maps_counts_as_user_space_although_no_hint_lands_there() {
        let page = page_size() as u64;
        // SAFETY: a fresh private page, unmapped below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANON,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        let addr = p as u64;
        assert!(!placed_at(addr, page), "a hint landed on an occupied page");
        assert!(mapped_at(addr, page) && user_page_at(addr, page));
        // SAFETY: the page mapped above.
        unsafe { libc::munmap(p, page as usize) };
        assert!(!mapped_at(addr, page), "an unmapped page counted as mapped");
    }

    #[test]
    fn the_tunables_cases_depend_on_are_recorded_by_name() {
        let names: &[&str] = if cfg!(target_os = "freebsd") {
            &[
                "security.bsd.unprivileged_mlock=",
                "vm.max_user_wired=",
                "vm.overcommit=",
                "kern.elf64.aslr.enable=",
                "vm.pmap.pg_ps_enabled=",
            ]
        } else {
            &[
                "vm.mmap_min_addr=",
                "vm.max_map_count=",
                "vm.overcommit_memory=",
            ]
        };
        let t = tunables();
        for n in names {
            assert!(t.iter().any(|t| t.starts_with(n)), "{n} missing from {t:?}");
        }
    }
}
