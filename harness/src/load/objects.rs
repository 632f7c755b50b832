//! The object a case opens and the mappings it makes before the call: their TOML shapes
//! and conversion into an [`Object`] and [`Mapping`]s.

use super::ctx::Ctx;
use crate::expr::CType;
use crate::model::*;
use crate::names::{self, NameSet};
use serde::Deserialize;
use toml::Spanned;

use super::calls::RawFd;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObject {
    kind: Spanned<String>,
    seals: Option<Spanned<String>>,
    size: Option<Spanned<String>>,
    content: Option<Spanned<String>>,
    open: Option<Spanned<String>>,
    fs: Option<Spanned<String>>,
    attr: Option<Spanned<String>>,
    second: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMapping {
    pub(super) name: Spanned<String>,
    len: Spanned<String>,
    prot: Option<Spanned<String>>,
    flags: Option<Spanned<String>>,
    fd: Option<Spanned<RawFd>>,
    offset: Option<Spanned<String>>,
    at: Option<Spanned<String>>,
    fill: Option<Spanned<String>>,
}

pub(super) fn convert_object(ctx: &mut Ctx, so: &Spanned<RawObject>) -> Object {
    let o = so.get_ref();
    let kind = ObjectKind::ALL
        .iter()
        .find(|(n, _)| n == o.kind.get_ref())
        .map(|(_, k)| *k)
        .unwrap_or_else(|| {
            let valid: Vec<_> = ObjectKind::ALL.iter().map(|(n, _)| *n).collect();
            ctx.err(
                o.kind.span(),
                format!(
                    "unknown object kind `{}`; valid: {}",
                    o.kind.get_ref(),
                    valid.join(", ")
                ),
            );
            ObjectKind::File
        });
    if !kind.has_content() {
        for (key, v) in [("size", &o.size), ("content", &o.content)] {
            if let Some(v) = v {
                ctx.err(
                    v.span(),
                    format!("`{key}` applies only to file, memfd and shm objects"),
                );
            }
        }
    }
    if kind != ObjectKind::File
        && let Some(v) = &o.fs
    {
        ctx.err(v.span(), "`fs` applies only to file objects");
    }
    if kind != ObjectKind::File
        && let Some(v) = &o.attr
    {
        ctx.err(v.span(), "`attr` applies only to file objects");
    }
    if !kind.opened_by_path() {
        for (key, v) in [("open", &o.open), ("second", &o.second)] {
            if let Some(v) = v {
                ctx.err(
                    v.span(),
                    format!(
                        "`{key}` applies only to file, dev-zero, dev-null and dev-random objects"
                    ),
                );
            }
        }
    }
    let seals = match &o.seals {
        Some(s) if kind == ObjectKind::Memfd => ctx.names(s, &names::SEAL),
        Some(s) => {
            ctx.err(s.span(), "`seals` applies only to memfd objects");
            NameSet(Vec::new())
        }
        None => NameSet(Vec::new()),
    };
    let size = ctx.expr_or(&o.size, "0", CType::Off, "object size");
    let content = match &o.content {
        None => Content::Seq,
        Some(s) if s.get_ref() == "seq" => Content::Seq,
        Some(s) => match ctx.pattern(s, false) {
            Bytes::Zeros => Content::Zeros,
            Bytes::Byte(b) => Content::Byte(b),
            Bytes::Object => Content::Seq,
        },
    };
    let mode = |ctx: &mut Ctx, s: &Spanned<String>, key: &str| {
        let set = ctx.names(s, &names::OPEN);
        let modes = set
            .0
            .iter()
            .filter(|n| !matches!(n.as_str(), "O_APPEND" | "O_PATH"))
            .count();
        if modes != 1 {
            ctx.err(
                s.span(),
                format!("{key} needs exactly one of O_RDONLY, O_WRONLY, O_RDWR"),
            );
        }
        set
    };
    let open = match &o.open {
        Some(s) => mode(ctx, s, "open"),
        None => NameSet(vec!["O_RDWR".into()]),
    };
    let second = o.second.as_ref().map(|s| mode(ctx, s, "second"));
    let fs = match o.fs.as_ref().map(|f| (f, f.get_ref().as_str())) {
        None | Some((_, "disk")) => Fs::Disk,
        Some((_, "storage")) => Fs::Storage,
        Some((_, "tmpfs")) => Fs::Tmpfs,
        Some((_, "noexec")) => Fs::Noexec,
        Some((f, other)) => {
            ctx.err(
                f.span(),
                format!("bad fs `{other}`: expected disk, storage, tmpfs or noexec"),
            );
            Fs::Disk
        }
    };
    let attr = match o.attr.as_ref().map(|a| (a, a.get_ref().as_str())) {
        None => None,
        Some((_, "append-only")) => Some(Attr::AppendOnly),
        Some((a, other)) => {
            ctx.err(
                a.span(),
                format!("bad attr `{other}`: expected append-only"),
            );
            None
        }
    };
    if let (Some(Attr::AppendOnly), Some(a)) = (attr, &o.attr) {
        if fs == Fs::Noexec {
            ctx.err(
                a.span(),
                "attr = \"append-only\" cannot be combined with fs = \"noexec\" (the noexec file is made in the child's own mount namespace)",
            );
        }
        // open(2) refuses write access to an append-only file without O_APPEND (EPERM):
        // that would be setup failure, never the case's outcome.
        for (key, mode) in [("open", Some(&open)), ("second", second.as_ref())] {
            if let Some(m) = mode
                && m.0.iter().any(|n| n == "O_WRONLY" || n == "O_RDWR")
                && !m.0.iter().any(|n| n == "O_APPEND")
            {
                ctx.err(
                    a.span(),
                    format!("an append-only file opens for writing only with O_APPEND: add |O_APPEND to `{key}` (open(2) fails with EPERM otherwise)"),
                );
            }
        }
    }
    Object {
        kind,
        size,
        content,
        open,
        fs,
        attr,
        seals,
        second,
    }
}

pub(super) fn convert_mapping(
    ctx: &mut Ctx,
    sm: &Spanned<RawMapping>,
    has_object: bool,
) -> Mapping {
    let m = sm.get_ref();
    let name = m.name.get_ref().clone();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        ctx.err(
            m.name.span(),
            format!("bad mapping name `{name}`: use letters, digits and _"),
        );
    }
    let fd = m.fd.as_ref().map(|f| ctx.fd(f)).unwrap_or(Fd::Num(-1));
    if matches!(fd, Fd::Object | Fd::Second) && !has_object {
        ctx.err(sm.span(), "fd = \"object\" but the case has no object");
    }
    let prot = match &m.prot {
        Some(p) => ctx.names(p, &names::PROT),
        None => NameSet(vec!["PROT_READ".into(), "PROT_WRITE".into()]),
    };
    let flags = match &m.flags {
        Some(f) => ctx.names(f, &names::MAP),
        None => NameSet(vec!["MAP_PRIVATE".into(), "MAP_ANONYMOUS".into()]),
    };
    let fill = m.fill.as_ref().map(|f| match ctx.pattern(f, false) {
        Bytes::Byte(b) => b,
        _ => 0,
    });
    Mapping {
        name,
        len: ctx.expr(&m.len, CType::Size, "mapping len"),
        prot,
        flags,
        fd,
        offset: ctx.expr_or(&m.offset, "0", CType::Off, "mapping offset"),
        at: m.at.as_ref().map(|a| ctx.addr(a)),
        fill,
    }
}
