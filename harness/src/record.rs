//! The fixed-format report a case's child process writes to its pipe, and what the parent
//! makes of the child's end. Written by the executor, read by the judge; neither knows the
//! other.

use crate::load::MAX_STEPS;

/// What happened to one call or step, as raw numbers.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RawOutcome {
    pub state: u32,
    pub errno: i32,
    pub signo: i32,
    pub code: i32,
    /// The call's return value (the address, for mmap and mremap).
    pub ret: u64,
    /// Fault address minus the step's address.
    pub fault_off: i64,
    /// First differing byte, relative to the step's address or file offset.
    pub at: i64,
    /// Observed bytes from `at` (`got_len` of them).
    pub got: [u8; 16],
    pub got_len: u32,
    pub _pad: u32,
    /// Observed file size (readback).
    pub size: i64,
    /// Arguments as passed, after addresses were resolved.
    pub args: [u64; 6],
}

impl RawOutcome {
    pub const NOT_RUN: u32 = 0;
    pub const OK: u32 = 1;
    pub const ERRNO: u32 = 2;
    pub const FAULT: u32 = 3;
    pub const BYTES_DIFFER: u32 = 4;
    pub const SIZE_DIFFERS: u32 = 5;
}

/// Where setup stopped when it failed.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Done = 0,
    Object = 1,
    Mapping = 2,
    Hole = 3,
    Privilege = 4,
    Limits = 5,
    Signals = 6,
    Fork = 7,
    /// A step's own preparation (reopening the case's file for a readback, say), not
    /// the step's action itself.
    Step = 8,
}

impl Stage {
    pub fn from_raw(v: u32) -> Option<Stage> {
        [
            Stage::Done,
            Stage::Object,
            Stage::Mapping,
            Stage::Hole,
            Stage::Privilege,
            Stage::Limits,
            Stage::Signals,
            Stage::Fork,
            Stage::Step,
        ]
        .into_iter()
        .find(|s| *s as u32 == v)
    }
}

impl Stage {
    /// What was being set up, in words.
    pub fn what(self) -> &'static str {
        match self {
            Stage::Done => "nothing",
            Stage::Object => "the case's object",
            Stage::Mapping => "a mapping the case needs",
            Stage::Hole => "the hole for fixed addresses",
            Stage::Privilege => "dropping privilege",
            Stage::Limits => "a resource limit",
            Stage::Signals => "the fault handlers",
            Stage::Fork => "the fork step",
            Stage::Step => "a step's descriptor",
        }
    }
}

/// The system call a failed setup stage made last: the one whose errno the record holds.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupCall {
    Unknown = 0,
    Open = 1,
    Pipe = 2,
    Socketpair = 3,
    MemfdCreate = 4,
    ShmOpen = 5,
    Ftruncate = 6,
    Pwrite = 7,
    Fcntl = 8,
    Dup = 9,
    Mmap = 10,
    Mprotect = 11,
    Getrlimit = 12,
    Setrlimit = 13,
    Sigaction = 14,
    Fork = 15,
    Setuid = 16,
}

impl SetupCall {
    const ALL: [SetupCall; 17] = [
        SetupCall::Unknown,
        SetupCall::Open,
        SetupCall::Pipe,
        SetupCall::Socketpair,
        SetupCall::MemfdCreate,
        SetupCall::ShmOpen,
        SetupCall::Ftruncate,
        SetupCall::Pwrite,
        SetupCall::Fcntl,
        SetupCall::Dup,
        SetupCall::Mmap,
        SetupCall::Mprotect,
        SetupCall::Getrlimit,
        SetupCall::Setrlimit,
        SetupCall::Sigaction,
        SetupCall::Fork,
        SetupCall::Setuid,
    ];

    pub fn from_raw(v: u32) -> SetupCall {
        SetupCall::ALL
            .into_iter()
            .find(|c| *c as u32 == v)
            .unwrap_or(SetupCall::Unknown)
    }

    /// The call's C name.
    pub fn name(self) -> &'static str {
        match self {
            SetupCall::Unknown => "a setup call",
            SetupCall::Open => "open",
            SetupCall::Pipe => "pipe",
            SetupCall::Socketpair => "socketpair",
            SetupCall::MemfdCreate => "memfd_create",
            SetupCall::ShmOpen => "shm_open",
            SetupCall::Ftruncate => "ftruncate",
            SetupCall::Pwrite => "pwrite",
            SetupCall::Fcntl => "fcntl",
            SetupCall::Dup => "dup",
            SetupCall::Mmap => "mmap",
            SetupCall::Mprotect => "mprotect",
            SetupCall::Getrlimit => "getrlimit",
            SetupCall::Setrlimit => "setrlimit",
            SetupCall::Sigaction => "sigaction",
            SetupCall::Fork => "fork",
            SetupCall::Setuid => "setuid",
        }
    }
}

/// The whole report of one child.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Record {
    pub magic: u32,
    /// A [`Stage`]: `Done` unless setup failed.
    pub failed_stage: u32,
    pub failed_errno: i32,
    /// Which mapping, limit or step failed.
    pub failed_index: u32,
    /// A [`SetupCall`]: the call of the failed stage whose errno is `failed_errno`.
    pub failed_call: u32,
    /// Wait status of the process a fork step made (0 when there was none).
    pub fork_status: i32,
    pub forked: u32,
    /// 1 when the case asserts where the call's mapping lies and `placed_at` holds the
    /// addresses it compares with, resolved after the call (0 otherwise). A full u32, so
    /// that no byte of the record is padding: the pipe carries every byte, and a
    /// zero-filled page must equal [`Record::new`] byte for byte.
    pub placed: u32,
    /// The placement assertion's addresses (`at`, then `within`'s end).
    pub placed_at: [u64; 2],
    pub call: RawOutcome,
    pub steps: [RawOutcome; MAX_STEPS],
}

impl Record {
    pub const MAGIC: u32 = 0x6d6d_6170;

    pub fn new() -> Record {
        Record {
            magic: Record::MAGIC,
            failed_stage: Stage::Done as u32,
            failed_errno: 0,
            failed_index: 0,
            failed_call: SetupCall::Unknown as u32,
            fork_status: 0,
            forked: 0,
            placed: 0,
            placed_at: [0; 2],
            call: RawOutcome::default(),
            steps: [RawOutcome::default(); MAX_STEPS],
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: Record is repr(C), Copy and has no padding-sensitive invariants.
        unsafe {
            std::slice::from_raw_parts(
                (self as *const Record).cast::<u8>(),
                std::mem::size_of::<Record>(),
            )
        }
    }

    /// Rebuilds a record from exactly `size_of::<Record>()` bytes with the right magic.
    pub fn from_bytes(bytes: &[u8]) -> Option<Record> {
        if bytes.len() != std::mem::size_of::<Record>() {
            return None;
        }
        // SAFETY: length checked; every bit pattern is a valid Record (integers only).
        let r: Record = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
        (r.magic == Record::MAGIC).then_some(r)
    }
}

impl Default for Record {
    fn default() -> Self {
        Record::new()
    }
}

/// How the child ended, and what it reported.
#[derive(Debug, Clone)]
pub struct Observation {
    pub record: Option<Record>,
    pub end: ChildEnd,
    pub elapsed: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChildEnd {
    Exited(i32),
    Signaled(i32),
    /// Killed after the case's timeout.
    Hung,
    /// The harness could not run the case: preparing its files, pipe, fork or wait
    /// failed. The message starts with the failing call, then its errno by name.
    Broken(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_bytes() {
        let mut r = Record::new();
        r.call.state = RawOutcome::ERRNO;
        r.call.errno = 22;
        r.steps[3].got[0] = 0xaa;
        let back = Record::from_bytes(r.as_bytes()).unwrap();
        assert_eq!(back.call, r.call);
        assert_eq!(back.steps[3].got[0], 0xaa);
    }

    /// The child relies on this: a zero-filled page plus the magic is a fresh record.
    #[test]
    fn a_zeroed_record_with_its_magic_is_a_new_record() {
        let mut bytes = vec![0u8; std::mem::size_of::<Record>()];
        bytes[..4].copy_from_slice(&Record::MAGIC.to_ne_bytes());
        assert_eq!(
            Record::from_bytes(&bytes).unwrap().as_bytes(),
            Record::new().as_bytes()
        );
    }

    #[test]
    fn short_or_foreign_bytes_are_not_a_record() {
        let r = Record::new();
        assert!(Record::from_bytes(&r.as_bytes()[1..]).is_none());
        let mut bytes = r.as_bytes().to_vec();
        bytes[0] ^= 1;
        assert!(Record::from_bytes(&bytes).is_none());
    }
}
