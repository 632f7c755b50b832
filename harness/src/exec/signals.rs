//! Stopping on SIGINT, SIGTERM and SIGHUP: a dedicated thread waits for them (sigwait),
//! then stops the run with [`super::abort`] (no new work file or fork, every running case
//! killed and reaped, the work directories removed), lets an output being committed finish
//! or removes its temporaries ([`crate::atomic::stop`]), says so, and exits 128 + the
//! signal's number: 130, 143, 129.
//!
//! The three signals are blocked in every thread (the mask is inherited by threads made
//! after [`install`]), so only the signal thread takes them; forked cases get the mask
//! the process started with back ([`restore_mask_in_child`]).

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use std::sync::OnceLock;

/// The mask the process had before [`install`], for forked cases.
static ORIGINAL_MASK: OnceLock<libc::sigset_t> = OnceLock::new();

fn stop_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    set
}

/// Blocks the stop signals and starts the thread that handles them. Call before any other
/// thread is started (threads inherit the mask). `what` names what is stopped, for the
/// message ("the run", "cargo test").
pub fn install(what: &'static str) -> std::io::Result<()> {
    let set = stop_signals();
    let mut old = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old))
        .map_err(std::io::Error::from)?;
    let _ = ORIGINAL_MASK.set(*old.as_ref());
    std::thread::Builder::new()
        .name("mmapconf-signals".into())
        .spawn(move || {
            loop {
                let Ok(sig) = set.wait() else { continue };
                stop(what, sig);
            }
        })
        .map(|_| ())
}

fn stop(what: &str, sig: Signal) -> ! {
    let a = super::abort();
    let output = crate::atomic::stop();
    let mut msg = format!(
        "\n{what} was stopped by {}: {} running case(s) killed",
        sig.as_str(),
        a.killed
    );
    if a.unreaped > 0 {
        msg += &format!(" ({} not yet reaped after 5 s)", a.unreaped);
    }
    if a.not_removed.is_empty() {
        msg += ", work directories removed";
    } else {
        msg += &format!(
            "; could not remove the work directories: {}",
            a.not_removed.join("; ")
        );
    }
    match output {
        crate::atomic::Stopped::Idle => {}
        crate::atomic::Stopped::Discarded(n) => {
            msg += &format!("; {n} unfinished output file(s) discarded, the previous ones kept")
        }
    }
    eprintln!("{msg}");
    std::process::exit(128 + sig as i32)
}

/// In a freshly forked case: the signal mask the process started with. Async-signal-safe.
pub(super) fn restore_mask_in_child() {
    if let Some(m) = ORIGINAL_MASK.get() {
        // SAFETY: sigprocmask is async-signal-safe; the child has one thread.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, m, std::ptr::null_mut()) };
    }
}
