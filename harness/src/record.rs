//! The report a case's child process writes to its pipe, and what the parent makes of the
//! child's end. Written by the executor, read by the judge; neither knows the other.
//!
//! The child does not send one record at its end: it sends a [`Message`] as each part of
//! the [`Record`] becomes known (setup failed, the call, each step, the fork step, the
//! forked process's end), and [`Record::from_messages`] folds them into the record. Each
//! message is one `write(2)` of at most `PIPE_BUF` bytes, so it reaches the pipe whole
//! even when the process made by a fork step writes to the same pipe, or when either
//! process is killed between two messages: a case that dies midway still says which steps
//! it completed, and no memory is shared between the processes (no MAP_SHARED page).

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
    /// A buffer step's call succeeded with another count than expected (`ret`).
    pub const COUNT_DIFFERS: u32 = 6;
    /// A vma step's VMA is not the one given: `at` its start and `size` its end relative
    /// to the step's address, `got[..4]` its permissions; `got_len` 0 when no VMA contains
    /// the address. A matching VMA is `OK` with the same fields.
    pub const VMA_DIFFERS: u32 = 7;
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
    /// One of the case's `setup` calls.
    SetupCalls = 9,
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
            Stage::SetupCalls,
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
            Stage::SetupCalls => "a setup call of the case",
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
    Read = 17,
    /// A family call (or prctl) the case makes in `setup`.
    FamilyCall = 18,
    /// Filling a buffer step's pipe.
    Write = 19,
    Socket = 20,
    /// An fd_stat step's fstat of the call's descriptor.
    Fstat = 21,
    /// A vma step's sysctl KERN_PROC_VMMAP (FreeBSD).
    Sysctl = 22,
    /// unshare(CLONE_NEWNS) for a `fs = "noexec"` object's private mount.
    Unshare = 23,
    /// Making / private, or mounting the noexec tmpfs.
    Mount = 24,
}

impl SetupCall {
    const ALL: [SetupCall; 25] = [
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
        SetupCall::Read,
        SetupCall::FamilyCall,
        SetupCall::Write,
        SetupCall::Socket,
        SetupCall::Fstat,
        SetupCall::Sysctl,
        SetupCall::Unshare,
        SetupCall::Mount,
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
            SetupCall::Socket => "socket",
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
            SetupCall::Read => "read",
            SetupCall::FamilyCall => "the setup call",
            SetupCall::Write => "write",
            SetupCall::Fstat => "fstat",
            SetupCall::Sysctl => "sysctl(KERN_PROC_VMMAP)",
            SetupCall::Unshare => "unshare",
            SetupCall::Mount => "mount",
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
    /// Wait status of the grandchild a second fork step (in the child) made, as the child
    /// saw it (0 when there was none).
    pub grandchild_status: i32,
    /// 1 when a second fork step made a grandchild.
    pub grandchild: u32,
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
            grandchild_status: 0,
            grandchild: 0,
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

/// What one [`Message`] sets in the record.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The child is running and reporting; an empty record so far.
    Start = 1,
    /// Setup failed: `stage`, `errno`, `index`, `call` in `values`.
    SetupFailed = 2,
    /// The call under test's outcome.
    Call = 3,
    /// Step `index`'s outcome.
    Step = 4,
    /// A fork step (step `index`) made its process.
    Forked = 5,
    /// The wait status of the fork step's process, in `values[0]`.
    ForkStatus = 6,
    /// The record is complete: nothing follows.
    End = 7,
    /// Where `placed` compares the call's mapping with: the start address in
    /// `outcome.ret`, the end in `outcome.size` (resolved in the child, where bases such as
    /// `hole` exist).
    Placed = 8,
    /// A second fork step (step `index`, in the child) made the grandchild.
    GrandchildForked = 9,
    /// The grandchild's wait status, in `values[0]`, sent by the child that waited for it.
    GrandchildStatus = 10,
}

/// One part of a child's report, written with a single `write(2)`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Message {
    pub magic: u32,
    /// A [`Part`].
    pub part: u32,
    pub index: u32,
    pub values: [i32; 4],
    /// Explicit: no byte of a message is padding.
    pub reserved: u32,
    pub outcome: RawOutcome,
}

/// POSIX guarantees atomic pipe writes up to PIPE_BUF, at least 512 bytes everywhere.
const _: () = assert!(std::mem::size_of::<Message>() <= 512);

impl Message {
    pub const SIZE: usize = std::mem::size_of::<Message>();

    pub fn new(part: Part, index: u32) -> Message {
        Message {
            magic: Record::MAGIC,
            part: part as u32,
            index,
            values: [0; 4],
            reserved: 0,
            outcome: RawOutcome::default(),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: Message is repr(C), Copy, integers only, without padding.
        unsafe { std::slice::from_raw_parts((self as *const Message).cast::<u8>(), Message::SIZE) }
    }

    fn from_bytes(bytes: &[u8]) -> Option<Message> {
        if bytes.len() != Message::SIZE {
            return None;
        }
        // SAFETY: length checked; every bit pattern is a valid Message (integers only).
        let m: Message = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
        (m.magic == Record::MAGIC).then_some(m)
    }
}

/// A record folded from a child's messages.
#[derive(Debug, Clone, Copy)]
pub struct Folded {
    pub record: Record,
    /// The [`Part::End`] message arrived: the child reported everything.
    pub complete: bool,
}

impl Record {
    /// Folds the messages in `bytes` (as read from the pipe) into a record; `None` when the
    /// child never started reporting or a message is foreign (not ours, or cut: a cut one
    /// can only be the last, and it is dropped).
    pub fn from_messages(bytes: &[u8]) -> Option<Folded> {
        let mut chunks = bytes.chunks_exact(Message::SIZE);
        let first = Message::from_bytes(chunks.next()?)?;
        if first.part != Part::Start as u32 {
            return None;
        }
        let mut rec = Record::new();
        let mut complete = false;
        for m in chunks.by_ref() {
            let m = Message::from_bytes(m)?;
            let i = m.index as usize;
            match m.part {
                p if p == Part::SetupFailed as u32 => {
                    rec.failed_stage = m.values[0] as u32;
                    rec.failed_errno = m.values[1];
                    rec.failed_index = m.index;
                    rec.failed_call = m.values[2] as u32;
                }
                p if p == Part::Call as u32 => rec.call = m.outcome,
                p if p == Part::Step as u32 => *rec.steps.get_mut(i)? = m.outcome,
                p if p == Part::Forked as u32 => {
                    rec.forked = 1;
                    rec.steps.get_mut(i)?.state = RawOutcome::OK;
                }
                p if p == Part::ForkStatus as u32 => rec.fork_status = m.values[0],
                p if p == Part::GrandchildForked as u32 => {
                    rec.grandchild = 1;
                    rec.steps.get_mut(i)?.state = RawOutcome::OK;
                }
                p if p == Part::GrandchildStatus as u32 => rec.grandchild_status = m.values[0],
                p if p == Part::End as u32 => complete = true,
                p if p == Part::Placed as u32 => {
                    rec.placed = 1;
                    rec.placed_at = [m.outcome.ret, m.outcome.size as u64];
                }
                _ => return None,
            }
        }
        Some(Folded {
            record: rec,
            complete,
        })
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

    fn stream(parts: &[Message]) -> Vec<u8> {
        parts.iter().flat_map(|m| m.as_bytes().to_vec()).collect()
    }

    #[test]
    fn messages_fold_into_the_record_they_describe() {
        let mut call = Message::new(Part::Call, 0);
        call.outcome.state = RawOutcome::OK;
        call.outcome.ret = 0x1000;
        let mut step = Message::new(Part::Step, 2);
        step.outcome.state = RawOutcome::FAULT;
        step.outcome.signo = libc::SIGSEGV;
        let mut status = Message::new(Part::ForkStatus, 0);
        status.values[0] = 9;
        let mut placed = Message::new(Part::Placed, 0);
        placed.outcome.ret = 0x8000_0000;
        placed.outcome.size = 0x9000_0000;
        let bytes = stream(&[
            Message::new(Part::Start, 0),
            placed,
            call,
            Message::new(Part::Forked, 1),
            step,
            status,
            Message::new(Part::End, 0),
        ]);
        let f = Record::from_messages(&bytes).unwrap();
        assert!(f.complete);
        assert_eq!(f.record.call.ret, 0x1000);
        assert_eq!(f.record.forked, 1);
        assert_eq!(f.record.steps[1].state, RawOutcome::OK);
        assert_eq!(f.record.steps[2].signo, libc::SIGSEGV);
        assert_eq!(f.record.steps[3].state, RawOutcome::NOT_RUN);
        assert_eq!(f.record.fork_status, 9);
        assert_eq!(f.record.placed, 1);
        assert_eq!(f.record.placed_at, [0x8000_0000, 0x9000_0000]);
        assert_eq!(f.record.grandchild, 0);
    }

    #[test]
    fn a_second_fork_step_folds_into_the_grandchild_fields() {
        let mut status = Message::new(Part::GrandchildStatus, 0);
        status.values[0] = libc::SIGKILL;
        let bytes = stream(&[
            Message::new(Part::Start, 0),
            Message::new(Part::Call, 0),
            Message::new(Part::Forked, 0),
            Message::new(Part::GrandchildForked, 2),
            status,
            Message::new(Part::ForkStatus, 0),
            Message::new(Part::End, 0),
        ]);
        let f = Record::from_messages(&bytes).unwrap();
        assert!(f.complete);
        assert_eq!((f.record.forked, f.record.grandchild), (1, 1));
        assert_eq!(f.record.steps[2].state, RawOutcome::OK);
        assert_eq!(f.record.grandchild_status, libc::SIGKILL);
        assert_eq!(f.record.fork_status, 0);
    }

    /// A child killed between two messages (or inside the write of one, which the pipe
    /// never delivers in part, but a reader may see cut at EOF) still tells what it did.
    #[test]
    fn a_report_cut_short_keeps_the_steps_before_the_cut() {
        let mut step = Message::new(Part::Step, 0);
        step.outcome.state = RawOutcome::OK;
        let mut bytes = stream(&[
            Message::new(Part::Start, 0),
            Message::new(Part::Call, 0),
            step,
        ]);
        bytes.extend_from_slice(&Message::new(Part::Step, 1).as_bytes()[..10]);
        let f = Record::from_messages(&bytes).unwrap();
        assert!(!f.complete);
        assert_eq!(f.record.steps[0].state, RawOutcome::OK);
        assert_eq!(f.record.steps[1].state, RawOutcome::NOT_RUN);
    }

    #[test]
    fn a_stream_without_its_start_or_with_a_foreign_message_is_no_record() {
        assert!(Record::from_messages(&[]).is_none());
        assert!(Record::from_messages(&stream(&[Message::new(Part::Call, 0)])).is_none());
        let mut bad = Message::new(Part::Step, 0);
        bad.magic ^= 1;
        assert!(Record::from_messages(&stream(&[Message::new(Part::Start, 0), bad])).is_none());
        let beyond = Message::new(Part::Step, MAX_STEPS as u32);
        assert!(Record::from_messages(&stream(&[Message::new(Part::Start, 0), beyond])).is_none());
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
