//! The call under test (and a step's `call`): its TOML shape, the arguments each function
//! takes and requires, and their conversion into a [`Call`].

use super::ctx::Ctx;
use crate::expr::CType;
use crate::model::*;
use crate::names::{self, NameSet, Table};
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawFd {
    Num(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCall {
    #[serde(rename = "fn")]
    func: Spanned<String>,
    addr: Option<Spanned<String>>,
    len: Option<Spanned<String>>,
    prot: Option<Spanned<String>>,
    flags: Option<Spanned<String>>,
    fd: Option<Spanned<RawFd>>,
    offset: Option<Spanned<String>>,
    advice: Option<Spanned<String>>,
    new_len: Option<Spanned<String>>,
    new_addr: Option<Spanned<String>>,
    inherit: Option<Spanned<String>>,
    vec: Option<Spanned<String>>,
    pidfd: Option<Spanned<RawFd>>,
    iov: Option<Spanned<Vec<Spanned<RawIov>>>>,
    vlen: Option<Spanned<i64>>,
    name: Option<Spanned<String>>,
    oflag: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    umask: Option<Spanned<String>>,
    existing_mode: Option<Spanned<String>>,
    existing_size: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIov {
    addr: Spanned<String>,
    len: Spanned<String>,
}

/// The most `iov` entries a process_madvise call may list (the child's stack array).
pub const MAX_IOV: usize = 8;
/// Linux's UIO_MAXIOV (include/uapi/linux/uio.h): a larger vlen is refused before the
/// kernel reads any iovec, so only such a vlen may pass the listed entries.
pub const UIO_MAXIOV: u64 = 1024;

impl Ctx<'_> {
    /// A permission mode written in octal (`"0600"`, at most `07777`).
    pub(super) fn octal(&mut self, s: &Spanned<String>, what: &str) -> u32 {
        let t = s.get_ref();
        match u32::from_str_radix(t, 8) {
            Ok(m) if t.starts_with('0') && m <= 0o7777 => m,
            _ => {
                self.err(
                    s.span(),
                    format!("bad {what} `{t}`: octal with a leading 0, at most 07777 (\"0600\")"),
                );
                0
            }
        }
    }

    pub(super) fn fd(&mut self, s: &Spanned<RawFd>) -> Fd {
        match s.get_ref() {
            RawFd::Num(n) => match i32::try_from(*n) {
                Ok(n) => Fd::Num(n),
                Err(_) => {
                    self.err(s.span(), format!("fd {n} does not fit an int"));
                    Fd::Num(-1)
                }
            },
            RawFd::Text(t) if t == "object" => Fd::Object,
            RawFd::Text(t) if t == "second" => Fd::Second,
            RawFd::Text(t) => {
                self.err(
                    s.span(),
                    format!("bad fd `{t}`: expected an integer, \"object\" or \"second\""),
                );
                Fd::Num(-1)
            }
        }
    }
}

pub(super) fn convert_call(ctx: &mut Ctx, sc: &Spanned<RawCall>, has_object: bool) -> Call {
    let c = sc.get_ref();
    let func = c.func.get_ref().as_str();
    let args: [(&str, bool); 20] = [
        ("addr", c.addr.is_some()),
        ("len", c.len.is_some()),
        ("prot", c.prot.is_some()),
        ("flags", c.flags.is_some()),
        ("fd", c.fd.is_some()),
        ("offset", c.offset.is_some()),
        ("advice", c.advice.is_some()),
        ("new_len", c.new_len.is_some()),
        ("new_addr", c.new_addr.is_some()),
        ("inherit", c.inherit.is_some()),
        ("vec", c.vec.is_some()),
        ("pidfd", c.pidfd.is_some()),
        ("iov", c.iov.is_some()),
        ("vlen", c.vlen.is_some()),
        ("name", c.name.is_some()),
        ("oflag", c.oflag.is_some()),
        ("mode", c.mode.is_some()),
        ("umask", c.umask.is_some()),
        ("existing_mode", c.existing_mode.is_some()),
        ("existing_size", c.existing_size.is_some()),
    ];
    let (takes, required): (&[&str], &[&str]) = match func {
        "mmap" => (
            &["addr", "len", "prot", "flags", "fd", "offset"],
            &["len", "prot", "flags"],
        ),
        "munmap" | "mlock" | "munlock" => (&["addr", "len"], &["addr", "len"]),
        "mincore" => (&["addr", "len", "vec"], &["addr", "len"]),
        "mprotect" => (&["addr", "len", "prot"], &["addr", "len", "prot"]),
        "msync" => (&["addr", "len", "flags"], &["addr", "len", "flags"]),
        "madvise" => (&["addr", "len", "advice"], &["addr", "len", "advice"]),
        "mremap" => (
            &["addr", "len", "new_len", "flags", "new_addr"],
            &["addr", "len", "new_len"],
        ),
        "minherit" => (&["addr", "len", "inherit"], &["addr", "len", "inherit"]),
        "mlockall" | "mdwe" => (&["flags"], &["flags"]),
        "munlockall" => (&[], &[]),
        "mlock2" | "mseal" => (&["addr", "len", "flags"], &["addr", "len", "flags"]),
        "process_madvise" => (
            &["pidfd", "iov", "vlen", "advice", "flags"],
            &["iov", "advice"],
        ),
        "shm_open" => (
            &[
                "name",
                "oflag",
                "mode",
                "umask",
                "existing_mode",
                "existing_size",
            ],
            &["name", "oflag"],
        ),
        other => {
            ctx.err(
                c.func.span(),
                format!("unknown fn `{other}`; valid: mmap, munmap, mprotect, msync, madvise, mincore, mlock, munlock, mremap, minherit, mlockall, munlockall, mlock2, mseal, process_madvise, shm_open, and, in `setup` or as the case's call, mdwe"),
            );
            (&[], &[])
        }
    };
    for (arg, given) in args {
        if given && !takes.contains(&arg) && (!takes.is_empty() || func == "munlockall") {
            ctx.err(
                sc.span(),
                format!(
                    "{func} takes no `{arg}` (it takes {})",
                    if takes.is_empty() {
                        "none".to_string()
                    } else {
                        takes.join(", ")
                    }
                ),
            );
        }
        if !given && required.contains(&arg) {
            ctx.err(sc.span(), format!("{func} needs `{arg}`"));
        }
    }
    let zero = Spanned::new(0..0, "0".to_string());
    let null = Spanned::new(0..0, "null".to_string());
    let addr = ctx.addr(c.addr.as_ref().unwrap_or(&null));
    let len = ctx.expr(c.len.as_ref().unwrap_or(&zero), CType::Size, "len");
    let names_of = |ctx: &mut Ctx, s: &Option<Spanned<String>>, t: &Table| match s {
        Some(s) => ctx.names(s, t),
        None => NameSet(Vec::new()),
    };
    match func {
        "mmap" => {
            let fd = match &c.fd {
                Some(f) => ctx.fd(f),
                None if has_object => Fd::Object,
                None => Fd::Num(-1),
            };
            if fd == Fd::Object && !has_object {
                ctx.err(sc.span(), "fd = \"object\" but the case has no object");
            }
            Call::Mmap {
                addr,
                len,
                prot: names_of(ctx, &c.prot, &names::PROT),
                flags: names_of(ctx, &c.flags, &names::MAP),
                fd,
                offset: ctx.expr(c.offset.as_ref().unwrap_or(&zero), CType::Off, "offset"),
            }
        }
        "munmap" => Call::Munmap { addr, len },
        "mincore" => Call::Mincore {
            addr,
            len,
            vec: c.vec.as_ref().map(|v| ctx.addr(v)),
        },
        "mlock" => Call::Mlock { addr, len },
        "munlock" => Call::Munlock { addr, len },
        "mprotect" => Call::Mprotect {
            addr,
            len,
            prot: names_of(ctx, &c.prot, &names::PROT),
        },
        "msync" => Call::Msync {
            addr,
            len,
            flags: names_of(ctx, &c.flags, &names::MS),
        },
        "madvise" => Call::Madvise {
            addr,
            len,
            advice: names_of(ctx, &c.advice, &names::MADV),
        },
        "mremap" => Call::Mremap {
            addr,
            len,
            new_len: ctx.expr(c.new_len.as_ref().unwrap_or(&zero), CType::Size, "new_len"),
            flags: names_of(ctx, &c.flags, &names::MREMAP),
            new_addr: ctx.addr(c.new_addr.as_ref().unwrap_or(&null)),
        },
        "minherit" => Call::Minherit {
            addr,
            len,
            inherit: names_of(ctx, &c.inherit, &names::INHERIT),
        },
        "mlockall" => Call::Mlockall {
            flags: names_of(ctx, &c.flags, &names::MCL),
        },
        "munlockall" => Call::Munlockall,
        "mlock2" => Call::Mlock2 {
            addr,
            len,
            flags: names_of(ctx, &c.flags, &names::MLOCK),
        },
        "mseal" => Call::Mseal {
            addr,
            len,
            flags: names_of(ctx, &c.flags, &names::MSEAL),
        },
        "mdwe" => Call::Mdwe {
            flags: names_of(ctx, &c.flags, &names::MDWE),
        },
        "process_madvise" => process_madvise(ctx, c, sc, has_object),
        "shm_open" => shm_open(ctx, c),
        _ => Call::Munmap { addr, len },
    }
}

fn process_madvise(ctx: &mut Ctx, c: &RawCall, sc: &Spanned<RawCall>, has_object: bool) -> Call {
    let pidfd = match &c.pidfd {
        None => Pidfd::Own,
        Some(s) => {
            match s.get_ref() {
                RawFd::Text(t) if t == "self" => Pidfd::Own,
                RawFd::Text(t) if t == "exited" => Pidfd::Exited,
                RawFd::Text(t) if t == "object" => {
                    if !has_object {
                        ctx.err(s.span(), "pidfd = \"object\" but the case has no object");
                    }
                    Pidfd::Object
                }
                RawFd::Num(n) => match i32::try_from(*n) {
                    Ok(n) => Pidfd::Num(n),
                    Err(_) => {
                        ctx.err(s.span(), format!("pidfd {n} does not fit an int"));
                        Pidfd::Num(-1)
                    }
                },
                RawFd::Text(t) => {
                    ctx.err(
                    s.span(),
                    format!("bad pidfd `{t}`: expected \"self\", \"exited\", \"object\" or an integer"),
                );
                    Pidfd::Own
                }
            }
        }
    };
    let mut iov = Vec::new();
    if let Some(list) = &c.iov {
        if list.get_ref().len() > MAX_IOV {
            ctx.err(list.span(), format!("at most {MAX_IOV} iov entries"));
        }
        for e in list.get_ref() {
            let e = e.get_ref();
            iov.push((ctx.addr(&e.addr), ctx.expr(&e.len, CType::Size, "iov len")));
        }
    }
    let vlen = c.vlen.as_ref().and_then(|v| {
        let n = *v.get_ref();
        if n < 0 {
            ctx.err(v.span(), format!("vlen {n} is negative"));
            None
        } else if (n as u64) != iov.len() as u64 && (n as u64) <= UIO_MAXIOV && (n as u64) > iov.len() as u64 {
            ctx.err(
                v.span(),
                format!(
                    "vlen {n} passes the {} iov entries listed: the kernel would read past them (only a vlen above UIO_MAXIOV, {UIO_MAXIOV}, which it refuses unread, may)",
                    iov.len()
                ),
            );
            None
        } else {
            Some(n as u64)
        }
    });
    let flags = match &c.flags {
        None => 0,
        Some(f) => {
            let t = f.get_ref().trim();
            let v = match t.strip_prefix("0x") {
                Some(h) => u32::from_str_radix(h, 16),
                None => t.parse::<u32>(),
            };
            v.unwrap_or_else(|_| {
                ctx.err(
                    f.span(),
                    format!("process_madvise flags `{t}`: expected an unsigned int (decimal or 0x..); the call defines no flag names"),
                );
                0
            })
        }
    };
    let _ = sc;
    Call::ProcessMadvise {
        pidfd,
        iov,
        vlen,
        advice: match &c.advice {
            Some(s) => ctx.names(s, &names::MADV),
            None => NameSet(Vec::new()),
        },
        flags,
    }
}

/// shm_open's arguments: the symbolic name, `oflag`, `mode` and `umask` (octal), and for
/// `name = "existing"` the object's `existing_mode` and `existing_size`.
fn shm_open(ctx: &mut Ctx, c: &RawCall) -> Call {
    let name = match c.name.as_ref().map(|n| (n, n.get_ref().as_str())) {
        Some((_, "new")) | None => ShmName::New,
        Some((_, "missing")) => ShmName::Missing,
        Some((_, "too-long-component")) => ShmName::TooLongComponent,
        Some((_, "too-long")) => ShmName::TooLong,
        Some((_, "existing")) => ShmName::Existing {
            mode: c
                .existing_mode
                .as_ref()
                .map(|m| ctx.octal(m, "existing_mode"))
                .unwrap_or(0o600),
            size: match &c.existing_size {
                Some(z) => ctx.expr(z, CType::Off, "existing_size"),
                None => crate::expr::Expr::Int(0),
            },
        },
        Some((n, other)) => {
            ctx.err(
                n.span(),
                format!(
                    "unknown shm_open name `{other}`; valid: {} (the harness makes the name; a case never writes one)",
                    ShmName::ALL.join(", ")
                ),
            );
            ShmName::New
        }
    };
    if !matches!(name, ShmName::Existing { .. }) {
        for k in [&c.existing_mode, &c.existing_size].into_iter().flatten() {
            ctx.err(
                k.span(),
                "existing_mode and existing_size describe the object of `name = \"existing\"`",
            );
        }
    }
    let oflag = match &c.oflag {
        Some(o) => ctx.names(o, &names::SHM_OFLAG),
        None => NameSet(Vec::new()),
    };
    let access = oflag
        .0
        .iter()
        .filter(|n| *n == "O_RDONLY" || *n == "O_RDWR")
        .count();
    if let Some(o) = c.oflag.as_ref().filter(|_| access != 1) {
        ctx.err(
            o.span(),
            "shm_open's oflag needs exactly one of O_RDONLY and O_RDWR",
        );
    }
    Call::ShmOpen {
        name,
        oflag,
        mode: c
            .mode
            .as_ref()
            .map(|m| ctx.octal(m, "mode"))
            .unwrap_or(0o600),
        umask: c
            .umask
            .as_ref()
            .map(|m| ctx.octal(m, "umask"))
            .unwrap_or(0o022),
    }
}
