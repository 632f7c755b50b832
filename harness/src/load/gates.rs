//! Where a case applies beyond `os`: the architecture gate (`arch = ["x86_64"]`), the
//! kernel releases it needs (`kernel = { linux = ">=6.10" }`), and the child-side setup
//! calls (`setup = [{ fn = "mlockall", flags = "MCL_CURRENT" }]`) that put the process in
//! the state a case is about.

use super::calls::{RawCall, convert_call};
use super::ctx::Ctx;
use crate::model::Call;
use crate::names::Os;
use std::collections::BTreeMap;
use toml::Spanned;

/// The architectures a case may name: Rust's `target_arch` spellings, which the host
/// facts and reports use.
pub const ARCHES: [&str; 8] = [
    "x86_64",
    "aarch64",
    "riscv64",
    "powerpc64",
    "s390x",
    "x86",
    "arm",
    "loongarch64",
];

/// The most setup calls a case may make.
pub const MAX_SETUP_CALLS: usize = 8;

pub(super) fn convert_arches(
    ctx: &mut Ctx,
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
) -> Vec<String> {
    let Some(list) = raw else {
        return Vec::new();
    };
    if list.get_ref().is_empty() {
        ctx.err(
            list.span(),
            "arch lists at least one architecture (or leave it out: all)",
        );
    }
    let mut out = Vec::new();
    for a in list.get_ref() {
        if !ARCHES.contains(&a.get_ref().as_str()) {
            ctx.err(
                a.span(),
                format!(
                    "unknown architecture `{}`; valid: {}",
                    a.get_ref(),
                    ARCHES.join(", ")
                ),
            );
        } else if out.contains(a.get_ref()) {
            ctx.err(
                a.span(),
                format!("architecture `{}` listed twice", a.get_ref()),
            );
        } else {
            out.push(a.get_ref().clone());
        }
    }
    out
}

pub(super) fn convert_kernel(
    ctx: &mut Ctx,
    raw: Option<&Spanned<BTreeMap<String, Spanned<String>>>>,
    oses: &[Os],
) -> Vec<(Os, String)> {
    let Some(table) = raw else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, range) in table.get_ref() {
        let Some(os) = Os::from_key(key) else {
            ctx.err(
                range.span(),
                format!("kernel: unknown OS `{key}`; expected linux or freebsd"),
            );
            continue;
        };
        if !oses.contains(&os) {
            ctx.err(
                range.span(),
                format!("kernel: the case does not apply to {key}"),
            );
        }
        if let Err(e) = crate::expectations::release_in(range.get_ref(), "0") {
            ctx.err(range.span(), format!("kernel.{key}: {e}"));
        }
        out.push((os, range.get_ref().clone()));
    }
    out
}

pub(super) fn convert_setup(
    ctx: &mut Ctx,
    raw: &[Spanned<RawCall>],
    has_object: bool,
) -> Vec<Call> {
    if raw.len() > MAX_SETUP_CALLS {
        ctx.err(
            raw[MAX_SETUP_CALLS].span(),
            format!("at most {MAX_SETUP_CALLS} setup calls"),
        );
    }
    raw.iter()
        .map(|c| {
            let call = convert_call(ctx, c, has_object);
            refuse_outside_the_call(ctx, c.span(), &call, "setup");
            if matches!(
                call,
                Call::Mmap { .. } | Call::Mremap { .. } | Call::ShmOpen { .. }
            ) {
                // Their result would name a mapping no address base can reach.
                ctx.err(
                    c.span(),
                    format!(
                        "{} is not a setup call: make a setup mapping or object instead",
                        call.name()
                    ),
                );
            }
            call
        })
        .collect()
}

/// `mdwe` puts the process in a state; it is not a call of the family a step makes (the
/// case's own call may be one, for prctl's errors).
pub(super) fn refuse_setup_only(ctx: &mut Ctx, span: std::ops::Range<usize>, call: &Call) {
    if matches!(call, Call::Mdwe { .. }) {
        ctx.err(
            span,
            "mdwe (prctl PR_SET_MDWE) is a setup call or the case's call, not a step: list it in `setup`",
        );
    }
}

/// process_madvise's pidfd is made in the child's setup for the case's call only.
pub(super) fn refuse_outside_the_call(
    ctx: &mut Ctx,
    span: std::ops::Range<usize>,
    call: &Call,
    place: &str,
) {
    if matches!(call, Call::ProcessMadvise { .. }) {
        ctx.err(
            span,
            format!("process_madvise may only be the case's call, not in {place} (its pidfd is made for the call)"),
        );
    }
}
