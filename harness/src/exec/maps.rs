//! The `vma` step's reader: the /proc/self/maps line of the mapping that contains an
//! address, read with raw open/read into a buffer on the child's stack and parsed in place,
//! so the forked child allocates nothing (async-signal-safe). FreeBSD has no
//! /proc/self/maps; the planner makes such cases not applicable there.

use crate::record::SetupCall;

/// One line of /proc/self/maps: `[start, end)` and the permission string (`rw-p`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub perms: [u8; 4],
}

/// The longest line the reader keeps whole; a longer one (a path near PATH_MAX) is read
/// for its start only, which is all the step needs.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const BUF: usize = 8192;

/// The VMA that contains `addr`, `None` when no line does, or the call that failed
/// (errno set).
#[cfg(target_os = "linux")]
pub fn vma_containing(addr: u64) -> Result<Option<Vma>, SetupCall> {
    let mut buf = [0u8; BUF];
    let mut scan = Scan::new(addr);
    // SAFETY: open, read and close of a path literal into a stack buffer.
    unsafe {
        let fd = libc::open(
            c"/proc/self/maps".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return Err(SetupCall::Open);
        }
        let mut filled = 0usize;
        loop {
            let r = libc::read(fd, buf[filled..].as_mut_ptr().cast(), BUF - filled);
            if r < 0 {
                libc::close(fd);
                return Err(SetupCall::Read);
            }
            filled += r as usize;
            let kept = scan.feed(&mut buf, filled, r == 0);
            if scan.found.is_some() || r == 0 {
                break;
            }
            filled = kept;
        }
        libc::close(fd);
    }
    Ok(scan.found)
}

#[cfg(not(target_os = "linux"))]
pub fn vma_containing(_: u64) -> Result<Option<Vma>, SetupCall> {
    nix::errno::Errno::set_raw(libc::ENOSYS);
    Err(SetupCall::Read)
}

/// The line-by-line scan over the chunks read, with no allocation.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
struct Scan {
    addr: u64,
    /// Inside a line too long for the buffer, whose start was already parsed.
    skipping: bool,
    found: Option<Vma>,
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl Scan {
    fn new(addr: u64) -> Scan {
        Scan {
            addr,
            skipping: false,
            found: None,
        }
    }

    /// Parses every whole line of `buf[..filled]` (and the last, unterminated one at the
    /// end of the file), moves the rest to the front and returns its length.
    fn feed(&mut self, buf: &mut [u8], filled: usize, eof: bool) -> usize {
        let mut i = 0;
        while i < filled && self.found.is_none() {
            let nl = buf[i..filled].iter().position(|&c| c == b'\n');
            let line_end = match nl {
                Some(n) => i + n,
                None if eof || (i == 0 && filled == buf.len()) => filled,
                None => break,
            };
            if !self.skipping {
                self.line(&buf[i..line_end]);
            }
            // A line that filled the whole buffer goes on in the next read: skip its rest.
            self.skipping = nl.is_none() && !eof;
            i = (line_end + 1).min(filled);
            if nl.is_none() {
                i = filled;
            }
        }
        let rest = filled - i;
        buf.copy_within(i..filled, 0);
        rest
    }

    fn line(&mut self, l: &[u8]) {
        if let Some(v) = parse_line(l)
            && v.start <= self.addr
            && self.addr < v.end
        {
            self.found = Some(v);
        }
    }
}

/// `START-END PERMS ...` with START and END in hex.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_line(l: &[u8]) -> Option<Vma> {
    let (start, rest) = hex(l)?;
    let rest = rest.strip_prefix(b"-")?;
    let (end, rest) = hex(rest)?;
    let rest = rest.strip_prefix(b" ")?;
    let perms: [u8; 4] = rest.get(..4)?.try_into().ok()?;
    Some(Vma { start, end, perms })
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn hex(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut v: u64 = 0;
    let mut n = 0;
    while n < s.len() {
        let d = match s[n] {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            _ => break,
        };
        v = v.checked_mul(16)?.checked_add(d as u64)?;
        n += 1;
    }
    (n > 0).then_some((v, &s[n..]))
}

#[cfg(test)]
mod tests {
    use super::{Scan, Vma, parse_line};

    const MAPS: &[u8] = b"00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n\
7f0000000000-7f0000003000 rw-p 00000000 00:00 0 \n\
7ffd1a2b3000-7ffd1a2d4000 rw-p 00000000 00:00 0                          [stack]\n";

    fn scan_in_chunks(text: &[u8], addr: u64, buf_len: usize, chunk: usize) -> Option<Vma> {
        let mut buf = vec![0u8; buf_len];
        let mut scan = Scan::new(addr);
        let (mut pos, mut filled) = (0, 0);
        loop {
            let n = chunk.min(buf_len - filled).min(text.len() - pos);
            buf[filled..filled + n].copy_from_slice(&text[pos..pos + n]);
            pos += n;
            filled += n;
            let kept = scan.feed(&mut buf, filled, n == 0);
            if scan.found.is_some() || n == 0 {
                return scan.found;
            }
            filled = kept;
        }
    }

    #[test]
    fn a_line_gives_its_extent_and_permissions() {
        assert_eq!(
            parse_line(b"7f0000000000-7f0000003000 rw-p 00000000 00:00 0"),
            Some(Vma {
                start: 0x7f00_0000_0000,
                end: 0x7f00_0000_3000,
                perms: *b"rw-p"
            })
        );
        assert_eq!(parse_line(b"7f00-7f10 rw"), None);
        assert_eq!(parse_line(b"x-7f10 rw-p"), None);
        assert_eq!(parse_line(b"ffffffffffffffffff-1 rw-p"), None);
    }

    #[test]
    fn the_line_containing_the_address_is_found_whatever_the_chunks() {
        for chunk in [1, 7, 64, 4096] {
            let v = scan_in_chunks(MAPS, 0x7f00_0000_1000, 128, chunk).unwrap();
            assert_eq!(
                (v.start, v.end, &v.perms),
                (0x7f00_0000_0000, 0x7f00_0000_3000, b"rw-p")
            );
            let s = scan_in_chunks(MAPS, 0x7ffd_1a2d_3fff, 128, chunk).unwrap();
            assert_eq!(s.start, 0x7ffd_1a2b_3000);
            assert_eq!(scan_in_chunks(MAPS, 0x7f00_0000_3000, 128, chunk), None);
            assert_eq!(scan_in_chunks(MAPS, 0x1000, 128, chunk), None);
        }
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_parsed_from_its_start_and_skipped() {
        let mut text = b"1000-2000 r--p 0 0:0 0 /".to_vec();
        text.extend(std::iter::repeat_n(b'a', 300));
        text.extend(b"\n3000-5000 rw-s 0 0:0 0\n");
        for chunk in [1, 13, 64] {
            assert_eq!(
                scan_in_chunks(&text, 0x1fff, 64, chunk).unwrap().perms,
                *b"r--p"
            );
            let v = scan_in_chunks(&text, 0x4000, 64, chunk).unwrap();
            assert_eq!((v.start, v.end, &v.perms), (0x3000, 0x5000, b"rw-s"));
        }
    }
}
