//! The generator proper: one [`Case`] written out as the case-specific part of a C11
//! program (setup, call, steps, expectations), around the fixed runtime in `runtime.c`.
//!
//! Every match over the case format here is exhaustive and has no wildcard arm, so a new
//! object kind, call, step kind, outcome or expression form fails to compile until the
//! reproducer supports it. Sizes, offsets and addresses stay symbolic: they become C
//! expressions over the page size `P` and the address-space end `TOP` that the program
//! measures when it runs, so one file runs on 4, 16 and 64 KiB kernels.

use crate::expr::{AddrBase, AddrExpr, Expr, Op};
use crate::model::*;
use crate::names::{self, NameSet, Os, Table};
use crate::registry::Registry;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What `max` means for the argument an expression is for (the planner's C types).
#[derive(Clone, Copy)]
enum Ctx {
    /// size_t lengths and address offsets.
    Size,
    /// off_t offsets and sizes.
    Off,
    /// rlim_t values (the planner reads `max` as u64::MAX).
    Rlim,
}

impl Ctx {
    /// An unsigned 64-bit C expression: `INT64_MAX` alone is a signed `long`, so
    /// `INT64_MAX+1-2*P` (the planner's `max+1-2p`, which fits off_t) would overflow a
    /// signed constant expression (undefined, and a -Werror=overflow error) before `P`
    /// made it unsigned. The cast keeps every operation of the sum in uint64_t.
    fn max(self) -> &'static str {
        match self {
            Ctx::Size => "SIZE_MAX",
            Ctx::Off => "(uint64_t)INT64_MAX",
            Ctx::Rlim => "UINT64_MAX",
        }
    }
}

/// Whether the expression depends on the running system.
fn is_constant(e: &Expr) -> bool {
    match e {
        Expr::Int(_) => true,
        Expr::Page | Expr::Max | Expr::Top => false,
        Expr::Neg(a) => is_constant(a),
        Expr::Bin(a, _, b) => is_constant(a) && is_constant(b),
    }
}

/// A C integer literal of `v`, taken modulo 2^64 as the C arithmetic below is.
fn literal(v: i128) -> String {
    if (0..=i32::MAX as i128).contains(&v) {
        format!("{v}")
    } else if (-(i32::MAX as i128)..0).contains(&v) {
        format!("-{}", -v)
    } else {
        format!("UINT64_C({:#x})", v as u64)
    }
}

/// `e` as a C expression in unsigned 64-bit arithmetic, which wraps exactly as the
/// planner's value converts to the argument's C type. Page-independent parts are folded.
fn cexpr(e: &Expr, ctx: Ctx) -> String {
    let mut s = String::new();
    write_expr(&mut s, e, ctx, 0);
    s
}

fn write_expr(s: &mut String, e: &Expr, ctx: Ctx, outer: u8) {
    if is_constant(e) {
        let v = e
            .eval(crate::expr::Env {
                page: 1,
                max: 0,
                top: 0,
            })
            .unwrap_or(0);
        let lit = literal(v);
        if v < 0 && outer > 0 {
            let _ = write!(s, "({lit})");
        } else {
            s.push_str(&lit);
        }
        return;
    }
    match e {
        Expr::Int(v) => s.push_str(&literal(*v)),
        Expr::Page => s.push('P'),
        Expr::Max => s.push_str(ctx.max()),
        Expr::Top => s.push_str("TOP"),
        Expr::Neg(a) => {
            s.push_str("-(");
            write_expr(s, a, ctx, 0);
            s.push(')');
        }
        Expr::Bin(a, op, b) => {
            let (c, strength) = match op {
                Op::Add => ('+', 1),
                Op::Sub => ('-', 1),
                Op::Mul => ('*', 2),
                Op::Div => ('/', 2),
            };
            if strength < outer {
                s.push('(');
            }
            write_expr(s, a, ctx, strength);
            s.push(c);
            write_expr(s, b, ctx, strength + 1);
            if strength < outer {
                s.push(')');
            }
        }
    }
}

/// An off_t argument: a cast unless it is a plain literal.
fn coff(e: &Expr) -> String {
    let t = cexpr(e, Ctx::Off);
    if is_constant(e) && !t.starts_with("UINT64_C") {
        t
    } else {
        format!("(off_t)({t})")
    }
}

/// A C string literal (trigraph-safe).
pub fn cstr(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '?' => o.push_str("\\?"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\{:03o}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Text safe inside a C block comment.
fn comment(s: &str) -> String {
    s.replace("*/", "* /").replace("??", "? ?")
}

pub struct Emitter<'a> {
    case: &'a Case,
    os: Os,
    /// C names used, with their value on this OS (for the #ifndef fallbacks).
    names: BTreeMap<String, Option<i64>>,
    map_vars: Vec<String>,
    uses_map_aligned: bool,
    /// FreeBSD's PROT_MAX(prot) macro (FreeBSD 13 and later) appears in a prot.
    uses_prot_max: bool,
}

impl<'a> Emitter<'a> {
    pub fn new(case: &'a Case, os: Os) -> Emitter<'a> {
        let mut map_vars: Vec<String> = Vec::new();
        for (i, m) in case.mappings.iter().enumerate() {
            let mut v: String = m
                .name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            v.insert_str(0, "map_");
            if map_vars.contains(&v) {
                let _ = write!(v, "_{i}");
            }
            map_vars.push(v);
        }
        Emitter {
            case,
            os,
            names: BTreeMap::new(),
            map_vars,
            uses_map_aligned: false,
            uses_prot_max: false,
        }
    }

    fn name(&mut self, name: &str, table: &Table) {
        self.names.insert(name.to_string(), table.value(name).ok());
    }

    /// A flag set as C: the names joined by `|`, raw bits as hex, `0` for none.
    fn flags(&mut self, set: &NameSet, table: &Table) -> String {
        if set.0.is_empty() {
            return "0".into();
        }
        let mut parts = Vec::new();
        for n in &set.0 {
            let raw = n.starts_with(|c: char| c.is_ascii_digit());
            if raw {
                // A raw bit pattern, for bits no name defines: as the planner reads it.
                let v = match n.strip_prefix("0x") {
                    Some(h) => u32::from_str_radix(h, 16).unwrap_or(0),
                    None => n.parse::<u32>().unwrap_or(0),
                };
                parts.push(format!("(int){v:#x}u"));
            } else if n.starts_with("MAP_ALIGNED(") {
                self.uses_map_aligned = true;
                parts.push(n.clone());
            } else if let Some(inner) = n
                .strip_prefix("PROT_MAX(")
                .and_then(|r| r.strip_suffix(')'))
            {
                // FreeBSD's macro; its argument's names get their fallbacks too, and a
                // header without it (Linux, FreeBSD 12) makes the program name it and exit 2.
                self.uses_prot_max = true;
                if let Ok(set) = NameSet::parse(inner, &names::PROT) {
                    for x in &set.0 {
                        self.name(x, &names::PROT);
                    }
                }
                parts.push(n.clone());
            } else {
                self.name(n, table);
                parts.push(n.clone());
            }
        }
        parts.join("|")
    }

    fn base_var(&self, base: &AddrBase) -> String {
        match base {
            AddrBase::Null => "0".into(),
            AddrBase::Result => "result".into(),
            AddrBase::Hole => "hole".into(),
            AddrBase::Top => "TOP".into(),
            AddrBase::Mapping(n) => self
                .case
                .mappings
                .iter()
                .position(|m| &m.name == n)
                .map_or_else(|| "0".into(), |i| self.map_vars[i].clone()),
        }
    }

    /// An address as a uintptr_t C expression.
    fn addr_value(&self, a: &AddrExpr) -> String {
        let base = self.base_var(&a.base);
        let Some(off) = &a.offset else {
            return base;
        };
        let text = if is_constant(off) {
            let v = off
                .eval(crate::expr::Env {
                    page: 1,
                    max: 0,
                    top: 0,
                })
                .unwrap_or(0);
            if v < 0 {
                format!("- {}", literal(-v))
            } else {
                format!("+ {}", literal(v))
            }
        } else {
            // The loader writes `base+x` as the expression `0+x`: drop the 0.
            let t = cexpr(off, Ctx::Size);
            match t.strip_prefix('0') {
                Some(rest) if rest.starts_with(['+', '-']) => {
                    format!("{} {}", &rest[..1], &rest[1..])
                }
                _ => format!("+ ({t})"),
            }
        };
        if base == "0" {
            match text.strip_prefix("+ ") {
                Some(t) => format!("(uintptr_t)({t})"),
                None => format!("(uintptr_t)(0 {text})"),
            }
        } else {
            format!("{base} {text}")
        }
    }

    /// An address as a `void *` argument.
    fn addr_arg(&self, a: &AddrExpr) -> String {
        if a.base == AddrBase::Null && a.offset.is_none() {
            return "NULL".into();
        }
        format!("(void *)(uintptr_t)({})", self.addr_value(a))
    }

    fn fd(&self, fd: &Fd) -> String {
        match fd {
            Fd::Object => "object_fd".into(),
            Fd::Second => "second_fd".into(),
            Fd::Num(n) => format!("{n}"),
        }
    }

    /// The family call `c`, recorded in `*o`: (C statements, the call as written, kind).
    fn call(&mut self, c: &Call) -> (String, String, &'static str) {
        let mut code = String::new();
        let (text, kind) = match c {
            Call::Mmap {
                addr,
                len,
                prot,
                flags,
                fd,
                offset,
            } => {
                let t = format!(
                    "mmap({}, {}, {}, {}, {}, {})",
                    self.addr_arg(addr),
                    cexpr(len, Ctx::Size),
                    self.flags(prot, &names::PROT),
                    self.flags(flags, &names::MAP),
                    self.fd(fd),
                    coff(offset)
                );
                let _ = writeln!(
                    code,
                    "\t\tvoid *addr = {};\n\t\tsize_t len = {};\n\t\tint prot = {};\n\t\tint flags = {};\n\t\tint fd = {};\n\t\toff_t offset = {};",
                    self.addr_arg(addr),
                    cexpr(len, Ctx::Size),
                    self.flags(prot, &names::PROT),
                    self.flags(flags, &names::MAP),
                    self.fd(fd),
                    coff(offset)
                );
                code.push_str("\t\tvoid *r = kernel_mmap(addr, len, prot, flags, fd, offset);\n");
                code.push_str("\t\tSET_ARGS(o, (uintptr_t)addr, len, prot, flags, fd, offset);\n");
                code.push_str("\t\tset_ret(o, r == MAP_FAILED ? -1 : (int64_t)(uintptr_t)r);\n");
                (t, "K_MMAP")
            }
            Call::Munmap { addr, len } => self.addr_len(&mut code, "munmap", addr, len, None),
            Call::Mprotect { addr, len, prot } => {
                let p = self.flags(prot, &names::PROT);
                let (text, kind) = self.addr_len(&mut code, "kernel_mprotect", addr, len, Some(p));
                // Shown as the man page names it.
                (text.replacen("kernel_mprotect", "mprotect", 1), kind)
            }
            Call::Msync { addr, len, flags } => {
                let p = self.flags(flags, &names::MS);
                self.addr_len(&mut code, "msync", addr, len, Some(p))
            }
            Call::Madvise { addr, len, advice } => {
                let p = self.flags(advice, &names::MADV);
                self.addr_len(&mut code, "madvise", addr, len, Some(p))
            }
            Call::Mincore { addr, len, vec } => {
                let _ = writeln!(
                    code,
                    "\t\tvoid *addr = {};\n\t\tsize_t len = {};",
                    self.addr_arg(addr),
                    cexpr(len, Ctx::Size)
                );
                // A case's `vec` is an address only the kernel writes to (EFAULT cases).
                let v = match vec {
                    Some(v) => self.addr_arg(v),
                    None => "mincore_vec(len)".to_string(),
                };
                let _ = writeln!(code, "\t\tvoid *vec = {v};");
                code.push_str("\t\tint r = mincore(addr, len, vec);\n");
                code.push_str("\t\tSET_ARGS(o, (uintptr_t)addr, len, (uintptr_t)vec, 0, 0, 0);\n");
                code.push_str("\t\tset_ret(o, r);\n");
                (
                    format!(
                        "mincore({}, {}, {})",
                        self.addr_arg(addr),
                        cexpr(len, Ctx::Size),
                        vec.as_ref().map_or("vec".to_string(), |v| self.addr_arg(v))
                    ),
                    "K_OTHER",
                )
            }
            Call::Mlock { addr, len } => self.addr_len(&mut code, "mlock", addr, len, None),
            Call::Munlock { addr, len } => self.addr_len(&mut code, "munlock", addr, len, None),
            Call::Mremap {
                addr,
                len,
                new_len,
                flags,
                new_addr,
            } => {
                let f = self.flags(flags, &names::MREMAP);
                let _ = writeln!(
                    code,
                    "\t\tvoid *old_address = {};\n\t\tsize_t old_size = {};\n\t\tsize_t new_size = {};\n\t\tint flags = {f};\n\t\tvoid *new_address = {};",
                    self.addr_arg(addr),
                    cexpr(len, Ctx::Size),
                    cexpr(new_len, Ctx::Size),
                    self.addr_arg(new_addr)
                );
                code.push_str(
                    "\t\tvoid *r = kernel_mremap(old_address, old_size, new_size, flags, new_address);\n",
                );
                code.push_str("\t\tSET_ARGS(o, (uintptr_t)old_address, old_size, new_size, flags, (uintptr_t)new_address, 0);\n");
                code.push_str("\t\tset_ret(o, r == MAP_FAILED ? -1 : (int64_t)(uintptr_t)r);\n");
                (
                    format!(
                        "mremap({}, {}, {}, {f}, {})",
                        self.addr_arg(addr),
                        cexpr(len, Ctx::Size),
                        cexpr(new_len, Ctx::Size),
                        self.addr_arg(new_addr)
                    ),
                    "K_MREMAP",
                )
            }
            Call::Minherit { addr, len, inherit } => {
                let p = self.flags(inherit, &names::INHERIT);
                self.addr_len(&mut code, "minherit", addr, len, Some(p))
            }
            Call::Mlockall { flags } => {
                let f = self.flags(flags, &names::MCL);
                let _ = writeln!(
                    code,
                    "\t\tint r = mlockall({f});\n\t\tSET_ARGS(o, {f}, 0, 0, 0, 0, 0);\n\t\tset_ret(o, r);"
                );
                (format!("mlockall({f})"), "K_OTHER")
            }
            Call::Munlockall => {
                code.push_str("\t\tint r = munlockall();\n\t\tSET_ARGS(o, 0, 0, 0, 0, 0, 0);\n\t\tset_ret(o, r);\n");
                ("munlockall()".into(), "K_OTHER")
            }
            Call::Mlock2 { addr, len, flags } => {
                let f = self.flags(flags, &names::MLOCK);
                let (t, k) = self.addr_len(&mut code, "repro_mlock2", addr, len, Some(f));
                (t.replacen("repro_mlock2", "mlock2", 1), k)
            }
            Call::ProcessMadvise {
                pidfd,
                iov,
                vlen,
                advice,
                flags,
            } => {
                let a = self.flags(advice, &names::MADV);
                let fd = match pidfd {
                    Pidfd::Own | Pidfd::Exited => "pmadv_pidfd".to_string(),
                    Pidfd::Object => "object_fd".to_string(),
                    Pidfd::Num(n) => n.to_string(),
                };
                let entries: Vec<String> = iov
                    .iter()
                    .map(|(ad, l)| format!("{{ {}, {} }}", self.addr_arg(ad), cexpr(l, Ctx::Size)))
                    .collect();
                let n = iov.len();
                let vlen = vlen.unwrap_or(n as u64);
                let _ = writeln!(
                    code,
                    "\t\tstruct iovec iov[{}] = {{ {} }};",
                    n.max(1),
                    if entries.is_empty() {
                        "{ 0 }".to_string()
                    } else {
                        entries.join(", ")
                    }
                );
                let _ = writeln!(
                    code,
                    "\t\tlong r = syscall(SYS_process_madvise, (long){fd}, iov, (size_t){vlen}u, (long)({a}), (long)(unsigned){flags}u);"
                );
                let _ = writeln!(
                    code,
                    "\t\tSET_ARGS(o, (uintptr_t){fd}, (uintptr_t)iov, {vlen}u, (uintptr_t)({a}), {flags}u, 0);"
                );
                code.push_str("\t\tset_ret(o, r);\n");
                (
                    format!(
                        "process_madvise({fd}, {{ {} }}, {vlen}, {a}, {flags})",
                        entries.join(", ")
                    ),
                    "K_OTHER",
                )
            }
            Call::Mseal { addr, len, flags } => {
                let f = self.flags(flags, &names::MSEAL);
                let (t, k) = self.addr_len(&mut code, "repro_mseal", addr, len, Some(f));
                (t.replacen("repro_mseal", "mseal", 1), k)
            }
            Call::Mdwe { flags } => {
                let f = self.flags(flags, &names::MDWE);
                let _ = writeln!(
                    code,
                    "\t\tint r = repro_mdwe({f});\n\t\tSET_ARGS(o, PR_SET_MDWE, {f}, 0, 0, 0, 0);\n\t\tset_ret(o, r);"
                );
                (format!("prctl(PR_SET_MDWE, {f}, 0, 0, 0)"), "K_OTHER")
            }
            Call::ShmOpen {
                name,
                oflag,
                mode,
                umask,
            } => {
                let f = self.flags(oflag, &names::SHM_OFLAG);
                let (m, u) = (coct(*mode), coct(*umask));
                let _ = writeln!(
                    code,
                    "\t\tlowest_free = lowest_free_fd();\n\t\tumask({u});\n\t\tint r = repro_shm_open({f}, {m});\n\t\tSET_ARGS(o, 0, {f}, {m}, 0, 0, 0);\n\t\tset_ret(o, r);"
                );
                (
                    format!("shm_open(<{} name>, {f}, {m})", name.key()),
                    "K_OTHER",
                )
            }
        };
        (code, text, kind)
    }

    /// Calls of the form f(addr, len[, third]) returning 0 or -1.
    fn addr_len(
        &self,
        code: &mut String,
        f: &str,
        addr: &AddrExpr,
        len: &Expr,
        third: Option<String>,
    ) -> (String, &'static str) {
        let _ = writeln!(
            code,
            "\t\tvoid *addr = {};\n\t\tsize_t len = {};",
            self.addr_arg(addr),
            cexpr(len, Ctx::Size)
        );
        match &third {
            Some(t) => {
                let _ = writeln!(code, "\t\tint r = {f}(addr, len, {t});");
                let _ = writeln!(code, "\t\tSET_ARGS(o, (uintptr_t)addr, len, {t}, 0, 0, 0);");
            }
            None => {
                let _ = writeln!(code, "\t\tint r = {f}(addr, len);");
                code.push_str("\t\tSET_ARGS(o, (uintptr_t)addr, len, 0, 0, 0, 0);\n");
            }
        }
        code.push_str("\t\tset_ret(o, r);\n");
        let text = match third {
            Some(t) => format!(
                "{f}({}, {}, {t})",
                self.addr_arg(addr),
                cexpr(len, Ctx::Size)
            ),
            None => format!("{f}({}, {})", self.addr_arg(addr), cexpr(len, Ctx::Size)),
        };
        (text, "K_OTHER")
    }

    /// A C initializer of `struct expect`.
    fn expect(&mut self, o: &Outcome) -> String {
        let text = cstr(&o.to_string());
        match o {
            Outcome::Ok => format!("{{ E_OK, {{ 0 }}, 0, 0, -1, 0, 0, {text} }}"),
            Outcome::Errno(list) => {
                for e in list {
                    self.name(e, &names::ERRNO);
                }
                format!(
                    "{{ E_ERRNO, {{ {} }}, {}, 0, -1, 0, 0, {text} }}",
                    list.join(", "),
                    list.len()
                )
            }
            Outcome::Fault { signal, code } => {
                self.name(signal, &names::SIGNAL);
                let c = code.clone().unwrap_or_else(|| "-1".into());
                format!("{{ E_FAULT, {{ 0 }}, 0, {signal}, {c}, 0, 0, {text} }}")
            }
            Outcome::Bytes(b) => {
                let (k, v) = match b {
                    Bytes::Zeros => ("B_ZEROS", 0),
                    Bytes::Object => ("B_OBJECT", 0),
                    Bytes::Byte(v) => ("B_BYTE", *v),
                };
                format!("{{ E_BYTES, {{ 0 }}, 0, 0, -1, {k}, {v:#04x}, {text} }}")
            }
            Outcome::Observe => format!("{{ E_OBSERVE, {{ 0 }}, 0, 0, -1, 0, 0, {text} }}"),
        }
    }

    /// The deviations of this OS recorded for the call (`None`) or a step, in the case's
    /// order: the judge takes the first whose release range holds on the running kernel.
    fn deviations(&self, step: Option<usize>) -> Vec<&'a Deviation> {
        self.case
            .deviations
            .iter()
            .filter(|d| d.os == self.os && d.step == step)
            .collect()
    }

    /// Declares `name_K` for each deviation of `step` into `decls`; the C expression that
    /// picks the one recorded for the running kernel's release (NULL: none).
    fn deviation_pick(&mut self, step: Option<usize>, name: &str, decls: &mut String) -> String {
        let mut pick = String::new();
        for (k, d) in self.deviations(step).iter().enumerate() {
            let _ = writeln!(
                decls,
                "static const struct expect {name}_{k} = {};",
                self.expect(&d.observed)
            );
            // The deviation's scope, tested when the reproducer runs: the kernel release
            // (uname -r), the architecture it was built for, and native or compat.
            let mut conds = Vec::new();
            if let Some(r) = &d.release {
                conds.push(format!("release_in({})", cstr(r)));
            }
            if !d.arch.is_empty() {
                conds.push(format!("arch_in({})", cstr(&d.arch.join(","))));
            }
            if let Some(abi) = d.abi {
                conds.push(format!("abi_is({})", cstr(abi.key())));
            }
            if conds.is_empty() {
                let _ = write!(pick, "&{name}_{k}");
                return format!("({pick})");
            }
            let _ = write!(pick, "{} ? &{name}_{k} : ", conds.join(" && "));
        }
        format!("({pick}NULL)")
    }

    /// The file offset that a read at `addr` sees, for `bytes = "object"` (as the planner).
    fn file_offset_of(&self, addr: &AddrExpr) -> String {
        let base = match &addr.base {
            AddrBase::Result => match &self.case.call {
                Call::Mmap { offset, .. } => cexpr(offset, Ctx::Off),
                _ => "0".into(),
            },
            AddrBase::Mapping(n) => self
                .case
                .mappings
                .iter()
                .find(|m| &m.name == n)
                .map_or_else(|| "0".into(), |m| cexpr(&m.offset, Ctx::Off)),
            AddrBase::Null | AddrBase::Hole | AddrBase::Top => "0".into(),
        };
        match &addr.offset {
            Some(e) => format!("(uint64_t)({base}) + (uint64_t)({})", cexpr(e, Ctx::Size)),
            None => format!("(uint64_t)({base})"),
        }
    }

    fn check(&self, b: Option<Bytes>, file_off: impl FnOnce() -> String) -> Option<String> {
        b.map(|b| match b {
            Bytes::Zeros => "{ B_ZEROS, 0, 0 }".to_string(),
            Bytes::Byte(v) => format!("{{ B_BYTE, {v:#04x}, 0 }}"),
            Bytes::Object => format!("{{ B_OBJECT, 0, {} }}", file_off()),
        })
    }

    /// One step: (C statements recording into `*o`, the step as written, kind).
    fn action(&mut self, a: &Action) -> (String, String, &'static str) {
        let mut code = String::new();
        match a {
            Action::Read { addr, len, bytes } => {
                let chk = self.check(*bytes, || self.file_offset_of(addr));
                let text = format!(
                    "read {} byte(s) at {}{}",
                    cexpr(len, Ctx::Size),
                    self.addr_value(addr),
                    bytes.map_or(String::new(), |b| format!(", comparing with bytes {b}"))
                );
                match chk {
                    Some(c) => {
                        let _ = writeln!(
                            code,
                            "\t\tconst struct check c = {c};\n\t\tstep_read(o, {}, {}, &c);",
                            self.addr_value(addr),
                            cexpr(len, Ctx::Size)
                        );
                    }
                    None => {
                        let _ = writeln!(
                            code,
                            "\t\tstep_read(o, {}, {}, NULL);",
                            self.addr_value(addr),
                            cexpr(len, Ctx::Size)
                        );
                    }
                }
                (code, text, "K_OTHER")
            }
            Action::Write { addr, len, byte } => {
                let _ = writeln!(
                    code,
                    "\t\tstep_write(o, {}, {}, {byte:#04x});",
                    self.addr_value(addr),
                    cexpr(len, Ctx::Size)
                );
                let text = format!(
                    "write {} byte(s) {byte:#04x} at {}",
                    cexpr(len, Ctx::Size),
                    self.addr_value(addr)
                );
                (code, text, "K_OTHER")
            }
            Action::Fork => (String::new(), "fork()".into(), "K_FORK"),
            Action::Call(c) => self.call(c),
            Action::Ftruncate {
                size,
                via_result: true,
            } => {
                let _ = writeln!(
                    code,
                    "\t\tstep_ftruncate_fd(o, (int)result, {});",
                    coff(size)
                );
                (
                    code,
                    format!("ftruncate(shm_open's fd, {})", coff(size)),
                    "K_OTHER",
                )
            }
            Action::FdStat { field, want } => {
                let f = match field {
                    FdField::Size => "FD_SIZE",
                    FdField::Mode => "FD_MODE",
                    FdField::Uid => "FD_UID",
                    FdField::Gid => "FD_GID",
                    FdField::Cloexec => "FD_CLOEXEC_BIT",
                    FdField::Accmode => "FD_ACCMODE",
                    FdField::Lowest => "FD_LOWEST",
                };
                let w = match want {
                    FdWant::Size(e) => format!("(int64_t)({})", coff(e)),
                    FdWant::Value(v) => format!("{v}"),
                    FdWant::Euid => "(int64_t)geteuid()".into(),
                    FdWant::Egid => "(int64_t)getegid()".into(),
                };
                let _ = writeln!(
                    code,
                    "\t\tif (!step_fd_stat(o, (int)result, {f}, {w})) {{\n\t\t\tfail_stage(STAGE_STEP, STEP_INDEX);\n\t\t\treturn;\n\t\t}}"
                );
                (
                    code,
                    format!("the {} of shm_open's fd is {w}", field.key()),
                    "K_OTHER",
                )
            }
            Action::Ftruncate { size, .. } => {
                let _ = writeln!(code, "\t\tstep_ftruncate(o, {});", coff(size));
                (code, format!("ftruncate(fd, {})", coff(size)), "K_OTHER")
            }
            Action::Pwrite { offset, len, byte } => {
                let _ = writeln!(
                    code,
                    "\t\tstep_pwrite(o, {}, {}, {byte:#04x});",
                    coff(offset),
                    cexpr(len, Ctx::Size)
                );
                let text = format!(
                    "pwrite(fd, <{} bytes of {byte:#04x}>, {}, {})",
                    cexpr(len, Ctx::Size),
                    cexpr(len, Ctx::Size),
                    coff(offset)
                );
                (code, text, "K_OTHER")
            }
            Action::CloseObject => {
                code.push_str("\t\tstep_close(o);\n");
                (code, "close(object_fd)".into(), "K_OTHER")
            }
            Action::Readback {
                offset,
                len,
                bytes,
                size,
            } => {
                let chk = self.check(*bytes, || format!("(uint64_t)({})", coff(offset)));
                let (has, want) = match size {
                    Some(s) => ("1", format!("(int64_t)({})", cexpr(s, Ctx::Off))),
                    None => ("0", "0".into()),
                };
                let c = match chk {
                    Some(c) => {
                        let _ = writeln!(code, "\t\tconst struct check c = {c};");
                        "&c"
                    }
                    None => "NULL",
                };
                let _ = writeln!(
                    code,
                    "\t\tint fd = file_fd(O_RDONLY);\n\t\tstep_readback(o, fd, {}, {}, {c}, {has}, {want});\n\t\tdone_with(fd);",
                    coff(offset),
                    cexpr(len, Ctx::Size)
                );
                let text = format!(
                    "pread(new fd, buf, {}, {}) and fstat",
                    cexpr(len, Ctx::Size),
                    coff(offset)
                );
                (code, text, "K_READBACK")
            }
            Action::Mincore { addr, len, vector } => {
                let v: Vec<String> = vector.iter().map(|b| b.to_string()).collect();
                let _ = writeln!(
                    code,
                    "\t\tstatic const unsigned char want[] = {{ {} }};\n\t\tstep_mincore(o, {}, {}, want, {});",
                    v.join(", "),
                    self.addr_value(addr),
                    cexpr(len, Ctx::Size),
                    vector.len()
                );
                let text = format!(
                    "mincore({}, {}, vec), resident per page [{}]",
                    self.addr_value(addr),
                    cexpr(len, Ctx::Size),
                    v.join(", ")
                );
                (code, text, "K_OTHER")
            }
            Action::Locked { bytes } => {
                let _ = writeln!(
                    code,
                    "\t\tif (!step_locked(o, {})) {{\n\t\t\tfail_stage(STAGE_STEP, STEP_INDEX);\n\t\t\treturn;\n\t\t}}",
                    cexpr(bytes, Ctx::Size)
                );
                let text = format!(
                    "VmLck of /proc/self/status is {} bytes",
                    cexpr(bytes, Ctx::Size)
                );
                (code, text, "K_OTHER")
            }
            Action::Vma {
                addr,
                start,
                end,
                perms,
            } => {
                let opt = |a: &Option<AddrExpr>| match a {
                    Some(a) => format!("1, {}", self.addr_value(a)),
                    None => "0, 0".into(),
                };
                let p = perms.map_or("NULL".into(), |p| {
                    format!("\"{}\"", String::from_utf8_lossy(&p))
                });
                let _ = writeln!(
                    code,
                    "\t\tif (!step_vma(o, {}, {}, {}, {p})) {{\n\t\t\tfail_stage(STAGE_STEP, STEP_INDEX);\n\t\t\treturn;\n\t\t}}",
                    self.addr_value(addr),
                    opt(start),
                    opt(end)
                );
                let mut text = format!(
                    "the VMA (Linux: /proc/self/maps line, FreeBSD: KERN_PROC_VMMAP entry) containing {}",
                    self.addr_value(addr)
                );
                if let Some(a) = start {
                    text.push_str(&format!(" starts at {}", self.addr_value(a)));
                }
                if let Some(a) = end {
                    text.push_str(&format!(" ends at {}", self.addr_value(a)));
                }
                if let Some(p) = perms {
                    text.push_str(&format!(" shows {}", String::from_utf8_lossy(p)));
                }
                (code, text, "K_VMA")
            }
            Action::WriteRet { addr } => {
                let _ = writeln!(
                    code,
                    "\t\tif (!step_write_ret(o, {})) {{\n\t\t\tfail_stage(STAGE_STEP, STEP_INDEX);\n\t\t\treturn;\n\t\t}}",
                    self.addr_value(addr)
                );
                let text = format!(
                    "write this architecture's return instruction at {} and clear the instruction cache",
                    self.addr_value(addr)
                );
                (code, text, "K_OTHER")
            }
            Action::Exec { addr } => {
                let _ = writeln!(code, "\t\tstep_exec(o, {});", self.addr_value(addr));
                let text = format!("((void (*)(void))({}))()", self.addr_value(addr));
                (code, text, "K_OTHER")
            }
            Action::Buffer {
                op,
                addr,
                len,
                fd,
                offset,
                count,
                byte,
            } => {
                let c_op = match op {
                    IoOp::Read => "IO_READ",
                    IoOp::Write => "IO_WRITE",
                    IoOp::Pread => "IO_PREAD",
                    IoOp::Pwrite => "IO_PWRITE",
                };
                let (pipe, fd_text) = match fd {
                    IoFd::Object => (0, "object_fd"),
                    IoFd::Pipe => (1, "pipe_fd"),
                    IoFd::Second => (2, "second_fd"),
                };
                let count = count.as_ref().unwrap_or(len);
                let _ = writeln!(
                    code,
                    "\t\tif (!step_io(o, {c_op}, {}, {}, {pipe}, {}, {}, {byte:#04x})) {{\n\t\t\tfail_stage(STAGE_STEP, STEP_INDEX);\n\t\t\treturn;\n\t\t}}",
                    self.addr_value(addr),
                    cexpr(len, Ctx::Size),
                    coff(offset),
                    cexpr(count, Ctx::Size)
                );
                let off = if op.positioned() {
                    format!(", {}", coff(offset))
                } else {
                    String::new()
                };
                let text = format!(
                    "{}({fd_text}, (void *)({}), {}{off}), a success returning {}",
                    op.func(),
                    self.addr_value(addr),
                    cexpr(len, Ctx::Size),
                    cexpr(count, Ctx::Size)
                );
                (code, text, "K_BUFFER")
            }
        }
    }

    /// `prepare` and then, for a shm_open call, the name it passes (made before fork).
    fn with_shm_name(&self, prepare: String) -> String {
        let Call::ShmOpen { name, .. } = &self.case.call else {
            return prepare;
        };
        let (which, mode, size) = match name {
            ShmName::New => ("SHM_NEW", 0, "0".to_string()),
            ShmName::Existing { mode, size } => (
                "SHM_EXISTING",
                *mode,
                format!("(int64_t)({})", cexpr(size, Ctx::Off)),
            ),
            ShmName::Missing => ("SHM_MISSING", 0, "0".into()),
            ShmName::TooLongComponent => ("SHM_TOO_LONG_COMPONENT", 0, "0".into()),
            ShmName::TooLong => ("SHM_TOO_LONG", 0, "0".into()),
        };
        let unpriv = i32::from(self.case.privilege == Privilege::Unprivileged);
        format!(
            "({prepare} && prepare_shm_name({which}, {}, {size}, {unpriv}))",
            coct(mode)
        )
    }

    fn object(&mut self, o: Option<&Object>) -> (String, String) {
        let Some(o) = o else {
            return (
                self.with_shm_name(
                    "prepare_object(OBJ_NONE, FS_DISK, ATTR_NONE, 0, C_SEQ, 0)".into(),
                ),
                "open_object(0, 0, -1)".into(),
            );
        };
        let kind = match o.kind {
            ObjectKind::File => "OBJ_FILE",
            ObjectKind::Dir => "OBJ_DIR",
            ObjectKind::PipeRead => "OBJ_PIPE_READ",
            ObjectKind::PipeWrite => "OBJ_PIPE_WRITE",
            ObjectKind::Socket => "OBJ_SOCKET",
            ObjectKind::TcpSocket => "OBJ_TCP_SOCKET",
            ObjectKind::DevZero => "OBJ_DEV_ZERO",
            ObjectKind::DevNull => "OBJ_DEV_NULL",
            ObjectKind::DevRandom => "OBJ_DEV_RANDOM",
            ObjectKind::Memfd => "OBJ_MEMFD",
            ObjectKind::Shm => "OBJ_SHM",
            ObjectKind::ClosedFd => "OBJ_CLOSED_FD",
        };
        let (content, byte) = match o.content {
            Content::Seq => ("C_SEQ", 0),
            Content::Zeros => ("C_ZEROS", 0),
            Content::Byte(b) => ("C_BYTE", b),
        };
        let fs = match o.fs {
            Fs::Disk | Fs::Storage => "FS_DISK",
            Fs::Tmpfs => "FS_TMPFS",
            Fs::Noexec => "FS_NOEXEC",
        };
        let attr = match o.attr {
            None => "ATTR_NONE",
            Some(Attr::AppendOnly) => "ATTR_APPEND_ONLY",
        };
        let size = if o.kind.has_content() {
            format!("(int64_t)({})", cexpr(&o.size, Ctx::Off))
        } else {
            "0".into()
        };
        let prepare =
            format!("prepare_object({kind}, {fs}, {attr}, {size}, {content}, {byte:#04x})");
        let prepare = self.with_shm_name(prepare);
        let open = self.flags(&o.open, &names::OPEN);
        let seals = self.flags(&o.seals, &names::SEAL);
        let second = match &o.second {
            Some(s) => self.flags(s, &names::OPEN),
            None => "-1".into(),
        };
        (prepare, format!("open_object({open}, {seals}, {second})"))
    }
}

/// A permission mode as a C octal constant (`0640`).
fn coct(m: u32) -> String {
    format!("0{m:03o}")
}

/// The whole C file for `case` on `os`.
pub fn source(case: &Case, registry: &Registry, os: Os, arch: &str) -> String {
    pieces(case, registry, os, arch).file()
}

/// A reproducer in the parts that differ from case to case, around the fixed PRELUDE and
/// [`RUNTIME`](crate::repro::RUNTIME): [`Pieces::file`] is the standalone file, and
/// `repro --check` compiles many cases' parts around one runtime (`super::bundle`).
#[derive(Debug, Clone)]
pub struct Pieces {
    /// The header comment and `#define CASE_ID`.
    pub head: String,
    /// The largest step count the record must hold.
    pub max_steps: usize,
    /// The `#ifndef` guard of every C name the case uses.
    pub names: String,
    /// `LACKING`, the names this libc lacks.
    pub lacking: String,
    /// The errno and signal name tables (the same for every case of an OS).
    pub tables: String,
    /// From `/* ---- This case ---- */` to the end of `main`.
    pub part: String,
}

impl Pieces {
    /// The standalone reproducer.
    pub fn file(&self) -> String {
        let mut out = String::with_capacity(crate::repro::RUNTIME.len() + 16 * 1024);
        out.push_str(&self.head);
        out.push_str(PRELUDE);
        let _ = writeln!(out, "#define REPRO_MAX_STEPS {}", self.max_steps);
        out.push_str(&self.names);
        out.push_str(&self.lacking);
        out.push_str(&self.tables);
        out.push_str(crate::repro::RUNTIME);
        out.push_str(&self.part);
        out
    }
}

pub fn pieces(case: &Case, registry: &Registry, os: Os, arch: &str) -> Pieces {
    let mut e = Emitter::new(case, os);
    let mut body = String::new();
    let w = &mut body;

    // The child: setup, call, steps.
    let (prepare, open) = e.object(case.object.as_ref());
    w.push_str("/* Runs in the forked child: setup, the call, the steps. */\nstatic void run_case(void)\n{\n");
    w.push_str(
        "\tif (!install_handlers()) {\n\t\tfail_stage(STAGE_SIGNALS, 0);\n\t\treturn;\n\t}\n",
    );
    let _ = writeln!(
        w,
        "\tif (!{open}) {{\n\t\tfail_stage(STAGE_OBJECT, 0);\n\t\treturn;\n\t}}"
    );
    let mapping = |e: &mut Emitter, w: &mut String, i: usize, m: &Mapping| {
        let mut flags = e.flags(&m.flags, &names::MAP);
        if m.at.is_some() {
            flags = if flags == "0" {
                "MAP_FIXED".into()
            } else {
                format!("{flags}|MAP_FIXED")
            };
        }
        let addr =
            m.at.as_ref()
                .map_or_else(|| "NULL".into(), |a| e.addr_arg(a));
        let fill = m.fill.map_or_else(|| "-1".into(), |b| format!("{b:#04x}"));
        let prot = e.flags(&m.prot, &names::PROT);
        let _ = writeln!(
            w,
            "\t/* mapping \"{}\" */\n\tif (!make_mapping(&{}, {addr}, {}, {}, {flags}, {}, {}, {fill})) {{\n\t\tfail_stage(STAGE_MAPPING, {i});\n\t\treturn;\n\t}}",
            comment(&m.name),
            e.map_vars[i],
            cexpr(&m.len, Ctx::Size),
            prot,
            e.fd(&m.fd),
            coff(&m.offset),
        );
    };
    w.push_str("\t/* Mappings without `at` first, so that they cannot land in the hole. */\n");
    for (i, m) in case
        .mappings
        .iter()
        .enumerate()
        .filter(|(_, m)| m.at.is_none())
    {
        mapping(&mut e, w, i, m);
    }
    if let Call::Mincore { len, vec: None, .. } = &case.call {
        let _ = writeln!(
            w,
            "\tmake_mincore_vec({}); /* before the hole, so it cannot land there */",
            cexpr(len, Ctx::Size)
        );
    }
    let _ = writeln!(
        w,
        "\tif (!find_hole({})) {{\n\t\tfail_stage(STAGE_HOLE, 0);\n\t\treturn;\n\t}}",
        cexpr(&case.hole, Ctx::Size)
    );
    // As the harness (plan.rs fixed_absolute): a MAP_FIXED call at an absolute address
    // must not replace this program's own image or heap.
    if let Some((addr, len)) = crate::plan::absolute_fixed_target(case) {
        let _ = writeln!(
            w,
            "\tif (range_in_use({}, {})) {{ /* our own image or heap is there */\n\t\terrno = EEXIST;\n\t\tfail_stage(STAGE_HOLE, 0);\n\t\treturn;\n\t}}",
            e.addr_value(addr),
            cexpr(len, Ctx::Size)
        );
    }
    for (i, m) in case
        .mappings
        .iter()
        .enumerate()
        .filter(|(_, m)| m.at.is_some())
    {
        mapping(&mut e, w, i, m);
    }
    for (i, c) in case.setup.iter().enumerate() {
        let (code, text, _) = e.call(c);
        let _ = write!(
            w,
            "\t/* setup call {}: {} */\n\t{{\n\t\tstruct outcome so = {{ 0 }}, *o = &so;\n{code}\t\tif (so.state != ST_OK) {{\n\t\t\terrno = so.err;\n\t\t\tfail_stage(STAGE_SETUP, {i});\n\t\t\treturn;\n\t\t}}\n\t}}\n",
            i + 1,
            comment(&text)
        );
    }
    if let Call::ProcessMadvise {
        pidfd: pidfd @ (Pidfd::Own | Pidfd::Exited),
        ..
    } = &case.call
    {
        let _ = write!(
            w,
            "\t/* the call's pidfd */\n\tpmadv_pidfd = make_pidfd({});\n\tif (pmadv_pidfd < 0) {{\n\t\tfail_stage(STAGE_SETUP, {});\n\t\treturn;\n\t}}\n",
            i32::from(*pidfd == Pidfd::Exited),
            case.setup.len()
        );
    }
    match case.privilege {
        Privilege::Unprivileged => w.push_str(
            "\tif (geteuid() == 0 && !drop_privilege()) {\n\t\tfail_stage(STAGE_PRIVILEGE, 0);\n\t\treturn;\n\t}\n",
        ),
        Privilege::Any | Privilege::Root => {}
    }
    for (i, (name, v)) in case.limits.iter().enumerate() {
        e.name(name, &names::RLIMIT);
        let _ = writeln!(
            w,
            "\tif (!set_soft_limit({name}, {})) {{\n\t\tfail_stage(STAGE_LIMITS, {i});\n\t\treturn;\n\t}}",
            cexpr(v, Ctx::Rlim)
        );
    }
    let (code, call_text, call_kind) = e.call(&case.call);
    // As the planner: the steps also run after a call this OS expects to fail.
    let after_failure =
        !case.steps.is_empty() && matches!(case.expect.for_os(os), Outcome::Errno(_));
    let steps_ran = if after_failure {
        "rec->call.state == ST_OK || rec->call.state == ST_ERRNO"
    } else {
        "rec->call.state == ST_OK"
    };
    let _ = write!(
        w,
        "\t/* The call under test. */\n\t{{\n\t\tstruct outcome *o = &rec->call;\n{code}\t}}\n"
    );
    if let Some(p) = &case.placed {
        let end = p.end.as_ref().unwrap_or(&p.at);
        let _ = writeln!(
            w,
            "\t/* Where the mapping must lie ({}): the addresses, resolved now. */\n\tif (rec->call.state == ST_OK) {{\n\t\trec->placed = 1;\n\t\trec->placed_at[0] = (uint64_t)({});\n\t\trec->placed_at[1] = (uint64_t)({});\n\t}}",
            comment(&p.to_string()),
            e.addr_value(&p.at),
            e.addr_value(end)
        );
    }
    if after_failure {
        let _ = writeln!(
            w,
            "\t/* The call is expected to fail: the steps show what it left in place. */\n\tif (!({steps_ran}))\n\t\treturn;"
        );
    } else {
        w.push_str(
            "\tif (rec->call.state != ST_OK)\n\t\treturn;\n\tresult = (uintptr_t)rec->call.ret;\n",
        );
    }
    let mut step_texts = Vec::new();
    let mut step_kinds = Vec::new();
    for (i, s) in case.steps.iter().enumerate() {
        let who = match s.who {
            Who::Parent => 0,
            Who::Child => 1,
            Who::Grandchild => 2,
        };
        let (code, text, kind) = e.action(&s.action);
        let code = code.replace("STEP_INDEX", &i.to_string());
        let _ = writeln!(
            w,
            "\t/* step {}{}: {} */",
            i + 1,
            match who {
                1 => ", in the child",
                2 => ", in the grandchild",
                _ => "",
            },
            comment(&text)
        );
        if let Action::Fork = s.action {
            let _ = writeln!(w, "\tif (my_turn({who}) && !step_fork({i}))\n\t\treturn;");
        } else {
            let _ = write!(
                w,
                "\tif (my_turn({who})) {{\n\t\tstruct outcome *o = &rec->steps[{i}];\n{code}\t}}\n"
            );
        }
        step_texts.push(text);
        step_kinds.push(kind);
    }
    w.push_str("\tend_steps();\n}\n\n");

    // The judge, as the suite's: the call, then the steps when the call succeeded.
    let want_call = e.case.expect.for_os(os).clone();
    let mut decls = String::new();
    let _ = writeln!(
        decls,
        "static const struct expect want_call = {};",
        e.expect(&want_call)
    );
    let pick_call = e.deviation_pick(None, "dev_call", &mut decls);
    let mut judge = String::new();
    let j = &mut judge;
    j.push_str("/* Judges the record as the suite's judge does; prints a line per step. */\nstatic int judge(void)\n{\n\tint v;\n");
    j.push_str("\tif (end_kind != END_EXITED || end_value != 0) {\n\t\tprintf(\"the child ended abnormally (no observation)\\n\");\n\t\treturn V_FAIL;\n\t}\n");
    j.push_str("\tif (rec->failed_stage != STAGE_DONE) {\n\t\tchar e[64];\n\t\terrno_name(e, sizeof e, rec->failed_errno);\n\t\tprintf(\"setup failed at %s #%u: %s\\n\", STAGE_NAME[rec->failed_stage < STAGE_COUNT ? rec->failed_stage : 0], rec->failed_index, e);\n\t\treturn V_SETUP_FAILED;\n\t}\n");
    let _ = writeln!(
        j,
        "\tconst struct expect *dev_call = {pick_call};\n\tv = judge_one(&rec->call, &want_call, dev_call);\n\tprint_line(\"call\", {}, &rec->call, &want_call, dev_call, v);",
        cstr(&call_text)
    );
    if let Call::Mmap { flags, .. } = &case.call {
        let exact = flags
            .0
            .iter()
            .any(|f| f == "MAP_FIXED" || f == "MAP_FIXED_NOREPLACE");
        j.push_str("\tif (rec->call.state == ST_OK && rec->call.ret % P != rec->call.args[5] % P) {\n\t\tprintf(\"    mmap returned %#llx, which is not page aligned\\n\", (unsigned long long)rec->call.ret);\n\t\tv = V_FAIL;\n\t}\n");
        if exact {
            j.push_str("\tif (rec->call.state == ST_OK && rec->call.ret != rec->call.args[0]) {\n\t\tprintf(\"    mmap returned %#llx, not the fixed address\\n\", (unsigned long long)rec->call.ret);\n\t\tv = V_FAIL;\n\t}\n");
        }
    }
    if let Some(p) = &case.placed {
        let len = match &case.call {
            Call::Mremap { .. } => "rec->call.args[2]",
            _ => "rec->call.args[1]",
        };
        let holds = match p.how {
            Placement::Equals => "ret == at",
            Placement::NotEqual => "ret != at",
            Placement::Within => "ret >= at && last >= ret && last <= end",
            Placement::Below => "last >= ret && last <= at",
        };
        let _ = writeln!(
            j,
            "\tif (rec->call.state == ST_OK) {{\n\t\tuint64_t ret = rec->call.ret, len = {len}, last = ret + len;\n\t\tuint64_t at = rec->placed_at[0], end = rec->placed_at[1];\n\t\t(void)at; (void)end; (void)last;\n\t\tif (!rec->placed || !({holds})) {{\n\t\t\tprintf(\"    the mapping at %#llx (length %#llx) is not placed %s\\n\", (unsigned long long)ret, (unsigned long long)len, {});\n\t\t\tv = V_FAIL;\n\t\t}}\n\t}}",
            cstr(&p.to_string())
        );
    }
    let _ = writeln!(j, "\tif (!({steps_ran}))\n\t\treturn v;");
    for (i, s) in case.steps.iter().enumerate() {
        if let Action::Fork = s.action {
            continue;
        }
        let want = s.expect.for_os(os).clone();
        let _ = writeln!(
            decls,
            "static const struct expect want_{i} = {};",
            e.expect(&want)
        );
        let dev = e.deviation_pick(Some(i + 1), &format!("dev_{i}"), &mut decls);
        let what = format!(
            "step {}{}",
            i + 1,
            match s.who {
                Who::Child => " (in the child)",
                Who::Grandchild => " (in the grandchild)",
                Who::Parent => "",
            }
        );
        let _ = writeln!(
            j,
            "\t{{\n\t\tconst struct expect *dev = {dev};\n\t\tint s = judge_one(&rec->steps[{i}], &want_{i}, dev);\n\t\tprint_line({}, {}, &rec->steps[{i}], &want_{i}, dev, s);\n\t\tv = worse(v, s);\n\t}}",
            cstr(&what),
            cstr(&step_texts[i])
        );
    }
    j.push_str("\tif (rec->forked && WIFSIGNALED(rec->fork_status)) {\n\t\tchar n[32];\n\t\tsignal_name(n, sizeof n, WTERMSIG(rec->fork_status));\n\t\tprintf(\"the process made by the fork step died of %s\\n\", n);\n\t\tv = V_FAIL;\n\t}\n\tif (rec->grandchild && WIFSIGNALED(rec->grandchild_status)) {\n\t\tchar n[32];\n\t\tsignal_name(n, sizeof n, WTERMSIG(rec->grandchild_status));\n\t\tprintf(\"the grandchild made by the second fork step died of %s\\n\", n);\n\t\tv = V_FAIL;\n\t}\n\treturn v;\n}\n\n");

    // main
    let mut main = String::new();
    let m = &mut main;
    m.push_str("int main(void)\n{\n");
    let kinds = if step_kinds.is_empty() {
        "K_OTHER".to_string()
    } else {
        step_kinds.join(", ")
    };
    let _ = writeln!(
        m,
        "\tstatic const int kinds[] = {{ {kinds} }};\n\tlong page = sysconf(_SC_PAGESIZE);\n\tif (page <= 0) {{\n\t\tperror(\"sysconf(_SC_PAGESIZE)\");\n\t\treturn 2;\n\t}}\n\tP = (uint64_t)page;\n\tTOP = user_top();\n\tsetvbuf(stdout, NULL, _IOLBF, 0);"
    );
    let _ = writeln!(
        m,
        "\tprintf(\"%s: page size %#llx, address space end %#llx\\n\", CASE_ID, (unsigned long long)P, (unsigned long long)TOP);"
    );
    m.push_str("\tif (LACKING[0]) {\n\t\tfor (size_t i = 0; LACKING[i]; i++)\n\t\t\tfprintf(stderr, \"this libc does not define %s\\n\", LACKING[i]);\n\t\treturn 2;\n\t}\n");
    if case.privilege == Privilege::Root {
        m.push_str("\tif (geteuid() != 0) {\n\t\tfprintf(stderr, \"the case needs root\\n\");\n\t\treturn 2;\n\t}\n");
    }
    let _ = writeln!(
        m,
        "\tsignal(SIGINT, on_stop);\n\tsignal(SIGTERM, on_stop);\n\tif (!{prepare}) {{\n\t\tremove_object();\n\t\tfprintf(stderr, \"setup: preparing the object failed\\n\");\n\t\treturn 2;\n\t}}\n\tspawn(run_case, {});\n\tremove_object();\n\tint v = judge();\n\tprintf(\"verdict: %s\\n\", VERDICT_NAME[v]);\n\treturn finish(CASE_ID, {}, kinds, {call_kind}, v);\n}}",
        case.timeout.as_millis().clamp(1, i32::MAX as u128),
        case.steps.len()
    );

    // Assemble: header comment, feature macros, includes, name guards, runtime, case.
    let mut head = String::new();
    header(&mut head, case, registry, os);
    let _ = writeln!(head, "#define CASE_ID {}", cstr(&case.id));
    let (names, lacking, tables) = guards(&e, os, arch);
    let mut part = String::new();
    part.push_str("\n/* ---- This case ---- */\n\n");
    if e.map_vars.is_empty() {
        part.push_str("/* (no setup mappings) */\n");
    } else {
        let _ = writeln!(part, "static uintptr_t {};", e.map_vars.join(", "));
    }
    part.push_str(&decls);
    part.push('\n');
    part.push_str(&body);
    part.push_str(&judge);
    part.push_str(&main);
    Pieces {
        head,
        max_steps: case.steps.len().max(1),
        names,
        lacking,
        tables,
        part,
    }
}

/// What comes before the runtime in every file: feature macros and includes.
pub(crate) const PRELUDE: &str = r#"
/* Linux: memfd_create, mremap, MAP_ANONYMOUS and friends need these; FreeBSD's base
 * system exposes its names by default. */
#if !defined(__FreeBSD__)
#define _GNU_SOURCE 1
#define _DEFAULT_SOURCE 1
#endif
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__FreeBSD__)
#include <stddef.h>
#include <sys/param.h>
#include <sys/mount.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#else
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#endif

/* The calls under test whose libc wrappers do more than trap into the kernel (musl's mmap
 * turns EPERM into ENOMEM and checks offset and length itself, its mprotect rounds the
 * address down, its mremap checks the new size): on Linux they go to the kernel through
 * syscall(2), as the suite's own child does, so every libc observes the same kernel. */
#if defined(__linux__)
__attribute__((unused)) static void *kernel_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
#if UINTPTR_MAX == 0xffffffffu
	/* 32-bit, as the suite's child: x86's old_mmap (six 32-bit words, the byte offset
	 * unsigned, so the kernel judges its alignment) when the offset fits it, else mmap2
	 * with the offset in its fixed 4 KiB units. SYS_mmap there takes the words' address. */
	long r;
#if defined(__i386__)
	if (offset >= 0 && (uint64_t)offset <= UINT32_MAX) {
		uint32_t words[6] = { (uint32_t)(uintptr_t)addr, (uint32_t)len, (uint32_t)prot,
		                      (uint32_t)flags, (uint32_t)fd, (uint32_t)offset };
		r = syscall(SYS_mmap, words);
		return r == -1 ? MAP_FAILED : (void *)r;
	}
#endif
	r = syscall(SYS_mmap2, addr, len, (long)prot, (long)flags, (long)fd,
	            (unsigned long)((uint64_t)offset >> 12));
#else
	long r = syscall(SYS_mmap, addr, len, (long)prot, (long)flags, (long)fd, (long)offset);
#endif
	return r == -1 ? MAP_FAILED : (void *)r;
}
__attribute__((unused)) static int kernel_mprotect(void *addr, size_t len, int prot)
{
	return (int)syscall(SYS_mprotect, addr, len, (long)prot);
}
__attribute__((unused)) static void *kernel_mremap(void *old_address, size_t old_size, size_t new_size, int flags,
                           void *new_address)
{
	long r = syscall(SYS_mremap, old_address, old_size, new_size, (long)flags, new_address);
	return r == -1 ? MAP_FAILED : (void *)r;
}
#else
#define kernel_mmap mmap
#define kernel_mprotect mprotect
#endif

/* mincore's vector is mapped lazily; FreeBSD has no MAP_NORESERVE. */
#if defined(MAP_NORESERVE)
#define REPRO_NORESERVE MAP_NORESERVE
#else
#define REPRO_NORESERVE 0
#endif

#define SET_ARGS(o, a0, a1, a2, a3, a4, a5) do { \
	(o)->args[0] = (uint64_t)(a0); (o)->args[1] = (uint64_t)(a1); \
	(o)->args[2] = (uint64_t)(int64_t)(a2); (o)->args[3] = (uint64_t)(int64_t)(a3); \
	(o)->args[4] = (uint64_t)(int64_t)(a4); (o)->args[5] = (uint64_t)(int64_t)(a5); \
} while (0)

/* The runtime below is the same in every file; a case uses only part of it. */
#if defined(__GNUC__) || defined(__clang__)
#define REPRO_UNUSED __attribute__((unused))
#else
#define REPRO_UNUSED
#endif

struct repro_name {
	const char *name;
	int value;
};
"#;

/// The C preprocessor symbol of this OS and architecture, for fallback values.
fn os_arch_macro(os: Os, arch: &str) -> String {
    let o = match os {
        Os::Linux => "defined(__linux__)",
        Os::Freebsd => "defined(__FreeBSD__)",
    };
    let a = match arch {
        "x86_64" => "defined(__x86_64__)",
        "aarch64" => "defined(__aarch64__)",
        "riscv64" => "(defined(__riscv) && __riscv_xlen == 64)",
        "powerpc64" => "defined(__powerpc64__)",
        "s390x" => "defined(__s390x__)",
        "x86" => "defined(__i386__)",
        "arm" => "defined(__arm__)",
        _ => "0",
    };
    format!("{o} && {a}")
}

/// `#ifndef` guards for every C name the case uses, the list of names this libc lacks
/// (the program then says so and exits 2), and the errno and signal tables.
fn guards(e: &Emitter, os: Os, arch: &str) -> (String, String, String) {
    let here = os_arch_macro(os, arch);
    let mut out = String::new();
    out.push_str("\n/* Names this case uses. A libc whose headers lack one gets the value where the\n * file was generated when it runs on that OS and architecture; elsewhere the\n * program says which name is missing and exits 2. */\n");
    for (name, value) in &e.names {
        let _ = writeln!(out, "#ifndef {name}");
        match value {
            Some(v) => {
                let _ = writeln!(
                    out,
                    "# if {here}\n#  define {name} {}\n# else\n#  define {name} 0\n#  define REPRO_LACKS_{name} 1\n# endif",
                    if *v < 0 {
                        format!("({v})")
                    } else {
                        format!("{v:#x}")
                    }
                );
            }
            None => {
                let _ = writeln!(out, "# define {name} 0\n# define REPRO_LACKS_{name} 1");
            }
        }
        out.push_str("#endif\n");
    }
    if e.uses_map_aligned {
        out.push_str("#ifndef MAP_ALIGNED\n# define MAP_ALIGNED(n) 0\n# define REPRO_LACKS_MAP_ALIGNED 1\n#endif\n");
    }
    if e.uses_prot_max {
        out.push_str(
            "#ifndef PROT_MAX\n# define PROT_MAX(p) 0\n# define REPRO_LACKS_PROT_MAX 1\n#endif\n",
        );
    }
    let mut lacking_list = String::from("static const char *const LACKING[] = {\n");
    let mut lacking: Vec<&str> = e.names.keys().map(String::as_str).collect();
    if e.uses_map_aligned {
        lacking.push("MAP_ALIGNED");
    }
    if e.uses_prot_max {
        lacking.push("PROT_MAX");
    }
    for n in lacking {
        let _ = writeln!(lacking_list, "#ifdef REPRO_LACKS_{n}\n\t\"{n}\",\n#endif");
    }
    lacking_list.push_str("\tNULL\n};\n\n");
    // errno and signal names in the suite's order, so aliases (ENOTSUP, EOPNOTSUPP) get
    // the name the suite reports.
    let mut tables = String::new();
    for (table, var) in [
        (&names::ERRNO, "ERRNO_NAMES"),
        (&names::SIGNAL, "SIGNAL_NAMES"),
    ] {
        let _ = writeln!(tables, "static const struct repro_name {var}[] = {{");
        let own: &[&str] = match os {
            Os::Linux => table.linux,
            Os::Freebsd => table.freebsd,
        };
        for n in table.common.iter().chain(own) {
            let _ = writeln!(tables, "#ifdef {n}\n\t{{ \"{n}\", {n} }},\n#endif");
        }
        tables.push_str("\t{ NULL, 0 }\n};\n");
    }
    tables.push('\n');
    (out, lacking_list, tables)
}

fn header(out: &mut String, case: &Case, registry: &Registry, os: Os) {
    let mut h = String::new();
    let _ = writeln!(h, "Reproducer of mmapconf case {}", case.id);
    let _ = writeln!(h, "{}", case.title);
    let _ = writeln!(
        h,
        "Case file: {}:{}. Generated for {os} by `mmapconf repro`.",
        case.file.display(),
        case.line
    );
    h.push('\n');
    h.push_str("Build: cc -std=c11 -O1 -Wall -Wextra -Werror -o repro this-file.c\n");
    h.push_str("Run:   ./repro   (exit 0: as the case expects on this OS, a recorded deviation\n       included; 1: not; 2: setup failed). The last line is the observation as JSON.\n\n");
    h.push_str("Clauses checked (the registry's paraphrase):\n");
    for id in &case.clauses {
        match registry.clauses.get(id) {
            Some(c) => {
                let page = registry
                    .pages
                    .get(&c.page)
                    .map_or(String::new(), |p| format!(" [{}]", p.read_from));
                let _ = writeln!(h, "  {id} ({}): {}{page}", c.section, c.summary);
            }
            None => {
                let _ = writeln!(h, "  {id}");
            }
        }
    }
    h.push_str("\nExpected, by the cited clauses:\n");
    for o in &case.oses {
        let _ = writeln!(h, "  {o}: the call: {}", case.expect.for_os(*o));
        for (i, s) in case.steps.iter().enumerate() {
            if !matches!(s.action, Action::Fork) {
                let _ = writeln!(h, "  {o}: step {}: {}", i + 1, s.expect.for_os(*o));
            }
        }
    }
    if !case.deviations.is_empty() {
        h.push_str(
            "\nRecorded deviations (a run that observes one exits 0: \"known deviation\"):\n",
        );
        for d in &case.deviations {
            let at = d.step.map_or("the call".into(), |s| format!("step {s}"));
            let _ = writeln!(h, "  {}, {at}: observed {}", d.os, d.observed);
            let _ = writeln!(h, "    why: {}", d.why);
            let _ = writeln!(h, "    evidence: {}", d.evidence);
            if !d.contradicts.is_empty() {
                let _ = writeln!(h, "    contradicts: {}", d.contradicts.join(", "));
            }
        }
    }
    out.push_str("/*\n");
    for line in comment(&h).lines() {
        if line.is_empty() {
            out.push_str(" *\n");
        } else {
            let _ = writeln!(out, " * {line}");
        }
    }
    out.push_str(" */\n");
}

#[cfg(test)]
mod tests {
    use crate::names::Os;

    #[test]
    fn a_prot_max_case_writes_the_macro_and_names_it_where_the_header_lacks_it() {
        let suite = crate::embedded::suite().expect("the built-in cases load");
        let case = suite
            .cases
            .iter()
            .find(|c| {
                c.id == "mmap.prot-max.read-only-max-then-mprotect-to-read-write-fails-with-eacces"
            })
            .expect("the PROT_MAX case");
        let src = super::source(case, &suite.registry, Os::Freebsd, "x86_64");
        assert!(src.contains("PROT_READ|PROT_MAX(PROT_READ)"));
        assert!(src.contains(
            "#ifndef PROT_MAX\n# define PROT_MAX(p) 0\n# define REPRO_LACKS_PROT_MAX 1\n#endif"
        ));
        assert!(src.contains("#ifdef REPRO_LACKS_PROT_MAX\n\t\"PROT_MAX\",\n#endif"));
        // A case without it carries no such guard.
        let other = suite
            .cases
            .iter()
            .find(|c| c.id == "mmap.vma.adjacent-anonymous-pages-merge-observed")
            .expect("a vma case");
        let src = super::source(other, &suite.registry, Os::Freebsd, "x86_64");
        assert!(!src.contains("REPRO_LACKS_PROT_MAX"));
    }
}
