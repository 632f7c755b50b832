//! Which words can tag a man-page entry: errno names (a fixed list, old spellings such as
//! `ETXTBUSY` included), signal names, and the flag names of the mmap family (`MAP_*`,
//! `PROT_*`, `MS_*`, `MADV_*`, `POSIX_MADV_*`, `MCL_*`, `MLOCK_*`, `MREMAP_*`, `INHERIT_*`).
//! Owns reading the names out of an entry's tag text, whatever the page's language.

use serde::Serialize;

/// Errno names of Linux, FreeBSD and POSIX, with historical spellings.
const ERRNOS: &[&str] = &[
    "E2BIG",
    "EACCES",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "EADV",
    "EAFNOSUPPORT",
    "EAGAIN",
    "EALREADY",
    "EAUTH",
    "EBADE",
    "EBADF",
    "EBADFD",
    "EBADMSG",
    "EBADR",
    "EBADRPC",
    "EBADRQC",
    "EBADSLT",
    "EBFONT",
    "EBUSY",
    "ECANCELED",
    "ECAPMODE",
    "ECHILD",
    "ECHRNG",
    "ECOMM",
    "ECONNABORTED",
    "ECONNREFUSED",
    "ECONNRESET",
    "EDEADLK",
    "EDEADLOCK",
    "EDESTADDRREQ",
    "EDOM",
    "EDOOFUS",
    "EDOTDOT",
    "EDQUOT",
    "EEXIST",
    "EFAULT",
    "EFBIG",
    "EFTYPE",
    "EHOSTDOWN",
    "EHOSTUNREACH",
    "EHWPOISON",
    "EIDRM",
    "EILSEQ",
    "EINPROGRESS",
    "EINTEGRITY",
    "EINTR",
    "EINVAL",
    "EIO",
    "EISCONN",
    "EISDIR",
    "EISNAM",
    "EKEYEXPIRED",
    "EKEYREJECTED",
    "EKEYREVOKED",
    "EL2HLT",
    "EL2NSYNC",
    "EL3HLT",
    "EL3RST",
    "ELIBACC",
    "ELIBBAD",
    "ELIBEXEC",
    "ELIBMAX",
    "ELIBSCN",
    "ELNRNG",
    "ELOOP",
    "EMEDIUMTYPE",
    "EMFILE",
    "EMLINK",
    "EMSGSIZE",
    "EMULTIHOP",
    "ENAMETOOLONG",
    "ENAVAIL",
    "ENEEDAUTH",
    "ENETDOWN",
    "ENETRESET",
    "ENETUNREACH",
    "ENFILE",
    "ENOANO",
    "ENOATTR",
    "ENOBUFS",
    "ENOCSI",
    "ENODATA",
    "ENODEV",
    "ENOENT",
    "ENOEXEC",
    "ENOKEY",
    "ENOLCK",
    "ENOLINK",
    "ENOMEDIUM",
    "ENOMEM",
    "ENOMSG",
    "ENONET",
    "ENOPKG",
    "ENOPROTOOPT",
    "ENOSPC",
    "ENOSR",
    "ENOSTR",
    "ENOSYS",
    "ENOTBLK",
    "ENOTCAPABLE",
    "ENOTCONN",
    "ENOTDIR",
    "ENOTEMPTY",
    "ENOTNAM",
    "ENOTRECOVERABLE",
    "ENOTSOCK",
    "ENOTSUP",
    "ENOTTY",
    "ENOTUNIQ",
    "ENXIO",
    "EOPNOTSUPP",
    "EOVERFLOW",
    "EOWNERDEAD",
    "EPERM",
    "EPFNOSUPPORT",
    "EPIPE",
    "EPROCLIM",
    "EPROCUNAVAIL",
    "EPROGMISMATCH",
    "EPROGUNAVAIL",
    "EPROTO",
    "EPROTONOSUPPORT",
    "EPROTOTYPE",
    "ERANGE",
    "EREMCHG",
    "EREMOTE",
    "EREMOTEIO",
    "ERESTART",
    "ERFKILL",
    "EROFS",
    "ERPCMISMATCH",
    "ESHUTDOWN",
    "ESOCKTNOSUPPORT",
    "ESPIPE",
    "ESRCH",
    "ESRMNT",
    "ESTALE",
    "ESTRPIPE",
    "ETIME",
    "ETIMEDOUT",
    "ETOOMANYREFS",
    "ETXTBSY",
    "ETXTBUSY",
    "EUCLEAN",
    "EUNATCH",
    "EUSERS",
    "EWOULDBLOCK",
    "EXDEV",
    "EXFULL",
];

/// Old or alternative spellings and the name the registry files use for them.
const ERRNO_ALIASES: &[(&str, &str)] = &[("ETXTBUSY", "ETXTBSY")];

const SIGNALS: &[&str] = &[
    "SIGABRT",
    "SIGALRM",
    "SIGBUS",
    "SIGCHLD",
    "SIGCONT",
    "SIGEMT",
    "SIGFPE",
    "SIGHUP",
    "SIGILL",
    "SIGINFO",
    "SIGINT",
    "SIGIO",
    "SIGKILL",
    "SIGLOST",
    "SIGPIPE",
    "SIGPOLL",
    "SIGPROF",
    "SIGPWR",
    "SIGQUIT",
    "SIGSEGV",
    "SIGSTKFLT",
    "SIGSTOP",
    "SIGSYS",
    "SIGTERM",
    "SIGTRAP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGUSR1",
    "SIGUSR2",
    "SIGVTALRM",
    "SIGWINCH",
    "SIGXCPU",
    "SIGXFSZ",
];

/// Prefixes of the flag names of the mmap family.
const FLAG_PREFIXES: &[&str] = &[
    "MAP_",
    "PROT_",
    "MS_",
    "MADV_",
    "POSIX_MADV_",
    "MCL_",
    "MLOCK_",
    "MREMAP_",
    "INHERIT_",
];

/// What kind of name tags an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Errno,
    Signal,
    Flag,
}

pub fn is_errno(word: &str) -> bool {
    ERRNOS.binary_search(&word).is_ok()
}

/// The errno name the registry uses for `name` (`ETXTBUSY` is filed as `ETXTBSY`).
pub fn canonical_errno(name: &str) -> &str {
    ERRNO_ALIASES
        .iter()
        .find(|(old, _)| *old == name)
        .map_or(name, |(_, new)| new)
}

pub fn is_signal(word: &str) -> bool {
    SIGNALS.contains(&word)
}

/// A flag name of the family: a known prefix and at least one more upper-case letter,
/// digit or underscore (`MAP_FIXED`, `PROT_MAX`; not `MAP_` alone).
pub fn is_flag(word: &str) -> bool {
    FLAG_PREFIXES.iter().any(|p| {
        word.strip_prefix(p).is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && !rest.ends_with('_')
        })
    })
}

pub fn kind_of(word: &str) -> Option<Kind> {
    if is_errno(word) {
        Some(Kind::Errno)
    } else if is_signal(word) {
        Some(Kind::Signal)
    } else if is_flag(word) {
        Some(Kind::Flag)
    } else {
        None
    }
}

/// A word joining two names in a tag: punctuation, or a short lower-case word in any
/// language ("or", "oder", "ou", "или").
fn is_connector(token: &str) -> bool {
    let t = token.trim_matches(',');
    t.is_empty()
        || matches!(t, "/" | "|" | "&")
        || (t.chars().count() <= 4 && t.chars().all(|c| c.is_lowercase()))
}

/// A name as written in a tag, with brackets and a trailing argument list removed:
/// `[EINVAL]` -> `EINVAL`, `MAP_ALIGNED(n)` -> `MAP_ALIGNED`, `EAGAIN,` -> `EAGAIN`.
fn bare(token: &str) -> &str {
    let t = token.trim_matches(|c: char| matches!(c, '[' | ']' | ',' | ';' | ':' | '.'));
    match t.find('(') {
        Some(i) if i > 0 => &t[..i],
        _ => t,
    }
}

/// The names a tag starts with, and the byte offset in `tag` where the rest (not a name)
/// starts. `None` when the tag does not start with a name.
///
/// `EAGAIN or EWOULDBLOCK` -> both; `MAP_HUGE_2MB, MAP_HUGE_1GB (since ...)` -> both, rest
/// at `(since`; `[EINVAL]` -> `EINVAL`.
pub fn tag_names(tag: &str) -> Option<(Vec<String>, usize)> {
    let tokens = tokens_with_offsets(tag);
    let mut names: Vec<String> = Vec::new();
    let mut i = 0;
    let mut rest_at = tag.len();
    while i < tokens.len() {
        let (at, tok) = tokens[i];
        let name = bare(tok);
        let same_kind = names
            .first()
            .is_none_or(|first: &String| kind_of(first) == kind_of(name));
        if kind_of(name).is_some() && same_kind {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
            i += 1;
            continue;
        }
        if !names.is_empty() && is_connector(tok) {
            // A connector counts only when a name follows it.
            let mut j = i;
            while j < tokens.len()
                && is_connector(tokens[j].1)
                && kind_of(bare(tokens[j].1)).is_none()
            {
                j += 1;
            }
            if j < tokens.len() && kind_of(bare(tokens[j].1)) == kind_of(&names[0]) {
                i = j;
                continue;
            }
        }
        rest_at = at;
        break;
    }
    if names.is_empty() {
        return None;
    }
    Some((names, rest_at))
}

/// Whitespace-separated tokens with their byte offsets.
fn tokens_with_offsets(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((st, &s[st..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_errno_list_is_sorted_for_binary_search() {
        assert!(ERRNOS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn tags_yield_their_names() {
        let names = |t: &str| tag_names(t).map(|(n, _)| n);
        assert_eq!(names("EINVAL"), Some(vec!["EINVAL".into()]));
        assert_eq!(names("[EINVAL]"), Some(vec!["EINVAL".into()]));
        assert_eq!(
            names("EAGAIN or EWOULDBLOCK"),
            Some(vec!["EAGAIN".into(), "EWOULDBLOCK".into()])
        );
        assert_eq!(
            names("EAGAIN, EWOULDBLOCK"),
            Some(vec!["EAGAIN".into(), "EWOULDBLOCK".into()])
        );
        assert_eq!(
            names("MAP_HUGE_2MB, MAP_HUGE_1GB (since Linux 3.8)"),
            Some(vec!["MAP_HUGE_2MB".into(), "MAP_HUGE_1GB".into()])
        );
        assert_eq!(names("MAP_ALIGNED(n)"), Some(vec!["MAP_ALIGNED".into()]));
        assert_eq!(names("ETXTBUSY"), Some(vec!["ETXTBUSY".into()]));
        assert_eq!(names("EMAGIC"), None);
        assert_eq!(names("The flag"), None);
        assert_eq!(names("MAP_"), None);
        // A name of another kind starts the rest (flattened roff: tag and text run on).
        let t = "EACCES MAP_PRIVATE wurde angegeben";
        let (n, at) = tag_names(t).unwrap();
        assert_eq!(
            (n, &t[at..]),
            (vec!["EACCES".to_string()], "MAP_PRIVATE wurde angegeben")
        );
    }

    #[test]
    fn the_rest_of_a_tag_starts_after_its_names() {
        let t = "EBADF  fd is not valid";
        let (n, at) = tag_names(t).unwrap();
        assert_eq!(n, vec!["EBADF"]);
        assert_eq!(&t[at..], "fd is not valid");
        let t = "EINVAL (since Linux 2.6.12) length was 0.";
        assert_eq!(
            &t[tag_names(t).unwrap().1..],
            "(since Linux 2.6.12) length was 0."
        );
    }

    #[test]
    fn old_spellings_are_filed_under_todays_name() {
        assert_eq!(canonical_errno("ETXTBUSY"), "ETXTBSY");
        assert_eq!(canonical_errno("EINVAL"), "EINVAL");
    }
}
