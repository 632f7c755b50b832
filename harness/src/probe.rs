//! Fault-recovering single-byte memory access for the forked child.
//!
//! A read or write of a mapped byte may raise SIGSEGV or SIGBUS; the suite must record the
//! signal, its si_code and the address, then go on with the next step. Each access is one
//! instruction at a known label, written in assembly; the signal handler checks that the
//! faulting program counter is that label, records the fault, and resumes at the label
//! after it with a failure value in the return register (a kernel-style exception table).
//! A fault anywhere else restores the default action and kills the child, which the parent
//! reports. Everything here is async-signal-safe.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// Whether probes exist for this architecture (x86_64, aarch64, riscv64, powerpc64,
/// s390x, x86 and arm; powerpc64 only little-endian, ELFv2, whose functions are plain
/// code addresses).
pub const SUPPORTED: bool = cfg!(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    all(target_arch = "powerpc64", target_endian = "little"),
    target_arch = "s390x",
    target_arch = "x86",
    target_arch = "arm"
));

/// The last fault a probe caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub signo: i32,
    pub code: i32,
    pub addr: u64,
}

static FAULT_SIGNO: AtomicI32 = AtomicI32::new(0);
static FAULT_CODE: AtomicI32 = AtomicI32::new(0);
static FAULT_ADDR: AtomicU64 = AtomicU64::new(0);

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".pushsection .text.mmapconf_probe,\"ax\",@progbits",
    ".p2align 4",
    ".globl mmapconf_probe_read",
    ".hidden mmapconf_probe_read",
    "mmapconf_probe_read:",
    ".globl mmapconf_probe_read_at",
    ".hidden mmapconf_probe_read_at",
    "mmapconf_probe_read_at:",
    "    movzx eax, byte ptr [rdi]",
    ".globl mmapconf_probe_read_resume",
    ".hidden mmapconf_probe_read_resume",
    "mmapconf_probe_read_resume:",
    "    ret",
    ".p2align 4",
    ".globl mmapconf_probe_write",
    ".hidden mmapconf_probe_write",
    "mmapconf_probe_write:",
    "    xor eax, eax",
    ".globl mmapconf_probe_write_at",
    ".hidden mmapconf_probe_write_at",
    "mmapconf_probe_write_at:",
    "    mov byte ptr [rdi], sil",
    ".globl mmapconf_probe_write_resume",
    ".hidden mmapconf_probe_write_resume",
    "mmapconf_probe_write_resume:",
    "    ret",
    // exec: calls the code at rdi. A fault on fetching it leaves rsp just below the return
    // address `call` pushed; the handler pops it and resumes after the call.
    ".p2align 4",
    ".globl mmapconf_probe_exec",
    ".hidden mmapconf_probe_exec",
    "mmapconf_probe_exec:",
    "    push rbx",
    // rax zero, as the reproducer calls it: where PROT_EXEC is not enforced (UML) the
    // page's zeros run as `add [rax], al` and fault at address 0 in both programs.
    "    xor eax, eax",
    "    call rdi",
    "    xor eax, eax",
    ".globl mmapconf_probe_exec_resume",
    ".hidden mmapconf_probe_exec_resume",
    "mmapconf_probe_exec_resume:",
    "    pop rbx",
    "    ret",
    ".popsection",
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".pushsection .text.mmapconf_probe,\"ax\",@progbits",
    ".p2align 4",
    ".globl mmapconf_probe_read",
    ".hidden mmapconf_probe_read",
    "mmapconf_probe_read:",
    "    mov x1, x0",
    ".globl mmapconf_probe_read_at",
    ".hidden mmapconf_probe_read_at",
    "mmapconf_probe_read_at:",
    "    ldrb w0, [x1]",
    ".globl mmapconf_probe_read_resume",
    ".hidden mmapconf_probe_read_resume",
    "mmapconf_probe_read_resume:",
    "    ret",
    ".p2align 4",
    ".globl mmapconf_probe_write",
    ".hidden mmapconf_probe_write",
    "mmapconf_probe_write:",
    "    mov x2, x0",
    "    mov x0, #0",
    ".globl mmapconf_probe_write_at",
    ".hidden mmapconf_probe_write_at",
    "mmapconf_probe_write_at:",
    "    strb w1, [x2]",
    ".globl mmapconf_probe_write_resume",
    ".hidden mmapconf_probe_write_resume",
    "mmapconf_probe_write_resume:",
    "    ret",
    // exec: blr leaves sp alone, so a fault on fetching the code resumes at the label
    // with the frame intact (x30 was saved first).
    ".p2align 4",
    ".globl mmapconf_probe_exec",
    ".hidden mmapconf_probe_exec",
    "mmapconf_probe_exec:",
    "    stp x29, x30, [sp, #-16]!",
    "    mov x29, sp",
    "    isb",
    "    blr x0",
    "    mov x0, #0",
    ".globl mmapconf_probe_exec_resume",
    ".hidden mmapconf_probe_exec_resume",
    "mmapconf_probe_exec_resume:",
    "    ldp x29, x30, [sp], #16",
    "    ret",
    ".popsection",
);

#[cfg(target_arch = "riscv64")]
core::arch::global_asm!(
    ".pushsection .text.mmapconf_probe,\"ax\",@progbits",
    // 4-byte encodings only: the handler matches the pc against the labels, and a
    // compressed (2-byte) form would be valid too, but fixed lengths keep every label where
    // a disassembly shows it, whatever the assembler would otherwise compress.
    ".option push",
    ".option norvc",
    ".p2align 4",
    ".globl mmapconf_probe_read",
    ".hidden mmapconf_probe_read",
    "mmapconf_probe_read:",
    "    mv a1, a0",
    ".globl mmapconf_probe_read_at",
    ".hidden mmapconf_probe_read_at",
    "mmapconf_probe_read_at:",
    "    lbu a0, 0(a1)",
    ".globl mmapconf_probe_read_resume",
    ".hidden mmapconf_probe_read_resume",
    "mmapconf_probe_read_resume:",
    "    ret",
    ".p2align 4",
    ".globl mmapconf_probe_write",
    ".hidden mmapconf_probe_write",
    "mmapconf_probe_write:",
    "    mv a2, a0",
    "    li a0, 0",
    ".globl mmapconf_probe_write_at",
    ".hidden mmapconf_probe_write_at",
    "mmapconf_probe_write_at:",
    "    sb a1, 0(a2)",
    ".globl mmapconf_probe_write_resume",
    ".hidden mmapconf_probe_write_resume",
    "mmapconf_probe_write_resume:",
    "    ret",
    // exec: jalr leaves sp alone, so a fault on fetching the code resumes at the label
    // with the frame intact (ra was saved first).
    ".p2align 4",
    ".globl mmapconf_probe_exec",
    ".hidden mmapconf_probe_exec",
    "mmapconf_probe_exec:",
    "    addi sp, sp, -16",
    "    sd ra, 8(sp)",
    "    jalr a0",
    "    li a0, 0",
    ".globl mmapconf_probe_exec_resume",
    ".hidden mmapconf_probe_exec_resume",
    "mmapconf_probe_exec_resume:",
    "    ld ra, 8(sp)",
    "    addi sp, sp, 16",
    "    ret",
    ".option pop",
    ".popsection",
);

#[cfg(all(target_arch = "powerpc64", target_endian = "little"))]
core::arch::global_asm!(
    ".pushsection .text.mmapconf_probe,\"ax\",@progbits",
    // ELFv2: a function is its code address; these use no TOC, so one entry point.
    ".p2align 4",
    ".globl mmapconf_probe_read",
    ".hidden mmapconf_probe_read",
    ".type mmapconf_probe_read,@function",
    "mmapconf_probe_read:",
    "    mr 4, 3",
    ".globl mmapconf_probe_read_at",
    ".hidden mmapconf_probe_read_at",
    "mmapconf_probe_read_at:",
    "    lbz 3, 0(4)",
    ".globl mmapconf_probe_read_resume",
    ".hidden mmapconf_probe_read_resume",
    "mmapconf_probe_read_resume:",
    "    blr",
    ".p2align 4",
    ".globl mmapconf_probe_write",
    ".hidden mmapconf_probe_write",
    ".type mmapconf_probe_write,@function",
    "mmapconf_probe_write:",
    "    mr 5, 3",
    "    li 3, 0",
    ".globl mmapconf_probe_write_at",
    ".hidden mmapconf_probe_write_at",
    "mmapconf_probe_write_at:",
    "    stb 4, 0(5)",
    ".globl mmapconf_probe_write_resume",
    ".hidden mmapconf_probe_write_resume",
    "mmapconf_probe_write_resume:",
    "    blr",
    ".popsection",
);

#[cfg(target_arch = "s390x")]
core::arch::global_asm!(
    ".pushsection .text.mmapconf_probe,\"ax\",@progbits",
    // Arguments in r2, r3; result in r2; return through r14. A page fault or protection
    // exception leaves the PSW at the faulting instruction (the kernel rewinds it).
    ".p2align 4",
    ".globl mmapconf_probe_read",
    ".hidden mmapconf_probe_read",
    ".type mmapconf_probe_read,@function",
    "mmapconf_probe_read:",
    "    lgr %r1, %r2",
    ".globl mmapconf_probe_read_at",
    ".hidden mmapconf_probe_read_at",
    "mmapconf_probe_read_at:",
    "    llgc %r2, 0(%r1)",
    ".globl mmapconf_probe_read_resume",
    ".hidden mmapconf_probe_read_resume",
    "mmapconf_probe_read_resume:",
    "    br %r14",
    ".p2align 4",
    ".globl mmapconf_probe_write",
    ".hidden mmapconf_probe_write",
    ".type mmapconf_probe_write,@function",
    "mmapconf_probe_write:",
    "    lgr %r1, %r2",
    "    lghi %r2, 0",
    ".globl mmapconf_probe_write_at",
    ".hidden mmapconf_probe_write_at",
    "mmapconf_probe_write_at:",
    "    stc %r3, 0(%r1)",
    ".globl mmapconf_probe_write_resume",
    ".hidden mmapconf_probe_write_resume",
    "mmapconf_probe_write_resume:",
    "    br %r14",
    ".popsection",
);

#[cfg(target_arch = "x86")]
core::arch::global_asm!(
    ".pushsection .text.mmapconf_probe,\"ax\",@progbits",
    // cdecl: arguments on the stack, result in eax.
    ".p2align 4",
    ".globl mmapconf_probe_read",
    ".hidden mmapconf_probe_read",
    "mmapconf_probe_read:",
    "    mov ecx, dword ptr [esp + 4]",
    ".globl mmapconf_probe_read_at",
    ".hidden mmapconf_probe_read_at",
    "mmapconf_probe_read_at:",
    "    movzx eax, byte ptr [ecx]",
    ".globl mmapconf_probe_read_resume",
    ".hidden mmapconf_probe_read_resume",
    "mmapconf_probe_read_resume:",
    "    ret",
    ".p2align 4",
    ".globl mmapconf_probe_write",
    ".hidden mmapconf_probe_write",
    "mmapconf_probe_write:",
    "    mov ecx, dword ptr [esp + 4]",
    "    mov edx, dword ptr [esp + 8]",
    "    xor eax, eax",
    ".globl mmapconf_probe_write_at",
    ".hidden mmapconf_probe_write_at",
    "mmapconf_probe_write_at:",
    "    mov byte ptr [ecx], dl",
    ".globl mmapconf_probe_write_resume",
    ".hidden mmapconf_probe_write_resume",
    "mmapconf_probe_write_resume:",
    "    ret",
    ".popsection",
);

#[cfg(target_arch = "arm")]
core::arch::global_asm!(
    ".pushsection .text.mmapconf_probe,\"ax\",%progbits",
    // A32 encodings (not Thumb), so each label is one 4-byte instruction; %function makes
    // callers in Thumb code switch modes (blx).
    ".arm",
    ".p2align 4",
    ".globl mmapconf_probe_read",
    ".hidden mmapconf_probe_read",
    ".type mmapconf_probe_read,%function",
    "mmapconf_probe_read:",
    "    mov r1, r0",
    ".globl mmapconf_probe_read_at",
    ".hidden mmapconf_probe_read_at",
    "mmapconf_probe_read_at:",
    "    ldrb r0, [r1]",
    ".globl mmapconf_probe_read_resume",
    ".hidden mmapconf_probe_read_resume",
    "mmapconf_probe_read_resume:",
    "    bx lr",
    ".p2align 4",
    ".globl mmapconf_probe_write",
    ".hidden mmapconf_probe_write",
    ".type mmapconf_probe_write,%function",
    "mmapconf_probe_write:",
    "    mov r2, r0",
    "    mov r0, #0",
    ".globl mmapconf_probe_write_at",
    ".hidden mmapconf_probe_write_at",
    "mmapconf_probe_write_at:",
    "    strb r1, [r2]",
    ".globl mmapconf_probe_write_resume",
    ".hidden mmapconf_probe_write_resume",
    "mmapconf_probe_write_resume:",
    "    bx lr",
    ".popsection",
);

#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    all(target_arch = "powerpc64", target_endian = "little"),
    target_arch = "s390x",
    target_arch = "x86",
    target_arch = "arm"
))]
unsafe extern "C" {
    fn mmapconf_probe_read(addr: usize) -> usize;
    fn mmapconf_probe_write(addr: usize, byte: usize) -> usize;
    fn mmapconf_probe_read_at();
    fn mmapconf_probe_read_resume();
    fn mmapconf_probe_write_at();
    fn mmapconf_probe_write_resume();
}

#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
))]
unsafe extern "C" {
    fn mmapconf_probe_exec(addr: usize) -> usize;
    fn mmapconf_probe_exec_resume();
}

/// Whether [`exec`] exists here: the architectures whose return instruction
/// [`RET_INSN`] knows, on the OSes whose signal context [`redirect`] can move.
pub const EXEC_SUPPORTED: bool = cfg!(any(
    all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ),
    all(
        target_os = "freebsd",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )
));

/// The return instruction of this architecture, as the bytes in memory (x86_64 `ret`
/// 0xc3; aarch64 `ret` 0xd65f03c0 and riscv64 `ret` (jalr x0, 0(ra)) 0x00008067, both
/// little-endian). Empty where [`exec`] is not supported.
pub const RET_INSN: &[u8] = if cfg!(target_arch = "x86_64") {
    &[0xc3]
} else if cfg!(all(target_arch = "aarch64", target_endian = "little")) {
    &[0xc0, 0x03, 0x5f, 0xd6]
} else if cfg!(target_arch = "riscv64") {
    &[0x67, 0x80, 0x00, 0x00]
} else {
    &[]
};

/// The code address an [`exec`] is calling (0: none), for the handler.
static EXEC_TARGET: AtomicU64 = AtomicU64::new(0);

/// Calls the code at `addr` as a function taking and returning nothing; Ok when it
/// returned, or the fault it raised (fetching the code itself: the program counter at the
/// fault is `addr`). A fault elsewhere in that code kills the child, as outside a probe.
///
/// # Safety
/// [`install`] must have run in this process; the code at `addr`, if it runs, must
/// return without touching anything (a return instruction placed by [`write_ret`]).
pub unsafe fn exec(addr: usize) -> Result<(), Fault> {
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    ))]
    {
        if EXEC_SUPPORTED {
            EXEC_TARGET.store(addr as u64, Ordering::SeqCst);
            // SAFETY: the caller's; a fault on fetching `addr` is caught by the handler.
            let v = unsafe { mmapconf_probe_exec(addr) };
            EXEC_TARGET.store(0, Ordering::SeqCst);
            return if v == FAULTED {
                Err(last_fault())
            } else {
                Ok(())
            };
        }
    }
    let _ = addr;
    Err(Fault {
        signo: 0,
        code: 0,
        addr: 0,
    })
}

/// Writes [`RET_INSN`] at `addr` with one probe per byte, then makes it visible to
/// instruction fetch: aarch64 cleans the data cache line to the point of unification and
/// invalidates the instruction cache line (`dc cvau`, `ic ivau`, barriers), riscv64 asks
/// the kernel to flush every hart's instruction cache (riscv_flush_icache) and fences its
/// own (`fence.i`); x86_64 keeps them coherent itself.
///
/// # Safety
/// As [`write`].
pub unsafe fn write_ret(addr: usize) -> Result<(), Fault> {
    for (i, b) in RET_INSN.iter().enumerate() {
        // SAFETY: the caller's.
        unsafe { write(addr + i, *b)? };
    }
    // SAFETY: cache maintenance of a line just written (so mapped and writable).
    unsafe { sync_icache(addr, RET_INSN.len()) };
    Ok(())
}

#[allow(unused_variables)]
unsafe fn sync_icache(addr: usize, len: usize) {
    #[cfg(target_arch = "aarch64")]
    // SAFETY: EL0 cache maintenance by VA of a mapped line (SCTLR_EL1.UCI is set by Linux
    // and FreeBSD); the barriers order it before the next instruction fetch.
    unsafe {
        core::arch::asm!(
            "dc cvau, {a}",
            "dsb ish",
            "ic ivau, {a}",
            "dsb ish",
            "isb",
            a = in(reg) addr,
            options(nostack, preserves_flags)
        );
    }
    #[cfg(all(target_os = "linux", target_arch = "riscv64"))]
    // SAFETY: a plain system call (arch/riscv riscv_flush_icache, 259) and a fence.
    unsafe {
        const SYS_RISCV_FLUSH_ICACHE: libc::c_long = 259;
        libc::syscall(SYS_RISCV_FLUSH_ICACHE, addr, addr + len, 0usize);
        core::arch::asm!("fence.i", options(nostack, preserves_flags));
    }
}

/// The value the handler leaves in the return register when a probe faulted: a word, so
/// one register on every architecture (on 32-bit x86 a u64 would be edx:eax).
const FAULTED: usize = usize::MAX;

/// Reads the byte at `addr`, or reports the fault it raised.
///
/// # Safety
/// [`install`] must have run in this process; `addr` may be anything.
pub unsafe fn read(addr: usize) -> Result<u8, Fault> {
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        all(target_arch = "powerpc64", target_endian = "little"),
        target_arch = "s390x",
        target_arch = "x86",
        target_arch = "arm"
    ))]
    {
        // SAFETY: the probe touches only `addr`; a fault there is caught by the handler.
        let v = unsafe { mmapconf_probe_read(addr) };
        if v == FAULTED {
            Err(last_fault())
        } else {
            Ok(v as u8)
        }
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        all(target_arch = "powerpc64", target_endian = "little"),
        target_arch = "s390x",
        target_arch = "x86",
        target_arch = "arm"
    )))]
    {
        let _ = addr;
        Err(Fault {
            signo: 0,
            code: 0,
            addr: 0,
        })
    }
}

/// Writes `byte` at `addr`, or reports the fault it raised.
///
/// # Safety
/// As [`read`]; and `addr` must not be memory the Rust program relies on.
pub unsafe fn write(addr: usize, byte: u8) -> Result<(), Fault> {
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        all(target_arch = "powerpc64", target_endian = "little"),
        target_arch = "s390x",
        target_arch = "x86",
        target_arch = "arm"
    ))]
    {
        // SAFETY: as for read.
        let v = unsafe { mmapconf_probe_write(addr, byte as usize) };
        if v == FAULTED {
            Err(last_fault())
        } else {
            Ok(())
        }
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        all(target_arch = "powerpc64", target_endian = "little"),
        target_arch = "s390x",
        target_arch = "x86",
        target_arch = "arm"
    )))]
    {
        let _ = (addr, byte);
        Err(Fault {
            signo: 0,
            code: 0,
            addr: 0,
        })
    }
}

fn last_fault() -> Fault {
    Fault {
        signo: FAULT_SIGNO.load(Ordering::Relaxed),
        code: FAULT_CODE.load(Ordering::Relaxed),
        addr: FAULT_ADDR.load(Ordering::Relaxed),
    }
}

/// Installs the SIGSEGV and SIGBUS handlers. Returns the errno of a failed sigaction.
pub fn install() -> Result<(), i32> {
    for sig in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: a zeroed sigaction is valid; the handler is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                return Err(nix::errno::Errno::last_raw());
            }
        }
    }
    Ok(())
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    // SAFETY: the kernel passes valid siginfo and ucontext pointers to SA_SIGINFO handlers.
    unsafe {
        FAULT_SIGNO.store(sig, Ordering::Relaxed);
        FAULT_CODE.store((*info).si_code, Ordering::Relaxed);
        FAULT_ADDR.store((*info).si_addr() as usize as u64, Ordering::Relaxed);
        if !redirect(uctx.cast()) {
            // Not a probe: let the fault kill the child so the parent sees it.
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

/// Moves a faulting probe to its resume label with [`FAULTED`] as its result.
#[allow(unused_variables)]
unsafe fn redirect(uc: *mut libc::ucontext_t) -> bool {
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        all(target_arch = "powerpc64", target_endian = "little"),
        target_arch = "s390x",
        target_arch = "x86",
        target_arch = "arm"
    ))]
    let table = [
        (
            mmapconf_probe_read_at as *const () as usize,
            mmapconf_probe_read_resume as *const () as usize,
        ),
        (
            mmapconf_probe_write_at as *const () as usize,
            mmapconf_probe_write_resume as *const () as usize,
        ),
    ];
    let exec_target = EXEC_TARGET.load(Ordering::SeqCst) as usize;
    // SAFETY: `uc` is the live ucontext of the interrupted thread.
    unsafe {
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        {
            let g = &mut (*uc).uc_mcontext.gregs;
            let pc = g[libc::REG_RIP as usize] as usize;
            if exec_target != 0 && pc == exec_target {
                // Pop the return address `call` pushed, resume after the call.
                g[libc::REG_RIP as usize] = mmapconf_probe_exec_resume as *const () as i64;
                g[libc::REG_RSP as usize] += 8;
                g[libc::REG_RAX as usize] = FAULTED as i64;
                return true;
            }
            if let Some((_, resume)) = table.iter().find(|(at, _)| *at == pc) {
                g[libc::REG_RIP as usize] = *resume as i64;
                g[libc::REG_RAX as usize] = FAULTED as i64;
                return true;
            }
        }
        #[cfg(all(target_os = "linux", target_arch = "x86"))]
        {
            let g = &mut (*uc).uc_mcontext.gregs;
            let pc = g[libc::REG_EIP as usize] as usize;
            if let Some((_, resume)) = table.iter().find(|(at, _)| *at == pc) {
                g[libc::REG_EIP as usize] = *resume as i32;
                g[libc::REG_EAX as usize] = FAULTED as i32;
                return true;
            }
        }
        #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
        {
            let m = &mut (*uc).uc_mcontext;
            if exec_target != 0 && m.pc as usize == exec_target {
                m.pc = mmapconf_probe_exec_resume as *const () as u64;
                m.regs[0] = FAULTED as u64;
                return true;
            }
            if let Some((_, resume)) = table.iter().find(|(at, _)| *at as u64 == m.pc) {
                m.pc = *resume as u64;
                m.regs[0] = FAULTED as u64;
                return true;
            }
        }
        #[cfg(all(target_os = "linux", target_arch = "arm"))]
        {
            let m = &mut (*uc).uc_mcontext;
            if let Some((_, resume)) = table.iter().find(|(at, _)| *at == m.arm_pc as usize) {
                m.arm_pc = *resume as _;
                m.arm_r0 = FAULTED as _;
                return true;
            }
        }
        #[cfg(all(
            target_os = "linux",
            target_arch = "powerpc64",
            target_endian = "little"
        ))]
        {
            // gp_regs[32] is the next instruction pointer (PT_NIP), gp_regs[3] is r3.
            let g = &mut (*uc).uc_mcontext.gp_regs;
            if let Some((_, resume)) = table.iter().find(|(at, _)| *at == g[32] as usize) {
                g[32] = *resume as _;
                g[3] = FAULTED as _;
                return true;
            }
        }
        #[cfg(all(target_os = "linux", target_arch = "s390x"))]
        {
            let m = &mut (*uc).uc_mcontext;
            if let Some((_, resume)) = table.iter().find(|(at, _)| *at == m.psw.addr as usize) {
                m.psw.addr = *resume as u64;
                m.gregs[2] = FAULTED as u64;
                return true;
            }
        }
        #[cfg(all(target_os = "linux", target_arch = "riscv64"))]
        {
            // gregs[0] is the pc (REG_PC), gregs[10] is a0 (REG_A0), the return register.
            let g = &mut (*uc).uc_mcontext.__gregs;
            if exec_target != 0 && g[libc::REG_PC] as usize == exec_target {
                g[libc::REG_PC] = mmapconf_probe_exec_resume as *const () as _;
                g[libc::REG_A0] = FAULTED as _;
                return true;
            }
            if let Some((_, resume)) = table.iter().find(|(at, _)| *at == g[libc::REG_PC] as usize)
            {
                g[libc::REG_PC] = *resume as _;
                g[libc::REG_A0] = FAULTED as _;
                return true;
            }
        }
        #[cfg(all(target_os = "freebsd", target_arch = "x86_64"))]
        {
            let m = &mut (*uc).uc_mcontext;
            if exec_target != 0 && m.mc_rip as usize == exec_target {
                m.mc_rip = mmapconf_probe_exec_resume as *const () as i64;
                m.mc_rsp += 8;
                m.mc_rax = FAULTED as i64;
                return true;
            }
            if let Some((_, resume)) = table.iter().find(|(at, _)| *at == m.mc_rip as usize) {
                m.mc_rip = *resume as i64;
                m.mc_rax = FAULTED as i64;
                return true;
            }
        }
        #[cfg(all(target_os = "freebsd", target_arch = "aarch64"))]
        {
            let g = &mut (*uc).uc_mcontext.mc_gpregs;
            if exec_target != 0 && g.gp_elr as usize == exec_target {
                g.gp_elr = mmapconf_probe_exec_resume as *const () as _;
                g.gp_x[0] = FAULTED as _;
                return true;
            }
            if let Some((_, resume)) = table.iter().find(|(at, _)| *at == g.gp_elr as usize) {
                g.gp_elr = *resume as _;
                g.gp_x[0] = FAULTED as _;
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serial_test::serial;

    /// Probes in the test process itself: handlers are process-wide, hence serial.
    #[test]
    #[serial(signals)]
    fn probes_read_write_and_catch_faults_without_dying() {
        if !SUPPORTED {
            return;
        }
        install().unwrap();
        let page = crate::host::page_size();
        // SAFETY: a fresh private mapping, unmapped at the end; probes catch the faults.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANON,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            let a = p as usize;
            assert_eq!(read(a), Ok(0));
            assert_eq!(write(a + 1, 0x5a), Ok(()));
            assert_eq!(read(a + 1), Ok(0x5a));
            assert_eq!(libc::mprotect(p, page, libc::PROT_READ), 0);
            let f = write(a + 3, 1).unwrap_err();
            assert_eq!((f.signo, f.code, f.addr), (libc::SIGSEGV, 2, a as u64 + 3));
            assert_eq!(libc::munmap((a + page) as *mut _, page), 0);
            let f = read(a + page + 7).unwrap_err();
            assert_eq!(
                (f.signo, f.code, f.addr),
                (libc::SIGSEGV, 1, (a + page + 7) as u64)
            );
            assert_eq!(read(a + 1), Ok(0x5a), "probes go on working after faults");
            if EXEC_SUPPORTED {
                // Page 0 is PROT_READ now: not executable.
                let f = exec(a).unwrap_err();
                assert_eq!((f.signo, f.code, f.addr), (libc::SIGSEGV, 2, a as u64));
                assert_eq!(
                    libc::mprotect(p, page, libc::PROT_READ | libc::PROT_WRITE),
                    0
                );
                assert_eq!(write_ret(a + 64), Ok(()));
                assert_eq!(
                    libc::mprotect(p, page, libc::PROT_READ | libc::PROT_EXEC),
                    0
                );
                assert_eq!(exec(a + 64), Ok(()));
                let f = exec(a + page).unwrap_err();
                assert_eq!((f.signo, f.code), (libc::SIGSEGV, 1), "unmapped");
                assert_eq!(exec(a + 64), Ok(()), "exec goes on working after faults");
                assert_eq!(read(a + 1), Ok(0x5a));
            }
            libc::munmap(p, page);
            let dfl: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGSEGV, &dfl, std::ptr::null_mut());
            libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
        }
    }
}
