//! The loader's per-file context: turns byte spans into located errors, and parses and
//! checks the small values every part of a case uses (expressions evaluated for each OS
//! and page size, addresses, C names, bytes and byte patterns).

use crate::expr::{AddrBase, AddrExpr, CType, Env, Expr};
use crate::located::{Lines, LoadError};
use crate::model::*;
use crate::names::{NameSet, Os, Table};
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// The page sizes every expression is evaluated with at load time: those kernels use
/// today (4 KiB on x86_64, 16 KiB on Apple arm64, 64 KiB on some arm64 and ppc64).
pub const CHECK_PAGE_SIZES: [i128; 3] = [4 << 10, 16 << 10, 64 << 10];

/// The ends of the user address space `top` is evaluated with on each OS, for a page size:
/// Linux x86_64 (one page below 2^47), arm64 (2^48) and 5-level paging (2^56); FreeBSD
/// amd64 (2^47) and arm64 (2^48). `size_t` and `off_t` are 64 bits on all of them: case
/// files are checked for 64-bit ABIs (on a 32-bit one a value that does not fit makes the
/// case not applicable at plan time), whatever the harness was built for.
fn check_tops(os: Os, page: i128) -> Vec<i128> {
    match os {
        Os::Linux => vec![(1 << 47) - page, 1 << 48, 1 << 56],
        Os::Freebsd => vec![1 << 47, 1 << 48],
    }
}

/// Turns byte spans into located errors for one file.
pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) lines: Lines<'a>,
    pub(super) errors: Vec<LoadError>,
    /// What the current case's expressions are evaluated against, and where (for messages).
    pub(super) envs: Vec<(Os, Env)>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(path: &'a Path, lines: Lines<'a>) -> Self {
        Ctx {
            path,
            lines,
            errors: Vec::new(),
            envs: Vec::new(),
        }
    }

    pub(super) fn err(&mut self, span: Range<usize>, msg: impl Into<String>) {
        let (line, col) = self.lines.locate(span.start);
        self.errors.push(LoadError {
            file: self.path.to_path_buf(),
            line,
            col,
            msg: msg.into(),
        });
    }

    /// Sets the OSes the current case's expressions are checked for.
    pub(super) fn check_for(&mut self, oses: &[Os]) {
        self.envs = oses
            .iter()
            .flat_map(|&os| {
                CHECK_PAGE_SIZES.iter().flat_map(move |&page| {
                    check_tops(os, page)
                        .into_iter()
                        .map(move |top| (os, Env { page, max: 0, top }))
                })
            })
            .collect();
    }

    /// Parses a size expression and evaluates it as the C type `ty` of argument `what` on
    /// every OS and page size the case may meet: division by zero, overflow and a value
    /// outside `ty` are errors here, at the expression, not at plan time.
    pub(super) fn expr(&mut self, s: &Spanned<String>, ty: CType, what: &str) -> Expr {
        let e = Expr::parse(s.get_ref()).unwrap_or_else(|e| {
            self.err(s.span(), format!("bad size expression: {e}"));
            Expr::Int(0)
        });
        self.check_value(&e, s, ty, what);
        e
    }

    pub(super) fn check_value(&mut self, e: &Expr, s: &Spanned<String>, ty: CType, what: &str) {
        let bad = self
            .envs
            .iter()
            .find_map(|(os, env)| e.value_for(ty, *env, 64).err().map(|m| (*os, env.page, m)));
        if let Some((os, page, m)) = bad {
            self.err(
                s.span(),
                format!(
                    "{what} `{}`: {m} (with {} KiB pages on {})",
                    s.get_ref(),
                    page >> 10,
                    os.key()
                ),
            );
        }
    }

    pub(super) fn expr_or(
        &mut self,
        s: &Option<Spanned<String>>,
        default: &str,
        ty: CType,
        what: &str,
    ) -> Expr {
        match s {
            Some(s) => self.expr(s, ty, what),
            None => Expr::parse(default).expect("defaults are valid"),
        }
    }

    pub(super) fn addr(&mut self, s: &Spanned<String>) -> AddrExpr {
        let a = AddrExpr::parse(s.get_ref()).unwrap_or_else(|e| {
            self.err(s.span(), format!("bad address: {e}"));
            AddrExpr {
                base: AddrBase::Null,
                offset: None,
                text: "null".into(),
            }
        });
        if let Some(off) = &a.offset {
            self.check_value(off, s, CType::Ptr, "address");
        }
        a
    }

    pub(super) fn names(&mut self, s: &Spanned<String>, table: &Table) -> NameSet {
        NameSet::parse(s.get_ref(), table).unwrap_or_else(|e| {
            self.err(s.span(), e);
            NameSet(Vec::new())
        })
    }

    pub(super) fn byte(&mut self, s: &Spanned<String>) -> u8 {
        let t = s.get_ref().trim();
        let parsed = match t.strip_prefix("0x") {
            Some(h) => u8::from_str_radix(h, 16).ok(),
            None => t.parse().ok(),
        };
        parsed.unwrap_or_else(|| {
            self.err(
                s.span(),
                format!("bad byte `{t}`: expected 0..255 or 0x00..0xff"),
            );
            0
        })
    }

    pub(super) fn pattern(&mut self, s: &Spanned<String>, allow_object: bool) -> Bytes {
        match s.get_ref().as_str() {
            "zeros" => Bytes::Zeros,
            "object" if allow_object => Bytes::Object,
            t => match t.strip_prefix("byte:") {
                Some(b) => Bytes::Byte(self.byte(&Spanned::new(s.span(), b.to_string()))),
                None => {
                    let also = if allow_object { ", \"object\"" } else { "" };
                    self.err(
                        s.span(),
                        format!(
                            "bad byte pattern `{t}`: expected \"zeros\"{also} or \"byte:0xNN\""
                        ),
                    );
                    Bytes::Zeros
                }
            },
        }
    }
}
