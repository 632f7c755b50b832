//! Outcomes: what the call and each step are expected to give (per OS), what a deviation
//! observed instead, and the rule that each OS's expectation includes what its cited
//! clauses promise unless a deviation names them.

use super::ctx::Ctx;
use super::os_name;
use crate::expr::AddrBase;
use crate::model::*;
use crate::names;
use crate::registry::Registry;
use serde::Deserialize;
use std::collections::HashSet;
use toml::Spanned;

#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpect {
    bytes: Option<Spanned<String>>,
    result: Option<Spanned<String>>,
    errno: Option<Spanned<OneOrMany>>,
    fault: Option<Spanned<String>>,
    linux: Option<Spanned<Box<RawExpect>>>,
    freebsd: Option<Spanned<Box<RawExpect>>>,
    pub(super) observe: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeviation {
    os: Spanned<String>,
    step: Option<Spanned<usize>>,
    observed: Spanned<RawExpect>,
    why: String,
    evidence: String,
    #[serde(default)]
    contradicts: Vec<Spanned<String>>,
    release: Option<Spanned<String>>,
    arch: Option<Spanned<Vec<Spanned<String>>>>,
    abi: Option<Spanned<String>>,
}

/// `placed = { below = "null+0x80000000" }`: exactly one key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlaced {
    equals: Option<Spanned<String>>,
    not: Option<Spanned<String>>,
    within: Option<Spanned<Vec<Spanned<String>>>>,
    below: Option<Spanned<String>>,
}

impl Ctx<'_> {
    pub(super) fn outcome(&mut self, e: &Spanned<RawExpect>) -> PerOs<Outcome> {
        let default = self.single_outcome(e, true, false);
        let os_outcome = |o: &Option<Spanned<Box<RawExpect>>>, ctx: &mut Self| {
            o.as_ref().map(|s| {
                let inner = Spanned::new(s.span(), (**s.get_ref()).clone_shallow());
                ctx.single_outcome(&inner, false, false)
            })
        };
        let linux = os_outcome(&e.get_ref().linux, self);
        let freebsd = os_outcome(&e.get_ref().freebsd, self);
        PerOs {
            default,
            linux,
            freebsd,
        }
    }

    /// One outcome; `deviation` allows `bytes` (what a read saw instead) and no per-OS tables.
    pub(super) fn single_outcome(
        &mut self,
        e: &Spanned<RawExpect>,
        allow_os: bool,
        deviation: bool,
    ) -> Outcome {
        let r = e.get_ref();
        if !allow_os && (r.linux.is_some() || r.freebsd.is_some()) {
            self.err(e.span(), "per-OS outcomes do not nest");
        }
        let given = [
            r.result.is_some(),
            r.errno.is_some(),
            r.fault.is_some(),
            r.bytes.is_some(),
            r.observe.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            self.err(
                e.span(),
                "an outcome needs exactly one of result = \"ok\", errno = \"E...\", fault = \"SIG... CODE\", observe = true (deviations also bytes = \"...\")",
            );
            return Outcome::Ok;
        }
        if let Some(o) = &r.observe {
            if deviation || !*o.get_ref() {
                self.err(
                    o.span(),
                    "observe = true marks an expectation whose clause leaves the result unspecified (never false, never in a deviation)",
                );
            }
            return Outcome::Observe;
        }
        if let Some(b) = &r.bytes {
            if !deviation {
                self.err(b.span(), "bytes = \"...\" describes what a deviation observed; expectations check bytes in the step");
            }
            return Outcome::Bytes(self.pattern(b, false));
        }
        if let Some(res) = &r.result {
            if res.get_ref() != "ok" {
                self.err(
                    res.span(),
                    "result must be \"ok\" (use errno = \"E...\" for a failure)",
                );
            }
            return Outcome::Ok;
        }
        if let Some(errno) = &r.errno {
            let list = match errno.get_ref() {
                OneOrMany::One(e) => vec![e.clone()],
                OneOrMany::Many(v) => v.clone(),
            };
            if list.is_empty() || (deviation && list.len() > 1) {
                self.err(
                    errno.span(),
                    "errno is a name, or a list of the names the cited clauses allow (deviations: one name)",
                );
            }
            for e in &list {
                if let Err(names::NameError::Unknown { valid, .. }) = names::ERRNO.check(e) {
                    self.err(
                        errno.span(),
                        format!("unknown errno `{e}`; valid names: {valid}"),
                    );
                }
            }
            return Outcome::Errno(list);
        }
        let fault = r.fault.as_ref().expect("counted above");
        let mut parts = fault.get_ref().split_whitespace();
        let (Some(signal), code, None) = (parts.next(), parts.next(), parts.next()) else {
            self.err(
                fault.span(),
                "fault must be \"SIGNAL\" or \"SIGNAL SI_CODE\", e.g. \"SIGBUS\" or \"SIGSEGV SEGV_ACCERR\"",
            );
            return Outcome::Ok;
        };
        let signo = names::SIGNAL
            .values
            .iter()
            .find(|(n, _)| *n == signal)
            .map(|(_, v)| *v as i32);
        let code_ok =
            code.is_none_or(|c| signo.is_some_and(|s| names::si_code_value(s, c).is_some()));
        if signo.is_none() || !code_ok {
            let valid: Vec<_> = names::SI_CODE.iter().map(|(n, _, _)| *n).collect();
            self.err(
                fault.span(),
                format!(
                    "unknown fault `{}`; signals: SIGSEGV, SIGBUS; codes: {}",
                    fault.get_ref(),
                    valid.join(", ")
                ),
            );
        }
        Outcome::Fault {
            signal: signal.to_string(),
            code: code.map(str::to_string),
        }
    }
}

impl RawExpect {
    /// A copy of the outcome keys only (per-OS tables are read separately).
    fn clone_shallow(&self) -> RawExpect {
        RawExpect {
            bytes: self.bytes.clone(),
            result: self.result.clone(),
            errno: self.errno.clone(),
            fault: self.fault.clone(),
            linux: None,
            freebsd: None,
            observe: self.observe.clone(),
        }
    }
}

/// A case's deviations, each checked against the case's steps and cited clauses.
pub(super) fn convert_deviations(
    ctx: &mut Ctx,
    deviation: &[Spanned<RawDeviation>],
    cited: &[Spanned<String>],
    steps: &[Step],
) -> Vec<Deviation> {
    let mut deviations = Vec::new();
    for d in deviation {
        let r = d.get_ref();
        let Some(os) = os_name(ctx, &r.os) else {
            continue;
        };
        if let Some(n) = &r.step
            && (*n.get_ref() == 0 || *n.get_ref() > steps.len())
        {
            ctx.err(
                n.span(),
                format!(
                    "step {} does not exist (the case has {})",
                    n.get_ref(),
                    steps.len()
                ),
            );
        }
        if r.why.trim().is_empty() || r.evidence.trim().is_empty() {
            ctx.err(d.span(), "a deviation needs a why and evidence");
        }
        for cl in &r.contradicts {
            if !cited.iter().any(|x| x.get_ref() == cl.get_ref()) {
                ctx.err(
                    cl.span(),
                    format!(
                        "`{}` is not among the clauses this case cites",
                        cl.get_ref()
                    ),
                );
            }
        }
        if let Some(range) = &r.release
            && let Err(e) = crate::expectations::release_in(range.get_ref(), "0")
        {
            ctx.err(range.span(), format!("release: {e}"));
        }
        let abi = r.abi.as_ref().and_then(|a| {
            let abi = crate::model::Abi::from_key(a.get_ref());
            if abi.is_none() {
                ctx.err(
                    a.span(),
                    format!(
                        "unknown abi `{}`; valid: {}",
                        a.get_ref(),
                        crate::model::Abi::KEYS.join(", ")
                    ),
                );
            }
            abi
        });
        let arch = super::gates::convert_arches(ctx, r.arch.as_ref());
        let observed = ctx.single_outcome(&r.observed, false, true);
        deviations.push(Deviation {
            arch,
            abi,
            release: r.release.as_ref().map(|s| s.get_ref().clone()),
            contradicts: r.contradicts.iter().map(|s| s.get_ref().clone()).collect(),
            os,
            step: r.step.as_ref().map(|s| *s.get_ref()),
            observed,
            why: r.why.clone(),
            evidence: r.evidence.clone(),
        });
    }
    deviations
}

/// The rule that keeps a ✓ honest at its source: where a cited clause of an OS (or of
/// POSIX, which binds both) promises an outcome, the case's expectations for that OS
/// (the call's or a step's) must include it, unless a deviation for that OS names the
/// clause. Returns one message per OS the clause is broken for.
pub fn promise_departures(case: &Case, clause: &str, registry: &Registry) -> Vec<String> {
    let (Some(c), Some(page)) = (registry.clauses.get(clause), registry.page_of(clause)) else {
        return Vec::new();
    };
    let Some(promise) = &c.promises else {
        return Vec::new();
    };
    if page.historical {
        return Vec::new();
    }
    let mut out = Vec::new();
    for &os in &case.oses {
        if page.os != "posix" && page.os != os.key() {
            continue;
        }
        let mut parts = vec![case.expect.for_os(os)];
        parts.extend(case.steps.iter().map(|s| s.expect.for_os(os)));
        if parts.iter().any(|o| promised_by(promise, o)) {
            continue;
        }
        if case
            .deviations
            .iter()
            .any(|d| d.os == os && d.contradicts.iter().any(|x| x == clause))
        {
            continue;
        }
        let expected: Vec<String> = parts.iter().map(|o| o.to_string()).collect();
        out.push(format!(
            "`{clause}` promises {promise}, but on {os} this case expects {}: expect what the \
             clause says, record a deviation that names it (with evidence), or stop citing it",
            expected.join(", then ")
        ));
    }
    out
}

fn promised_by(p: &crate::registry::Promise, o: &Outcome) -> bool {
    use crate::registry::{Promise, errno_key};
    match (p, o) {
        (Promise::Errno(e), Outcome::Errno(any)) => {
            any.iter().any(|x| errno_key(x) == errno_key(e))
        }
        (Promise::Signal { signal, code }, Outcome::Fault { signal: s, code: c }) => {
            s == signal && (code.is_none() || c == code)
        }
        _ => false,
    }
}

/// Where a successful mmap or mremap must have put its mapping. `succeeds_somewhere`: the
/// call is expected to succeed on at least one OS of the case (else nothing is placed).
pub(super) fn convert_placed(
    ctx: &mut Ctx,
    sp: &Spanned<RawPlaced>,
    call: &Call,
    succeeds_somewhere: bool,
    mappings: &HashSet<String>,
) -> Placed {
    let p = sp.get_ref();
    let given = [
        p.equals.is_some(),
        p.not.is_some(),
        p.within.is_some(),
        p.below.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        ctx.err(
            sp.span(),
            "placed needs exactly one of equals = ADDR, not = ADDR, within = [ADDR, ADDR], below = ADDR",
        );
    }
    if !matches!(call, Call::Mmap { .. } | Call::Mremap { .. }) {
        ctx.err(
            sp.span(),
            format!("placed applies to mmap and mremap, not {}", call.name()),
        );
    }
    if !succeeds_somewhere {
        ctx.err(
            sp.span(),
            "placed needs a call expected to succeed on some OS: a failed call places nothing",
        );
    }
    let addr = |ctx: &mut Ctx, s: &Spanned<String>| {
        let a = ctx.addr(s);
        match &a.base {
            AddrBase::Result => ctx.err(
                s.span(),
                "placed compares the result with another address; it cannot name `result`",
            ),
            AddrBase::Mapping(n) if !mappings.contains(n) => {
                ctx.err(s.span(), format!("no setup mapping is named `{n}`"))
            }
            _ => {}
        }
        a
    };
    let (how, at, end) = if let Some(a) = &p.equals {
        (Placement::Equals, addr(ctx, a), None)
    } else if let Some(a) = &p.not {
        (Placement::NotEqual, addr(ctx, a), None)
    } else if let Some(a) = &p.below {
        (Placement::Below, addr(ctx, a), None)
    } else if let Some(w) = &p.within
        && let [lo, hi] = w.get_ref().as_slice()
    {
        (Placement::Within, addr(ctx, lo), Some(addr(ctx, hi)))
    } else {
        if let Some(w) = &p.within {
            ctx.err(w.span(), "within takes two addresses: [start, end)");
        }
        let null = Spanned::new(sp.span(), "null".to_string());
        (Placement::Below, addr(ctx, &null), None)
    };
    Placed { how, at, end }
}
