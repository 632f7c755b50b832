//! The man-page reader (`mmapconf clauses --man`) on small pages written for these tests
//! (tests/fixtures/man/): man(7), mdoc(7), rendered text (Linux and FreeBSD layouts, one
//! embedded in other text), roff flattened onto one line (German), and a web mirror's
//! rendering with mdoc leftovers (Russian); then the mapping onto a small registry, drift
//! both ways, and the command's output and exit status.

use mmapconf::manpage::{self, Format, How, Kind, ManPage, Mapping};
use mmapconf::registry::Registry;
use rstest::rstest;
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/man")
        .join(name)
}

fn read(name: &str) -> ManPage {
    manpage::read(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn keys(entries: &[manpage::Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.key.as_str()).collect()
}

fn text_of<'a>(entries: &'a [manpage::Entry], key: &str) -> &'a str {
    &entries
        .iter()
        .find(|e| e.key == key)
        .unwrap_or_else(|| panic!("no entry {key}"))
        .text
}

#[rstest]
#[case::man("demo.2", Format::Man, "linux",
    &["EACCES", "EAGAIN", "EWOULDBLOCK", "EINVAL", "EINVAL", "EINVAL", "EPERM", "ETXTBUSY"])]
#[case::mdoc("demo-freebsd.2", Format::Mdoc, "freebsd",
    &["EINVAL", "EINVAL", "EAGAIN", "EWOULDBLOCK", "EINVAL"])]
#[case::rendered_linux("demo-rendered.txt", Format::Rendered, "linux",
    &["EACCES", "EAGAIN", "EINVAL", "EINVAL", "EINVAL", "EPERM", "ETXTBUSY"])]
#[case::rendered_freebsd_inside_other_text("demo-rendered-bsd.txt", Format::Rendered, "freebsd",
    &["EINVAL", "EINVAL", "EAGAIN"])]
#[case::flattened_german("demo-flat-de.txt", Format::Man, "linux",
    &["EBADF", "EACCES", "ETXTBUSY", "EINVAL"])]
#[case::russian_mirror("demo-mirror-ru.txt", Format::Rendered, "freebsd",
    &["EINVAL", "EAGAIN", "ENOMEM"])]
fn every_format_yields_its_errors_entries_in_page_order(
    #[case] file: &str,
    #[case] format: Format,
    #[case] os: &str,
    #[case] errors: &[&str],
) {
    let page = read(file);
    assert_eq!(page.format, format);
    assert_eq!(page.name, "demo");
    assert_eq!(page.section, "2");
    assert_eq!(page.os.as_deref(), Some(os));
    assert_eq!(keys(&page.errors), errors);
    assert!(
        page.errors
            .iter()
            .all(|e| e.kind == Kind::Errno && e.line > 0)
    );
}

#[test]
fn man_source_loses_its_escapes_and_font_macros() {
    let page = read("demo.2");
    assert_eq!(page.date, "2024-01-01");
    assert_eq!(page.source, "Linux man-pages 9.99");
    assert_eq!(page.version_line(), "Linux man-pages 9.99, 2024-01-01");
    assert_eq!(
        text_of(&page.errors, "EACCES"),
        "The widget file is not a regular file. Or MAP_ALPHA was asked for but fd is not open for reading."
    );
    assert_eq!(
        text_of(&page.flags, "MAP_GAMMA_4K"),
        "Pick a gamma size \u{2014} small or large."
    );
    // `.IP` without a tag continues the entry; a comment between tag and body is skipped.
    assert_eq!(
        text_of(&page.flags, "MAP_ALPHA"),
        "Put the widget first. A second paragraph about MAP_ALPHA, still part of it."
    );
    assert_eq!(
        text_of(&page.flags, "MAP_BETA"),
        "Put the widget second. Also paint it blue."
    );
    assert_eq!(
        keys(&page.flags),
        [
            "PROT_NONE",
            "PROT_READ",
            "MAP_ALPHA",
            "MAP_BETA",
            "MAP_GAMMA_4K",
            "MAP_GAMMA_8K"
        ]
    );
    assert_eq!(keys(&page.signals), ["SIGSEGV"]);
    assert!(page.sections.contains(&"ERRORS".to_string()));
}

#[test]
fn several_tags_share_one_text_and_bullets_are_entries_of_their_own() {
    for page in [read("demo.2"), read("demo-freebsd.2")] {
        let again = text_of(&page.errors, "EAGAIN");
        assert_eq!(text_of(&page.errors, "EWOULDBLOCK"), again);
        let eagain = page.errors.iter().find(|e| e.key == "EAGAIN").unwrap();
        assert_eq!(eagain.also, ["EWOULDBLOCK"]);
    }
    let page = read("demo.2");
    let einval: Vec<&str> = page
        .errors
        .iter()
        .filter(|e| e.key == "EINVAL")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        einval,
        [
            "addr is not aligned to a widget boundary.",
            "length was zero;",
            "flags had an unknown bit."
        ]
    );
    let gamma = page.flags.iter().find(|e| e.key == "MAP_GAMMA_8K").unwrap();
    assert_eq!(gamma.also, ["MAP_GAMMA_4K"]);
}

#[test]
fn mdoc_macros_render_as_their_words() {
    let page = read("demo-freebsd.2");
    assert_eq!(page.date, "May 1, 2024");
    assert_eq!(keys(&page.flags), ["MAP_ALPHA", "MAP_ALIGNED"]);
    assert_eq!(
        text_of(&page.flags, "MAP_ALPHA"),
        "Put the widget first, see mmap(2)."
    );
    assert_eq!(
        text_of(&page.flags, "MAP_ALIGNED"),
        "Align the widget to 2^n bytes."
    );
    assert_eq!(
        page.errors[1].text,
        "The sysctl vm.widgets is 0 and addr is not aligned."
    );
    assert_eq!(
        text_of(&page.errors, "EAGAIN"),
        "The widget pool (see widget(4)) is busy."
    );
    assert!(
        page.errors[0]
            .intro
            .contains("demo() system call will fail")
    );
    assert!(
        page.errors[4].intro.contains("undemo()"),
        "{}",
        page.errors[4].intro
    );
}

#[test]
fn rendered_text_is_read_by_layout() {
    let page = read("demo-rendered.txt");
    assert_eq!(
        (page.source.as_str(), page.date.as_str()),
        ("Linux man-pages 9.99", "2024-01-01")
    );
    // Hyphenation at a line end is undone; the hanging body is joined.
    assert_eq!(
        text_of(&page.errors, "EACCES"),
        "The widget file is not a regular file. Or MAP_ALPHA was asked for but fd is not open for reading."
    );
    // A tag alone on its line (too long for the tag column), bullets, a `.TQ` pair.
    assert_eq!(
        text_of(&page.errors, "ETXTBUSY"),
        "MAP_BETA was set and the file is being written."
    );
    assert_eq!(page.errors[3].text, "length was zero;");
    assert_eq!(
        keys(&page.flags),
        [
            "PROT_NONE",
            "PROT_READ",
            "MAP_ALPHA",
            "MAP_BETA",
            "MAP_GAMMA_4K",
            "MAP_GAMMA_8K"
        ]
    );
    assert_eq!(text_of(&page.flags, "MAP_GAMMA_8K"), "Pick a gamma size.");
    // Prose that starts a line with a name (justified, with wide gaps) is no entry.
    assert_eq!(text_of(&page.flags, "MAP_ALPHA"), "Put the widget first.");
    assert!(!page.flags.iter().any(|e| e.section == "NOTES"));
    assert_eq!(keys(&page.signals), ["SIGSEGV"]);
}

#[test]
fn a_rendered_page_is_found_inside_other_text() {
    let page = read("demo-rendered-bsd.txt");
    assert_eq!(
        (page.source.as_str(), page.date.as_str()),
        ("FreeBSD 9.9", "May 1, 2024")
    );
    assert!(
        page.notes.iter().any(|n| n.contains("starts at line 5")),
        "{:?}",
        page.notes
    );
    assert_eq!(
        page.errors[1].text,
        "The sysctl vm.widgets is 0 and addr is not aligned."
    );
    assert_eq!(keys(&page.flags), ["PROT_NONE", "PROT_READ", "MAP_ALPHA"]);
    assert_eq!(
        text_of(&page.flags, "MAP_ALPHA"),
        "Put the widget first and keep it there for a long time, as long as the system runs."
    );
}

#[test]
fn flattened_roff_is_split_back_into_requests() {
    let page = read("demo-flat-de.txt");
    assert!(page.notes.iter().any(|n| n.contains("flattened")));
    assert_eq!(
        (page.source.as_str(), page.date.as_str()),
        ("Linux 1.2.3", "1. Mai 1996")
    );
    assert_eq!(
        text_of(&page.errors, "EACCES"),
        "MAP_ALPHA wurde angegeben, aber fd ist nicht lesbar."
    );
    assert_eq!(
        text_of(&page.errors, "EINVAL"),
        "Die Werte von addr, length und offset sind ungültig."
    );
    assert_eq!(keys(&page.flags), ["MAP_ALPHA"]);
    assert!(page.sections.contains(&"FEHLER".to_string()));
}

#[test]
fn a_mirror_page_loses_its_mdoc_leftovers() {
    let page = read("demo-mirror-ru.txt");
    assert_eq!(
        text_of(&page.errors, "EINVAL"),
        "The len argument was zero."
    );
    assert_eq!(
        text_of(&page.errors, "ENOMEM"),
        "No widgets are left. The sysctl vm.widgets is exhausted."
    );
}

/// Cut anywhere, a page is still read without a panic (whatever it then yields).
#[test]
fn truncated_pages_never_panic() {
    for file in [
        "demo.2",
        "demo-freebsd.2",
        "demo-rendered.txt",
        "demo-rendered-bsd.txt",
        "demo-flat-de.txt",
        "demo-mirror-ru.txt",
    ] {
        let text = std::fs::read_to_string(fixture(file)).unwrap();
        let cuts = text.char_indices().map(|(i, _)| i).step_by(3);
        for cut in cuts {
            let page = manpage::parse(&text[..cut]);
            let _ = manpage::map(&page, &Registry::default(), None);
        }
    }
    for odd in [
        "\\C", "\\C'", ".TP", ".It Bq", "\\(", "\\[", "\\f", ".Bl\n.It", "\u{1b}[",
    ] {
        let _ = manpage::parse(odd);
    }
}

/// A gzip copy, a `.so` include and a link stored as its target's name all read the page.
#[test]
fn gzip_includes_and_link_stubs_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let man2 = dir.path().join("man2");
    std::fs::create_dir(&man2).unwrap();
    let source = std::fs::read(fixture("demo.2")).unwrap();
    let gz = man2.join("demo.2.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&source).unwrap();
    enc.finish().unwrap();
    std::fs::write(man2.join("undemo.2"), ".so man2/demo.2\n").unwrap();
    std::fs::write(man2.join("redemo.2"), "demo.2.gz").unwrap();
    let plain = read("demo.2");
    for file in ["demo.2.gz", "undemo.2", "redemo.2"] {
        let page = manpage::read(&man2.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(page.errors, plain.errors, "{file}");
    }
    let broken = man2.join("broken.2");
    std::fs::write(&broken, ".so man2/missing.2\n").unwrap();
    let e = manpage::read(&broken).unwrap_err().to_string();
    assert!(e.contains("man2/missing.2"), "{e}");
    let e = manpage::read(&man2.join("absent.2"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot read"), "{e}");
}

const DEMO_REGISTRY: &str = r#"
[page]
os = "linux"
name = "demo"
section = "2"
covers = ["undemo"]
read_from = "test registry (a later version of the demo page)"

[clause]
"linux.demo.desc.1" = { section = "DESCRIPTION", summary = "demo places a widget" }
"linux.demo.prot.PROT_NONE" = { section = "DESCRIPTION", summary = "PROT_NONE forbids touching" }
"linux.demo.flag.MAP_ALPHA" = { section = "DESCRIPTION", summary = "MAP_ALPHA puts the widget first" }
"linux.demo.flag.MAP_BETA.1" = { section = "DESCRIPTION", summary = "MAP_BETA puts the widget second" }
"linux.demo.flag.MAP_BETA.2" = { section = "DESCRIPTION", summary = "MAP_BETA paints the widget blue" }
"linux.demo.flag.MAP_GAMMA_4K_8K" = { section = "DESCRIPTION", summary = "gamma sizes" }
"linux.demo.flag.MAP_GONE" = { section = "DESCRIPTION", summary = "MAP_GONE, which the page dropped" }
"linux.demo.errors.EACCES.1" = { section = "ERRORS", summary = "EACCES when the widget file is not a regular file" }
"linux.demo.errors.EACCES.2" = { section = "ERRORS", summary = "EACCES when MAP_ALPHA is asked for and fd is not open for reading" }
"linux.demo.errors.EAGAIN.1" = { section = "ERRORS", summary = "EAGAIN when the widget pool is busy" }
"linux.demo.errors.EINVAL.1" = { section = "ERRORS", summary = "EINVAL when addr is not aligned to a widget boundary" }
"linux.demo.errors.EINVAL.2" = { section = "ERRORS", summary = "EINVAL when length is zero" }
"linux.demo.errors.EINVAL.3" = { section = "ERRORS", summary = "EINVAL when flags has an unknown bit" }
"linux.demo.errors.ENOMEM.1" = { section = "ERRORS", summary = "ENOMEM when no widgets are left" }
"linux.demo.errors.ETXTBSY.1" = { section = "ERRORS", summary = "ETXTBSY when MAP_BETA is set and the file is being written" }
"linux.demo.signal.SIGSEGV.1" = { section = "ERRORS", summary = "SIGSEGV on a write to a read-only widget" }
"#;

fn registry(files: &[(&str, &str)]) -> Registry {
    let mut r = Registry::default();
    for (name, text) in files {
        r.add_file(Path::new(name), text)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    r
}

fn ids_of(m: &Mapping, key: &str) -> Vec<(String, How)> {
    m.mapped
        .iter()
        .filter(|x| x.entry.key == key)
        .map(|x| (x.id.clone(), x.how))
        .collect()
}

fn id(s: &str) -> String {
    format!("linux.demo.{s}")
}

#[rstest]
#[case::man("demo.2")]
#[case::rendered("demo-rendered.txt")]
fn drift_is_found_both_ways(#[case] file: &str) {
    let reg = registry(&[("linux-demo.toml", DEMO_REGISTRY)]);
    let m = manpage::map(&read(file), &reg, None);
    assert_eq!(m.page_key.as_deref(), Some("linux-demo"));
    // One page entry holds both EACCES clauses (a later version split it).
    assert_eq!(
        ids_of(&m, "EACCES"),
        [
            (id("errors.EACCES.1"), How::Text),
            (id("errors.EACCES.2"), How::Part)
        ]
    );
    assert_eq!(
        m.text_of(&id("errors.EACCES.2")),
        Some("Or MAP_ALPHA was asked for but fd is not open for reading.")
    );
    let einval: Vec<String> = ids_of(&m, "EINVAL").into_iter().map(|(i, _)| i).collect();
    assert_eq!(
        einval,
        [
            id("errors.EINVAL.1"),
            id("errors.EINVAL.2"),
            id("errors.EINVAL.3")
        ]
    );
    // The old spelling ETXTBUSY is filed as ETXTBSY.
    assert_eq!(
        ids_of(&m, "ETXTBUSY"),
        [(id("errors.ETXTBSY.1"), How::Order)]
    );
    assert_eq!(
        ids_of(&m, "SIGSEGV"),
        [(id("signal.SIGSEGV.1"), How::Order)]
    );
    // Flags by name, sub-clauses and two names of one entry included.
    assert_eq!(ids_of(&m, "MAP_BETA").len(), 2);
    assert_eq!(
        ids_of(&m, "MAP_GAMMA_8K"),
        [(id("flag.MAP_GAMMA_4K_8K"), How::Name)]
    );
    // Drift: the page's EPERM and its PROT_READ flag are not in the registry; the
    // registry's ENOMEM and MAP_GONE are not on the page.
    let page_only: Vec<&str> = m.page_only.iter().map(|e| e.key.as_str()).collect();
    assert!(page_only.contains(&"EPERM"), "{page_only:?}");
    let flags_only: Vec<&str> = m
        .page_only
        .iter()
        .filter(|e| e.kind == Kind::Flag)
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(flags_only, ["PROT_READ"]);
    assert_eq!(
        m.registry_only,
        [id("errors.ENOMEM.1"), id("flag.MAP_GONE")]
    );
    assert!(m.has_drift());
}

#[test]
fn another_name_of_the_same_entry_shares_its_clause() {
    let reg = registry(&[("linux-demo.toml", DEMO_REGISTRY)]);
    let m = manpage::map(&read("demo.2"), &reg, None);
    assert_eq!(
        ids_of(&m, "EWOULDBLOCK"),
        [(id("errors.EAGAIN.1"), How::SameEntry)]
    );
}

#[test]
fn a_page_that_reorders_its_entries_is_matched_by_text() {
    let swapped = DEMO_REGISTRY
        .replace("EINVAL when length is zero", "EINVAL when X")
        .replace(
            "EINVAL when addr is not aligned to a widget boundary",
            "EINVAL when length is zero",
        )
        .replace(
            "EINVAL when X",
            "EINVAL when addr is not aligned to a widget boundary",
        );
    let reg = registry(&[("linux-demo.toml", &swapped)]);
    let m = manpage::map(&read("demo.2"), &reg, None);
    let einval: Vec<(String, How)> = ids_of(&m, "EINVAL");
    assert_eq!(
        einval,
        [
            (id("errors.EINVAL.2"), How::Text),
            (id("errors.EINVAL.1"), How::Text),
            (id("errors.EINVAL.3"), How::Text)
        ]
    );
    assert!(
        m.notes.iter().any(|n| n.contains("order differs")),
        "{:?}",
        m.notes
    );
}

#[test]
fn bare_ids_map_by_order() {
    let reg = Registry::of_ids(&[
        "linux.demo.errors.EINVAL.1",
        "linux.demo.errors.EINVAL.2",
        "linux.demo.errors.EINVAL.3",
        "linux.demo.errors.EINVAL.4",
    ]);
    let m = manpage::map(&read("demo.2"), &reg, Some("test"));
    let einval: Vec<(String, How)> = ids_of(&m, "EINVAL");
    assert_eq!(
        einval,
        [
            (id("errors.EINVAL.1"), How::Position),
            (id("errors.EINVAL.2"), How::Position),
            (id("errors.EINVAL.3"), How::Position)
        ]
    );
    assert_eq!(m.registry_only, [id("errors.EINVAL.4")]);
}

const FREEBSD_REGISTRY: &str = r#"
[page]
os = "freebsd"
name = "demo"
section = "2"
covers = ["undemo"]
read_from = "test registry"

[clause]
"freebsd.demo.errors.EINVAL.1" = { section = "ERRORS", summary = "EINVAL when len is zero" }
"freebsd.demo.errors.EINVAL.2" = { section = "ERRORS", summary = "EINVAL when vm.widgets is 0 and addr is unaligned" }
"freebsd.demo.errors.EAGAIN.1" = { section = "ERRORS", summary = "EAGAIN when the pool is busy" }
"freebsd.demo.errors.EWOULDBLOCK.1" = { section = "ERRORS", summary = "EWOULDBLOCK when the pool is busy" }
"freebsd.undemo.errors.EINVAL.1" = { section = "ERRORS", summary = "(undemo) EINVAL when the range wraps around zero" }
"freebsd.demo.flag.MAP_ALPHA" = { section = "DESCRIPTION", summary = "MAP_ALPHA first" }
"freebsd.demo.flag.MAP_ALIGNED" = { section = "DESCRIPTION", summary = "MAP_ALIGNED(n) aligns" }
"#;

const HISTORICAL: &str = r#"
[page]
os = "freebsd"
name = "demo"
section = "2"
read_from = "an old text"
historical = true

[clause]
"hist.demo-1.errors.EINVAL.1" = { section = "ERRORS", summary = "EINVAL when len is zero" }
"#;

#[rstest]
#[case::mdoc("demo-freebsd.2")]
fn each_call_of_a_page_has_its_own_errors_list(#[case] file: &str) {
    let reg = registry(&[
        ("freebsd-demo.toml", FREEBSD_REGISTRY),
        ("hist-demo.toml", HISTORICAL),
    ]);
    let m = manpage::map(&read(file), &reg, None);
    assert_eq!(m.page_key.as_deref(), Some("freebsd-demo"));
    assert!(m.page_only.is_empty(), "{:?}", m.page_only);
    assert!(m.registry_only.is_empty(), "{:?}", m.registry_only);
    let last = m.mapped.iter().find(|x| x.entry.line == 54).unwrap();
    assert_eq!(last.id, "freebsd.undemo.errors.EINVAL.1");
    assert!(!m.has_drift());
    // A flag entry the registry does not list is drift on its own, like an ERRORS entry.
    let no_aligned = FREEBSD_REGISTRY.replace(
        "\"freebsd.demo.flag.MAP_ALIGNED\" = { section = \"DESCRIPTION\", summary = \"MAP_ALIGNED(n) aligns\" }\n",
        "",
    );
    assert_ne!(no_aligned, FREEBSD_REGISTRY);
    let m = manpage::map(
        &read(file),
        &registry(&[("freebsd-demo.toml", &no_aligned)]),
        None,
    );
    assert!(m.registry_only.is_empty(), "{:?}", m.registry_only);
    let page_only: Vec<(Kind, &str)> = m
        .page_only
        .iter()
        .map(|e| (e.kind, e.key.as_str()))
        .collect();
    assert_eq!(page_only, [(Kind::Flag, "MAP_ALIGNED")]);
    assert!(m.has_drift());
    // The historical page only when asked for.
    let old = manpage::map(&read(file), &reg, Some("hist-demo"));
    assert_eq!(old.page_key.as_deref(), Some("hist-demo"));
    assert_eq!(old.mapped[0].id, "hist.demo-1.errors.EINVAL.1");
}

#[test]
fn the_command_reports_a_table_or_json_and_exits_by_drift() {
    let reg = registry(&[("linux-demo.toml", DEMO_REGISTRY)]);
    let path = fixture("demo.2");
    let (out, code) = manpage::cli(Some(&path), None, false, &reg);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("DRIFT"), "{out}");
    assert!(out.contains("linux.demo.errors.ENOMEM.1"), "{out}");
    assert!(out.contains("registry page linux-demo"), "{out}");

    let (json, code) = manpage::cli(Some(&path), None, true, &reg);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["registry_page"], "linux-demo");
    assert_eq!(v["page"]["errors"][0]["key"], "EACCES");
    assert_eq!(
        v["mapping"]["registry_only"][0],
        "linux.demo.errors.ENOMEM.1"
    );

    let reg = registry(&[("freebsd-demo.toml", FREEBSD_REGISTRY)]);
    let (out, code) = manpage::cli(Some(&fixture("demo-freebsd.2")), None, false, &reg);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("DRIFT"), "{out}");
    assert!(
        out.contains("2 flag entries, 0 not in the registry; 0 registry clauses"),
        "{out}"
    );

    // Every ERRORS entry maps and the registry lacks nothing of the page but one flag:
    // still drift, exit 1, and the flag is named.
    let no_alpha = FREEBSD_REGISTRY.replace(
        "\"freebsd.demo.flag.MAP_ALPHA\" = { section = \"DESCRIPTION\", summary = \"MAP_ALPHA first\" }\n",
        "",
    );
    assert_ne!(no_alpha, FREEBSD_REGISTRY);
    let flagless = registry(&[("freebsd-demo.toml", &no_alpha)]);
    let (out, code) = manpage::cli(Some(&fixture("demo-freebsd.2")), None, false, &flagless);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("MAP_ALPHA") && l.contains("DRIFT (not in registry)")),
        "{out}"
    );
    assert!(
        out.contains("0 not in the registry; 0 signal entries, 0 not in the registry; 2 flag entries, 1 not in the registry; 0 registry clauses"),
        "{out}"
    );
    assert!(!out.contains("reported only"), "{out}");
    let (json, code) = manpage::cli(Some(&fixture("demo-freebsd.2")), None, true, &flagless);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["exit"], 1);
    assert_eq!(v["mapping"]["page_only"][0]["key"], "MAP_ALPHA");
    assert_eq!(v["mapping"]["page_only"][0]["kind"], "flag");

    let (out, code) = manpage::cli(Some(Path::new("/nonexistent/demo.2")), None, false, &reg);
    assert_eq!(code, 2);
    assert!(out.starts_with("error: cannot read"), "{out}");
    let (out, code) = manpage::cli(Some(&path), Some("no-such-page"), false, &reg);
    assert_eq!(code, 2);
    assert!(out.contains("valid: freebsd-demo"), "{out}");
}

/// On a machine with Debian's manpages-dev 6.03 or 6.9.1, every ERRORS, signal and flag
/// entry of the installed pages of the family maps onto the built-in registry and the
/// registry has nothing the page lacks (skipped elsewhere: the suite must not depend on
/// the host's pages).
#[rstest]
#[case::mmap("mmap", "linux-mmap", 18, 26)]
#[case::munmap("munmap", "linux-mmap", 18, 26)]
#[case::mprotect("mprotect", "linux-mprotect", 9, 8)]
#[case::msync("msync", "linux-msync", 3, 3)]
#[case::madvise("madvise", "linux-madvise", 19, 24)]
#[case::mincore("mincore", "linux-mincore", 5, 0)]
#[case::mlock("mlock", "linux-mlock", 11, 4)]
#[case::mremap("mremap", "linux-mremap", 14, 3)]
fn the_installed_linux_pages_map_onto_the_registry(
    #[case] name: &str,
    #[case] key: &str,
    #[case] errors: usize,
    #[case] flags: usize,
) {
    let path = PathBuf::from(format!("/usr/share/man/man2/{name}.2.gz"));
    let Ok(page) = manpage::read(&path) else {
        return;
    };
    let known = ["Linux man-pages 6.03", "Linux man-pages 6.9.1"];
    if !known.contains(&page.source.as_str()) {
        return;
    }
    let suite = mmapconf::embedded::suite().unwrap_or_else(|e| panic!("{e:?}"));
    let m = manpage::map(&page, &suite.registry, None);
    assert_eq!(m.page_key.as_deref(), Some(key));
    assert!(m.page_only.is_empty(), "{:?}", m.page_only);
    assert!(m.registry_only.is_empty(), "{:?}", m.registry_only);
    assert!(!m.has_drift());
    assert_eq!((page.errors.len(), page.flags.len()), (errors, flags));
    let (out, code) = manpage::cli(Some(&path), None, false, &suite.registry);
    assert_eq!(code, 0, "{out}");
}
