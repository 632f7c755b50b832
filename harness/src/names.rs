//! C names a case file may use (flags, prot bits, advice, errno, signals, si_codes, rlimits)
//! and which OS has each one.
//!
//! Every name is known on every build, so a case file is validated the same way everywhere;
//! only the numeric values come from the running OS's `libc`. A name this OS lacks makes a
//! case not applicable here; a name no OS has is a load error.

use std::fmt;

/// The operating systems the suite knows expectations for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Freebsd,
}

impl Os {
    pub const ALL: [Os; 2] = [Os::Linux, Os::Freebsd];

    /// The OS this binary was built for, if the suite supports it.
    pub fn current() -> Option<Os> {
        if cfg!(target_os = "linux") {
            Some(Os::Linux)
        } else if cfg!(target_os = "freebsd") {
            Some(Os::Freebsd)
        } else {
            None
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Freebsd => "freebsd",
        }
    }

    pub fn from_key(s: &str) -> Option<Os> {
        Os::ALL.into_iter().find(|o| o.key() == s)
    }
}

impl fmt::Display for Os {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One family of names, e.g. the `MAP_*` flags.
pub struct Table {
    pub what: &'static str,
    pub common: &'static [&'static str],
    pub linux: &'static [&'static str],
    pub freebsd: &'static [&'static str],
    /// Name and value of every name of this family on the running OS.
    pub values: &'static [(&'static str, i64)],
    /// Names only some architectures have, with the value on this one, if it has it.
    pub arch: &'static [(&'static str, Option<i64>)],
}

/// Why a name could not be resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum NameError {
    /// No supported OS has it: the case file is wrong.
    Unknown { what: &'static str, valid: String },
    /// Another OS has it; this one does not.
    Absent { os_with_it: &'static str },
}

impl Table {
    fn oses(&self, name: &str) -> Vec<Os> {
        if self.arch.iter().any(|(n, _)| *n == name) {
            return Os::ALL.to_vec();
        }
        let mut v = Vec::new();
        if self.common.contains(&name) || self.linux.contains(&name) {
            v.push(Os::Linux);
        }
        if self.common.contains(&name) || self.freebsd.contains(&name) {
            v.push(Os::Freebsd);
        }
        v
    }

    /// Checks that some OS has `name` (load time).
    pub fn check(&self, name: &str) -> Result<(), NameError> {
        if self.oses(name).is_empty() {
            let mut all: Vec<&str> = self
                .common
                .iter()
                .chain(self.linux)
                .chain(self.freebsd)
                .copied()
                .collect();
            all.sort_unstable();
            all.dedup();
            return Err(NameError::Unknown {
                what: self.what,
                valid: all.join(", "),
            });
        }
        Ok(())
    }

    /// The value of `name` on the running OS (plan time).
    pub fn value(&self, name: &str) -> Result<i64, NameError> {
        self.check(name)?;
        if let Some((_, here)) = self.arch.iter().find(|(n, _)| *n == name) {
            return here.ok_or(NameError::Absent {
                os_with_it: "another architecture",
            });
        }
        match self.values.iter().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(*v),
            None => Err(NameError::Absent {
                os_with_it: if self.linux.contains(&name) {
                    "linux"
                } else {
                    "freebsd"
                },
            }),
        }
    }

    /// The name of `value` on the running OS, for reports (first match wins).
    pub fn name_of(&self, value: i64) -> Option<&'static str> {
        self.values
            .iter()
            .find(|(_, v)| *v == value)
            .map(|(n, _)| *n)
    }
}

/// Builds a [`Table`]: names for every OS, values from the running OS's `libc` only.
macro_rules! table {
    ($vis:vis $id:ident, $what:literal,
     common: [$($c:ident),* $(,)?],
     linux: [$($l:ident),* $(,)?],
     freebsd: [$($f:ident),* $(,)?]
     $(, arch: $arch:expr)?
     $(, linux_literal: [$(($ln:ident, $lv:expr)),* $(,)?])? $(,)?) => {
        $vis static $id: Table = Table {
            arch: { #[allow(unused_mut, unused_assignments)] let mut a: &[(&str, Option<i64>)] = &[]; $(a = $arch;)? a },
            what: $what,
            common: &[$(stringify!($c)),*],
            linux: &[$(stringify!($l),)* $($(stringify!($ln),)*)?],
            freebsd: &[$(stringify!($f)),*],
            values: {
                #[cfg(target_os = "linux")]
                const V: &[(&str, i64)] = &[
                    $((stringify!($c), libc::$c as i64),)*
                    $((stringify!($l), libc::$l as i64),)*
                    $($((stringify!($ln), $lv as i64),)*)?
                ];
                #[cfg(target_os = "freebsd")]
                const V: &[(&str, i64)] = &[
                    $((stringify!($c), libc::$c as i64),)*
                    $((stringify!($f), libc::$f as i64),)*
                ];
                #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
                const V: &[(&str, i64)] = &[];
                V
            },
        };
    };
}

table!(pub PROT, "prot bit",
    common: [PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC],
    linux: [PROT_GROWSDOWN, PROT_GROWSUP],
    freebsd: [],
);

table!(pub MAP, "mmap flag",
    // MAP_FILE: both define it as 0 (Linux <asm-generic/mman-common.h>, FreeBSD
    // <sys/mman.h> "map from file (default)").
    common: [MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANON, MAP_ANONYMOUS, MAP_STACK, MAP_FILE],
    linux: [MAP_SHARED_VALIDATE, MAP_DROPPABLE, MAP_FIXED_NOREPLACE, MAP_DENYWRITE,
            MAP_EXECUTABLE, MAP_GROWSDOWN, MAP_HUGETLB, MAP_HUGE_2MB, MAP_HUGE_1GB,
            MAP_LOCKED, MAP_NONBLOCK, MAP_NORESERVE, MAP_POPULATE, MAP_SYNC],
    freebsd: [MAP_EXCL, MAP_GUARD, MAP_NOCORE, MAP_NOSYNC, MAP_PREFAULT_READ,
              MAP_ALIGNED_SUPER, MAP_HASSEMAPHORE],
    arch: &[("MAP_32BIT", MAP_32BIT_HERE)],
);

/// MAP_32BIT: Linux has it on x86_64 only; FreeBSD on its 64-bit platforms.
#[cfg(any(
    all(target_os = "linux", target_arch = "x86_64"),
    all(target_os = "freebsd", target_pointer_width = "64")
))]
const MAP_32BIT_HERE: Option<i64> = Some(libc::MAP_32BIT as i64);
#[cfg(not(any(
    all(target_os = "linux", target_arch = "x86_64"),
    all(target_os = "freebsd", target_pointer_width = "64")
)))]
const MAP_32BIT_HERE: Option<i64> = None;

table!(pub MS, "msync flag",
    common: [MS_ASYNC, MS_SYNC, MS_INVALIDATE],
    linux: [],
    freebsd: [],
);

table!(pub MADV, "madvise advice",
    common: [MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED,
             MADV_FREE],
    linux: [MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_MERGEABLE, MADV_UNMERGEABLE,
            MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK,
            MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ,
            MADV_POPULATE_WRITE, MADV_HWPOISON],
    freebsd: [MADV_NOSYNC, MADV_AUTOSYNC, MADV_NOCORE, MADV_CORE, MADV_PROTECT],
    // Linux 6.13 (include/uapi/asm-generic/mman-common.h); the libc crate lacks them.
    linux_literal: [(MADV_GUARD_INSTALL, 102), (MADV_GUARD_REMOVE, 103)],
);

table!(pub MREMAP, "mremap flag",
    common: [],
    linux: [MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP],
    freebsd: [],
);

table!(pub INHERIT, "minherit value",
    common: [],
    linux: [],
    freebsd: [INHERIT_SHARE, INHERIT_COPY, INHERIT_NONE, INHERIT_ZERO],
);

table!(pub OPEN, "open flag",
    common: [O_RDONLY, O_WRONLY, O_RDWR, O_APPEND, O_PATH],
    linux: [],
    freebsd: [],
);

table!(pub SHM_OFLAG, "shm_open flag",
    common: [O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC],
    linux: [],
    freebsd: [],
);

table!(pub SEAL, "file seal",
    common: [F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE],
    linux: [F_SEAL_FUTURE_WRITE],
    freebsd: [],
);

table!(pub RLIMIT, "rlimit",
    common: [RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK, RLIMIT_NOFILE],
    linux: [],
    freebsd: [],
);

table!(pub MCL, "mlockall flag",
    common: [MCL_CURRENT, MCL_FUTURE],
    linux: [MCL_ONFAULT],
    freebsd: [],
);

table!(pub MLOCK, "mlock2 flag",
    common: [],
    linux: [MLOCK_ONFAULT],
    freebsd: [],
);

// mseal(2) defines no flag yet (mm/mseal.c: flags must be 0); raw bits test that.
table!(pub MSEAL, "mseal flag",
    common: [],
    linux: [],
    freebsd: [],
);

table!(pub MDWE, "PR_SET_MDWE flag",
    common: [],
    linux: [PR_MDWE_REFUSE_EXEC_GAIN, PR_MDWE_NO_INHERIT],
    freebsd: [],
);

table!(pub MFD, "memfd_create flag",
    common: [MFD_CLOEXEC, MFD_ALLOW_SEALING],
    linux: [MFD_NOEXEC_SEAL, MFD_EXEC],
    freebsd: [],
);

table!(pub ERRNO, "errno",
    common: [EACCES, EAGAIN, EBADF, EBUSY, EEXIST, EFAULT, EINVAL, EIO, EMFILE, ENFILE, ENODEV,
             ENOMEM, EOPNOTSUPP, ENOTSUP, EOVERFLOW, EPERM, ETXTBSY, ENXIO, EINTR, ENOENT,
             ENOSYS, EWOULDBLOCK, EDESTADDRREQ, EDQUOT, EFBIG, EISDIR, ENOSPC, EPIPE, ESPIPE, ESRCH,
             ENAMETOOLONG],
    linux: [EHWPOISON],
    freebsd: [ENOTCAPABLE],
);

table!(pub SIGNAL, "signal",
    common: [SIGSEGV, SIGBUS, SIGKILL, SIGABRT, SIGILL, SIGFPE, SIGTRAP, SIGSYS],
    linux: [],
    freebsd: [],
);

/// si_code names of the fault signals. Not in `libc` for Linux, so the table is written
/// out; the values agree on both OSes (Linux include/uapi/asm-generic/siginfo.h, FreeBSD
/// sys/sys/signal.h).
pub static SI_CODE: [(&str, i32, i32); 5] = [
    // (name, signal, value)
    ("SEGV_MAPERR", libc::SIGSEGV, 1),
    ("SEGV_ACCERR", libc::SIGSEGV, 2),
    ("BUS_ADRALN", libc::SIGBUS, 1),
    ("BUS_ADRERR", libc::SIGBUS, 2),
    ("BUS_OBJERR", libc::SIGBUS, 3),
];

pub fn si_code_value(signal: i32, name: &str) -> Option<i32> {
    SI_CODE
        .iter()
        .find(|(n, s, _)| *n == name && *s == signal)
        .map(|(_, _, v)| *v)
}

pub fn si_code_name(signal: i32, value: i32) -> Option<&'static str> {
    SI_CODE
        .iter()
        .find(|(_, s, v)| *s == signal && *v == value)
        .map(|(n, _, _)| *n)
}

/// The errno name of `value` on this OS (`EOPNOTSUPP` and `ENOTSUP` share a value on Linux;
/// the name listed first wins: EOPNOTSUPP, as the Linux page writes it).
/// Errnos outside the case files' table (ENOSPC, EROFS, ...) are named from the OS's full
/// list, so the harness never prints a bare number for one it knows.
pub fn errno_name(value: i32) -> String {
    if let Some(n) = ERRNO.name_of(value as i64) {
        return n.to_string();
    }
    match nix::errno::Errno::from_raw(value) {
        nix::errno::Errno::UnknownErrno => format!("errno {value}"),
        e => format!("{e:?}"),
    }
}

/// An I/O error as the harness prints it: the errno's name, then the OS's words for it
/// (`ENOSPC (No space left on device)`); an error without an errno as it is.
pub fn os_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(v) => format!(
            "{} ({})",
            errno_name(v),
            nix::errno::Errno::from_raw(v).desc()
        ),
        // Wrapped errors (tempfile's "... at path P") keep their words, errno named.
        None => name_errnos(&e.to_string()),
    }
}

/// Rewrites every `Description (os error N)` that std's io::Error prints inside `text`
/// as `ENAME (Description)`.
pub fn name_errnos(text: &str) -> String {
    let mut out = text.to_string();
    let mut from = 0;
    while let Some(at) = out[from..].find("(os error ").map(|i| i + from) {
        let digits: String = out[at + 10..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let Ok(v) = digits.parse::<i32>() else {
            from = at + 10;
            continue;
        };
        let plain = std::io::Error::from_raw_os_error(v).to_string();
        let named = format!(
            "{} ({})",
            errno_name(v),
            nix::errno::Errno::from_raw(v).desc()
        );
        match out[..at + 11 + digits.len()].rfind(&plain) {
            Some(start) => {
                out.replace_range(start..start + plain.len(), &named);
                from = start + named.len();
            }
            None => from = at + 10,
        }
    }
    out
}

pub fn signal_name(value: i32) -> String {
    SIGNAL
        .name_of(value as i64)
        .map(str::to_string)
        .unwrap_or_else(|| format!("signal {value}"))
}

/// A set of flag names joined by `|`, with `MAP_ALIGNED(n)` as a parameterised name.
#[derive(Debug, Clone, PartialEq)]
pub struct NameSet(pub Vec<String>);

impl NameSet {
    /// Parses `"A|B|C"` or `"0"`, checking every name against `table` (load time).
    pub fn parse(text: &str, table: &Table) -> Result<NameSet, String> {
        let text = text.trim();
        if text == "0" {
            return Ok(NameSet(Vec::new()));
        }
        let mut names = Vec::new();
        for part in split_outside_parentheses(text) {
            if part.is_empty() {
                return Err(format!("empty {} name in `{text}`", table.what));
            }
            if raw_bits(part).is_some() {
                names.push(part.to_string());
                continue;
            }
            if let Some(arg) = parameter_of(part, "MAP_ALIGNED") {
                if std::ptr::eq(table, &MAP) && arg.parse::<u8>().is_ok() {
                    names.push(part.to_string());
                    continue;
                }
                return Err(format!(
                    "`{part}`: MAP_ALIGNED takes a number from 0 to 255"
                ));
            }
            if let Some(arg) = parameter_of(part, "PROT_MAX") {
                if std::ptr::eq(table, &PROT) && NameSet::parse(arg, &PROT).is_ok() {
                    names.push(part.to_string());
                    continue;
                }
                return Err(format!("`{part}`: PROT_MAX takes PROT_* names joined by |"));
            }
            if let Err(e) = table.check(part) {
                return Err(match e {
                    NameError::Unknown { what, valid } => {
                        let extra = if std::ptr::eq(table, &MAP) {
                            ", MAP_ALIGNED(n)"
                        } else {
                            ""
                        };
                        format!(
                            "unknown {what} `{part}`; valid names: {valid}{extra}, a raw bit pattern (0x...), or 0"
                        )
                    }
                    NameError::Absent { .. } => unreachable!("check() only reports Unknown"),
                });
            }
            names.push(part.to_string());
        }
        Ok(NameSet(names))
    }

    /// ORs the values on the running OS. `Err` names the first name this OS lacks.
    pub fn resolve(&self, table: &Table) -> Result<i64, String> {
        let mut v = 0i64;
        for name in &self.0 {
            if let Some(arg) = parameter_of(name, "PROT_MAX") {
                let inner = NameSet::parse(arg, &PROT)?.resolve(&PROT)?;
                v |= prot_max(inner)?;
                continue;
            }
            v |= match (raw_bits(name), parameter_of(name, "MAP_ALIGNED")) {
                (Some(bits), _) => bits,
                (None, Some(arg)) => map_aligned(arg.parse().unwrap_or(0))?,
                (None, None) => table.value(name).map_err(|e| match e {
                    NameError::Absent { os_with_it } => {
                        format!("{name} does not exist on this OS (it is {os_with_it}'s)")
                    }
                    NameError::Unknown { .. } => format!("{name} is unknown"),
                })?,
            };
        }
        Ok(v)
    }

    pub fn text(&self) -> String {
        if self.0.is_empty() {
            "0".into()
        } else {
            self.0.join("|")
        }
    }
}

/// A raw bit pattern (`0x80000000`, `256`): for cases about bits no name defines.
fn raw_bits(part: &str) -> Option<i64> {
    let v = match part.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok()?,
        None if part.starts_with(|c: char| c.is_ascii_digit()) => part.parse::<u32>().ok()?,
        None => return None,
    };
    Some(v as i32 as i64)
}

/// `A|B(C|D)|E` as `A`, `B(C|D)`, `E`: a macro's argument may join names itself.
fn split_outside_parentheses(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '|' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts
}

/// FreeBSD's PROT_MAX(prot): the most protection the mapping may ever get, in the bits
/// above the PROT_* ones (sys/sys/mman.h `_PROT_ALL << 16`).
#[cfg(target_os = "freebsd")]
fn prot_max(inner: i64) -> Result<i64, String> {
    // SAFETY: a pure bit operation; libc marks its macro functions unsafe.
    Ok(unsafe { libc::PROT_MAX(inner as libc::c_int) } as i64)
}

#[cfg(not(target_os = "freebsd"))]
fn prot_max(_inner: i64) -> Result<i64, String> {
    Err("PROT_MAX(prot) does not exist on this OS (it is freebsd's)".into())
}

fn parameter_of<'a>(name: &'a str, func: &str) -> Option<&'a str> {
    name.strip_prefix(func)?
        .strip_prefix('(')?
        .strip_suffix(')')
        .map(str::trim)
}

#[cfg(target_os = "freebsd")]
fn map_aligned(n: u8) -> Result<i64, String> {
    Ok(libc::MAP_ALIGNED(n as libc::c_int) as i64)
}

#[cfg(not(target_os = "freebsd"))]
fn map_aligned(_n: u8) -> Result<i64, String> {
    Err("MAP_ALIGNED(n) does not exist on this OS (it is freebsd's)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prot_max_takes_prot_names_and_exists_on_freebsd_only() {
        let set = NameSet::parse("PROT_READ|PROT_MAX(PROT_READ|PROT_WRITE)", &PROT).unwrap();
        assert_eq!(set.0, ["PROT_READ", "PROT_MAX(PROT_READ|PROT_WRITE)"]);
        for bad in ["PROT_MAX(MAP_SHARED)", "PROT_MAX()", "PROT_MAX(PROT_READ|)"] {
            let e = NameSet::parse(bad, &PROT).unwrap_err();
            assert!(e.contains("PROT_MAX takes PROT_* names"), "{bad}: {e}");
        }
        assert!(NameSet::parse("MAP_SHARED|PROT_MAX(PROT_READ)", &MAP).is_err());
        let v = set.resolve(&PROT);
        if cfg!(target_os = "freebsd") {
            // sys/sys/mman.h: PROT_MAX(prot) is prot << 16.
            assert_eq!(v, Ok(0x1 | (0x3 << 16)));
        } else {
            assert_eq!(
                v.unwrap_err(),
                "PROT_MAX(prot) does not exist on this OS (it is freebsd's)"
            );
        }
    }

    #[test]
    fn errnos_outside_the_case_table_are_named_too() {
        assert_eq!(errno_name(libc::ENOSPC), "ENOSPC");
        assert_eq!(errno_name(libc::EROFS), "EROFS");
        let e = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(os_error(&e), "ENOSPC (No space left on device)");
        assert!(!os_error(&e).contains("28"));
    }

    #[test]
    fn errnos_inside_a_wrapped_message_are_named() {
        let e = std::io::Error::from_raw_os_error(libc::EROFS);
        let text = format!("cannot run `man -w 2 mmap` ({e}): install it");
        assert_eq!(
            name_errnos(&text),
            "cannot run `man -w 2 mmap` (EROFS (Read-only file system)): install it"
        );
        let wrapped = std::io::Error::other(format!("{e} at path \"/x\""));
        assert_eq!(
            os_error(&wrapped),
            "EROFS (Read-only file system) at path \"/x\""
        );
    }
    use rstest::rstest;

    #[test]
    fn a_name_no_os_has_is_rejected_with_the_valid_names() {
        let err = NameSet::parse("MAP_SHARED|MAP_PRIVTE", &MAP).unwrap_err();
        assert!(err.contains("unknown mmap flag `MAP_PRIVTE`"), "{err}");
        assert!(err.contains("MAP_PRIVATE"), "{err}");
        assert!(err.contains("MAP_ALIGNED(n)"), "{err}");
    }

    #[rstest]
    #[case("MAP_EXCL")]
    #[case("MAP_GUARD")]
    #[case("MAP_ALIGNED(21)")]
    #[case("MAP_FIXED_NOREPLACE")]
    fn names_of_either_os_load_everywhere(#[case] name: &str) {
        assert!(NameSet::parse(name, &MAP).is_ok());
    }

    #[test]
    fn map_file_is_a_name_of_both_oses_and_resolves_here() {
        // FreeBSD's <sys/mman.h> defines MAP_FILE (0) as Linux's does.
        assert_eq!(MAP.oses("MAP_FILE"), vec![Os::Linux, Os::Freebsd]);
        let set = NameSet::parse("MAP_SHARED|MAP_FILE", &MAP).unwrap();
        assert_eq!(set.resolve(&MAP), Ok(libc::MAP_SHARED as i64));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_freebsd_only_flag_does_not_resolve_on_linux() {
        let set = NameSet::parse("MAP_PRIVATE|MAP_EXCL", &MAP).unwrap();
        let err = set.resolve(&MAP).unwrap_err();
        assert!(err.contains("MAP_EXCL does not exist on this OS"), "{err}");
    }

    #[test]
    fn flags_or_together() {
        let set = NameSet::parse("PROT_READ | PROT_WRITE", &PROT).unwrap();
        let want = (libc::PROT_READ | libc::PROT_WRITE) as i64;
        assert_eq!(set.resolve(&PROT).unwrap(), want);
        assert_eq!(
            NameSet::parse("0", &PROT).unwrap().resolve(&PROT).unwrap(),
            0
        );
    }

    #[rstest]
    #[case("")]
    #[case("PROT_READ|")]
    #[case("MAP_ALIGNED(x)")]
    fn malformed_sets_are_rejected(#[case] text: &str) {
        assert!(NameSet::parse(text, &MAP).is_err() || NameSet::parse(text, &PROT).is_err());
    }

    #[test]
    fn raw_bit_patterns_pass_through_for_undefined_flag_cases() {
        let set = NameSet::parse("MAP_PRIVATE|0x40000000", &MAP).unwrap();
        assert_eq!(
            set.resolve(&MAP).unwrap(),
            (libc::MAP_PRIVATE | 0x4000_0000) as i64
        );
        assert!(
            NameSet::parse("0x1ffffffff", &MAP).is_err(),
            "wider than int"
        );
    }

    #[test]
    fn si_codes_round_trip() {
        let v = si_code_value(libc::SIGBUS, "BUS_ADRERR").unwrap();
        assert_eq!(si_code_name(libc::SIGBUS, v), Some("BUS_ADRERR"));
        assert_eq!(si_code_value(libc::SIGSEGV, "BUS_ADRERR"), None);
    }
}
