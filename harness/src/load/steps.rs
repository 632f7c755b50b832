//! Steps after the call: their TOML shape, the one action each names and the keys that
//! action takes, and the check that every address base is defined where it is used.

use super::RawCase;
use super::calls::{RawCall, convert_call};
use super::ctx::Ctx;
use super::expectations::RawExpect;
use crate::expr::{AddrBase, AddrExpr, CType};
use crate::model::*;
use crate::names::{self, NameSet, Os};
use serde::Deserialize;
use std::collections::HashSet;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    read: Option<Spanned<String>>,
    write: Option<Spanned<String>>,
    fork: Option<Spanned<bool>>,
    munmap: Option<Spanned<String>>,
    mprotect: Option<Spanned<String>>,
    msync: Option<Spanned<String>>,
    ftruncate: Option<Spanned<String>>,
    pwrite: Option<Spanned<String>>,
    close: Option<Spanned<String>>,
    readback: Option<Spanned<String>>,
    call: Option<Spanned<RawCall>>,
    len: Option<Spanned<String>>,
    bytes: Option<Spanned<String>>,
    byte: Option<Spanned<String>>,
    prot: Option<Spanned<String>>,
    flags: Option<Spanned<String>>,
    size: Option<Spanned<String>>,
    #[serde(rename = "in")]
    who: Option<Spanned<String>>,
    expect: Option<Spanned<RawExpect>>,
    mincore: Option<Spanned<String>>,
    vector: Option<Spanned<Vec<Spanned<i64>>>>,
    locked: Option<Spanned<String>>,
    vma: Option<Spanned<String>>,
    start: Option<Spanned<String>>,
    end: Option<Spanned<String>>,
    perms: Option<Spanned<String>>,
    read_into: Option<Spanned<String>>,
    write_from: Option<Spanned<String>>,
    pread_into: Option<Spanned<String>>,
    pwrite_from: Option<Spanned<String>>,
    fd: Option<Spanned<String>>,
    offset: Option<Spanned<String>>,
    count: Option<Spanned<String>>,
    write_ret: Option<Spanned<String>>,
    exec: Option<Spanned<String>>,
    fd_stat: Option<Spanned<String>>,
    equals: Option<Spanned<String>>,
}

/// The most pages a `mincore` step's vector may name (the record's window).
pub const MAX_VECTOR: usize = 16;

pub(super) fn convert_step(
    ctx: &mut Ctx,
    ss: &Spanned<RawStep>,
    forks: usize,
    object: Option<&Object>,
) -> Step {
    let s = ss.get_ref();
    let actions = [
        s.read.is_some(),
        s.write.is_some(),
        s.fork.is_some(),
        s.munmap.is_some(),
        s.mprotect.is_some(),
        s.msync.is_some(),
        s.ftruncate.is_some(),
        s.pwrite.is_some(),
        s.close.is_some(),
        s.readback.is_some(),
        s.call.is_some(),
        s.mincore.is_some(),
        s.locked.is_some(),
        s.vma.is_some(),
        s.read_into.is_some(),
        s.write_from.is_some(),
        s.pread_into.is_some(),
        s.pwrite_from.is_some(),
        s.write_ret.is_some(),
        s.exec.is_some(),
        s.fd_stat.is_some(),
    ];
    if actions.iter().filter(|a| **a).count() != 1 {
        ctx.err(
            ss.span(),
            "a step needs exactly one action: read, write, fork, munmap, mprotect, msync, call, ftruncate, pwrite, close, readback, mincore, locked, vma, read_into, write_from, pread_into, pwrite_from, write_ret, exec, fd_stat",
        );
    }
    let who = match s.who.as_ref().map(|w| (w, w.get_ref().as_str())) {
        None | Some((_, "parent")) => Who::Parent,
        Some((w, "child")) => {
            if forks == 0 {
                ctx.err(w.span(), "in = \"child\" needs an earlier fork step");
            }
            Who::Child
        }
        Some((w, "grandchild")) => {
            if forks < 2 {
                ctx.err(
                    w.span(),
                    "in = \"grandchild\" needs an earlier second fork step (`fork = true` with `in = \"child\"`)",
                );
            }
            Who::Grandchild
        }
        Some((w, other)) => {
            ctx.err(
                w.span(),
                format!("bad `in` value `{other}`: expected parent, child or grandchild"),
            );
            Who::Parent
        }
    };
    let one = Spanned::new(0..0, "1".to_string());
    let len = |ctx: &mut Ctx| ctx.expr(s.len.as_ref().unwrap_or(&one), CType::Size, "len");
    let byte = |ctx: &mut Ctx| s.byte.as_ref().map(|b| ctx.byte(b)).unwrap_or(0x5a);
    let bytes = |ctx: &mut Ctx| s.bytes.as_ref().map(|b| ctx.pattern(b, true));
    let needs_file = |ctx: &mut Ctx, what: &str| {
        if !object.is_some_and(|o| o.kind.has_content()) {
            ctx.err(
                ss.span(),
                format!("`{what}` needs a file, memfd or shm object"),
            );
        }
    };
    // Keys that only some actions take.
    let mut allowed: Vec<&str> = vec!["in", "expect"];
    let buffer = [
        (IoOp::Read, &s.read_into),
        (IoOp::Write, &s.write_from),
        (IoOp::Pread, &s.pread_into),
        (IoOp::Pwrite, &s.pwrite_from),
    ]
    .into_iter()
    .find_map(|(op, a)| a.as_ref().map(|a| (op, a)));
    let action = if let Some((op, a)) = buffer {
        allowed.extend(["len", "fd", "count"]);
        let fd = match s.fd.as_ref().map(|f| (f, f.get_ref().as_str())) {
            Some((_, "object")) => {
                if object.is_none() {
                    ctx.err(
                        ss.span(),
                        format!("`{}` with fd = \"object\" needs an object", op.key()),
                    );
                }
                IoFd::Object
            }
            Some((_, "pipe")) => IoFd::Pipe,
            Some((_, "second")) => IoFd::Second,
            Some((f, other)) => {
                ctx.err(
                    f.span(),
                    format!("bad fd `{other}` for a buffer step: expected object, second or pipe"),
                );
                IoFd::Pipe
            }
            None => {
                ctx.err(
                    ss.span(),
                    format!(
                        "`{}` needs `fd = \"object\"` or `fd = \"pipe\"`: the descriptor it {}",
                        op.key(),
                        if op.fills_buffer() {
                            "reads from"
                        } else {
                            "writes to"
                        }
                    ),
                );
                IoFd::Pipe
            }
        };
        if op.positioned() {
            allowed.push("offset");
            if fd == IoFd::Pipe {
                ctx.err(
                    ss.span(),
                    format!("`{}` takes a file offset: use fd = \"object\"", op.key()),
                );
            }
        } else if let Some(o) = &s.offset {
            allowed.push("offset");
            ctx.err(
                o.span(),
                format!(
                    "`{}` has no file offset; use `{}`",
                    op.key(),
                    if op.fills_buffer() {
                        "pread_into"
                    } else {
                        "pwrite_from"
                    }
                ),
            );
        }
        if op.fills_buffer() && fd == IoFd::Pipe {
            allowed.push("byte");
        }
        Action::Buffer {
            op,
            addr: ctx.addr(a),
            len: len(ctx),
            fd,
            offset: ctx.expr_or(&s.offset, "0", CType::Off, "offset"),
            count: s.count.as_ref().map(|c| ctx.expr(c, CType::Size, "count")),
            byte: byte(ctx),
        }
    } else if let Some(a) = &s.write_ret {
        Action::WriteRet { addr: ctx.addr(a) }
    } else if let Some(a) = &s.exec {
        Action::Exec { addr: ctx.addr(a) }
    } else if let Some(a) = &s.read {
        allowed.extend(["len", "bytes"]);
        Action::Read {
            addr: ctx.addr(a),
            len: len(ctx),
            bytes: bytes(ctx),
        }
    } else if let Some(a) = &s.write {
        allowed.extend(["len", "byte"]);
        Action::Write {
            addr: ctx.addr(a),
            len: len(ctx),
            byte: byte(ctx),
        }
    } else if let Some(f) = &s.fork {
        match forks {
            1 if who == Who::Parent => ctx.err(
                f.span(),
                "a second fork step must be in = \"child\": it makes the grandchild",
            ),
            0 | 1 => {}
            _ => ctx.err(
                f.span(),
                "a case forks at most twice: in the parent, then in the child",
            ),
        }
        if !*f.get_ref() {
            ctx.err(f.span(), "fork = false is not an action; remove the step");
        }
        Action::Fork
    } else if let Some(a) = &s.munmap {
        allowed.push("len");
        Action::Call(Call::Munmap {
            addr: ctx.addr(a),
            len: len(ctx),
        })
    } else if let Some(a) = &s.mprotect {
        allowed.extend(["len", "prot"]);
        let prot = match &s.prot {
            Some(p) => ctx.names(p, &names::PROT),
            None => {
                ctx.err(ss.span(), "mprotect needs `prot`");
                NameSet(Vec::new())
            }
        };
        Action::Call(Call::Mprotect {
            addr: ctx.addr(a),
            len: len(ctx),
            prot,
        })
    } else if let Some(a) = &s.msync {
        allowed.extend(["len", "flags"]);
        let flags = match &s.flags {
            Some(f) => ctx.names(f, &names::MS),
            None => NameSet(vec!["MS_SYNC".into()]),
        };
        Action::Call(Call::Msync {
            addr: ctx.addr(a),
            len: len(ctx),
            flags,
        })
    } else if let Some(c) = &s.call {
        let call = convert_call(ctx, c, object.is_some());
        if matches!(call, Call::ShmOpen { .. }) {
            // Its name and descriptor belong to the case's call; a second one would need
            // names of its own.
            ctx.err(c.span(), "shm_open is a case's call, not a step");
        }
        Action::Call(call)
    } else if let Some(e) = &s.ftruncate {
        allowed.push("fd");
        let via_result = match s.fd.as_ref().map(|f| (f, f.get_ref().as_str())) {
            None => false,
            Some((_, "result")) => true,
            Some((f, other)) => {
                ctx.err(
                    f.span(),
                    format!("an ftruncate step's fd is \"result\" (the descriptor shm_open returned), not `{other}`; without it, the object's"),
                );
                false
            }
        };
        if !via_result {
            needs_file(ctx, "ftruncate");
        }
        Action::Ftruncate {
            size: ctx.expr(e, CType::Off, "ftruncate size"),
            via_result,
        }
    } else if let Some(f) = &s.fd_stat {
        fd_stat(ctx, ss, f, s.equals.as_ref())
    } else if let Some(e) = &s.pwrite {
        needs_file(ctx, "pwrite");
        allowed.extend(["len", "byte"]);
        Action::Pwrite {
            offset: ctx.expr(e, CType::Off, "pwrite offset"),
            len: len(ctx),
            byte: byte(ctx),
        }
    } else if let Some(c) = &s.close {
        if c.get_ref() != "object" || object.is_none() {
            ctx.err(
                c.span(),
                "close takes \"object\", and the case needs an object",
            );
        }
        Action::CloseObject
    } else if let Some(e) = &s.readback {
        needs_file(ctx, "readback");
        allowed.extend(["len", "bytes", "size"]);
        Action::Readback {
            offset: ctx.expr(e, CType::Off, "readback offset"),
            len: len(ctx),
            bytes: bytes(ctx),
            size: s
                .size
                .as_ref()
                .map(|z| ctx.expr(z, CType::Off, "readback size")),
        }
    } else if let Some(a) = &s.mincore {
        allowed.extend(["len", "vector"]);
        let vector = match &s.vector {
            Some(v) => {
                if v.get_ref().is_empty() || v.get_ref().len() > MAX_VECTOR {
                    ctx.err(
                        v.span(),
                        format!("vector names 1 to {MAX_VECTOR} pages, one 0 or 1 each"),
                    );
                }
                v.get_ref()
                    .iter()
                    .map(|b| match *b.get_ref() {
                        0 => 0,
                        1 => 1,
                        other => {
                            ctx.err(
                                b.span(),
                                format!("vector entry {other}: 1 (resident) or 0 (not resident)"),
                            );
                            0
                        }
                    })
                    .collect()
            }
            None => {
                ctx.err(
                    ss.span(),
                    "a mincore step needs `vector = [1, 0, ...]`, one entry per page",
                );
                Vec::new()
            }
        };
        Action::Mincore {
            addr: ctx.addr(a),
            len: len(ctx),
            vector,
        }
    } else if let Some(e) = &s.locked {
        Action::Locked {
            bytes: ctx.expr(e, CType::Size, "locked bytes"),
        }
    } else if let Some(a) = &s.vma {
        let observe = matches!(
            s.expect.as_ref().map(|e| e.get_ref()),
            Some(RawExpect { observe: Some(o), .. }) if *o.get_ref()
        );
        allowed.extend(["start", "end", "perms"]);
        if s.start.is_none() && s.end.is_none() && s.perms.is_none() && !observe {
            ctx.err(
                ss.span(),
                "a vma step checks `start`, `end` or `perms`; one that checks none needs `expect = { observe = true }`",
            );
        }
        let perms = s.perms.as_ref().map(|p| match parse_perms(p.get_ref()) {
            Some(v) => v,
            None => {
                ctx.err(
                    p.span(),
                    format!(
                        "bad perms `{}`: four characters as /proc/self/maps shows them, r or -, w or -, x or -, then p (private) or s (shared), e.g. \"rw-p\"",
                        p.get_ref()
                    ),
                );
                *b"----"
            }
        });
        Action::Vma {
            addr: ctx.addr(a),
            start: s.start.as_ref().map(|e| ctx.addr(e)),
            end: s.end.as_ref().map(|e| ctx.addr(e)),
            perms,
        }
    } else {
        Action::Fork
    };
    let extra = [
        ("len", s.len.is_some()),
        ("bytes", s.bytes.is_some()),
        ("byte", s.byte.is_some()),
        ("prot", s.prot.is_some()),
        ("flags", s.flags.is_some()),
        ("size", s.size.is_some()),
        ("vector", s.vector.is_some()),
        ("fd", s.fd.is_some()),
        ("count", s.count.is_some()),
        ("offset", s.offset.is_some()),
        ("start", s.start.is_some()),
        ("end", s.end.is_some()),
        ("perms", s.perms.is_some()),
        ("equals", s.equals.is_some() && s.fd_stat.is_none()),
    ];
    for (key, given) in extra {
        if given && !allowed.contains(&key) {
            ctx.err(ss.span(), format!("this step takes no `{key}`"));
        }
    }
    let expect = match &s.expect {
        Some(e) => ctx.outcome(e),
        None => PerOs {
            default: Outcome::Ok,
            linux: None,
            freebsd: None,
        },
    };
    if matches!(action, Action::Vma { .. }) {
        let outcomes = [
            Some(&expect.default),
            expect.linux.as_ref(),
            expect.freebsd.as_ref(),
        ];
        if outcomes
            .into_iter()
            .flatten()
            .any(|o| !matches!(o, Outcome::Ok | Outcome::Observe))
        {
            ctx.err(
                ss.span(),
                "a vma step's outcome is `{ result = \"ok\" }` (the VMA is as given) or `{ observe = true }`",
            );
        }
    }
    Step {
        who,
        action,
        expect,
    }
}

/// A /proc/self/maps permission string: `[r-][w-][x-][ps]`.
fn parse_perms(s: &str) -> Option<[u8; 4]> {
    let b: [u8; 4] = s.as_bytes().try_into().ok()?;
    let ok = matches!(b[0], b'r' | b'-')
        && matches!(b[1], b'w' | b'-')
        && matches!(b[2], b'x' | b'-')
        && matches!(b[3], b'p' | b's');
    ok.then_some(b)
}

/// An `fd_stat` step: the field of the call's descriptor and the value it must have.
fn fd_stat(
    ctx: &mut Ctx,
    ss: &Spanned<RawStep>,
    f: &Spanned<String>,
    equals: Option<&Spanned<String>>,
) -> Action {
    let field = match FdField::ALL.iter().find(|(k, _)| *k == f.get_ref()) {
        Some((_, field)) => *field,
        None => {
            ctx.err(
                f.span(),
                format!(
                    "unknown fd_stat field `{}`; valid: {}",
                    f.get_ref(),
                    FdField::ALL.map(|(k, _)| k).join(", ")
                ),
            );
            FdField::Size
        }
    };
    let Some(e) = equals else {
        ctx.err(ss.span(), "an fd_stat step needs `equals`");
        return Action::FdStat {
            field,
            want: FdWant::Value(0),
        };
    };
    let t = e.get_ref().as_str();
    let want = match field {
        FdField::Size => FdWant::Size(ctx.expr(e, CType::Off, "fd_stat size")),
        FdField::Mode => FdWant::Value(i64::from(ctx.octal(e, "fd_stat mode"))),
        FdField::Uid | FdField::Gid => match (field, t) {
            (FdField::Uid, "euid") => FdWant::Euid,
            (FdField::Gid, "egid") => FdWant::Egid,
            _ => {
                ctx.err(
                    e.span(),
                    format!(
                        "fd_stat {} equals `{}`",
                        field.key(),
                        if field == FdField::Uid {
                            "euid"
                        } else {
                            "egid"
                        }
                    ),
                );
                FdWant::Value(0)
            }
        },
        FdField::Cloexec | FdField::Lowest => match t {
            "1" => FdWant::Value(1),
            "0" => FdWant::Value(0),
            _ => {
                ctx.err(
                    e.span(),
                    format!("fd_stat {} equals \"1\" or \"0\"", field.key()),
                );
                FdWant::Value(0)
            }
        },
        FdField::Accmode => match t {
            "O_RDONLY" => FdWant::Value(0),
            "O_WRONLY" => FdWant::Value(1),
            "O_RDWR" => FdWant::Value(2),
            _ => {
                ctx.err(
                    e.span(),
                    "fd_stat accmode equals O_RDONLY, O_WRONLY or O_RDWR",
                );
                FdWant::Value(0)
            }
        },
    };
    Action::FdStat { field, want }
}

/// Address bases must make sense where they are used: `result` only in steps after a
/// call that is expected to succeed (steps also run after a call expected to fail, on
/// the OSes in `fails_on`, and there it names nothing), `mapping.NAME` only for names
/// that exist.
pub(super) fn check_addresses(
    ctx: &mut Ctx,
    sc: &Spanned<RawCase>,
    call: &Call,
    fails_on: &[Os],
    steps: &[Step],
    mappings: &[Mapping],
    names: &HashSet<String>,
) {
    let check = |ctx: &mut Ctx, a: &AddrExpr, in_step: bool| {
        match &a.base {
        AddrBase::Result if !in_step => ctx.err(sc.span(), "`result` is only defined in steps"),
        AddrBase::Result if !matches!(call, Call::Mmap { .. } | Call::Mremap { .. }) => ctx.err(
            sc.span(),
            "`result` names a mapping only when the call is mmap or mremap",
        ),
        AddrBase::Result if !fails_on.is_empty() => ctx.err(
            sc.span(),
            format!(
                "`result` names nothing after a call expected to fail (on {}); address the setup mapping instead",
                fails_on.iter().map(|o| o.key()).collect::<Vec<_>>().join(", ")
            ),
        ),
        AddrBase::Mapping(n) if !names.contains(n) => {
            ctx.err(sc.span(), format!("no setup mapping is named `{n}`"))
        }
        _ => {}
    }
    };
    for m in mappings {
        if let Some(a) = &m.at {
            check(ctx, a, false);
        }
    }
    for a in call.addrs() {
        check(ctx, a, false);
    }
    for s in steps {
        match &s.action {
            Action::Read { addr, .. }
            | Action::Write { addr, .. }
            | Action::Mincore { addr, .. }
            | Action::Buffer { addr, .. }
            | Action::WriteRet { addr }
            | Action::Exec { addr } => check(ctx, addr, true),
            Action::Call(c) => c.addrs().into_iter().for_each(|a| check(ctx, a, true)),
            Action::Vma {
                addr, start, end, ..
            } => {
                for a in [Some(addr), start.as_ref(), end.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    check(ctx, a, true);
                }
            }
            Action::FdStat { .. }
            | Action::Ftruncate {
                via_result: true, ..
            } => {
                if !matches!(call, Call::ShmOpen { .. }) {
                    ctx.err(
                        sc.span(),
                        "fd_stat and `fd = \"result\"` name the descriptor a shm_open call returned; this case's call is not shm_open",
                    );
                } else if !fails_on.is_empty() {
                    ctx.err(
                        sc.span(),
                        format!(
                            "the call returns no descriptor where it is expected to fail (on {}): fd_stat and `fd = \"result\"` name nothing",
                            fails_on.iter().map(|o| o.key()).collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
            }
            _ => {}
        }
    }
}
