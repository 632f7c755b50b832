//! The case model: what a case file says, validated but not yet resolved for an OS.
//!
//! The loader builds these from TOML; the planner turns one into a concrete plan for the
//! running OS and page size. Nothing here knows numeric values of C names.

use crate::expr::{AddrExpr, Expr};
use crate::names::{NameSet, Os};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub title: String,
    pub clauses: Vec<String>,
    /// Where the case was written, for messages.
    pub file: PathBuf,
    pub line: usize,
    /// OSes the case applies to.
    pub oses: Vec<Os>,
    /// OSes whose expectations no run has confirmed yet.
    pub unverified: Vec<Os>,
    pub timeout: Duration,
    pub privilege: Privilege,
    /// Soft limits set just before the call: (RLIMIT_* name, value).
    pub limits: Vec<(String, Expr)>,
    pub hole: Expr,
    pub object: Option<Object>,
    pub mappings: Vec<Mapping>,
    pub call: Call,
    pub expect: PerOs<Outcome>,
    /// Where a successful mmap or mremap must have put its mapping.
    pub placed: Option<Placed>,
    pub steps: Vec<Step>,
    pub deviations: Vec<Deviation>,
    /// The architectures (`uname -m` spellings of Rust's `target_arch`) the case applies
    /// to; empty: all.
    pub arches: Vec<String>,
    /// The kernel releases the case needs, per OS (`">=6.10"`); elsewhere not applicable.
    pub kernel: Vec<(Os, String)>,
    /// Family calls (and `mdwe`) the child makes after the setup mappings, before the
    /// privilege drop, the limits and the call.
    pub setup: Vec<Call>,
    /// SHA-256 of the case's table in canonical form (see `load::case_hash`): the same
    /// on every machine and run, different when the case file's case changes.
    pub hash: String,
}

/// An assertion on where a call's mapping lies: the range `[result, result + len)`
/// (len: mmap's `len`, mremap's `new_len`) against one or two addresses.
#[derive(Debug, Clone)]
pub struct Placed {
    pub how: Placement,
    pub at: AddrExpr,
    /// `within`'s end (exclusive).
    pub end: Option<AddrExpr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The result is exactly `at`.
    Equals,
    /// The result is not `at`.
    NotEqual,
    /// The whole mapping lies in `[at, end)`.
    Within,
    /// The whole mapping ends at or below `at`.
    Below,
}

impl Placement {
    /// The key a case file names it by.
    pub fn key(self) -> &'static str {
        match self {
            Placement::Equals => "equals",
            Placement::NotEqual => "not",
            Placement::Within => "within",
            Placement::Below => "below",
        }
    }

    /// Whether a mapping of `len` bytes at `ret` satisfies the assertion with the
    /// resolved addresses `at` and `end` (pointer arithmetic as the kernel's: no wrap).
    pub fn holds(self, ret: u64, len: u64, at: u64, end: u64) -> bool {
        let last = ret.checked_add(len);
        match self {
            Placement::Equals => ret == at,
            Placement::NotEqual => ret != at,
            Placement::Within => ret >= at && last.is_some_and(|l| l <= end),
            Placement::Below => last.is_some_and(|l| l <= at),
        }
    }
}

impl std::fmt::Display for Placed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.how, &self.end) {
            (Placement::Equals, _) => write!(f, "at exactly {}", self.at),
            (Placement::NotEqual, _) => write!(f, "not at {}", self.at),
            (Placement::Within, Some(end)) => write!(f, "within [{}, {end})", self.at),
            (Placement::Within, None) => write!(f, "within [{}, ?)", self.at),
            (Placement::Below, _) => write!(f, "ending at or below {}", self.at),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    Any,
    Unprivileged,
    Root,
}

/// A value with optional per-OS replacements.
#[derive(Debug, Clone, PartialEq)]
pub struct PerOs<T> {
    pub default: T,
    pub linux: Option<T>,
    pub freebsd: Option<T>,
}

impl<T> PerOs<T> {
    pub fn for_os(&self, os: Os) -> &T {
        match os {
            Os::Linux => self.linux.as_ref(),
            Os::Freebsd => self.freebsd.as_ref(),
        }
        .unwrap_or(&self.default)
    }
}

/// An expected or observed outcome, as case files name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Any of these errnos (the cited clauses may allow more than one).
    Errno(Vec<String>),
    /// Signal name and, where a clause names it, si_code name.
    Fault {
        signal: String,
        code: Option<String>,
    },
    /// Only in deviations: the access worked but read these bytes instead.
    Bytes(Bytes),
    /// The cited clause leaves the result unspecified: whatever happens is recorded and
    /// compared across kernels, never passed or failed.
    Observe,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Errno(e) => f.write_str(&e.join(" or ")),
            Outcome::Fault {
                signal,
                code: Some(code),
            } => write!(f, "{signal} {code}"),
            Outcome::Fault { signal, code: None } => f.write_str(signal),
            Outcome::Bytes(b) => write!(f, "bytes {b}"),
            Outcome::Observe => f.write_str("anything (observed only)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    File,
    Dir,
    PipeRead,
    PipeWrite,
    Socket,
    /// An unconnected AF_INET stream socket: Linux maps it (TCP zero-copy receive).
    TcpSocket,
    DevZero,
    DevNull,
    /// `/dev/random`: a character device whose driver has no mmap method.
    DevRandom,
    Memfd,
    Shm,
    ClosedFd,
}

impl ObjectKind {
    pub const ALL: [(&'static str, ObjectKind); 12] = [
        ("file", ObjectKind::File),
        ("dir", ObjectKind::Dir),
        ("pipe-read", ObjectKind::PipeRead),
        ("pipe-write", ObjectKind::PipeWrite),
        ("socket", ObjectKind::Socket),
        ("tcp-socket", ObjectKind::TcpSocket),
        ("dev-zero", ObjectKind::DevZero),
        ("dev-null", ObjectKind::DevNull),
        ("dev-random", ObjectKind::DevRandom),
        ("memfd", ObjectKind::Memfd),
        ("shm", ObjectKind::Shm),
        ("closed-fd", ObjectKind::ClosedFd),
    ];

    /// Kinds with a size and content.
    pub fn has_content(self) -> bool {
        matches!(self, ObjectKind::File | ObjectKind::Memfd | ObjectKind::Shm)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Byte `i` is `seq_byte(i)`: non-zero and offset-dependent.
    Seq,
    Zeros,
    Byte(u8),
}

impl Content {
    pub fn byte_at(self, offset: u64) -> u8 {
        match self {
            Content::Seq => seq_byte(offset),
            Content::Zeros => 0,
            Content::Byte(b) => b,
        }
    }
}

/// The `seq` pattern: 1..=251, period 251 (a prime, so page-sized shifts show).
pub fn seq_byte(offset: u64) -> u8 {
    (offset % 251) as u8 + 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fs {
    /// The work directory, whatever file system holds it.
    Disk,
    /// The work directory, required to write pages back to storage (a case about
    /// writeback): not applicable where the work directory is on tmpfs.
    Storage,
    Tmpfs,
    /// A private tmpfs mounted MS_NOEXEC in the child's own mount namespace (Linux), on a
    /// directory of the work directory: gone with the child's namespace.
    Noexec,
}

/// A file attribute set on a `file` object after its content is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    /// Linux FS_APPEND_FL (chattr +a), FreeBSD UF_APPEND: writes only at the end; no
    /// unlink, so the harness clears it before removing the file.
    AppendOnly,
}

#[derive(Debug, Clone)]
pub struct Object {
    pub kind: ObjectKind,
    pub size: Expr,
    pub content: Content,
    pub open: NameSet,
    pub fs: Fs,
    /// file only: an attribute set after the content is written.
    pub attr: Option<Attr>,
    /// memfd only: seals added after the content is written.
    pub seals: NameSet,
    /// file, dev-zero, dev-null, dev-random: a second descriptor of the same file opened
    /// with these flags (`fd = "second"`).
    pub second: Option<NameSet>,
}

impl ObjectKind {
    /// Kinds the child opens by path, so `open` and a second descriptor apply.
    pub fn opened_by_path(self) -> bool {
        matches!(
            self,
            ObjectKind::File | ObjectKind::DevZero | ObjectKind::DevNull | ObjectKind::DevRandom
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fd {
    Object,
    /// The object's second descriptor (`object.second`).
    Second,
    Num(i32),
}

#[derive(Debug, Clone)]
pub struct Mapping {
    pub name: String,
    pub len: Expr,
    pub prot: NameSet,
    pub flags: NameSet,
    pub fd: Fd,
    pub offset: Expr,
    pub at: Option<AddrExpr>,
    pub fill: Option<u8>,
}

/// The call under test, arguments still symbolic.
#[derive(Debug, Clone)]
pub enum Call {
    Mmap {
        addr: AddrExpr,
        len: Expr,
        prot: NameSet,
        flags: NameSet,
        fd: Fd,
        offset: Expr,
    },
    Munmap {
        addr: AddrExpr,
        len: Expr,
    },
    Mprotect {
        addr: AddrExpr,
        len: Expr,
        prot: NameSet,
    },
    Msync {
        addr: AddrExpr,
        len: Expr,
        flags: NameSet,
    },
    Madvise {
        addr: AddrExpr,
        len: Expr,
        advice: NameSet,
    },
    /// `vec`: where the result vector goes; absent, a writable vector of the child's own.
    Mincore {
        addr: AddrExpr,
        len: Expr,
        vec: Option<AddrExpr>,
    },
    Mlock {
        addr: AddrExpr,
        len: Expr,
    },
    Munlock {
        addr: AddrExpr,
        len: Expr,
    },
    Mremap {
        addr: AddrExpr,
        len: Expr,
        new_len: Expr,
        flags: NameSet,
        new_addr: AddrExpr,
    },
    Minherit {
        addr: AddrExpr,
        len: Expr,
        inherit: NameSet,
    },
    Mlockall {
        flags: NameSet,
    },
    Munlockall,
    Mlock2 {
        addr: AddrExpr,
        len: Expr,
        flags: NameSet,
    },
    /// Linux 6.10+: seals the range against unmapping, remapping and protection changes.
    Mseal {
        addr: AddrExpr,
        len: Expr,
        flags: NameSet,
    },
    /// `prctl(PR_SET_MDWE, flags, 0, 0, 0)`; setup only (not a call of the family).
    Mdwe {
        flags: NameSet,
    },
    /// Linux 5.10+: madvise advice over a list of ranges of the process `pidfd` names
    /// (the case's call only: its pidfd is made in the child's setup).
    ProcessMadvise {
        pidfd: Pidfd,
        iov: Vec<(AddrExpr, Expr)>,
        /// vlen as passed; `None` is the number of `iov` entries.
        vlen: Option<u64>,
        advice: NameSet,
        flags: u32,
    },
    /// shm_open(name, oflag, mode) with a name the harness prepares (never one the case
    /// writes), under the umask `umask`; the result is a descriptor.
    ShmOpen {
        name: ShmName,
        oflag: NameSet,
        mode: u32,
        umask: u32,
    },
}

/// The descriptor process_madvise is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pidfd {
    /// pidfd_open(getpid(), 0), made in the child.
    Own,
    /// The pidfd of a process that exited and was waited for, made in the child.
    Exited,
    /// The case's object: a descriptor that is not a pidfd.
    Object,
    Num(i32),
}

/// The name a shm_open call passes: always one the harness made up for the case.
#[derive(Debug, Clone, PartialEq)]
pub enum ShmName {
    /// A unique name that names no object before the call (removed after the case).
    New,
    /// That name, created by the harness before the call with this mode and size.
    Existing { mode: u32, size: Expr },
    /// A unique name no object has, for a call without O_CREAT.
    Missing,
    /// A name whose component is NAME_MAX+1 bytes long.
    TooLongComponent,
    /// A name PATH_MAX+1 bytes long.
    TooLong,
}

impl ShmName {
    pub const ALL: [&'static str; 5] = [
        "new",
        "existing",
        "missing",
        "too-long-component",
        "too-long",
    ];

    pub fn key(&self) -> &'static str {
        match self {
            ShmName::New => "new",
            ShmName::Existing { .. } => "existing",
            ShmName::Missing => "missing",
            ShmName::TooLongComponent => "too-long-component",
            ShmName::TooLong => "too-long",
        }
    }
}

/// A property of the descriptor a shm_open call returned, read by an `fd_stat` step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdField {
    /// fstat st_size.
    Size,
    /// fstat st_mode & 07777.
    Mode,
    /// fstat st_uid.
    Uid,
    /// fstat st_gid.
    Gid,
    /// fcntl(F_GETFD) & FD_CLOEXEC: 1 or 0.
    Cloexec,
    /// fcntl(F_GETFL) & O_ACCMODE.
    Accmode,
    /// 1 when the descriptor is the lowest one that was free before the call.
    Lowest,
}

impl FdField {
    pub const ALL: [(&'static str, FdField); 7] = [
        ("size", FdField::Size),
        ("mode", FdField::Mode),
        ("uid", FdField::Uid),
        ("gid", FdField::Gid),
        ("cloexec", FdField::Cloexec),
        ("accmode", FdField::Accmode),
        ("lowest", FdField::Lowest),
    ];

    pub fn key(self) -> &'static str {
        FdField::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map(|(k, _)| *k)
            .unwrap_or("size")
    }
}

/// What an `fd_stat` step compares the field with.
#[derive(Debug, Clone, PartialEq)]
pub enum FdWant {
    /// A size expression (`size`).
    Size(Expr),
    /// A number (`mode` in octal, `cloexec`, `lowest`) or an access mode's name.
    Value(i64),
    /// The effective uid or gid of the process when the step runs.
    Euid,
    Egid,
}

impl Call {
    /// The address arguments.
    pub fn addrs(&self) -> Vec<&AddrExpr> {
        match self {
            Call::Mmap { addr, .. }
            | Call::Munmap { addr, .. }
            | Call::Mprotect { addr, .. }
            | Call::Msync { addr, .. }
            | Call::Madvise { addr, .. }
            | Call::Mlock { addr, .. }
            | Call::Munlock { addr, .. }
            | Call::Minherit { addr, .. } => vec![addr],
            Call::Mincore { addr, vec, .. } => std::iter::once(addr).chain(vec).collect(),
            Call::Mremap { addr, new_addr, .. } => vec![addr, new_addr],
            Call::Mlock2 { addr, .. } | Call::Mseal { addr, .. } => vec![addr],
            Call::Mlockall { .. } | Call::Munlockall | Call::Mdwe { .. } | Call::ShmOpen { .. } => {
                vec![]
            }
            Call::ProcessMadvise { iov, .. } => iov.iter().map(|(a, _)| a).collect(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Call::Mmap { .. } => "mmap",
            Call::Munmap { .. } => "munmap",
            Call::Mprotect { .. } => "mprotect",
            Call::Msync { .. } => "msync",
            Call::Madvise { .. } => "madvise",
            Call::Mincore { .. } => "mincore",
            Call::Mlock { .. } => "mlock",
            Call::Munlock { .. } => "munlock",
            Call::Mremap { .. } => "mremap",
            Call::Minherit { .. } => "minherit",
            Call::Mlockall { .. } => "mlockall",
            Call::Munlockall => "munlockall",
            Call::Mlock2 { .. } => "mlock2",
            Call::Mseal { .. } => "mseal",
            Call::Mdwe { .. } => "prctl",
            Call::ProcessMadvise { .. } => "process_madvise",
            Call::ShmOpen { .. } => "shm_open",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Parent,
    Child,
    /// The process a second fork step (run in the child) makes.
    Grandchild,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bytes {
    Zeros,
    /// The object's content at the file offset the address maps.
    Object,
    Byte(u8),
}

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bytes::Zeros => f.write_str("zeros"),
            Bytes::Object => f.write_str("of the object"),
            Bytes::Byte(b) => write!(f, "byte:{b:#04x}"),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Action {
    Read {
        addr: AddrExpr,
        len: Expr,
        bytes: Option<Bytes>,
    },
    Write {
        addr: AddrExpr,
        len: Expr,
        byte: u8,
    },
    Fork,
    /// A family call made as a step (`munmap = ...`, `call = { fn = ... }`).
    Call(Call),
    Ftruncate {
        size: Expr,
        /// Through the descriptor the call returned (`fd = "result"`), not the object's.
        via_result: bool,
    },
    /// A property of the descriptor the call (shm_open) returned.
    FdStat {
        field: FdField,
        want: FdWant,
    },
    Pwrite {
        offset: Expr,
        len: Expr,
        byte: u8,
    },
    CloseObject,
    Readback {
        offset: Expr,
        len: Expr,
        bytes: Option<Bytes>,
        size: Option<Expr>,
    },
    /// mincore(2) over `[addr, addr+len)`, comparing bit 0 of each page's byte with
    /// `vector` (1 resident, 0 not), one entry per page.
    Mincore {
        addr: AddrExpr,
        len: Expr,
        vector: Vec<u8>,
    },
    /// The bytes the process has locked, as the OS reports them (Linux: VmLck of
    /// /proc/self/status, in KiB), compared with `bytes`.
    Locked {
        bytes: Expr,
    },
    /// The VMA (a /proc/self/maps line) containing `addr`: its start, end and permission
    /// string, compared with those given.
    Vma {
        addr: AddrExpr,
        start: Option<AddrExpr>,
        end: Option<AddrExpr>,
        perms: Option<[u8; 4]>,
    },
    /// Writes this architecture's return instruction at `addr` (probes, then the cache
    /// maintenance instruction fetch needs).
    WriteRet {
        addr: AddrExpr,
    },
    /// Calls `addr` as a function: ok when it returned, or the fault fetching it raised.
    Exec {
        addr: AddrExpr,
    },
    /// A read(2)/write(2)/pread(2)/pwrite(2) with `[addr, addr+len)` as its buffer: the
    /// mapping handed to the kernel, which answers EFAULT (or a short count) where a
    /// user access would fault.
    Buffer {
        op: IoOp,
        addr: AddrExpr,
        len: Expr,
        fd: IoFd,
        /// pread/pwrite only: the file offset.
        offset: Expr,
        /// The return value a success must have (default: `len`).
        count: Option<Expr>,
        /// `fd = "pipe"` reads: the byte the pipe is filled with first.
        byte: u8,
    },
}

/// The system call of a buffer step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoOp {
    /// read(2) from the descriptor into the buffer.
    Read,
    /// write(2) from the buffer to the descriptor.
    Write,
    Pread,
    Pwrite,
}

impl IoOp {
    /// The case file's key for the step (its value is the buffer's address).
    pub fn key(self) -> &'static str {
        match self {
            IoOp::Read => "read_into",
            IoOp::Write => "write_from",
            IoOp::Pread => "pread_into",
            IoOp::Pwrite => "pwrite_from",
        }
    }

    /// The C function.
    pub fn func(self) -> &'static str {
        match self {
            IoOp::Read => "read",
            IoOp::Write => "write",
            IoOp::Pread => "pread",
            IoOp::Pwrite => "pwrite",
        }
    }

    /// Whether the kernel writes into the buffer (read, pread).
    pub fn fills_buffer(self) -> bool {
        matches!(self, IoOp::Read | IoOp::Pread)
    }

    /// Whether the call takes a file offset.
    pub fn positioned(self) -> bool {
        matches!(self, IoOp::Pread | IoOp::Pwrite)
    }
}

/// The descriptor a buffer step reads from or writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoFd {
    /// The case's object, as opened.
    Object,
    /// The object's second descriptor.
    Second,
    /// A pipe the child makes for the step (its read end for reads, after writing `len`
    /// bytes into it; its write end for writes, with the read end open).
    Pipe,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub who: Who,
    pub action: Action,
    pub expect: PerOs<Outcome>,
}

#[derive(Debug, Clone)]
pub struct Deviation {
    pub os: Os,
    /// 1-based step number; `None` is the call.
    pub step: Option<usize>,
    pub observed: Outcome,
    pub why: String,
    pub evidence: String,
    /// The cited clauses the kernel's behaviour contradicts (empty: all it cites for
    /// this OS).
    pub contradicts: Vec<String>,
    /// The releases of `os`'s kernel it holds for ("<6.17": fixed in 6.17); `None`: all.
    pub release: Option<String>,
    /// The architectures (Rust's `target_arch` names) it holds on; empty: all.
    pub arch: Vec<String>,
    /// The ABI it holds for; `None`: every ABI.
    pub abi: Option<Abi>,
}

/// How a process talks to its kernel, as far as word size goes: a 32-bit process on a
/// 64-bit kernel (compat) has its arguments zero-extended and a 4 GiB address space, which
/// neither a 64-bit process nor one on a 32-bit kernel has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    Native64,
    Native32,
    Compat32,
}

impl Abi {
    pub const KEYS: [&'static str; 3] = ["native64", "native32", "compat32"];

    pub fn key(self) -> &'static str {
        match self {
            Abi::Native64 => "native64",
            Abi::Native32 => "native32",
            Abi::Compat32 => "compat32",
        }
    }

    pub fn from_key(key: &str) -> Option<Abi> {
        Abi::KEYS
            .iter()
            .zip([Abi::Native64, Abi::Native32, Abi::Compat32])
            .find_map(|(k, a)| (*k == key).then_some(a))
    }

    /// The ABI of a build whose words have `word_bits` bits, on a kernel whose `uname -m`
    /// is `machine`: a 32-bit build is compat where the kernel's machine is a 64-bit one
    /// (x86_64, aarch64, ppc64le, s390x, riscv64; armv8l is arm64's answer under the
    /// 32-bit personality).
    pub fn of(word_bits: u32, machine: &str) -> Abi {
        if word_bits == 64 {
            Abi::Native64
        } else if machine.contains("64") || machine == "armv8l" || machine == "s390x" {
            Abi::Compat32
        } else {
            Abi::Native32
        }
    }
}

impl Deviation {
    /// Whether the deviation is recorded for `os` at kernel release `release`.
    pub fn holds_on(&self, os: Os, release: &str) -> bool {
        self.os == os
            && self
                .release
                .as_ref()
                .is_none_or(|r| crate::expectations::release_in(r, release) == Ok(true))
    }

    /// Whether the deviation is recorded for a build of `arch` running with `abi`.
    pub fn holds_for(&self, arch: &str, abi: Abi) -> bool {
        (self.arch.is_empty() || self.arch.iter().any(|a| a == arch))
            && self.abi.is_none_or(|a| a == abi)
    }
}

#[cfg(test)]
mod tests {
    use super::{Abi, Deviation, Outcome, Placement};
    use crate::names::Os;

    #[test]
    fn a_deviation_scoped_by_release_holds_only_on_those_releases_of_its_os() {
        let d = Deviation {
            os: Os::Linux,
            step: None,
            observed: Outcome::Ok,
            why: "w".into(),
            evidence: "e".into(),
            contradicts: Vec::new(),
            release: Some("<6.17".into()),
            arch: Vec::new(),
            abi: None,
        };
        assert!(d.holds_on(Os::Linux, "6.1.0-13-amd64"));
        assert!(d.holds_on(Os::Linux, "6.12.48+deb13-arm64"));
        assert!(!d.holds_on(Os::Linux, "6.17.0"));
        assert!(!d.holds_on(Os::Linux, "6.18.44-fc-v1045"));
        assert!(!d.holds_on(Os::Freebsd, "6.1"));
        let always = Deviation { release: None, ..d };
        assert!(always.holds_on(Os::Linux, "7.3.0-rc1"));
    }

    #[test]
    fn a_deviation_scoped_by_arch_and_abi_holds_only_there() {
        let d = Deviation {
            os: Os::Linux,
            step: None,
            observed: Outcome::Ok,
            why: "w".into(),
            evidence: "e".into(),
            contradicts: Vec::new(),
            release: None,
            arch: vec!["x86".into(), "arm".into()],
            abi: Some(Abi::Compat32),
        };
        assert!(d.holds_for("x86", Abi::Compat32));
        assert!(!d.holds_for("x86", Abi::Native32));
        assert!(!d.holds_for("x86_64", Abi::Compat32));
        let any_abi = Deviation { abi: None, ..d };
        assert!(any_abi.holds_for("arm", Abi::Native32));
        let anywhere = Deviation {
            arch: Vec::new(),
            ..any_abi
        };
        assert!(anywhere.holds_for("s390x", Abi::Native64));
    }

    #[test]
    fn a_32_bit_build_is_compat_only_on_a_64_bit_kernel() {
        assert_eq!(Abi::of(64, "x86_64"), Abi::Native64);
        assert_eq!(Abi::of(32, "x86_64"), Abi::Compat32);
        assert_eq!(Abi::of(32, "aarch64"), Abi::Compat32);
        assert_eq!(Abi::of(32, "armv8l"), Abi::Compat32);
        assert_eq!(Abi::of(32, "armv7l"), Abi::Native32);
        assert_eq!(Abi::of(32, "i686"), Abi::Native32);
        for k in Abi::KEYS {
            assert_eq!(Abi::from_key(k).map(Abi::key), Some(k));
        }
        assert_eq!(Abi::from_key("ilp32"), None);
    }

    #[test]
    fn placement_compares_the_whole_range_and_never_wraps() {
        let two_gib = 0x8000_0000;
        assert!(Placement::Below.holds(two_gib - 0x4000, 0x4000, two_gib, 0));
        assert!(!Placement::Below.holds(two_gib - 0x1000, 0x4000, two_gib, 0));
        assert!(!Placement::Below.holds(u64::MAX - 0xfff, 0x2000, u64::MAX, 0));
        assert!(Placement::Within.holds(0x10000, 0x2000, 0x10000, 0x12000));
        assert!(!Placement::Within.holds(0x10000, 0x2001, 0x10000, 0x12000));
        assert!(!Placement::Within.holds(0xf000, 0x1000, 0x10000, 0x12000));
        assert!(Placement::Equals.holds(0x10000, 1, 0x10000, 0));
        assert!(!Placement::NotEqual.holds(0x10000, 1, 0x10000, 0));
        assert!(Placement::NotEqual.holds(0x11000, 1, 0x10000, 0));
    }
}
