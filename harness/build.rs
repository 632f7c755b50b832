//! Builds the case files into the binary, so one self-contained executable can run the
//! suite as PID 1 in a minimal VM, under a sandbox, or on a machine without the sources.
//!
//! The scan opens nothing and follows no link: a FIFO named `*.toml` would hang the build
//! and a dangling symlink would break it. Such an entry, like a file that is not UTF-8, is
//! not a build failure here: it is embedded as an error, which the binary reports located
//! (`cases/<path>: ...`) exactly as `check --cases` reports it from the source tree, and
//! named in a cargo warning. A compile_error! instead would stop every build and every
//! `cargo test` of the tree for one stray editor lock file, and report it in a different
//! form from the loader's.

use std::path::{Path, PathBuf};

/// What the scan found: files to embed, and entries that cannot be case files.
#[derive(Debug, Default)]
pub struct Scan {
    /// (path below cases/, path to include).
    pub files: Vec<(String, PathBuf)>,
    /// (path below cases/, why it is refused).
    pub refused: Vec<(String, String)>,
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn collect(root: &Path, dir: &Path, out: &mut Scan) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            if dir != root || dir.exists() {
                out.refused
                    .push((rel(root, dir), format!("cannot list: {e}")));
            }
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let toml = path.extension().is_some_and(|e| e == "toml");
        let Ok(t) = entry.file_type() else {
            out.refused
                .push((rel(root, &path), "cannot stat".to_string()));
            continue;
        };
        if t.is_dir() {
            collect(root, &path, out);
        } else if t.is_file() && toml {
            out.files.push((rel(root, &path), path));
        } else if toml || (t.is_symlink() && path.is_dir()) {
            let what = if t.is_symlink() {
                "a symbolic link (links under cases/ are not followed)"
            } else {
                "not a regular file (a FIFO, socket or device)"
            };
            out.refused.push((
                rel(root, &path),
                format!("is {what}; case and registry files must be regular files"),
            ));
        }
    }
}

pub fn scan(root: &Path) -> Scan {
    let mut s = Scan::default();
    collect(root, root, &mut s);
    s.files.sort();
    s.refused.sort();
    s
}

/// The generated source: file bytes through include_bytes! (so rustc tracks them and
/// invalid UTF-8 is the loader's located error, not a compile error) and refused entries.
pub fn generate(s: &Scan) -> String {
    let mut src = String::from(
        "/// (path below cases/, bytes) of every case and registry file.\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (rel, path) in &s.files {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        src.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            abs.display().to_string()
        ));
    }
    src.push_str("];\n/// (path below cases/, why) of entries that cannot be case files.\npub static REFUSED: &[(&str, &str)] = &[\n");
    for (rel, why) in &s.refused {
        src.push_str(&format!("    ({rel:?}, {why:?}),\n"));
    }
    src.push_str("];\n");
    src
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let cases = manifest.join("../cases");
    println!("cargo:rerun-if-changed={}", cases.display());
    let s = scan(&cases);
    for (rel, why) in &s.refused {
        println!("cargo:warning=cases/{rel}: {why} (the built binary reports it)");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("embedded_cases.rs");
    std::fs::write(out, generate(&s)).unwrap();
}
