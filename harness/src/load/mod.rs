//! Loading: case files and the clause registry from TOML into validated [`Case`]s.
//!
//! Every problem is a [`LoadError`] located at file:line:col, with what was expected; the
//! loader never panics on input. Checked here: TOML syntax and keys, unknown C names (valid
//! names listed), expressions, addresses, duplicate ids, unknown clause IDs, and that each
//! OS's expectation includes what its cited clauses promise (or a deviation names them).
//! This module owns a case as a whole and the suite; one submodule per part of a case
//! ([`objects`], [`calls`], [`steps`], [`expectations`]), [`source`] finds and reads files.

mod calls;
mod ctx;
mod expectations;
mod gates;
mod objects;
mod pieces;
mod source;
mod steps;

pub use crate::located::LoadError;
pub use ctx::CHECK_PAGE_SIZES;
pub use expectations::promise_departures;
pub use gates::{ARCHES, MAX_SETUP_CALLS};
pub use source::{MAX_FILE_BYTES, decode, not_regular, read_source};

use crate::expr::CType;
use crate::located::{Lines, err_at, toml_error};
use crate::model::*;
use crate::names;
use crate::names::Os;
use crate::registry::Registry;
pub use calls::{MAX_IOV, UIO_MAXIOV};
use calls::{RawCall, convert_call};
use ctx::Ctx;
use expectations::{RawDeviation, RawExpect, RawPlaced, convert_deviations, convert_placed};
use objects::{RawMapping, RawObject, convert_mapping, convert_object};
use serde::Deserialize;
use source::collect_toml;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
pub use steps::MAX_VECTOR;
use steps::{RawStep, check_addresses, convert_step};
use toml::Spanned;

/// The most steps a case may have (the executor's report has a fixed size).
pub const MAX_STEPS: usize = 32;
/// The most setup mappings a case may have.
pub const MAX_MAPPINGS: usize = 8;

/// Everything under a cases directory.
#[derive(Debug, Clone)]
pub struct Suite {
    pub registry: Registry,
    pub cases: Vec<Case>,
}

/// The registry's directory, relative to the cases directory.
pub const REGISTRY_DIR: &str = "clauses";

/// Loads every `*.toml` below `dir`: the registry under `dir/clauses/`, cases elsewhere.
pub fn load_dir(dir: &Path) -> Result<Suite, Vec<LoadError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    collect_toml(dir, &mut files, &mut errors);
    let mut sources = Vec::new();
    for file in files {
        match read_source(&file) {
            Ok(text) => {
                let rel = file.strip_prefix(dir).unwrap_or(&file).to_path_buf();
                sources.push((rel, file, text));
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| a.file.cmp(&b.file));
        return Err(errors);
    }
    load_sources(
        sources
            .iter()
            .map(|(rel, shown, text)| (rel.as_path(), shown.as_path(), text.as_str())),
    )
}

/// One unknown clause ID cited by many cases is one mistake (often a typo in the
/// registry): one error at its first citation, naming the others, not one per case.
fn one_error_per_unknown_clause(errors: Vec<LoadError>) -> Vec<LoadError> {
    let id_of = |e: &LoadError| {
        e.msg
            .strip_prefix("unknown clause ID `")
            .and_then(|r| r.split_once('`'))
            .map(|(id, _)| id.to_string())
    };
    let mut out: Vec<LoadError> = Vec::new();
    let mut first: HashMap<String, (usize, Vec<String>)> = HashMap::new();
    for e in errors {
        let Some(id) = id_of(&e) else {
            out.push(e);
            continue;
        };
        match first.get_mut(&id) {
            Some((_, more)) => more.push(format!("{}:{}", e.file.display(), e.line)),
            None => {
                first.insert(id, (out.len(), Vec::new()));
                out.push(e);
            }
        }
    }
    for (at, more) in first.into_values().filter(|(_, m)| !m.is_empty()) {
        let shown: Vec<&str> = more.iter().take(5).map(String::as_str).collect();
        let rest = more.len() - shown.len();
        out[at].msg.push_str(&format!(
            "; also cited by {} more case(s): {}{}; if the registry misspells it, fix it there",
            more.len(),
            shown.join(", "),
            if rest > 0 {
                format!(" and {rest} more")
            } else {
                String::new()
            }
        ));
    }
    out
}

/// Loads a suite from files given as (path relative to the cases directory, path to show
/// in errors, text): the same for a directory on disk and for the copy built into the binary.
/// All errors are collected, so one run shows every broken file.
pub fn load_sources<'a>(
    sources: impl IntoIterator<Item = (&'a Path, &'a Path, &'a str)>,
) -> Result<Suite, Vec<LoadError>> {
    // The peer ledger is not cases: `peers` loads it.
    let mut sources: Vec<_> = sources
        .into_iter()
        .filter(|(rel, _, _)| !rel.starts_with(crate::peers::DIR))
        .collect();
    sources.sort_by_key(|(rel, _, _)| rel.to_path_buf());
    let (reg, case_files): (Vec<_>, Vec<_>) = sources
        .into_iter()
        .partition(|(rel, _, _)| rel.starts_with(REGISTRY_DIR));
    let mut registry = Registry::default();
    let mut errors = Vec::new();
    let mut shown_of = BTreeMap::new();
    for (_, shown, text) in &reg {
        if let Err(e) = registry.add_file(shown, text) {
            errors.push(e);
        }
        if let Some(stem) = shown.file_stem() {
            shown_of.insert(stem.to_string_lossy().into_owned(), shown.to_path_buf());
        }
    }
    if reg.is_empty() {
        errors.push(err_at(
            Path::new(REGISTRY_DIR),
            "no clause registry: the cases directory has no clauses/*.toml".into(),
        ));
    }
    errors.extend(registry.check_links(|page| shown_of.get(page).cloned().unwrap_or_default()));
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut cases = Vec::new();
    for (_, shown, text) in &case_files {
        match parse_file(shown, text, &registry) {
            Ok(mut c) => cases.append(&mut c),
            Err(mut e) => errors.append(&mut e),
        }
    }
    let mut errors = one_error_per_unknown_clause(errors);
    let mut seen: HashMap<String, (PathBuf, usize)> = HashMap::new();
    for c in &cases {
        if let Some((f, l)) = seen.get(&c.id) {
            errors.push(LoadError {
                file: c.file.clone(),
                line: c.line,
                col: 1,
                msg: format!(
                    "duplicate case id `{}` (first defined at {}:{l})",
                    c.id,
                    f.display()
                ),
            });
        } else {
            seen.insert(c.id.clone(), (c.file.clone(), c.line));
        }
    }
    if errors.is_empty() {
        Ok(Suite { registry, cases })
    } else {
        Err(errors)
    }
}

// ---- raw TOML shapes -------------------------------------------------------------------

/// A case file's keys other than its cases (`case` is read case by case).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHead {
    #[serde(default)]
    unverified: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: Spanned<String>,
    title: String,
    clauses: Spanned<Vec<Spanned<String>>>,
    os: Option<Vec<Spanned<String>>>,
    timeout: Option<Spanned<f64>>,
    privilege: Option<Spanned<String>>,
    #[serde(default)]
    limits: BTreeMap<String, Spanned<String>>,
    hole: Option<Spanned<String>>,
    object: Option<Spanned<RawObject>>,
    #[serde(default)]
    mapping: Vec<Spanned<RawMapping>>,
    call: Spanned<RawCall>,
    expect: Spanned<RawExpect>,
    placed: Option<Spanned<RawPlaced>>,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
    #[serde(default)]
    deviation: Vec<Spanned<RawDeviation>>,
    arch: Option<Spanned<Vec<Spanned<String>>>>,
    kernel: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    #[serde(default)]
    setup: Vec<Spanned<RawCall>>,
}

/// Parses one case file: one parse of the text into a spanned document; then each case's
/// content hash, typed shape and conversion, for chunks of cases on as many threads as
/// there are CPUs (a 20 000-case file is checked in well under a second).
pub fn parse_file(
    path: &Path,
    text: &str,
    clauses: &Registry,
) -> Result<Vec<Case>, Vec<LoadError>> {
    use toml::de::{DeTable, DeValue, ValueDeserializer};
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cuts = pieces::cuts(text, threads);
    let starts = std::iter::once(0).chain(cuts.iter().copied());
    let ends = cuts.iter().copied().chain(std::iter::once(text.len()));
    let texts: Vec<String> = match cuts.is_empty() {
        true => Vec::new(),
        false => starts
            .zip(ends)
            .map(|(a, b)| pieces::padded(text, a, b))
            .collect(),
    };
    let parsed = if cuts.is_empty() {
        DeTable::parse(text)
    } else {
        pieces::parse(&texts)
    };
    let mut doc = parsed.map_err(|e| vec![toml_error(path, text, &e)])?;
    let case_key = Spanned::new(0..0, std::borrow::Cow::Borrowed("case"));
    let case_value = doc.get_mut().remove(&case_key);
    let head = RawHead::deserialize(toml::de::Deserializer::from(doc))
        .map_err(|e| vec![toml_error(path, text, &e)])?;
    let raw_cases: Vec<Spanned<DeValue>> = match case_value {
        None => Vec::new(),
        Some(v) if v.get_ref().is_array() => match v.into_inner() {
            DeValue::Array(a) => a.into_iter().collect(),
            _ => unreachable!("checked to be an array"),
        },
        // Not an array of tables: the typed shape says what is wrong, and where.
        Some(v) => {
            let e = Vec::<Spanned<RawCase>>::deserialize(ValueDeserializer::from(v))
                .err()
                .map(|e| toml_error(path, text, &e));
            return Err(e.into_iter().collect());
        }
    };
    let lines = Lines::new(text);
    let mut head_ctx = Ctx::new(path, lines.clone());
    let unverified: Vec<Os> = head
        .unverified
        .iter()
        .filter_map(|o| os_name(&mut head_ctx, o))
        .collect();
    if !head_ctx.errors.is_empty() {
        return Err(head_ctx.errors);
    }
    let chunk = raw_cases.len().div_ceil(threads).max(256);
    let convert = |part: Vec<Spanned<DeValue>>| {
        let mut ctx = Ctx::new(path, lines.clone());
        let mut shape_errors = Vec::new();
        let mut cases = Vec::with_capacity(part.len());
        for value in part {
            let hash = case_hash(value.get_ref());
            match Spanned::<RawCase>::deserialize(ValueDeserializer::from(value)) {
                Ok(raw) => {
                    let mut case = convert_case(&mut ctx, &raw, &unverified, clauses);
                    case.hash = hash;
                    cases.push(case);
                }
                Err(e) => shape_errors.push(toml_error(path, text, &e)),
            }
        }
        (cases, shape_errors, ctx.errors)
    };
    let mut parts: Vec<Vec<Spanned<DeValue>>> = Vec::new();
    let mut rest = raw_cases.into_iter().peekable();
    while rest.peek().is_some() {
        parts.push(rest.by_ref().take(chunk).collect());
    }
    let results: Vec<_> = if parts.len() <= 1 {
        parts.into_iter().map(convert).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = parts
                .into_iter()
                .map(|part| s.spawn(|| convert(part)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    let (mut cases, mut shape_errors, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for (c, s, e) in results {
        cases.extend(c);
        shape_errors.extend(s);
        errors.extend(e);
    }
    // A case whose shape is wrong is reported alone, as a parse error always was.
    if !shape_errors.is_empty() {
        Err(shape_errors)
    } else if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}

/// The content hash of one case's table: SHA-256 over a canonical JSON rendering (keys
/// sorted at every level, no whitespace, integers in decimal, floats exact), so neither
/// the order of keys, nor comments, nor layout, nor the spelling of a number (`0x10`,
/// `1_6`), nor the file's name or place in it changes the hash; any value that changes does.
pub fn case_hash(table: &toml::de::DeValue) -> String {
    use sha2::{Digest, Sha256};
    use toml::de::DeValue;
    // Written straight into the buffer: one allocation per case, not one per string (the
    // hash is 17% of loading 20 000 cases otherwise).
    fn json_string(s: &str, out: &mut Vec<u8>) {
        serde_json::to_writer(&mut *out, s).expect("a string serialises");
    }
    fn push(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(s.as_bytes());
    }
    fn canonical(v: &DeValue, out: &mut Vec<u8>) {
        match v {
            DeValue::Table(t) => {
                let mut entries: Vec<(&str, &DeValue)> = t
                    .iter()
                    .map(|(k, v)| (k.get_ref().as_ref(), v.get_ref()))
                    .collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push(b'{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json_string(k, out);
                    out.push(b':');
                    canonical(v, out);
                }
                out.push(b'}');
            }
            DeValue::Array(a) => {
                out.push(b'[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    canonical(x.get_ref(), out);
                }
                out.push(b']');
            }
            DeValue::String(s) => json_string(s, out),
            // The parser keeps an integer's digits and radix; its value is what counts. One
            // out of i64's range is refused when the case is deserialised.
            DeValue::Integer(n) => {
                let digits = n.as_str();
                let digits: std::borrow::Cow<str> = if digits.contains('_') {
                    digits.replace('_', "").into()
                } else {
                    digits.into()
                };
                match i128::from_str_radix(&digits, n.radix()) {
                    Ok(v) => push(out, &v.to_string()),
                    Err(_) => json_string(n.as_str(), out),
                }
            }
            // Debug keeps "5.0" distinct from the integer 5, and is exact.
            DeValue::Float(f) => match f.as_str().replace('_', "").parse::<f64>() {
                Ok(v) => push(out, &format!("{v:?}")),
                Err(_) => json_string(f.as_str(), out),
            },
            DeValue::Boolean(b) => push(out, if *b { "true" } else { "false" }),
            DeValue::Datetime(d) => json_string(&d.to_string(), out),
        }
    }
    let mut text = Vec::with_capacity(1024);
    canonical(table, &mut text);
    let digest = Sha256::digest(&text);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(2 * digest.len());
    for b in digest {
        hex.push(HEX[usize::from(b >> 4)] as char);
        hex.push(HEX[usize::from(b & 15)] as char);
    }
    hex
}

fn os_name(ctx: &mut Ctx, s: &Spanned<String>) -> Option<Os> {
    let os = Os::from_key(s.get_ref());
    if os.is_none() {
        ctx.err(
            s.span(),
            format!("unknown OS `{}`; expected linux or freebsd", s.get_ref()),
        );
    }
    os
}

fn convert_case(
    ctx: &mut Ctx,
    sc: &Spanned<RawCase>,
    unverified: &[Os],
    clauses: &Registry,
) -> Case {
    let c = sc.get_ref();
    let id = c.id.get_ref().clone();
    let id_ok = !id.is_empty()
        && id.chars().all(|ch| {
            ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '-' | '_')
        })
        && id.contains('.');
    if !id_ok {
        ctx.err(
            c.id.span(),
            format!("bad id `{id}`: use lowercase words, digits, `-` and `.`, as <call>.<theme>.<sentence>"),
        );
    }
    if c.clauses.get_ref().is_empty() {
        ctx.err(c.clauses.span(), "a case cites at least one clause");
    }
    for cl in c.clauses.get_ref() {
        if !clauses.contains(cl.get_ref()) {
            let near: Vec<&str> = clauses
                .clauses
                .keys()
                .filter(|k| shares_prefix(k, cl.get_ref()))
                .map(String::as_str)
                .take(8)
                .collect();
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!("; similar IDs: {}", near.join(", "))
            };
            ctx.err(
                cl.span(),
                format!("unknown clause ID `{}`{hint}", cl.get_ref()),
            );
        }
    }
    let oses = match &c.os {
        Some(list) => list.iter().filter_map(|o| os_name(ctx, o)).collect(),
        None => Os::ALL.to_vec(),
    };
    ctx.check_for(&oses);
    let timeout = match &c.timeout {
        // Written so that NaN fails it too; a millisecond keeps the Duration above zero.
        Some(t) if *t.get_ref() >= 0.001 && *t.get_ref() <= 600.0 => {
            Duration::from_secs_f64(*t.get_ref())
        }
        Some(t) => {
            ctx.err(
                t.span(),
                format!(
                    "timeout {} is not a number of seconds from 0.001 to 600",
                    t.get_ref()
                ),
            );
            Duration::from_secs(5)
        }
        None => Duration::from_secs(5),
    };
    let privilege = match c.privilege.as_ref().map(|p| (p, p.get_ref().as_str())) {
        None | Some((_, "any")) => Privilege::Any,
        Some((_, "unprivileged")) => Privilege::Unprivileged,
        Some((_, "root")) => Privilege::Root,
        Some((p, other)) => {
            ctx.err(
                p.span(),
                format!("bad privilege `{other}`: expected any, unprivileged or root"),
            );
            Privilege::Any
        }
    };
    let mut limits = Vec::new();
    for (name, value) in &c.limits {
        if names::RLIMIT.check(name).is_err() {
            ctx.err(
                value.span(),
                format!("unknown limit `{name}`; valid: RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK"),
            );
        }
        let e = ctx.expr(value, CType::Rlim, name);
        limits.push((name.clone(), e));
    }
    let hole = ctx.expr_or(&c.hole, "64p", CType::Size, "hole");
    let object = c.object.as_ref().map(|o| convert_object(ctx, o));

    let mut mappings: Vec<Mapping> = Vec::new();
    if c.mapping.len() > MAX_MAPPINGS {
        ctx.err(sc.span(), format!("at most {MAX_MAPPINGS} setup mappings"));
    }
    for m in &c.mapping {
        let mapping = convert_mapping(ctx, m, object.is_some());
        if mappings.iter().any(|x| x.name == mapping.name) {
            ctx.err(
                m.get_ref().name.span(),
                format!("duplicate mapping name `{}`", mapping.name),
            );
        }
        mappings.push(mapping);
    }
    let names: HashSet<String> = mappings.iter().map(|m| m.name.clone()).collect();

    // mdwe may be the case's call too: a case about prctl(PR_SET_MDWE)'s own errors.
    let call = convert_call(ctx, &c.call, object.is_some());
    let expect = ctx.outcome(&c.expect);
    let arches = gates::convert_arches(ctx, c.arch.as_ref());
    let kernel = gates::convert_kernel(ctx, c.kernel.as_ref(), &oses);
    let setup = gates::convert_setup(ctx, &c.setup, object.is_some());

    if c.step.len() > MAX_STEPS {
        ctx.err(sc.span(), format!("at most {MAX_STEPS} steps"));
    }
    let mut steps = Vec::new();
    let mut forks = 0;
    for s in &c.step {
        let step = convert_step(ctx, s, forks, object.as_ref());
        if let Action::Call(call) = &step.action {
            gates::refuse_setup_only(ctx, s.span(), call);
            gates::refuse_outside_the_call(ctx, s.span(), call, "a step");
        }
        forks += usize::from(matches!(step.action, Action::Fork));
        steps.push(step);
    }
    // Steps run after a call expected to fail too; there `result` is undefined.
    let fails_on: Vec<Os> = oses
        .iter()
        .copied()
        .filter(|&os| matches!(expect.for_os(os), Outcome::Errno(_)))
        .collect();
    check_addresses(ctx, sc, &call, &fails_on, &steps, &mappings, &names);
    // fd = "second" names the object's second descriptor: located where it is used.
    if object.as_ref().is_none_or(|o| o.second.is_none()) {
        let call_fd = |c: &Call| matches!(c, Call::Mmap { fd: Fd::Second, .. });
        let mut at: Vec<std::ops::Range<usize>> = Vec::new();
        for (m, raw) in mappings.iter().zip(&c.mapping) {
            if m.fd == Fd::Second {
                at.push(raw.span());
            }
        }
        if call_fd(&call) {
            at.push(c.call.span());
        }
        for (st, raw) in steps.iter().zip(&c.step) {
            let second = match &st.action {
                Action::Call(c) => call_fd(c),
                Action::Buffer { fd, .. } => *fd == IoFd::Second,
                _ => false,
            };
            if second {
                at.push(raw.span());
            }
        }
        for span in at {
            ctx.err(
                span,
                "fd = \"second\" needs a second descriptor: object = { ..., second = \"O_RDONLY\" }",
            );
        }
    }
    for a in setup.iter().flat_map(|c| c.addrs()) {
        if matches!(a.base, crate::expr::AddrBase::Result) {
            ctx.err(
                sc.span(),
                "`result` is only defined in steps, not in setup calls",
            );
        } else if let crate::expr::AddrBase::Mapping(n) = &a.base
            && !names.contains(n)
        {
            ctx.err(sc.span(), format!("no setup mapping is named `{n}`"));
        }
    }
    let placed = c
        .placed
        .as_ref()
        .map(|p| convert_placed(ctx, p, &call, fails_on.len() < oses.len(), &names));

    let deviations = convert_deviations(ctx, &c.deviation, c.clauses.get_ref(), &steps);

    let case = Case {
        id,
        title: c.title.clone(),
        clauses: c
            .clauses
            .get_ref()
            .iter()
            .map(|s| s.get_ref().clone())
            .collect(),
        file: ctx.path.to_path_buf(),
        line: ctx.lines.locate(sc.span().start).0,
        oses,
        unverified: unverified.to_vec(),
        timeout,
        privilege,
        limits,
        hole,
        object,
        mappings,
        call,
        expect,
        placed,
        steps,
        deviations,
        arches,
        kernel,
        setup,
        // Set by parse_file, which has the case's table.
        hash: String::new(),
    };
    for cl in c.clauses.get_ref() {
        for msg in promise_departures(&case, cl.get_ref(), clauses) {
            ctx.err(cl.span(), msg);
        }
    }
    case
}

fn shares_prefix(a: &str, b: &str) -> bool {
    let prefix = |s: &str| s.rsplit_once('.').map(|x| x.0).unwrap_or("").to_string();
    !prefix(b).is_empty() && a.starts_with(&prefix(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn registry() -> Registry {
        Registry::of_ids(&[
            "linux.mmap.errors.EBADF.1",
            "posix.mmap.19",
            "linux.mmap.errors.EINVAL.2",
        ])
    }

    const GOOD: &str = r#"
unverified = ["freebsd"]

[[case]]
id = "mmap.ebadf.closed-fd"
title = "closed fd"
clauses = ["linux.mmap.errors.EBADF.1", "posix.mmap.19"]
object = { kind = "closed-fd" }
call = { fn = "mmap", len = "1p", prot = "PROT_READ", flags = "MAP_PRIVATE" }
expect = { errno = "EBADF", freebsd = { errno = "EBADF" } }
"#;

    fn load(text: &str) -> Result<Vec<Case>, Vec<LoadError>> {
        parse_file(Path::new("t.toml"), text, &registry())
    }

    /// A shm_open case with `CALL` and `STEPS` replaced.
    const SHM: &str = r#"
[[case]]
id = "shm_open.t.case"
title = "t"
clauses = ["linux.mmap.errors.EBADF.1"]
CALL
STEPS
"#;

    fn shm(call: &str, steps: &str) -> Result<Vec<Case>, Vec<LoadError>> {
        load(&SHM.replace("CALL", call).replace("STEPS", steps))
    }

    #[test]
    fn a_shm_open_case_with_fd_stat_steps_loads() {
        let cases = shm(
            "call = { fn = \"shm_open\", name = \"existing\", existing_mode = \"0640\", existing_size = \"1p\", oflag = \"O_RDWR|O_TRUNC\" }\nexpect = { result = \"ok\" }",
            "[[case.step]]\nfd_stat = \"mode\"\nequals = \"0640\"\n[[case.step]]\nftruncate = \"1p\"\nfd = \"result\"",
        )
        .unwrap();
        let Call::ShmOpen {
            name, mode, umask, ..
        } = &cases[0].call
        else {
            panic!("{:?}", cases[0].call)
        };
        assert!(matches!(name, ShmName::Existing { mode: 0o640, .. }));
        assert_eq!((*mode, *umask), (0o600, 0o022));
        assert!(matches!(
            cases[0].steps[0].action,
            Action::FdStat {
                field: FdField::Mode,
                want: FdWant::Value(0o640)
            }
        ));
        assert!(matches!(
            cases[0].steps[1].action,
            Action::Ftruncate {
                via_result: true,
                ..
            }
        ));
    }

    /// Bad shm_open input is a located error (line of the offending value), never a panic.
    #[rstest]
    #[case::unknown_name(
        "call = { fn = \"shm_open\", name = \"/tmp/x\", oflag = \"O_RDWR\" }\nexpect = { result = \"ok\" }",
        "",
        6,
        "unknown shm_open name `/tmp/x`"
    )]
    #[case::no_access_mode(
        "call = { fn = \"shm_open\", name = \"new\", oflag = \"O_CREAT\" }\nexpect = { result = \"ok\" }",
        "",
        6,
        "exactly one of O_RDONLY and O_RDWR"
    )]
    #[case::two_access_modes(
        "call = { fn = \"shm_open\", name = \"new\", oflag = \"O_RDONLY|O_RDWR\" }\nexpect = { result = \"ok\" }",
        "",
        6,
        "exactly one of O_RDONLY and O_RDWR"
    )]
    #[case::bad_octal(
        "call = { fn = \"shm_open\", name = \"new\", oflag = \"O_RDWR\", mode = \"600\" }\nexpect = { result = \"ok\" }",
        "",
        6,
        "bad mode `600`"
    )]
    #[case::mode_too_big(
        "call = { fn = \"shm_open\", name = \"new\", oflag = \"O_RDWR\", mode = \"010000\" }\nexpect = { result = \"ok\" }",
        "",
        6,
        "at most 07777"
    )]
    #[case::existing_mode_without_existing(
        "call = { fn = \"shm_open\", name = \"new\", oflag = \"O_RDWR\", existing_mode = \"0600\" }\nexpect = { result = \"ok\" }",
        "",
        6,
        "existing_mode and existing_size describe"
    )]
    #[case::not_an_oflag(
        "call = { fn = \"shm_open\", name = \"new\", oflag = \"O_RDWR|O_APPEND\" }\nexpect = { result = \"ok\" }",
        "",
        6,
        "O_APPEND"
    )]
    #[case::mmap_arg(
        "call = { fn = \"shm_open\", name = \"new\", oflag = \"O_RDWR\", len = \"1p\" }\nexpect = { result = \"ok\" }",
        "",
        6,
        "shm_open takes no `len`"
    )]
    #[case::unknown_field(
        "call = { fn = \"shm_open\", name = \"new\", oflag = \"O_RDWR|O_CREAT\" }\nexpect = { result = \"ok\" }",
        "[[case.step]]\nfd_stat = \"colour\"\nequals = \"1\"",
        9,
        "unknown fd_stat field `colour`"
    )]
    #[case::no_equals(
        "call = { fn = \"shm_open\", name = \"new\", oflag = \"O_RDWR|O_CREAT\" }\nexpect = { result = \"ok\" }",
        "[[case.step]]\nfd_stat = \"size\"",
        8,
        "needs `equals`"
    )]
    #[case::uid_number(
        "call = { fn = \"shm_open\", name = \"new\", oflag = \"O_RDWR|O_CREAT\" }\nexpect = { result = \"ok\" }",
        "[[case.step]]\nfd_stat = \"uid\"\nequals = \"0\"",
        10,
        "equals `euid`"
    )]
    #[case::fd_stat_after_failure(
        "call = { fn = \"shm_open\", name = \"missing\", oflag = \"O_RDWR\" }\nexpect = { errno = \"ENOENT\" }",
        "[[case.step]]\nfd_stat = \"size\"\nequals = \"0\"",
        2,
        "returns no descriptor where it is expected to fail"
    )]
    #[case::fd_stat_without_shm_open(
        "call = { fn = \"munmap\", addr = \"null\", len = \"1p\" }\nexpect = { result = \"ok\" }",
        "[[case.step]]\nfd_stat = \"size\"\nequals = \"0\"",
        2,
        "this case's call is not shm_open"
    )]
    #[case::ftruncate_bad_fd(
        "call = { fn = \"shm_open\", name = \"new\", oflag = \"O_RDWR|O_CREAT\" }\nexpect = { result = \"ok\" }",
        "[[case.step]]\nftruncate = \"1p\"\nfd = \"object\"",
        10,
        "an ftruncate step's fd is \"result\""
    )]
    #[case::shm_open_as_a_step(
        "call = { fn = \"munmap\", addr = \"null\", len = \"1p\" }\nexpect = { result = \"ok\" }",
        "[[case.step]]\ncall = { fn = \"shm_open\", name = \"new\", oflag = \"O_RDWR\" }",
        9,
        "shm_open is a case's call, not a step"
    )]
    fn bad_shm_open_input_is_a_located_error(
        #[case] call: &str,
        #[case] steps: &str,
        #[case] line: usize,
        #[case] want: &str,
    ) {
        let errors = shm(call, steps).unwrap_err();
        let e = errors
            .iter()
            .find(|e| e.msg.contains(want))
            .unwrap_or_else(|| panic!("no error containing {want:?}: {errors:#?}"));
        assert_eq!(
            (e.file.as_path(), e.line),
            (Path::new("t.toml"), line),
            "{e:?}"
        );
    }

    const REGISTRY_WITH_A_TYPO: &str = r#"
[page]
os = "posix"
name = "mmap"
section = "3p"
read_from = "test"
[clause]
"posix.mmap.19" = { section = "ERRORS", summary = "EBADF", promises = "EBADF" }
"linux.mmap.errors.EBDF.1" = { section = "ERRORS", summary = "a typo", promises = "EBADF" }
"#;

    /// A registry typo orphans every case citing the clause: one error, naming the rest.
    #[test]
    fn an_unknown_clause_id_cited_by_many_cases_is_one_error() {
        let cases: Vec<String> = (0..14)
            .map(|i| GOOD.replace("closed-fd\"\ntitle", &format!("closed-fd-{i}\"\ntitle")))
            .collect();
        let names: Vec<PathBuf> = (0..14)
            .map(|i| PathBuf::from(format!("c{i:02}.toml")))
            .collect();
        let mut sources: Vec<(&Path, &Path, &str)> = names
            .iter()
            .zip(&cases)
            .map(|(n, t)| (n.as_path(), n.as_path(), t.as_str()))
            .collect();
        let reg = Path::new("clauses/posix-mmap.toml");
        sources.push((reg, reg, REGISTRY_WITH_A_TYPO));
        let errors = load_sources(sources).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let msg = &errors[0].msg;
        assert!(
            msg.starts_with("unknown clause ID `linux.mmap.errors.EBADF.1`"),
            "{msg}"
        );
        assert!(
            msg.contains("also cited by 13 more case(s): c01.toml:7,"),
            "{msg}"
        );
        assert!(msg.contains("and 8 more"), "{msg}");
        assert_eq!(errors[0].file, Path::new("c00.toml"));
    }

    #[test]
    fn a_file_that_is_not_utf8_is_located_at_its_byte_offset() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("clauses")).unwrap();
        std::fs::write(
            dir.path().join("clauses/posix-mmap.toml"),
            REGISTRY_WITH_A_TYPO,
        )
        .unwrap();
        std::fs::write(dir.path().join("bad.toml"), b"# ok\n# caf\xe9\n").unwrap();
        let errors = load_dir(dir.path()).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let e = &errors[0];
        assert_eq!((e.line, e.col), (2, 6), "{e}");
        assert!(
            e.msg.contains("invalid UTF-8: byte 0xe9 at byte offset 10"),
            "{e}"
        );
    }

    /// A registry with real pages, so clauses bind their OS and promise their outcome.
    fn paged_registry() -> Registry {
        let mut r = Registry::default();
        for (file, os, clauses) in [
            (
                "linux-mmap.toml",
                "linux",
                "\"linux.mmap.errors.EBADF.1\" = { section = \"ERRORS\", summary = \"b\" }\n\
                 \"linux.mmap.desc.1\" = { section = \"DESCRIPTION\", summary = \"d\" }\n",
            ),
            (
                "posix-mmap.toml",
                "posix",
                "\"posix.mmap.19\" = { section = \"ERRORS\", promises = \"EBADF\", summary = \"b\" }\n",
            ),
        ] {
            let text = format!(
                "[page]\nos = \"{os}\"\nname = \"mmap\"\nsection = \"2\"\nread_from = \"t\"\n[clause]\n{clauses}"
            );
            r.add_file(Path::new(file), &text).unwrap();
        }
        r
    }

    fn load_paged(text: &str) -> Result<Vec<Case>, Vec<LoadError>> {
        parse_file(Path::new("t.toml"), text, &paged_registry())
    }

    #[test]
    fn an_expectation_without_the_errno_a_cited_clause_promises_is_rejected_at_the_citation() {
        let errs = load_paged(&GOOD.replace(
            "errno = \"EBADF\", freebsd = { errno = \"EBADF\" }",
            "result = \"ok\"",
        ))
        .unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.msg.clone()).collect();
        assert_eq!(errs.len(), 3, "{all:?}");
        assert!(
            all[0].contains(
                "`linux.mmap.errors.EBADF.1` promises EBADF, but on linux this case expects ok"
            ),
            "{all:?}"
        );
        assert_eq!((errs[0].line, errs[0].col), (7, 12), "{all:?}");
        assert!(
            all.iter()
                .any(|m| m.contains("`posix.mmap.19` promises EBADF, but on freebsd")),
            "{all:?}"
        );
    }

    #[test]
    fn a_posix_clause_binds_every_os_but_an_os_clause_only_its_own() {
        let errs = load_paged(&GOOD.replace(
            "freebsd = { errno = \"EBADF\" }",
            "freebsd = { errno = \"EINVAL\" }",
        ))
        .unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].msg.contains(
                "`posix.mmap.19` promises EBADF, but on freebsd this case expects EINVAL"
            ),
            "{errs:?}"
        );
    }

    #[test]
    fn a_deviation_naming_the_clause_lets_the_expectation_depart() {
        let text = GOOD.replace(
            "freebsd = { errno = \"EBADF\" }",
            "freebsd = { errno = \"EINVAL\" }",
        ) + "[[case.deviation]]\nos = \"freebsd\"\nobserved = { errno = \"EINVAL\" }\ncontradicts = [\"posix.mmap.19\"]\nwhy = \"w\"\nevidence = \"e\"\n";
        // The deviation's observed outcome is the expectation itself here; what matters is
        // that naming the clause is the one way past the rule.
        assert!(load_paged(&text).is_ok(), "{:?}", load_paged(&text));
    }

    #[rstest]
    #[case::unknown_abi(
        "abi = \"ilp32\"",
        "unknown abi `ilp32`; valid: native64, native32, compat32"
    )]
    #[case::unknown_arch("arch = [\"sparc64\"]", "unknown architecture `sparc64`")]
    #[case::empty_arch("arch = []", "arch lists at least one architecture")]
    fn a_deviation_scope_names_only_known_abis_and_architectures(
        #[case] scope: &str,
        #[case] msg: &str,
    ) {
        let text = GOOD.to_string()
            + "[[case.deviation]]\nos = \"linux\"\nobserved = { errno = \"EINVAL\" }\nwhy = \"w\"\nevidence = \"e\"\n"
            + scope
            + "\n";
        let errs = load_paged(&text).unwrap_err();
        assert!(errs.iter().any(|e| e.msg.contains(msg)), "{errs:?}");
    }

    #[test]
    fn a_deviation_scoped_to_an_arch_and_abi_loads_with_its_scope() {
        let text = GOOD.to_string()
            + "[[case.deviation]]\nos = \"linux\"\nobserved = { errno = \"EINVAL\" }\nwhy = \"w\"\nevidence = \"e\"\narch = [\"x86\", \"arm\"]\nabi = \"compat32\"\n";
        let cases = load_paged(&text).unwrap();
        let d = &cases[0].deviations[0];
        assert_eq!(d.arch, vec!["x86".to_string(), "arm".to_string()]);
        assert_eq!(d.abi, Some(crate::model::Abi::Compat32));
    }

    #[test]
    fn a_step_expecting_the_promised_errno_satisfies_the_clause() {
        let text = GOOD
            .replace("object = { kind = \"closed-fd\" }\n", "")
            .replace(
                "flags = \"MAP_PRIVATE\" }",
                "flags = \"MAP_PRIVATE|MAP_ANONYMOUS\", fd = -1 }",
            )
            .replace(
                "errno = \"EBADF\", freebsd = { errno = \"EBADF\" }",
                "result = \"ok\"",
            )
            + "[[case.step]]\ncall = { fn = \"mmap\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE\", fd = 99 }\nexpect = { errno = \"EBADF\" }\n";
        assert!(load_paged(&text).is_ok(), "{:?}", load_paged(&text));
    }

    #[test]
    fn a_good_file_loads() {
        let cases = load(GOOD).unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].line, 4);
        assert_eq!(cases[0].unverified, vec![Os::Freebsd]);
        assert_eq!(
            *cases[0].expect.for_os(Os::Linux),
            Outcome::Errno(vec!["EBADF".into()])
        );
    }

    #[rstest]
    #[case::unknown_flag(
        GOOD.replace("MAP_PRIVATE", "MAP_PRIVTE"), 9, "unknown mmap flag `MAP_PRIVTE`; valid names:")]
    #[case::unknown_clause(
        GOOD.replace("posix.mmap.19", "posix.mmap.99"), 7, "unknown clause ID `posix.mmap.99`")]
    #[case::bad_expr(GOOD.replace("\"1p\"", "\"1q\""), 9, "bad size expression")]
    #[case::unknown_key(GOOD.replace("title", "titel"), 6, "unknown field `titel`")]
    #[case::syntax(GOOD.replace("= [\"linux", "= [linux"), 7, "")]
    #[case::unknown_errno(GOOD.replace("errno = \"EBADF\",", "errno = \"EBADFF\","), 10, "unknown errno `EBADFF`")]
    #[case::bad_fault(GOOD.replace("errno = \"EBADF\",", "fault = \"SIGBUS BUS_NOPE\","), 10, "unknown fault")]
    #[case::fault_words(GOOD.replace("errno = \"EBADF\",", "fault = \"SIGBUS BUS_ADRERR x\","), 10, "fault must be")]
    #[case::empty_errno_list(GOOD.replace("errno = \"EBADF\",", "errno = [],"), 10, "errno is a name")]
    #[case::missing_arg(GOOD.replace("len = \"1p\", ", ""), 9, "mmap needs `len`")]
    #[case::bad_object(GOOD.replace("closed-fd", "closed"), 8, "unknown object kind `closed`")]
    fn bad_input_is_located(#[case] text: String, #[case] line: usize, #[case] msg: &str) {
        let errs = load(&text).unwrap_err();
        assert_eq!(errs[0].line, line, "{errs:?}");
        assert!(errs[0].msg.contains(msg), "{errs:?}");
    }

    /// O_PATH joins a mode as O_APPEND does; alone it leaves the mode unsaid.
    #[test]
    fn o_path_is_an_open_flag_beside_exactly_one_mode() {
        let file = |open: &str| {
            GOOD.replace(
                "{ kind = \"closed-fd\" }",
                &format!("{{ kind = \"file\", size = \"1p\", open = \"{open}\" }}"),
            )
        };
        let cases = load(&file("O_RDONLY|O_PATH")).unwrap();
        let open = &cases[0].object.as_ref().unwrap().open.0;
        assert_eq!(open, &["O_RDONLY".to_string(), "O_PATH".to_string()]);
        let errs = load(&file("O_PATH")).unwrap_err();
        assert!(errs[0].msg.contains("exactly one of O_RDONLY"), "{errs:?}");
    }

    #[test]
    fn a_tcp_socket_object_loads_and_takes_no_open_mode() {
        let tcp = GOOD.replace("closed-fd\" }", "tcp-socket\" }");
        let cases = load(&tcp).unwrap();
        assert_eq!(
            cases[0].object.as_ref().unwrap().kind,
            ObjectKind::TcpSocket
        );
        let moded = GOOD.replace("closed-fd\" }", "tcp-socket\", open = \"O_RDWR\" }");
        let errs = load(&moded).unwrap_err();
        assert!(errs[0].msg.contains("`open` applies only to"), "{errs:?}");
    }

    #[test]
    fn a_dev_random_object_loads_with_an_open_mode_and_no_size() {
        let dev = GOOD.replace("closed-fd\" }", "dev-random\", open = \"O_RDONLY\" }");
        let cases = load(&dev).unwrap();
        let o = cases[0].object.as_ref().unwrap();
        assert_eq!(o.kind, ObjectKind::DevRandom);
        assert_eq!(o.open.0, vec!["O_RDONLY".to_string()]);
        let sized = GOOD.replace("closed-fd\" }", "dev-random\", size = \"1p\" }");
        let errs = load(&sized).unwrap_err();
        assert!(
            errs[0]
                .msg
                .contains("`size` applies only to file, memfd and shm"),
            "{errs:?}"
        );
        // Located at the object's line (line 8 of GOOD) and the `size` value's column.
        assert_eq!(errs[0].line, 8, "{errs:?}");
        assert!(errs[0].col > 1, "{errs:?}");
    }

    /// GOOD with these steps, and the 1-based line of the last occurrence of `at`.
    fn with_steps(steps: &str, at: &str) -> (String, usize) {
        let text = format!("{GOOD}{steps}");
        let line = text[..text.rfind(at).unwrap()].lines().count() + 1;
        (text, line)
    }

    #[test]
    fn a_second_fork_step_in_the_child_makes_the_grandchild() {
        let (text, _) = with_steps(
            "[[case.step]]\nfork = true\n[[case.step]]\nin = \"child\"\nfork = true\n[[case.step]]\nin = \"grandchild\"\nread = \"null\"\nexpect = { fault = \"SIGSEGV\" }\n[[case.step]]\nin = \"parent\"\nread = \"null\"\nexpect = { fault = \"SIGSEGV\" }\n",
            "x",
        );
        let cases = load(&text).unwrap();
        let who: Vec<Who> = cases[0].steps.iter().map(|s| s.who).collect();
        assert_eq!(
            who,
            [Who::Parent, Who::Child, Who::Grandchild, Who::Parent],
            "{text}"
        );
    }

    #[test]
    fn fork_steps_beyond_the_grandchild_are_located_errors() {
        let bad = [
            // A second fork must be the child's.
            (
                "[[case.step]]\nfork = true\n[[case.step]]\nfork = true\n",
                "fork = true",
                "a second fork step must be in = \"child\"",
            ),
            // A third fork.
            (
                "[[case.step]]\nfork = true\n[[case.step]]\nin = \"child\"\nfork = true\n[[case.step]]\nin = \"child\"\nfork = true\n",
                "fork = true",
                "a case forks at most twice",
            ),
            // The grandchild before the second fork.
            (
                "[[case.step]]\nfork = true\n[[case.step]]\nin = \"grandchild\"\nread = \"null\"\n",
                "in = \"grandchild\"",
                "needs an earlier second fork step",
            ),
            (
                "[[case.step]]\nfork = true\n[[case.step]]\nin = \"sibling\"\nread = \"null\"\n",
                "in = \"sibling\"",
                "expected parent, child or grandchild",
            ),
        ];
        for (steps, at, msg) in bad {
            let (text, line) = with_steps(steps, at);
            let errs = load(&text).unwrap_err();
            assert!(
                errs.iter()
                    .any(|e| e.msg.contains(msg) && e.line == line && e.col > 1),
                "{msg} at line {line}: {errs:?}"
            );
        }
    }

    #[test]
    fn steps_check_their_keys_and_addresses() {
        let text = format!(
            "{GOOD}\n[[case.step]]\nread = \"mapping.nope\"\nprot = \"PROT_READ\"\n[[case.step]]\nwrite = \"result\"\nin = \"child\"\n"
        );
        let errs = load(&text).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.msg.clone()).collect();
        assert!(all.iter().any(|m| m.contains("takes no `prot`")), "{all:?}");
        assert!(
            all.iter().any(|m| m.contains("needs an earlier fork")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|m| m.contains("no setup mapping is named `nope`")),
            "{all:?}"
        );
    }

    #[test]
    fn result_in_a_step_after_a_call_expected_to_fail_is_an_error() {
        let text = format!("{GOOD}\n[[case.step]]\nread = \"result\"\n");
        let errs = load(&text).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].msg.contains(
                "`result` names nothing after a call expected to fail (on linux, freebsd)"
            ),
            "{errs:?}"
        );
        assert_eq!(errs[0].line, 4, "{errs:?}");
    }

    const PLACED: &str = r#"
[[case]]
id = "mmap.placed.t"
title = "t"
clauses = ["posix.mmap.19"]
call = { fn = "mmap", len = "1p", prot = "PROT_READ", flags = "MAP_PRIVATE|MAP_ANONYMOUS", fd = -1 }
expect = { result = "ok" }
placed = { below = "null+0x80000000" }
"#;

    #[test]
    fn a_placement_assertion_loads() {
        let cases = load(PLACED).unwrap();
        let p = cases[0].placed.as_ref().unwrap();
        assert_eq!(p.how, Placement::Below);
        assert_eq!(p.to_string(), "ending at or below null+0x80000000");
    }

    #[rstest]
    #[case::two_keys(PLACED.replace("below = \"null+0x80000000\"", "below = \"hole\", not = \"hole\""), 8, "placed needs exactly one of")]
    #[case::within_one(PLACED.replace("below = \"null+0x80000000\"", "within = [\"hole\"]"), 8, "within takes two addresses")]
    #[case::names_result(PLACED.replace("null+0x80000000", "result"), 8, "cannot name `result`")]
    #[case::no_mapping(PLACED.replace("null+0x80000000", "mapping.nope"), 8, "no setup mapping is named `nope`")]
    #[case::not_mmap(PLACED.replace("fn = \"mmap\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\", fd = -1", "fn = \"munmap\", addr = \"hole\", len = \"1p\""), 8, "placed applies to mmap and mremap, not munmap")]
    #[case::call_fails(PLACED.replace("result = \"ok\"", "errno = \"EBADF\""), 8, "placed needs a call expected to succeed")]
    #[case::unknown_key(PLACED.replace("below", "under"), 8, "unknown field `under`")]
    fn bad_placement_is_located(#[case] text: String, #[case] line: usize, #[case] msg: &str) {
        let errs = load(&text).unwrap_err();
        assert!(
            errs.iter().any(|e| e.line == line && e.msg.contains(msg)),
            "{errs:?}"
        );
    }

    #[test]
    fn duplicate_ids_across_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("clauses")).unwrap();
        std::fs::write(
            dir.path().join("clauses/test.toml"),
            "[page]\nos = \"linux\"\nname = \"mmap\"\nsection = \"2\"\nread_from = \"t\"\n[clause]\n\"linux.mmap.errors.EBADF.1\" = { section = \"ERRORS\", summary = \"x\" }\n\"posix.mmap.19\" = { section = \"ERRORS\", promises = \"EBADF\", summary = \"x\" }\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
        std::fs::write(dir.path().join("b.toml"), GOOD).unwrap();
        let errs = load_dir(dir.path()).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].msg.contains("duplicate case id"), "{errs:?}");
        assert!(errs[0].file.ends_with("b.toml"));
    }
}
