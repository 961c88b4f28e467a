// Package seccomp implements application seccomp for the sentry: the
// classic BPF interpreter and validator of seccomp filters, filter stacks
// with Linux's action precedence, the decoding of seccomp(2) arguments, and
// the semantics of seccomp(2), prctl(PR_SET_SECCOMP/PR_GET_SECCOMP) and of
// each filter action at system call entry. The kernel keeps a State per
// task and calls the functions below; this package holds no kernel types.
//
// # Filters
//
// Compile validates a program like Linux (bpf_check_classic,
// check_load_and_stores, seccomp_check_filter) and Program.Run interprets
// it on a SeccompData with Linux's runtime semantics. Filters is an
// immutable stack, newest first; Filters.Run returns the result of the
// most restrictive filter (see Filters.Run for the exact rule) and answers
// from a per-filter "always allows this syscall number" bitmap when it can,
// as Linux's action cache does.
//
// # Per-task state and inheritance
//
// Each task has a State (mode and filters; the zero value is disabled)
// and a no_new_privs bit (the kernel's, not this package's).
//
//   - fork, vfork, clone (threads or processes): the child's State
//     InheritFrom the parent's, and the child inherits no_new_privs. Do it
//     with the lock Caller.LockThreadGroup takes held, so that a
//     concurrent SECCOMP_FILTER_FLAG_TSYNC in the parent's group either
//     happens before (the child inherits the new filters) or sees the
//     child among the threads it synchronises.
//   - execve: mode, filters and no_new_privs are kept (a set-user-ID
//     binary does not gain privileges under no_new_privs).
//   - exit: nothing to do; the filters are garbage once no task uses them.
//
// # System call entry
//
// When State.Enabled, for every system call, after the ptrace
// syscall-entry stop and before running it, build the data with
// NewData(orig_rax, rip, args) (rip is the address after the syscall
// instruction; Nr is the low 32 bits of orig_rax as a signed int, so the
// kernel must dispatch on the same number the filter saw, or reject
// numbers whose high bits are set) and call State.Check. Restarts are new
// entries: restart_syscall, and calls re-executed after ERESTART*, are
// checked again. The Verdict says what to do:
//
//   - SECCOMP_RET_ALLOW: run the call.
//   - SECCOMP_RET_LOG: run the call; log it (Verdict.Log).
//   - SECCOMP_RET_ERRNO: do not run it; rax = -data, data capped at
//     MAX_ERRNO (4095); data 0 means the call "succeeds" with 0.
//   - SECCOMP_RET_TRAP: do not run it; rax = orig_rax (Linux rolls the
//     registers back so that the handler sees the original registers:
//     the return register holds the syscall number, not -ENOSYS); force
//     SIGSYS (delivered even if blocked or ignored: reset to SIG_DFL and
//     unblocked, like the sentry's fault signals) with siginfo
//     SigSysFields(nr, rip, arch, data): si_code SYS_SECCOMP (1),
//     si_errno = data, si_call_addr = rip (offset 16), si_syscall = nr
//     (offset 24), si_arch (offset 28). The signal frame is built at the
//     return to user mode like any other signal.
//   - SECCOMP_RET_KILL_THREAD: do not run it. If other threads of the
//     group are alive only this thread exits (exit code SIGSYS);
//     otherwise as KILL_PROCESS.
//   - SECCOMP_RET_KILL_PROCESS, and any unknown action: do not run it; the
//     thread group dies of SIGSYS (a core signal) whatever its handler or
//     mask.
//   - SECCOMP_RET_TRACE: without a ptrace tracer that asked for
//     PTRACE_O_TRACESECCOMP, do not run it and return -ENOSYS (Check does
//     this; a kernel with ptrace checks Verdict.Action itself).
//   - SECCOMP_RET_USER_NOTIF: without a listener (the sentry has none),
//     do not run it and return -ENOSYS.
//   - Strict mode: only read, write, exit (not exit_group) and
//     rt_sigreturn run; any other call kills the calling thread as with
//     SIGKILL (do_exit(SIGKILL)): the group dies with status SIGKILL when
//     it was the last thread.
//
// # seccomp(2) and prctl
//
// Seccomp implements seccomp(2) and PrctlSetSeccomp/PrctlGetSeccomp the
// prctl options, given a Caller (the calling task: its memory,
// no_new_privs, CAP_SYS_ADMIN, State, and a lock over its thread group).
//
//   - SECCOMP_SET_MODE_STRICT: flags and args must be 0 (EINVAL); EINVAL
//     in filter mode. Needs no privilege.
//   - SECCOMP_SET_MODE_FILTER: flags among TSYNC, LOG, SPEC_ALLOW,
//     TSYNC_ESRCH (others, including NEW_LISTENER, EINVAL); the filter
//     needs no_new_privs or CAP_SYS_ADMIN (EACCES); see SetModeFilter for
//     the order of the errors. The filter is pushed on the caller's stack
//     (filters are only ever added); ENOMEM past 32768 instructions in
//     all (4 more counted per filter). TSYNC installs the caller's new
//     stack on every other live thread of the group, in the same critical
//     section, making them ModeFilter and giving them no_new_privs when
//     the caller has it; it fails, changing nothing, if some thread is in
//     strict mode or has filters that are not an ancestor of the
//     caller's: the call then returns that thread's TID (a positive
//     value, not an error), or ESRCH with TSYNC_ESRCH.
//   - SECCOMP_GET_ACTION_AVAIL: flags 0 (EINVAL); reads a u32 action
//     (EFAULT); 0 for every action but USER_NOTIF, EOPNOTSUPP otherwise.
//   - SECCOMP_GET_NOTIF_SIZES: flags 0 (EINVAL); writes the u16 sizes
//     80, 24, 64 (EFAULT).
//   - Any other operation: EINVAL.
//   - prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) is SET_MODE_STRICT;
//     prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog) is SET_MODE_FILTER
//     with no flags; any other mode EINVAL. prctl(PR_GET_SECCOMP) returns
//     the mode (0 disabled, 2 filter; in strict mode prctl is killed).
//
// The kernel's seccomp and prctl handlers must return the error values
// unchanged: they are bare unix.Errno values.
package seccomp
