//! Finding and reading case and registry files: a walk below the cases directory that
//! follows no link, and a bounded, non-blocking read of each file decoded as UTF-8.

use crate::located::{LoadError, err_at, located};
use crate::names;
use std::path::{Path, PathBuf};

/// The largest case or registry file read: a bigger one is an error, not exhausted memory.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Finds every `*.toml` below `dir` without following a symbolic link or opening anything.
/// A `*.toml` that is not a regular file (FIFO, socket, device, symlink) and a symlink to a
/// directory are errors: reading a FIFO would hang, and following links is how a hostile
/// tree redirects a root run.
pub(super) fn collect_toml(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>) {
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
