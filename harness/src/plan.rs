//! Planning: one [`Case`] resolved for the running OS and page size into a [`Plan`], the
//! complete program the forked child runs.
//!
//! Everything the child needs is computed here, before fork: numeric flag values, sizes in
//! bytes, expected byte patterns. What only exists at run time (addresses of mappings, the
//! free hole, the call's result) stays symbolic as an [`RAddr`]. A name this OS lacks, an
//! OS the case excludes or a missing facility makes the case not applicable, with a reason.

use crate::expr::{AddrBase, AddrExpr, CType, Env, Expr};
use crate::host::Host;
use crate::model::*;
use crate::names::{self, NameSet, Os, Table};
use crate::probe;
use std::time::Duration;

/// Object contents larger than this are refused (the executor writes them out).
pub const MAX_OBJECT_BYTES: u64 = 64 << 20;

#[derive(Debug, Clone)]
pub enum Planned {
    Ready(Box<Plan>),
    NotApplicable(String),
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub page: usize,
    pub top: u64,
    pub timeout: Duration,
    pub object: Option<ObjectPlan>,
    /// Setup mappings as the case lists them. The child makes those without `at` first,
    /// then finds the hole, then makes those with `at` (which may be placed in it).
    pub mappings: Vec<MappingPlan>,
    pub hole_len: usize,
    /// The absolute range (`null+...`) a MAP_FIXED mmap call replaces: the child checks,
    /// with the hole, that nothing of its own lies there (Linux), so the call never
    /// replaces the program's own image or heap. Static binaries are linked at 0x10000000
    /// on ppc64 (page 2^12 at 64 KiB) and at 0x1000000 on s390x (page 2^12 at 4 KiB).
    /// Something there is setup failure at the hole stage with EEXIST.
    pub fixed_absolute: Option<(u64, usize)>,
    pub drop_privilege: bool,
    /// (resource, soft limit) pairs.
    pub limits: Vec<(i32, u64)>,
    pub call: CallPlan,
    /// Names as written, for rendering the call as C.
    pub call_text: CallText,
    pub steps: Vec<StepPlan>,
    /// Where a successful mmap or mremap must have put its mapping.
    pub placed: Option<PlacedPlan>,
    /// The steps also run when the call fails with an errno: this OS expects it to (a
    /// step then shows what the failed call left in place).
    pub steps_after_failure: bool,
    /// The case's setup calls, made after the setup mappings (see [`Case::setup`]).
    pub setup: Vec<CallPlan>,
    /// The case's deviations (indices) recorded for this OS and kernel release.
    pub deviations: Vec<usize>,
}

impl Plan {
    /// Whether the steps ran after a call whose raw outcome state is `call_state`.
    pub fn steps_ran(&self, call_state: u32) -> bool {
        use crate::record::RawOutcome;
        call_state == RawOutcome::OK
            || (self.steps_after_failure && call_state == RawOutcome::ERRNO)
    }
}

/// A placement assertion with its addresses left for the child to resolve.
#[derive(Debug, Clone, Copy)]
pub struct PlacedPlan {
    pub how: Placement,
    pub at: RAddr,
    /// `within`'s end; `at` again for the other assertions.
    pub end: RAddr,
}

#[derive(Debug, Clone)]
pub struct ObjectPlan {
    pub kind: ObjectKind,
    pub size: u64,
    pub content: Content,
    pub open_flags: i32,
    pub fs: Fs,
    pub attr: Option<Attr>,
    pub seals: i32,
    /// Flags of the second descriptor of the same file, when the case asks for one.
    pub second_flags: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FdPlan {
    Object,
    /// The object's second descriptor.
    Second,
    Num(i32),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RBase {
    Null,
    Result,
    Mapping(usize),
    Hole,
    Top,
}

/// An address resolved in the child: the base's run-time value plus a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RAddr {
    pub base: RBase,
    pub off: i64,
}

#[derive(Debug, Clone)]
pub struct MappingPlan {
    pub index: usize,
    pub len: usize,
    pub prot: i32,
    pub flags: i32,
    pub fd: FdPlan,
    pub offset: i64,
    pub at: Option<RAddr>,
    pub fill: Option<u8>,
}

// process_madvise's iovec array lives in the plan, so the child reads it without
// allocating; a plan is built once per case, so the variant's size costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
pub enum CallPlan {
    Mmap {
        addr: RAddr,
        len: usize,
        prot: i32,
        flags: i32,
        fd: FdPlan,
        offset: i64,
    },
    Munmap {
        addr: RAddr,
        len: usize,
    },
    Mprotect {
        addr: RAddr,
        len: usize,
        prot: i32,
    },
    Msync {
        addr: RAddr,
        len: usize,
        flags: i32,
    },
    Madvise {
        addr: RAddr,
        len: usize,
        advice: i32,
    },
    /// `vec`: the case's vector address; `None`, the child's own writable vector.
    Mincore {
        addr: RAddr,
        len: usize,
        vec: Option<RAddr>,
    },
    Mlock {
        addr: RAddr,
        len: usize,
    },
    Munlock {
        addr: RAddr,
        len: usize,
    },
    Mremap {
        addr: RAddr,
        len: usize,
        new_len: usize,
        flags: i32,
        new_addr: RAddr,
    },
    Minherit {
        addr: RAddr,
        len: usize,
        inherit: i32,
    },
    Mlockall {
        flags: i32,
    },
    Munlockall,
    Mlock2 {
        addr: RAddr,
        len: usize,
        flags: i32,
    },
    Mseal {
        addr: RAddr,
        len: usize,
        flags: i32,
    },
    Mdwe {
        flags: i32,
    },
    /// `iov[..n]` are the ranges; `vlen` is passed as given (at most `n`, or above
    /// UIO_MAXIOV). The child makes `pidfd` in its setup.
    ProcessMadvise {
        pidfd: Pidfd,
        iov: [(RAddr, usize); crate::load::MAX_IOV],
        n: usize,
        vlen: usize,
        advice: i32,
        flags: u32,
    },
    /// shm_open of the name the parent prepared (`Prepared::shm_name`).
    ShmOpen {
        name: ShmNamePlan,
        oflag: i32,
        mode: u32,
        umask: u32,
    },
}

/// The kind of name a shm_open call passes, and what the parent makes before fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShmNamePlan {
    New,
    /// Created by the parent with this mode and size.
    Existing {
        mode: u32,
        size: i64,
    },
    Missing,
    TooLongComponent,
    TooLong,
}

/// The call's name and its symbolic arguments, for messages.
#[derive(Debug, Clone)]
pub struct CallText {
    pub func: &'static str,
    /// One entry per argument: `Some(name text)` where the argument was given by C names.
    pub names: Vec<Option<String>>,
    /// `MAP_FIXED`-like placement: a successful result must equal addr.
    pub exact_addr: bool,
}

impl CallText {
    /// The call as C, with the argument values the child actually passed.
    pub fn as_c(&self, args: &[u64; 6]) -> String {
        let parts: Vec<String> = self
            .names
            .iter()
            .zip(args.iter())
            .enumerate()
            .map(|(i, (name, v))| match (name, self.kind(i)) {
                (Some(n), _) => n.clone(),
                (None, Arg::Addr) if *v == 0 => "NULL".into(),
                (None, Arg::Addr) => format!("{v:#x}"),
                (None, Arg::Int) => format!("{}", *v as i32),
                (None, Arg::Signed) if (*v as i64).unsigned_abs() < 1 << 32 => {
                    format!("{}", *v as i64)
                }
                (None, Arg::Size) if *v < 1 << 32 => format!("{v}"),
                (None, _) => format!("{v:#x}"),
            })
            .collect();
        format!("{}({})", self.func, parts.join(", "))
    }

    /// The C type of argument `i`, for rendering.
    fn kind(&self, i: usize) -> Arg {
        match (self.func, i) {
            (_, 0) | ("mremap", 4) => Arg::Addr,
            ("mmap", 4) => Arg::Int,
            ("mmap", 5) => Arg::Signed,
            _ => Arg::Size,
        }
    }
}

enum Arg {
    Addr,
    Size,
    Int,
    Signed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    Zeros,
    Byte(u8),
    Object { file_off: u64, content: Content },
}

impl Check {
    /// The byte expected `i` bytes after the checked address or offset.
    pub fn expected(&self, i: u64) -> u8 {
        match *self {
            Check::Zeros => 0,
            Check::Byte(b) => b,
            Check::Object { file_off, content } => content.byte_at(file_off.wrapping_add(i)),
        }
    }
}

// Holds a CallPlan (see there).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
pub enum ActionPlan {
    Read {
        addr: RAddr,
        len: usize,
        check: Option<Check>,
    },
    Write {
        addr: RAddr,
        len: usize,
        byte: u8,
    },
    Fork,
    Call(CallPlan),
    Ftruncate {
        size: i64,
        /// Through the call's descriptor (the `result`).
        via_result: bool,
    },
    /// A field of the call's descriptor must equal `want`.
    FdStat {
        field: FdField,
        want: FdWantPlan,
    },
    Pwrite {
        offset: i64,
        len: usize,
        byte: u8,
    },
    CloseObject,
    Readback {
        offset: i64,
        len: usize,
        check: Option<Check>,
        size: Option<i64>,
    },
    /// mincore over `len` bytes; page `i` must be resident exactly when `vector[i]` is 1.
    Mincore {
        addr: RAddr,
        len: usize,
        vector: [u8; crate::load::MAX_VECTOR],
        pages: usize,
    },
    /// The process's locked bytes (Linux VmLck) must be `bytes`.
    Locked {
        bytes: u64,
    },
    /// The VMA containing `addr` (its /proc/self/maps line) must start at `start`, end at
    /// `end` and show `perms`, each where given.
    Vma {
        addr: RAddr,
        start: Option<RAddr>,
        end: Option<RAddr>,
        perms: Option<[u8; 4]>,
    },
    /// Writes the return instruction at `addr` (probe::write_ret).
    WriteRet {
        addr: RAddr,
    },
    /// Calls `addr` (probe::exec).
    Exec {
        addr: RAddr,
    },
    /// read/write/pread/pwrite with `[addr, addr+len)` as the buffer; a success must
    /// return `count`.
    Buffer {
        op: IoOp,
        addr: RAddr,
        len: usize,
        fd: IoFd,
        offset: i64,
        count: u64,
        byte: u8,
    },
}

/// What an fd_stat step compares with, resolved but for the ids the child reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdWantPlan {
    Value(i64),
    Euid,
    Egid,
}

#[derive(Debug, Clone)]
pub struct StepPlan {
    pub who: Who,
    pub action: ActionPlan,
    /// For call steps: names as written, for rendering as C.
    pub call_text: Option<CallText>,
}

/// Plans `case` for `host`. `Err` is a defect of the case itself (a value that does not
/// fit its C type, a byte pattern that cannot apply); `NotApplicable` is about this host.
pub fn plan(case: &Case, host: &Host) -> Result<Planned, String> {
    let Some(os) = host.os else {
        return Ok(na(format!(
            "the suite has no expectations for {}",
            host.os_name
        )));
    };
    if !case.oses.contains(&os) {
        return Ok(na(format!("the case applies only to {}", list(&case.oses))));
    }
    if case.privilege == Privilege::Root && !host.is_root() {
        return Ok(na("the case needs root".into()));
    }
    if let Some(reason) = crate::plan_gates::not_here(case, os, host) {
        return Ok(na(reason));
    }
    let uses_probes = case
        .steps
        .iter()
        .any(|s| matches!(s.action, Action::Read { .. } | Action::Write { .. }));
    if uses_probes && !probe::SUPPORTED {
        return Ok(na(format!(
            "fault-recovering memory probes are not implemented for {}",
            host.arch
        )));
    }
    let executes = case
        .steps
        .iter()
        .any(|s| matches!(s.action, Action::WriteRet { .. } | Action::Exec { .. }));
    if executes && !probe::EXEC_SUPPORTED {
        return Ok(na(format!(
            "executing code placed in a mapping is not implemented for {} on {}: the suite \
             knows the return instruction and the signal context of x86_64, aarch64 and \
             riscv64 on Linux and x86_64 and aarch64 on FreeBSD",
            host.arch, host.os_name
        )));
    }
    let p = Planner {
        page: host.page_size as i128,
        top: host.top as i128,
        os,
        case,
    };
    match p.build(host) {
        Ok(plan) => Ok(Planned::Ready(Box::new(plan))),
        Err(Why::NotApplicable(r)) => Ok(na(r)),
        Err(Why::Invalid(e)) => Err(format!("{}: {e}", case.id)),
    }
}

/// Plans `case` the way `check` does: on a nominal root host of every OS the case applies
/// to, with every page size of [`crate::load::CHECK_PAGE_SIZES`]. Returns each distinct
/// defect found (what `run` would report as "cannot be planned" on such a host).
pub fn check_everywhere(case: &Case) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut found = Vec::new();
    for (os, host) in check_hosts() {
        if !case.oses.contains(os) {
            continue;
        }
        if let Err(e) = plan(case, host)
            && !seen.contains(&e)
        {
            found.push(format!(
                "{e} (with {} KiB pages on {})",
                host.page_size >> 10,
                os.key()
            ));
            seen.push(e);
        }
    }
    found
}

/// `check_everywhere` over every case, on all cores (20 000 cases are 240 000 plans), in the
/// cases' order: for each case with defects, its index and the defects.
pub fn check_all(cases: &[Case]) -> Vec<(usize, Vec<String>)> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = cases.len().div_ceil(workers).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = cases
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| {
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, c)| (n * chunk + i, check_everywhere(c)))
                        .filter(|(_, e)| !e.is_empty())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("a check worker does not panic"))
            .collect()
    })
}

/// The hosts `check_everywhere` plans on, built once: every OS, page size and top of the
/// address space (x86_64's 47-bit one and the highest a page size allows).
fn check_hosts() -> &'static [(Os, Host)] {
    static HOSTS: std::sync::OnceLock<Vec<(Os, Host)>> = std::sync::OnceLock::new();
    HOSTS.get_or_init(|| {
        let mut hosts = Vec::new();
        for os in Os::ALL {
            for page in crate::load::CHECK_PAGE_SIZES {
                for top in [1u64 << 47, (page as u64).wrapping_neg()] {
                    let host = Host {
                        os: Some(os),
                        os_name: os.key().into(),
                        release: "check".into(),
                        arch: std::env::consts::ARCH.into(),
                        page_size: page as usize,
                        uid: 0,
                        euid: 0,
                        capabilities: Vec::new(),
                        tunables: Vec::new(),
                        top,
                        under: String::new(),
                        endian: String::new(),
                        word_bits: 64,
                        paging: String::new(),
                    };
                    hosts.push((os, host));
                }
            }
        }
        hosts
    })
}

/// The target of a case's MAP_FIXED `mmap` call when it is an absolute address
/// (`null+...`): its address and length as written. The harness ([`Plan::fixed_absolute`])
/// and the reproducer both check it holds none of their own pages first.
pub fn absolute_fixed_target(case: &Case) -> Option<(&AddrExpr, &Expr)> {
    match &case.call {
        Call::Mmap {
            addr, len, flags, ..
        } if addr.base == AddrBase::Null
            && addr.offset.is_some()
            && flags.0.iter().any(|f| f == "MAP_FIXED") =>
        {
            Some((addr, len))
        }
        _ => None,
    }
}

/// [`Plan::fixed_absolute`] of a case whose call is `call`.
fn fixed_absolute(case: &Case, call: &CallPlan) -> Option<(u64, usize)> {
    absolute_fixed_target(case)?;
    match call {
        CallPlan::Mmap {
            addr: RAddr {
                base: RBase::Null,
                off,
            },
            len,
            ..
        } if *len > 0 => Some((*off as u64, *len)),
        _ => None,
    }
}

fn na(reason: String) -> Planned {
    Planned::NotApplicable(reason)
}

fn list(oses: &[Os]) -> String {
    oses.iter().map(|o| o.key()).collect::<Vec<_>>().join(", ")
}

enum Why {
    NotApplicable(String),
    Invalid(String),
}

impl Why {
    /// An expression that cannot be evaluated: a broken case, unless it names a `top` this
    /// host could not read, which makes the case not applicable here.
    fn eval(e: String) -> Why {
        if e == crate::expr::NO_TOP {
            Why::NotApplicable(e)
        } else {
            Why::Invalid(e)
        }
    }
}

struct Planner<'a> {
    page: i128,
    top: i128,
    os: Os,
    case: &'a Case,
}

impl Planner<'_> {
    /// Evaluates `e` as a `ty`, checked (the same entry point the loader checks with).
    fn value(&self, e: &Expr, ty: CType, what: &str) -> Result<i128, Why> {
        let env = Env {
            page: self.page,
            max: ty.max(),
            top: self.top,
        };
        e.value(ty, env).map_err(|m| {
            if m == crate::expr::NO_TOP {
                Why::eval(m)
            } else if usize::BITS < 64 && e.value_for(ty, env, 64).is_ok() {
                // Valid for the 64-bit ABIs case files are written for; not here.
                Why::NotApplicable(format!("{what}: {m} on this {}-bit ABI", usize::BITS))
            } else if e
                .value(
                    ty,
                    Env {
                        top: 1 << 47,
                        ..env
                    },
                )
                .is_ok()
            {
                // Valid below a 2^47 top: this host's address space ends too high for it
                // (s390x's reaches 2^64 - 1p, so `top+1p` wraps).
                Why::NotApplicable(format!(
                    "{what}: {m}: the user address space here ends at {:#x}",
                    self.top
                ))
            } else {
                Why::Invalid(format!("{what}: {m}"))
            }
        })
    }

    fn size(&self, e: &Expr, what: &str) -> Result<usize, Why> {
        let v = self.value(e, CType::Size, what)?;
        if v < 0 {
            // A negative length is passed as C would: converted to size_t.
            return Ok(v as i64 as usize);
        }
        Ok(v as usize)
    }

    fn off(&self, e: &Expr, what: &str) -> Result<i64, Why> {
        Ok(self.value(e, CType::Off, what)? as i64)
    }

    /// An address offset: pointer-sized, kept as its two's complement bits.
    fn ptr(&self, e: &Expr) -> Result<i64, Why> {
        Ok(self.value(e, CType::Ptr, "address offset")? as i64)
    }

    fn names(&self, set: &NameSet, table: &Table) -> Result<i32, Why> {
        set.resolve(table)
            .map(|v| v as i32)
            .map_err(Why::NotApplicable)
    }

    fn addr(&self, a: &AddrExpr) -> Result<RAddr, Why> {
        let base = match &a.base {
            AddrBase::Null => RBase::Null,
            AddrBase::Result => RBase::Result,
            AddrBase::Hole => RBase::Hole,
            AddrBase::Top if self.top == 0 => {
                return Err(Why::NotApplicable(crate::expr::NO_TOP.into()));
            }
            AddrBase::Top => RBase::Top,
            AddrBase::Mapping(n) => RBase::Mapping(self.mapping_index(n)?),
        };
        let off = match &a.offset {
            Some(e) => self.ptr(e)?,
            None => 0,
        };
        Ok(RAddr { base, off })
    }

    fn mapping_index(&self, name: &str) -> Result<usize, Why> {
        self.case
            .mappings
            .iter()
            .position(|m| m.name == name)
            .ok_or_else(|| Why::Invalid(format!("no mapping named `{name}`")))
    }

    fn fd(&self, fd: &Fd) -> FdPlan {
        match fd {
            Fd::Object => FdPlan::Object,
            Fd::Second => FdPlan::Second,
            Fd::Num(n) => FdPlan::Num(*n),
        }
    }

    fn build(&self, host: &Host) -> Result<Plan, Why> {
        let case = self.case;
        let object = match &case.object {
            Some(o) => Some(self.object(o)?),
            None => None,
        };
        let mut mappings = Vec::new();
        for (index, m) in case.mappings.iter().enumerate() {
            mappings.push(MappingPlan {
                index,
                len: self.size(&m.len, "mapping len")?,
                prot: self.names(&m.prot, &names::PROT)?,
                flags: self.names(&m.flags, &names::MAP)?
                    | if m.at.is_some() { libc::MAP_FIXED } else { 0 },
                fd: self.fd(&m.fd),
                offset: self.off(&m.offset, "mapping offset")?,
                at: m.at.as_ref().map(|a| self.addr(a)).transpose()?,
                fill: m.fill,
            });
        }
        let mut limits = Vec::new();
        for (name, e) in &case.limits {
            let res = names::RLIMIT
                .value(name)
                .map_err(|_| Why::NotApplicable(format!("{name} does not exist here")))?;
            let v = self.value(e, CType::Rlim, name)?;
            limits.push((res as i32, v as u64));
        }
        let (call, call_text) = self.call(&case.call)?;
        let mut steps = Vec::new();
        for s in &case.steps {
            steps.push(StepPlan {
                who: s.who,
                action: self.action(&s.action)?,
                call_text: match &s.action {
                    Action::Call(c) => Some(self.call(c)?.1),
                    _ => None,
                },
            });
        }
        Ok(Plan {
            page: host.page_size,
            top: host.top,
            timeout: case.timeout,
            object,
            mappings,
            hole_len: self.size(&case.hole, "hole")?,
            fixed_absolute: fixed_absolute(case, &call),
            drop_privilege: case.privilege == Privilege::Unprivileged && host.is_root(),
            limits,
            call,
            call_text,
            placed: match &case.placed {
                Some(p) => {
                    let at = self.addr(&p.at)?;
                    let end = p.end.as_ref().map(|e| self.addr(e)).transpose()?;
                    Some(PlacedPlan {
                        how: p.how,
                        at,
                        end: end.unwrap_or(at),
                    })
                }
                None => None,
            },
            steps_after_failure: !case.steps.is_empty()
                && matches!(case.expect.for_os(self.os), Outcome::Errno(_)),
            steps,
            deviations: (0..case.deviations.len())
                .filter(|&i| {
                    let d = &case.deviations[i];
                    d.holds_on(self.os, &host.release) && d.holds_for(&host.arch, host.abi())
                })
                .collect(),
            setup: case
                .setup
                .iter()
                .map(|c| self.call(c).map(|(p, _)| p))
                .collect::<Result<_, _>>()?,
        })
    }

    fn object(&self, o: &Object) -> Result<ObjectPlan, Why> {
        let size = if o.kind.has_content() {
            let v = self.off(&o.size, "object size")?;
            let v = u64::try_from(v)
                .map_err(|_| Why::Invalid(format!("object size {v} is negative")))?;
            if v > MAX_OBJECT_BYTES {
                return Err(Why::Invalid(format!(
                    "object size {v} exceeds {MAX_OBJECT_BYTES} bytes"
                )));
            }
            v
        } else {
            0
        };
        // Linux's shm_open is a file under /dev/shm; the child opens it there directly.
        if o.kind == ObjectKind::Shm
            && self.os == Os::Linux
            && !writable_dir(std::path::Path::new("/dev/shm"))
        {
            return Err(Why::NotApplicable(
                "no writable /dev/shm for POSIX shared memory objects".into(),
            ));
        }
        if o.kind == ObjectKind::File && o.fs == Fs::Tmpfs && host_tmpfs().is_none() {
            return Err(Why::NotApplicable(
                "no tmpfs directory found, and none could be mounted (only a root run mounts one; or set MMAPCONF_TMPFS)".into(),
            ));
        }
        if o.kind == ObjectKind::File && o.fs == Fs::Noexec {
            if self.case.privilege == Privilege::Unprivileged {
                return Err(Why::Invalid(
                    "fs = \"noexec\" cannot be combined with privilege = \"unprivileged\": the private mount is root's (mode 0700)".into(),
                ));
            }
            match self.os {
                Os::Freebsd => {
                    return Err(Why::NotApplicable(
                        "FreeBSD has no per-process mount namespace: a noexec tmpfs would be mounted for the whole system, and left mounted by a run killed before it unmounts it; the suite does not make one there".into(),
                    ));
                }
                Os::Linux => {
                    if let Err(why) = crate::plan_gates::noexec_mount_here() {
                        return Err(Why::NotApplicable(why));
                    }
                }
            }
        }
        if o.kind == ObjectKind::File
            && let Some(attr) = o.attr
            && let Err(why) = crate::plan_gates::attr_here(attr, o.fs, self.os)
        {
            return Err(Why::NotApplicable(why));
        }
        if o.kind == ObjectKind::File && o.fs == Fs::Storage {
            let dir = std::env::temp_dir();
            if is_tmpfs(&dir) {
                return Err(Why::NotApplicable(format!(
                    "the work directory's file system ({}) is tmpfs, which writes nothing back to storage; this case is about writeback (set TMPDIR to a disk file system)",
                    dir.display()
                )));
            }
        }
        Ok(ObjectPlan {
            kind: o.kind,
            size,
            content: o.content,
            open_flags: self.names(&o.open, &names::OPEN)?,
            fs: o.fs,
            attr: o.attr,
            seals: self.names(&o.seals, &names::SEAL)?,
            second_flags: o
                .second
                .as_ref()
                .map(|s| self.names(s, &names::OPEN))
                .transpose()?,
        })
    }

    fn call(&self, c: &Call) -> Result<(CallPlan, CallText), Why> {
        match (c, self.os) {
            (Call::Mremap { .. }, Os::Freebsd) => {
                return Err(Why::NotApplicable("FreeBSD has no mremap".into()));
            }
            (Call::Minherit { .. }, Os::Linux) => {
                return Err(Why::NotApplicable("Linux has no minherit".into()));
            }
            (
                Call::Mlock2 { .. }
                | Call::Mseal { .. }
                | Call::Mdwe { .. }
                | Call::ProcessMadvise { .. },
                Os::Freebsd,
            ) => {
                return Err(Why::NotApplicable(format!(
                    "FreeBSD has no {}",
                    match c {
                        Call::Mdwe { .. } => "PR_SET_MDWE",
                        _ => c.name(),
                    }
                )));
            }
            _ => {}
        }
        let text = |names: Vec<Option<String>>| CallText {
            func: c.name(),
            names,
            exact_addr: false,
        };
        Ok(match c {
            Call::Mmap {
                addr,
                len,
                prot,
                flags,
                fd,
                offset,
            } => {
                let exact = flags
                    .0
                    .iter()
                    .any(|f| f == "MAP_FIXED" || f == "MAP_FIXED_NOREPLACE");
                let mut t = text(vec![
                    None,
                    None,
                    Some(prot.text()),
                    Some(flags.text()),
                    None,
                    None,
                ]);
                t.exact_addr = exact;
                (
                    CallPlan::Mmap {
                        addr: self.addr(addr)?,
                        len: self.size(len, "len")?,
                        prot: self.names(prot, &names::PROT)?,
                        flags: self.names(flags, &names::MAP)?,
                        fd: self.fd(fd),
                        offset: mmap_offset_on_this_abi(self.off(offset, "offset")?)?,
                    },
                    t,
                )
            }
            Call::Munmap { addr, len } => (
                CallPlan::Munmap {
                    addr: self.addr(addr)?,
                    len: self.size(len, "len")?,
                },
                text(vec![None, None]),
            ),
            Call::Mincore { addr, len, vec } => (
                CallPlan::Mincore {
                    addr: self.addr(addr)?,
                    len: self.size(len, "len")?,
                    vec: vec.as_ref().map(|v| self.addr(v)).transpose()?,
                },
                text(vec![
                    None,
                    None,
                    Some(vec.as_ref().map_or("vec".into(), |v| v.to_string())),
                ]),
            ),
            Call::Mlock { addr, len } => (
                CallPlan::Mlock {
                    addr: self.addr(addr)?,
                    len: self.size(len, "len")?,
                },
                text(vec![None, None]),
            ),
            Call::Munlock { addr, len } => (
                CallPlan::Munlock {
                    addr: self.addr(addr)?,
                    len: self.size(len, "len")?,
                },
                text(vec![None, None]),
            ),
            Call::Mprotect { addr, len, prot } => (
                CallPlan::Mprotect {
                    addr: self.addr(addr)?,
                    len: self.size(len, "len")?,
                    prot: self.names(prot, &names::PROT)?,
                },
                text(vec![None, None, Some(prot.text())]),
            ),
            Call::Msync { addr, len, flags } => (
                CallPlan::Msync {
                    addr: self.addr(addr)?,
                    len: self.size(len, "len")?,
                    flags: self.names(flags, &names::MS)?,
                },
                text(vec![None, None, Some(flags.text())]),
            ),
            Call::Madvise { addr, len, advice } => (
                CallPlan::Madvise {
                    addr: self.addr(addr)?,
                    len: self.size(len, "len")?,
                    advice: self.names(advice, &names::MADV)?,
                },
                text(vec![None, None, Some(advice.text())]),
            ),
            Call::Mremap {
                addr,
                len,
                new_len,
                flags,
                new_addr,
            } => (
                CallPlan::Mremap {
                    addr: self.addr(addr)?,
                    len: self.size(len, "len")?,
                    new_len: self.size(new_len, "new_len")?,
                    flags: self.names(flags, &names::MREMAP)?,
                    new_addr: self.addr(new_addr)?,
                },
                text(vec![None, None, None, Some(flags.text()), None]),
            ),
            Call::Minherit { addr, len, inherit } => (
                CallPlan::Minherit {
                    addr: self.addr(addr)?,
                    len: self.size(len, "len")?,
                    inherit: self.names(inherit, &names::INHERIT)?,
                },
                text(vec![None, None, Some(inherit.text())]),
            ),
            Call::Mlockall { flags } => (
                CallPlan::Mlockall {
                    flags: self.names(flags, &names::MCL)?,
                },
                text(vec![Some(flags.text())]),
            ),
            Call::Munlockall => (CallPlan::Munlockall, text(vec![])),
            Call::Mlock2 { addr, len, flags } => (
                CallPlan::Mlock2 {
                    addr: self.addr(addr)?,
                    len: self.size(len, "len")?,
                    flags: self.names(flags, &names::MLOCK)?,
                },
                text(vec![None, None, Some(flags.text())]),
            ),
            Call::Mseal { addr, len, flags } => (
                CallPlan::Mseal {
                    addr: self.addr(addr)?,
                    len: self.size(len, "len")?,
                    flags: self.names(flags, &names::MSEAL)?,
                },
                text(vec![None, None, Some(flags.text())]),
            ),
            Call::Mdwe { flags } => (
                CallPlan::Mdwe {
                    flags: self.names(flags, &names::MDWE)?,
                },
                text(vec![Some("PR_SET_MDWE".into()), Some(flags.text())]),
            ),
            Call::ProcessMadvise {
                pidfd,
                iov,
                vlen,
                advice,
                flags,
            } => {
                let null = RAddr {
                    base: RBase::Null,
                    off: 0,
                };
                let mut list = [(null, 0usize); crate::load::MAX_IOV];
                for (slot, (a, l)) in list.iter_mut().zip(iov) {
                    *slot = (self.addr(a)?, self.size(l, "iov len")?);
                }
                let vlen = match vlen {
                    Some(v) => usize::try_from(*v)
                        .map_err(|_| Why::Invalid(format!("vlen {v} does not fit size_t")))?,
                    None => iov.len(),
                };
                let who = match pidfd {
                    Pidfd::Own => "pidfd_open(getpid())".to_string(),
                    Pidfd::Exited => "pidfd of an exited, waited-for process".to_string(),
                    Pidfd::Object => "object_fd".to_string(),
                    Pidfd::Num(n) => n.to_string(),
                };
                (
                    CallPlan::ProcessMadvise {
                        pidfd: *pidfd,
                        iov: list,
                        n: iov.len(),
                        vlen,
                        advice: self.names(advice, &names::MADV)?,
                        flags: *flags,
                    },
                    text(vec![
                        Some(who),
                        Some(format!("iov[{}]", iov.len())),
                        None,
                        Some(advice.text()),
                        None,
                    ]),
                )
            }
            Call::ShmOpen {
                name,
                oflag,
                mode,
                umask,
            } => {
                let plan = match name {
                    ShmName::New => ShmNamePlan::New,
                    ShmName::Existing { mode, size } => ShmNamePlan::Existing {
                        mode: *mode,
                        size: self.off(size, "existing_size")?,
                    },
                    ShmName::Missing => ShmNamePlan::Missing,
                    ShmName::TooLongComponent => ShmNamePlan::TooLongComponent,
                    ShmName::TooLong => ShmNamePlan::TooLong,
                };
                if self.os == Os::Linux && host_tmpfs().is_none() {
                    return Err(Why::NotApplicable(
                        "no tmpfs work directory for shm_open's names (Linux's shm_open opens files on the /dev/shm tmpfs)".into(),
                    ));
                }
                (
                    CallPlan::ShmOpen {
                        name: plan,
                        oflag: self.names(oflag, &names::SHM_OFLAG)?,
                        mode: *mode,
                        umask: *umask,
                    },
                    text(vec![
                        Some(format!("\"{}\"", name.key())),
                        Some(oflag.text()),
                        Some(format!("0{mode:03o}")),
                    ]),
                )
            }
        })
    }

    /// The file offset that `addr` maps, when it points into a mapping of the object.
    fn file_offset_of(&self, addr: &AddrExpr) -> Result<u64, Why> {
        let base_off = match &addr.base {
            AddrBase::Result => match &self.case.call {
                Call::Mmap {
                    fd: Fd::Object | Fd::Second,
                    offset,
                    ..
                } => self.off(offset, "offset")?,
                _ => {
                    return Err(Why::Invalid(
                        "bytes = \"object\" needs `result` to map the object".into(),
                    ));
                }
            },
            AddrBase::Mapping(n) => {
                let m = &self.case.mappings[self.mapping_index(n)?];
                if !matches!(m.fd, Fd::Object | Fd::Second) {
                    return Err(Why::Invalid(format!(
                        "bytes = \"object\" but mapping `{n}` does not map the object"
                    )));
                }
                self.off(&m.offset, "mapping offset")?
            }
            _ => {
                return Err(Why::Invalid(
                    "bytes = \"object\" needs an address in a mapping of the object".into(),
                ));
            }
        };
        let rel = match &addr.offset {
            Some(e) => self.ptr(e)?,
            None => 0,
        };
        u64::try_from(base_off as i128 + rel as i128).map_err(|_| {
            Why::Invalid(format!(
                "`{addr}` maps file offset {base_off} + {rel}, which is negative"
            ))
        })
    }

    fn check(
        &self,
        b: Option<Bytes>,
        file_off: impl FnOnce() -> Result<u64, Why>,
    ) -> Result<Option<Check>, Why> {
        Ok(match b {
            None => None,
            Some(Bytes::Zeros) => Some(Check::Zeros),
            Some(Bytes::Byte(v)) => Some(Check::Byte(v)),
            Some(Bytes::Object) => {
                let content = self
                    .case
                    .object
                    .as_ref()
                    .map(|o| o.content)
                    .unwrap_or(Content::Seq);
                Some(Check::Object {
                    file_off: file_off()?,
                    content,
                })
            }
        })
    }

    fn action(&self, a: &Action) -> Result<ActionPlan, Why> {
        Ok(match a {
            Action::Read { addr, len, bytes } => ActionPlan::Read {
                addr: self.addr(addr)?,
                len: self.size(len, "len")?,
                check: self.check(*bytes, || self.file_offset_of(addr))?,
            },
            Action::Write { addr, len, byte } => ActionPlan::Write {
                addr: self.addr(addr)?,
                len: self.size(len, "len")?,
                byte: *byte,
            },
            Action::Fork => ActionPlan::Fork,
            Action::Call(c) => ActionPlan::Call(self.call(c)?.0),
            Action::Ftruncate { size, via_result } => ActionPlan::Ftruncate {
                size: self.off(size, "size")?,
                via_result: *via_result,
            },
            Action::FdStat { field, want } => ActionPlan::FdStat {
                field: *field,
                want: match want {
                    FdWant::Size(e) => FdWantPlan::Value(self.off(e, "fd_stat size")?),
                    FdWant::Value(v) => FdWantPlan::Value(*v),
                    FdWant::Euid => FdWantPlan::Euid,
                    FdWant::Egid => FdWantPlan::Egid,
                },
            },
            Action::Pwrite { offset, len, byte } => ActionPlan::Pwrite {
                offset: self.off(offset, "offset")?,
                len: self.size(len, "len")?,
                byte: *byte,
            },
            Action::CloseObject => ActionPlan::CloseObject,
            Action::Readback {
                offset,
                len,
                bytes,
                size,
            } => {
                let off = self.off(offset, "offset")?;
                ActionPlan::Readback {
                    offset: off,
                    len: self.size(len, "len")?,
                    check: self.check(*bytes, || Ok(off as u64))?,
                    size: size.as_ref().map(|s| self.off(s, "size")).transpose()?,
                }
            }
            Action::Mincore { addr, len, vector } => {
                let len_v = self.size(len, "len")?;
                let pages = len_v.div_ceil(self.page as usize);
                if pages != vector.len() {
                    return Err(Why::Invalid(format!(
                        "the mincore step's vector names {} page(s), but len {len} covers {pages}",
                        vector.len()
                    )));
                }
                let mut v = [0u8; crate::load::MAX_VECTOR];
                v[..pages].copy_from_slice(vector);
                ActionPlan::Mincore {
                    addr: self.addr(addr)?,
                    len: len_v,
                    vector: v,
                    pages,
                }
            }
            Action::Locked { bytes } => ActionPlan::Locked {
                bytes: self.size(bytes, "locked bytes")? as u64,
            },
            Action::Vma {
                addr,
                start,
                end,
                perms,
            } => ActionPlan::Vma {
                addr: self.addr(addr)?,
                start: start.as_ref().map(|a| self.addr(a)).transpose()?,
                end: end.as_ref().map(|a| self.addr(a)).transpose()?,
                perms: *perms,
            },
            Action::WriteRet { addr } => ActionPlan::WriteRet {
                addr: self.addr(addr)?,
            },
            Action::Exec { addr } => ActionPlan::Exec {
                addr: self.addr(addr)?,
            },
            Action::Buffer {
                op,
                addr,
                len,
                fd,
                offset,
                count,
                byte,
            } => {
                let len = self.size(len, "len")?;
                let count = match count {
                    Some(c) => self.size(c, "count")?,
                    None => len,
                };
                if count > len {
                    return Err(Why::Invalid(format!(
                        "the {} step's count {count} exceeds its len {len}",
                        op.key()
                    )));
                }
                ActionPlan::Buffer {
                    op: *op,
                    addr: self.addr(addr)?,
                    len,
                    fd: *fd,
                    offset: self.off(offset, "offset")?,
                    count: count as u64,
                    byte: *byte,
                }
            }
        })
    }
}

/// A tmpfs directory for `fs = "tmpfs"` objects: `$MMAPCONF_TMPFS`, else the OS's usual one,
/// checked to really be tmpfs.
pub fn host_tmpfs() -> Option<std::path::PathBuf> {
    let candidates: Vec<std::path::PathBuf> = match std::env::var_os("MMAPCONF_TMPFS") {
        Some(d) => vec![d.into()],
        None => vec!["/dev/shm".into(), "/tmp".into()],
    };
    let private = PRIVATE_TMPFS.lock().ok().and_then(|p| p.clone());
    // A read-only tmpfs (a sandbox's bind mount) cannot hold the case's file.
    candidates
        .into_iter()
        .chain(private)
        .find(|d| is_tmpfs(d) && writable_dir(d))
}

/// Whether `dir` is a directory this process may create files in (a read-only mount is not).
fn writable_dir(dir: &std::path::Path) -> bool {
    dir.is_dir()
        && nix::unistd::access(
            dir,
            nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
        )
        .is_ok()
}

/// A tmpfs the executor mounted itself because the system had none (FreeBSD).
static PRIVATE_TMPFS: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);

/// Offers (or withdraws) the executor's own tmpfs to [`host_tmpfs`].
pub fn set_private_tmpfs(dir: Option<std::path::PathBuf>) {
    if let Ok(mut p) = PRIVATE_TMPFS.lock() {
        *p = dir;
    }
}

#[cfg(target_os = "linux")]
pub fn is_tmpfs(dir: &std::path::Path) -> bool {
    nix::sys::statfs::statfs(dir)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC)
}

#[cfg(target_os = "freebsd")]
pub fn is_tmpfs(dir: &std::path::Path) -> bool {
    nix::sys::statfs::statfs(dir).is_ok_and(|s| s.filesystem_type_name() == "tmpfs")
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
pub fn is_tmpfs(_dir: &std::path::Path) -> bool {
    false
}

/// An mmap offset the kernel can be handed on this ABI. 32-bit Linux has two entries:
/// mmap2, whose offset is an unsigned count of 4096-byte units, and (x86 only) old_mmap,
/// whose offset is an unsigned 32-bit byte count (exec's `raw::mmap` picks). An offset
/// neither can carry (negative; on arm, not a multiple of 4096) never reaches the kernel, so
/// a case about it cannot be judged here.
fn mmap_offset_on_this_abi(off: i64) -> Result<i64, Why> {
    if cfg!(all(target_os = "linux", target_pointer_width = "32")) {
        let units_fit = off >= 0 && off % 4096 == 0 && (off >> 12) <= u32::MAX as i64;
        let bytes_fit = cfg!(target_arch = "x86") && (0..=u32::MAX as i64).contains(&off);
        if !units_fit && !bytes_fit {
            return Err(Why::NotApplicable(format!(
                "the offset {off} cannot be passed to this 32-bit kernel ABI \
                 (mmap2 takes an unsigned count of 4096-byte units{})",
                if cfg!(target_arch = "x86") {
                    ", old_mmap an unsigned 32-bit byte count"
                } else {
                    ""
                }
            )));
        }
    }
    Ok(off)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_file;
    use crate::registry::Registry;
    use rstest::rstest;
    use std::path::Path;

    /// The two page sizes kernels use today, as host facts to plan against.
    const KIB4: usize = 4 << 10;

    fn host(page: usize, euid: u32) -> Host {
        Host {
            os: Os::current(),
            os_name: "test".into(),
            release: "0".into(),
            arch: "x86_64".into(),
            page_size: page,
            uid: euid,
            euid,
            capabilities: Vec::new(),
            tunables: Vec::new(),
            top: 1 << 47,
            under: String::new(),
            endian: "little".into(),
            word_bits: 64,
            paging: String::new(),
        }
    }

    fn case(body: &str) -> Case {
        let text = format!(
            "[[case]]\nid = \"plan.test.case\"\ntitle = \"t\"\nclauses = [\"posix.mmap.1\"]\n{body}"
        );
        parse_file(
            Path::new("t.toml"),
            &text,
            &Registry::of_ids(&["posix.mmap.1"]),
        )
        .unwrap()
        .remove(0)
    }

    fn ready(p: Planned) -> Plan {
        match p {
            Planned::Ready(p) => *p,
            Planned::NotApplicable(r) => panic!("not applicable: {r}"),
        }
    }

    #[rstest]
    #[case("null+0x1000p", "MAP_PRIVATE|MAP_ANON|MAP_FIXED", Some((0x1000 * 65536, 65536)))]
    #[case("null+0x1000p", "MAP_PRIVATE|MAP_ANON|MAP_FIXED_NOREPLACE", None)]
    #[case("hole", "MAP_PRIVATE|MAP_ANON|MAP_FIXED", None)]
    #[case("null+0x1000p", "MAP_PRIVATE|MAP_ANON", None)]
    fn only_a_map_fixed_call_at_an_absolute_address_is_checked_for_the_programs_own_pages(
        #[case] addr: &str,
        #[case] flags: &str,
        #[case] want: Option<(u64, usize)>,
    ) {
        let c = case(&format!(
            "call = {{ fn = \"mmap\", addr = \"{addr}\", len = \"1p\", prot = \"PROT_READ\", flags = \"{flags}\" }}\nexpect = {{ result = \"ok\" }}"
        ));
        assert_eq!(
            ready(plan(&c, &host(65536, 0)).unwrap()).fixed_absolute,
            want
        );
    }

    #[rstest]
    #[case(KIB4, "1p", KIB4)]
    #[case(16384, "1p", 16384)]
    #[case(16384, "2p+1", 32769)]
    #[case(16384, "p/2", 8192)]
    #[case(KIB4, "-1p", KIB4.wrapping_neg())]
    #[case(KIB4, "max", usize::MAX)]
    fn lengths_follow_the_hosts_page_size(
        #[case] page: usize,
        #[case] len: &str,
        #[case] want: usize,
    ) {
        let c = case(&format!(
            "call = {{ fn = \"mmap\", len = \"{len}\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANON\" }}\nexpect = {{ result = \"ok\" }}"
        ));
        let plan = ready(plan(&c, &host(page, 0)).unwrap());
        let CallPlan::Mmap {
            len: got,
            offset,
            fd,
            ..
        } = plan.call
        else {
            panic!()
        };
        assert_eq!((got, offset, fd), (want, 0, FdPlan::Num(-1)));
        assert_eq!(plan.page, page);
    }

    /// The loader rejects these too; the planner checks again, for cases built in code.
    #[rstest]
    #[case("offset", "max+1", "does not fit off_t")]
    #[case("offset", "1/0", "division by zero")]
    #[case("len", "max+1", "does not fit size_t")]
    #[case("len", "max*max*max", "overflow")]
    fn values_that_do_not_fit_their_c_type_are_case_errors(
        #[case] arg: &str,
        #[case] text: &str,
        #[case] msg: &str,
    ) {
        let mut c = case(
            "call = { fn = \"mmap\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANON\" }\nexpect = { result = \"ok\" }",
        );
        let Call::Mmap { len, offset, .. } = &mut c.call else {
            panic!("{:?}", c.call)
        };
        *(if arg == "len" { len } else { offset }) = Expr::parse(text).unwrap();
        let err = plan(&c, &host(KIB4, 0)).unwrap_err();
        assert!(err.contains(msg), "{err}");
    }

    #[rstest]
    #[case("os = [\"freebsd\"]", 0, "applies only to freebsd")]
    #[case("privilege = \"root\"", 1000, "needs root")]
    fn hosts_that_do_not_fit_make_the_case_not_applicable(
        #[case] extra: &str,
        #[case] euid: u32,
        #[case] why: &str,
    ) {
        if Os::current() != Some(Os::Linux) {
            return;
        }
        let c = case(&format!(
            "{extra}\ncall = {{ fn = \"mmap\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANON\" }}\nexpect = {{ result = \"ok\" }}"
        ));
        match plan(&c, &host(KIB4, euid)).unwrap() {
            Planned::NotApplicable(r) => assert!(r.contains(why), "{r}"),
            Planned::Ready(_) => panic!("planned"),
        }
    }

    #[test]
    fn object_bytes_map_to_file_offsets_through_the_mapping_offset() {
        let c = case(
            "object = { kind = \"file\", size = \"4p\" }\n\
             call = { fn = \"mmap\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_SHARED\", offset = \"2p\" }\n\
             expect = { result = \"ok\" }\n\
             [[case.step]]\nread = \"result+3\"\nbytes = \"object\"\n",
        );
        let plan = ready(plan(&c, &host(16384, 0)).unwrap());
        let ActionPlan::Read {
            check: Some(Check::Object { file_off, .. }),
            addr,
            ..
        } = plan.steps[0].action
        else {
            panic!("{:?}", plan.steps[0]);
        };
        assert_eq!(file_off, 2 * 16384 + 3);
        assert_eq!(
            addr,
            RAddr {
                base: RBase::Result,
                off: 3
            }
        );
    }

    #[test]
    fn mappings_placed_at_an_address_get_map_fixed() {
        let c = case(
            "mapping = [{ name = \"a\", len = \"1p\", at = \"hole\" }, { name = \"b\", len = \"2p\" }]\n\
             call = { fn = \"munmap\", addr = \"mapping.a\", len = \"1p\" }\nexpect = { result = \"ok\" }\n",
        );
        let plan = ready(plan(&c, &host(KIB4, 0)).unwrap());
        assert_ne!(plan.mappings[0].flags & libc::MAP_FIXED, 0);
        assert_eq!(plan.mappings[1].flags & libc::MAP_FIXED, 0);
    }

    #[test]
    fn a_buffer_step_whose_count_exceeds_its_len_is_a_case_error() {
        let c = case(
            "call = { fn = \"mmap\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANON\" }\n\
             expect = { result = \"ok\" }\n\
             [[case.step]]\nwrite_from = \"result\"\nlen = \"1p\"\nfd = \"pipe\"\ncount = \"1p+1\"\n",
        );
        let err = plan(&c, &host(KIB4, 0)).unwrap_err();
        assert!(err.contains("count 4097 exceeds its len 4096"), "{err}");
        let c = case(
            "call = { fn = \"mmap\", len = \"2p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANON\" }\n\
             expect = { result = \"ok\" }\n\
             [[case.step]]\nwrite_from = \"result+1p\"\nlen = \"1p\"\nfd = \"pipe\"\n",
        );
        let plan = ready(plan(&c, &host(16384, 0)).unwrap());
        let ActionPlan::Buffer {
            count, len, op, fd, ..
        } = plan.steps[0].action
        else {
            panic!("{:?}", plan.steps[0]);
        };
        assert_eq!(
            (count, len, op, fd),
            (16384, 16384, IoOp::Write, IoFd::Pipe)
        );
    }

    #[rstest]
    #[case("addr = \"top\", len = \"1p\"")]
    #[case("addr = \"null+1p\", len = \"top-1p\"")]
    fn a_case_naming_top_is_not_applicable_where_top_could_not_be_read(#[case] args: &str) {
        let c = case(&format!(
            "call = {{ fn = \"munmap\", {args} }}\nexpect = {{ result = \"ok\" }}\n"
        ));
        let mut h = host(KIB4, 0);
        h.top = 0;
        match plan(&c, &h).unwrap() {
            Planned::NotApplicable(r) => assert_eq!(r, crate::expr::NO_TOP),
            Planned::Ready(_) => panic!("planned with an unknown top"),
        }
        h.top = 1 << 47;
        ready(plan(&c, &h).unwrap());
    }

    #[test]
    fn a_size_past_a_top_at_the_end_of_the_64_bit_space_is_not_applicable_not_a_case_error() {
        // s390x: TASK_SIZE is 2^64 - 1p, so `top+1p` does not fit size_t there.
        let c = case(
            "call = { fn = \"mremap\", addr = \"null+1p\", len = \"1p\", new_len = \"top+1p\", flags = \"MREMAP_MAYMOVE\" }\nexpect = { errno = \"EINVAL\" }\n",
        );
        let mut h = host(KIB4, 0);
        h.top = (KIB4 as u64).wrapping_neg();
        match plan(&c, &h) {
            Ok(Planned::NotApplicable(r)) => {
                assert!(r.contains("ends at 0xfffffffffffff000"), "{r}")
            }
            other => panic!("{:?}", other.map(|_| "planned")),
        }
        h.top = 1 << 47;
        ready(plan(&c, &h).unwrap());
    }
}
