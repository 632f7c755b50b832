//! Loading: case files and the clause registry from TOML into validated [`Case`]s.
//!
//! Every problem is a [`LoadError`] located at file:line:col, with what was expected; the
//! loader never panics on input. Checked here: TOML syntax and keys, unknown C names (valid
//! names listed), expressions, addresses, duplicate ids, unknown clause IDs, and that each
//! OS's expectation includes what its cited clauses promise (or a deviation names them).

use crate::expr::{AddrBase, AddrExpr, CType, Env, Expr};
use crate::model::*;
use crate::names::{self, NameSet, Os, Table};
use crate::registry::Registry;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The most steps a case may have (the executor's report has a fixed size).
pub const MAX_STEPS: usize = 32;
/// The most setup mappings a case may have.
pub const MAX_MAPPINGS: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            // About the file as a whole (unreadable, not a regular file): no position.
            return write!(f, "{}: {}", self.file.display(), self.msg);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.msg
        )
    }
}

impl std::error::Error for LoadError {}

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

fn err_at(file: &Path, msg: String) -> LoadError {
    LoadError {
        file: file.to_path_buf(),
        line: 0,
        col: 0,
        msg,
    }
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

/// The largest case or registry file read: a bigger one is an error, not exhausted memory.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Finds every `*.toml` below `dir` without following a symbolic link or opening anything.
/// A `*.toml` that is not a regular file (FIFO, socket, device, symlink) and a symlink to a
/// directory are errors: reading a FIFO would hang, and following links is how a hostile
/// tree redirects a root run.
fn collect_toml(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return errors.push(err_at(dir, format!("cannot list: {e}"))),
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => return errors.push(err_at(dir, format!("cannot list: {e}"))),
        };
        let path = entry.path();
        let toml = path.extension().is_some_and(|e| e == "toml");
        match entry.file_type() {
            Err(e) => errors.push(err_at(&path, format!("cannot stat: {e}"))),
            Ok(t) if t.is_dir() => collect_toml(&path, out, errors),
            Ok(t) if t.is_file() && toml => out.push(path),
            Ok(t) if t.is_symlink() && (toml || path.is_dir()) => {
                errors.push(err_at(&path, not_regular(t)))
            }
            Ok(t) if toml => errors.push(err_at(&path, not_regular(t))),
            Ok(_) => {}
        }
    }
}

/// Why an entry that should be a case file is refused.
pub fn not_regular(t: std::fs::FileType) -> String {
    use std::os::unix::fs::FileTypeExt;
    let what = if t.is_symlink() {
        "a symbolic link (links under cases/ are not followed)"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    };
    format!("is {what}; case and registry files must be regular files")
}

/// Reads one file: opened without following a link and without blocking (a FIFO swapped in
/// after the scan is refused, not waited on), checked to be a regular file of bounded size,
/// and decoded as UTF-8 with a located error.
pub fn read_source(path: &Path) -> Result<String, LoadError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let cannot = |e: std::io::Error| err_at(path, format!("cannot read: {}", names::os_error(&e)));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(err_at(path, not_regular(meta.file_type())));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(err_at(
            path,
            format!("is larger than {MAX_FILE_BYTES} bytes; split it"),
        ));
    }
    decode(path, bytes)
}

/// `bytes` as UTF-8 text, or an error at the line and column of the first invalid byte.
pub fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, LoadError> {
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        // The prefix is valid, so it decodes without loss.
        let before = String::from_utf8_lossy(&e.as_bytes()[..good]);
        located(
            path,
            &before,
            good..good,
            format!(
                "invalid UTF-8: byte {:#04x} at byte offset {good}: case files are UTF-8 text",
                e.as_bytes()[good]
            ),
        )
    })
}

// ---- raw TOML shapes -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    unverified: Vec<Spanned<String>>,
    #[serde(default)]
    case: Vec<Spanned<RawCase>>,
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
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
    #[serde(default)]
    deviation: Vec<Spanned<RawDeviation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObject {
    kind: Spanned<String>,
    seals: Option<Spanned<String>>,
    size: Option<Spanned<String>>,
    content: Option<Spanned<String>>,
    open: Option<Spanned<String>>,
    fs: Option<Spanned<String>>,
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawFd {
    Num(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    name: Spanned<String>,
    len: Spanned<String>,
    prot: Option<Spanned<String>>,
    flags: Option<Spanned<String>>,
    fd: Option<Spanned<RawFd>>,
    offset: Option<Spanned<String>>,
    at: Option<Spanned<String>>,
    fill: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCall {
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
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    bytes: Option<Spanned<String>>,
    result: Option<Spanned<String>>,
    errno: Option<Spanned<OneOrMany>>,
    fault: Option<Spanned<String>>,
    linux: Option<Spanned<Box<RawExpect>>>,
    freebsd: Option<Spanned<Box<RawExpect>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeviation {
    os: Spanned<String>,
    step: Option<Spanned<usize>>,
    observed: Spanned<RawExpect>,
    why: String,
    evidence: String,
    #[serde(default)]
    contradicts: Vec<Spanned<String>>,
}

// ---- conversion ------------------------------------------------------------------------

/// Byte offsets of a text's line starts: a span becomes line:col by binary search, so
/// locating every case of a large file stays linear overall.
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// 1-based line and column (in characters) of byte offset `at`.
    pub(crate) fn locate(&self, at: usize) -> (usize, usize) {
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= at);
        let start = self.starts[line - 1];
        (line, self.text[start..at].chars().count() + 1)
    }
}

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
struct Ctx<'a> {
    path: &'a Path,
    lines: Lines<'a>,
    errors: Vec<LoadError>,
    /// What the current case's expressions are evaluated against, and where (for messages).
    envs: Vec<(Os, Env)>,
}

impl Ctx<'_> {
    fn err(&mut self, span: Range<usize>, msg: impl Into<String>) {
        let (line, col) = self.lines.locate(span.start);
        self.errors.push(LoadError {
            file: self.path.to_path_buf(),
            line,
            col,
            msg: msg.into(),
        });
    }

    /// Sets the OSes the current case's expressions are checked for.
    fn check_for(&mut self, oses: &[Os]) {
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
    fn expr(&mut self, s: &Spanned<String>, ty: CType, what: &str) -> Expr {
        let e = Expr::parse(s.get_ref()).unwrap_or_else(|e| {
            self.err(s.span(), format!("bad size expression: {e}"));
            Expr::Int(0)
        });
        self.check_value(&e, s, ty, what);
        e
    }

    fn check_value(&mut self, e: &Expr, s: &Spanned<String>, ty: CType, what: &str) {
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

    fn expr_or(
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

    fn addr(&mut self, s: &Spanned<String>) -> AddrExpr {
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

    fn names(&mut self, s: &Spanned<String>, table: &Table) -> NameSet {
        NameSet::parse(s.get_ref(), table).unwrap_or_else(|e| {
            self.err(s.span(), e);
            NameSet(Vec::new())
        })
    }

    fn byte(&mut self, s: &Spanned<String>) -> u8 {
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

    fn pattern(&mut self, s: &Spanned<String>, allow_object: bool) -> Bytes {
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

    fn fd(&mut self, s: &Spanned<RawFd>) -> Fd {
        match s.get_ref() {
            RawFd::Num(n) => match i32::try_from(*n) {
                Ok(n) => Fd::Num(n),
                Err(_) => {
                    self.err(s.span(), format!("fd {n} does not fit an int"));
                    Fd::Num(-1)
                }
            },
            RawFd::Text(t) if t == "object" => Fd::Object,
            RawFd::Text(t) => {
                self.err(
                    s.span(),
                    format!("bad fd `{t}`: expected an integer or \"object\""),
                );
                Fd::Num(-1)
            }
        }
    }

    fn outcome(&mut self, e: &Spanned<RawExpect>) -> PerOs<Outcome> {
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
    fn single_outcome(
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
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            self.err(
                e.span(),
                "an outcome needs exactly one of result = \"ok\", errno = \"E...\", fault = \"SIG... CODE\" (deviations also bytes = \"...\")",
            );
            return Outcome::Ok;
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
        }
    }
}

pub(crate) fn located(path: &Path, text: &str, span: Range<usize>, msg: String) -> LoadError {
    let (line, col) = Lines::new(text).locate(span.start);
    LoadError {
        file: path.to_path_buf(),
        line,
        col,
        msg,
    }
}

pub(crate) fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> LoadError {
    let msg = e.message().trim().to_string();
    located(path, text, e.span().unwrap_or(0..0), msg)
}

/// Parses one case file.
pub fn parse_file(
    path: &Path,
    text: &str,
    clauses: &Registry,
) -> Result<Vec<Case>, Vec<LoadError>> {
    // Each case's content hash needs the text as a plain table: a second parse, made on
    // its own thread beside the first so that a large file costs one parse of wall time.
    std::thread::scope(|s| {
        let hashes = s.spawn(|| case_hashes(text));
        let raw: RawFile = toml::from_str(text).map_err(|e| vec![toml_error(path, text, &e)])?;
        let mut ctx = Ctx {
            path,
            lines: Lines::new(text),
            errors: Vec::new(),
            envs: Vec::new(),
        };
        let unverified: Vec<Os> = raw
            .unverified
            .iter()
            .filter_map(|o| os_name(&mut ctx, o))
            .collect();
        let mut cases: Vec<Case> = raw
            .case
            .iter()
            .map(|c| convert_case(&mut ctx, c, &unverified, clauses))
            .collect();
        // A thread that cannot give its hashes (it panicked) leaves them empty.
        let hashes = hashes.join().unwrap_or_default();
        for (case, hash) in cases.iter_mut().zip(hashes) {
            case.hash = hash;
        }
        if ctx.errors.is_empty() {
            Ok(cases)
        } else {
            Err(ctx.errors)
        }
    })
}

/// The content hash of every case of a file, in order; none when it does not parse.
fn case_hashes(text: &str) -> Vec<String> {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|mut t| t.remove("case"))
        .and_then(|c| match c {
            toml::Value::Array(a) => Some(a),
            _ => None,
        })
        .unwrap_or_default()
        .iter()
        .map(case_hash)
        .collect()
}

/// The content hash of one case's table: SHA-256 over a canonical JSON rendering (keys
/// sorted at every level, no whitespace), so neither the order of keys, nor comments, nor
/// layout, nor the file's name or place in it changes the hash; any value that changes does.
pub fn case_hash(table: &toml::Value) -> String {
    use sha2::{Digest, Sha256};
    fn canonical(v: &toml::Value, out: &mut String) {
        match v {
            toml::Value::Table(t) => {
                let mut keys: Vec<&String> = t.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).expect("a string serialises"));
                    out.push(':');
                    canonical(&t[k], out);
                }
                out.push('}');
            }
            toml::Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(x, out);
                }
                out.push(']');
            }
            toml::Value::String(s) => {
                out.push_str(&serde_json::to_string(s).expect("a string serialises"))
            }
            toml::Value::Integer(n) => out.push_str(&n.to_string()),
            // Debug keeps "5.0" distinct from the integer 5, and is exact.
            toml::Value::Float(f) => out.push_str(&format!("{f:?}")),
            toml::Value::Boolean(b) => out.push_str(&b.to_string()),
            toml::Value::Datetime(d) => {
                out.push_str(&serde_json::to_string(&d.to_string()).expect("serialises"))
            }
        }
    }
    let mut text = String::new();
    canonical(table, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
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

    let call = convert_call(ctx, &c.call, object.is_some());
    let expect = ctx.outcome(&c.expect);

    if c.step.len() > MAX_STEPS {
        ctx.err(sc.span(), format!("at most {MAX_STEPS} steps"));
    }
    let mut steps = Vec::new();
    let mut forked = false;
    for s in &c.step {
        let step = convert_step(ctx, s, forked, object.as_ref());
        forked |= matches!(step.action, Action::Fork);
        steps.push(step);
    }
    check_addresses(ctx, sc, &call, &steps, &mappings, &names);

    let mut deviations = Vec::new();
    for d in &c.deviation {
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
            if !c
                .clauses
                .get_ref()
                .iter()
                .any(|x| x.get_ref() == cl.get_ref())
            {
                ctx.err(
                    cl.span(),
                    format!(
                        "`{}` is not among the clauses this case cites",
                        cl.get_ref()
                    ),
                );
            }
        }
        let observed = ctx.single_outcome(&r.observed, false, true);
        deviations.push(Deviation {
            contradicts: r.contradicts.iter().map(|s| s.get_ref().clone()).collect(),
            os,
            step: r.step.as_ref().map(|s| *s.get_ref()),
            observed,
            why: r.why.clone(),
            evidence: r.evidence.clone(),
        });
    }

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
        steps,
        deviations,
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

fn shares_prefix(a: &str, b: &str) -> bool {
    let prefix = |s: &str| s.rsplit_once('.').map(|x| x.0).unwrap_or("").to_string();
    !prefix(b).is_empty() && a.starts_with(&prefix(b))
}

fn convert_object(ctx: &mut Ctx, so: &Spanned<RawObject>) -> Object {
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
    if kind != ObjectKind::File {
        for (key, v) in [("open", &o.open), ("fs", &o.fs)] {
            if let Some(v) = v {
                ctx.err(v.span(), format!("`{key}` applies only to file objects"));
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
    let open = match &o.open {
        Some(s) => {
            let set = ctx.names(s, &names::OPEN);
            let modes = set.0.iter().filter(|n| n.as_str() != "O_APPEND").count();
            if modes != 1 {
                ctx.err(
                    s.span(),
                    "open needs exactly one of O_RDONLY, O_WRONLY, O_RDWR",
                );
            }
            set
        }
        None => NameSet(vec!["O_RDWR".into()]),
    };
    let fs = match o.fs.as_ref().map(|f| (f, f.get_ref().as_str())) {
        None | Some((_, "disk")) => Fs::Disk,
        Some((_, "tmpfs")) => Fs::Tmpfs,
        Some((f, other)) => {
            ctx.err(
                f.span(),
                format!("bad fs `{other}`: expected disk or tmpfs"),
            );
            Fs::Disk
        }
    };
    Object {
        kind,
        size,
        content,
        open,
        fs,
        seals,
    }
}

fn convert_mapping(ctx: &mut Ctx, sm: &Spanned<RawMapping>, has_object: bool) -> Mapping {
    let m = sm.get_ref();
    let name = m.name.get_ref().clone();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        ctx.err(
            m.name.span(),
            format!("bad mapping name `{name}`: use letters, digits and _"),
        );
    }
    let fd = m.fd.as_ref().map(|f| ctx.fd(f)).unwrap_or(Fd::Num(-1));
    if fd == Fd::Object && !has_object {
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

fn convert_call(ctx: &mut Ctx, sc: &Spanned<RawCall>, has_object: bool) -> Call {
    let c = sc.get_ref();
    let func = c.func.get_ref().as_str();
    let args: [(&str, bool); 10] = [
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
    ];
    let (takes, required): (&[&str], &[&str]) = match func {
        "mmap" => (
            &["addr", "len", "prot", "flags", "fd", "offset"],
            &["len", "prot", "flags"],
        ),
        "munmap" | "mincore" | "mlock" | "munlock" => (&["addr", "len"], &["addr", "len"]),
        "mprotect" => (&["addr", "len", "prot"], &["addr", "len", "prot"]),
        "msync" => (&["addr", "len", "flags"], &["addr", "len", "flags"]),
        "madvise" => (&["addr", "len", "advice"], &["addr", "len", "advice"]),
        "mremap" => (
            &["addr", "len", "new_len", "flags", "new_addr"],
            &["addr", "len", "new_len"],
        ),
        "minherit" => (&["addr", "len", "inherit"], &["addr", "len", "inherit"]),
        other => {
            ctx.err(
                c.func.span(),
                format!("unknown fn `{other}`; valid: mmap, munmap, mprotect, msync, madvise, mincore, mlock, munlock, mremap, minherit"),
            );
            (&[], &[])
        }
    };
    for (arg, given) in args {
        if given && !takes.contains(&arg) && !takes.is_empty() {
            ctx.err(
                sc.span(),
                format!("{func} takes no `{arg}` (it takes {})", takes.join(", ")),
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
        "mincore" => Call::Mincore { addr, len },
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
        _ => Call::Munmap { addr, len },
    }
}

fn convert_step(
    ctx: &mut Ctx,
    ss: &Spanned<RawStep>,
    forked: bool,
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
    ];
    if actions.iter().filter(|a| **a).count() != 1 {
        ctx.err(
            ss.span(),
            "a step needs exactly one action: read, write, fork, munmap, mprotect, msync, call, ftruncate, pwrite, close, readback",
        );
    }
    let who = match s.who.as_ref().map(|w| (w, w.get_ref().as_str())) {
        None | Some((_, "parent")) => Who::Parent,
        Some((w, "child")) => {
            if !forked {
                ctx.err(w.span(), "in = \"child\" needs an earlier fork step");
            }
            Who::Child
        }
        Some((w, other)) => {
            ctx.err(
                w.span(),
                format!("bad `in` value `{other}`: expected parent or child"),
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
    let action = if let Some(a) = &s.read {
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
        if forked {
            ctx.err(f.span(), "a case forks at most once");
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
        Action::Call(convert_call(ctx, c, object.is_some()))
    } else if let Some(e) = &s.ftruncate {
        needs_file(ctx, "ftruncate");
        Action::Ftruncate {
            size: ctx.expr(e, CType::Off, "ftruncate size"),
        }
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
    Step {
        who,
        action,
        expect,
    }
}

/// Address bases must make sense where they are used: `result` only in steps after a
/// successful call, `mapping.NAME` only for names that exist.
fn check_addresses(
    ctx: &mut Ctx,
    sc: &Spanned<RawCase>,
    call: &Call,
    steps: &[Step],
    mappings: &[Mapping],
    names: &HashSet<String>,
) {
    let check = |ctx: &mut Ctx, a: &AddrExpr, in_step: bool| match &a.base {
        AddrBase::Result if !in_step => ctx.err(sc.span(), "`result` is only defined in steps"),
        AddrBase::Result if !matches!(call, Call::Mmap { .. } | Call::Mremap { .. }) => ctx.err(
            sc.span(),
            "`result` names a mapping only when the call is mmap or mremap",
        ),
        AddrBase::Mapping(n) if !names.contains(n) => {
            ctx.err(sc.span(), format!("no setup mapping is named `{n}`"))
        }
        _ => {}
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
            Action::Read { addr, .. } | Action::Write { addr, .. } => check(ctx, addr, true),
            Action::Call(c) => c.addrs().into_iter().for_each(|a| check(ctx, a, true)),
            _ => {}
        }
    }
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
