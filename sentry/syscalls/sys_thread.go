package syscalls

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Clone implements Linux syscall clone(2) (amd64 argument order: flags,
// stack, parent_tid, child_tid, tls).
func Clone(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	flags := args[0]
	tid, err := t.Clone(kernel.CloneOptions{
		Flags:      flags &^ 0xff,
		ExitSignal: unix.Signal(flags & 0xff),
		Stack:      args[1],
		ParentTID:  args[2],
		ChildTID:   args[3],
		TLS:        args[4],
		PIDFD:      args[2],
	})
	return uint64(tid), err
}

// Fork implements Linux syscall fork(2).
func Fork(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) {
	tid, err := t.Clone(kernel.CloneOptions{ExitSignal: unix.SIGCHLD})
	return uint64(tid), err
}

// Vfork implements Linux syscall vfork(2).
func Vfork(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) {
	tid, err := t.Clone(kernel.CloneOptions{Flags: unix.CLONE_VM | unix.CLONE_VFORK, ExitSignal: unix.SIGCHLD})
	return uint64(tid), err
}

// Clone3 implements Linux syscall clone3(2).
func Clone3(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	const (
		cloneArgsSizeVer0 = 64
		cloneArgsSizeMax  = 88
	)
	size := args[1]
	if size < cloneArgsSizeVer0 || size > 4096 {
		return 0, unix.EINVAL
	}
	b := make([]byte, size)
	if _, err := t.CopyIn(args[0], b); err != nil {
		return 0, unix.EFAULT
	}
	// Fields past the ones we know must be zero.
	for _, x := range b[min(size, cloneArgsSizeMax):] {
		if x != 0 {
			return 0, unix.E2BIG
		}
	}
	le := binary.LittleEndian
	flags, pidfd, childTID, parentTID := le.Uint64(b[0:]), le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])
	exitSignal, stack, stackSize, tls := le.Uint64(b[32:]), le.Uint64(b[40:]), le.Uint64(b[48:]), le.Uint64(b[56:])
	if size >= 72 && le.Uint64(b[64:]) != 0 { // set_tid
		return 0, unix.EPERM
	}
	if size >= 88 && flags&unix.CLONE_INTO_CGROUP != 0 {
		return 0, unix.EINVAL
	}
	const cloneDetached = 0x400000
	if exitSignal > kernel.NumSignals || flags&(0xff&^unix.CLONE_NEWTIME) != 0 || (stack == 0) != (stackSize == 0) && stack != 0 ||
		flags&cloneDetached != 0 {
		return 0, unix.EINVAL
	}
	opts := kernel.CloneOptions{
		Flags:      flags,
		ExitSignal: unix.Signal(exitSignal),
		ParentTID:  parentTID,
		ChildTID:   childTID,
		TLS:        tls,
		PIDFD:      pidfd,
	}
	if stack != 0 {
		opts.Stack = stack + stackSize
	}
	tid, err := t.Clone(opts)
	return uint64(tid), err
}

// copyInStrings reads a NULL-terminated array of string pointers (argv,
// envp) within Linux's limits.
func copyInStrings(t *kernel.Task, addr uint64) ([]string, error) {
	const maxStrings = 0x7fffffff / 8
	var out []string
	total := 0
	for i := 0; addr != 0; i++ {
		if i >= maxStrings {
			return nil, unix.E2BIG
		}
		var b [8]byte
		if _, err := t.CopyIn(addr+uint64(8*i), b[:]); err != nil {
			return nil, unix.EFAULT
		}
		p := binary.LittleEndian.Uint64(b[:])
		if p == 0 {
			break
		}
		s, err := t.CopyInString(p, 32*arch.PageSize)
		if err == unix.ENAMETOOLONG {
			return nil, unix.E2BIG
		}
		if err != nil {
			return nil, unix.EFAULT
		}
		total += len(s) + 1
		if total > 2<<20 {
			return nil, unix.E2BIG
		}
		out = append(out, s)
	}
	return out, nil
}

func execveAt(t *kernel.Task, dirfd int32, pathAddr, argvAddr, envpAddr uint64, flags int) (uint64, error) {
	if flags&^(unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW) != 0 {
		return 0, unix.EINVAL
	}
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	argv, err := copyInStrings(t, argvAddr)
	if err != nil {
		return 0, err
	}
	envv, err := copyInStrings(t, envpAddr)
	if err != nil {
		return 0, err
	}
	if path == "" && flags&unix.AT_EMPTY_PATH == 0 {
		return 0, unix.ENOENT
	}
	if path != "" && path[0] != '/' && dirfd != atFDCWD {
		d, err := startDir(t, dirfd, path)
		if err != nil {
			return 0, err
		}
		path = d.Path(t.Root()) + "/" + path
	}
	if path == "" {
		f, err := getFile(t, dirfd)
		if err != nil {
			return 0, err
		}
		d := f.Dentry()
		f.DecRef()
		if d == nil {
			return 0, unix.EACCES
		}
		path = d.Path(t.Root())
	}
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		if d, err := vfs.Resolve(t.Root(), t.Cwd(), path, vfs.ResolveOpts{}); err == nil {
			if st, err := d.Inode().Stat(); err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				return 0, unix.ELOOP
			}
		}
	}
	if err := t.Exec(path, argv, envv); err != nil {
		return 0, err
	}
	return t.Regs().Rax, nil
}

// Execve implements Linux syscall execve(2).
func Execve(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return execveAt(t, atFDCWD, args[0], args[1], args[2], 0)
}

// Execveat implements Linux syscall execveat(2).
func Execveat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return execveAt(t, int32(args[0]), args[1], args[2], args[3], int(args[4]))
}

// Wait options.
const (
	wNoHang    = 0x1
	wUntraced  = 0x2
	wStopped   = 0x2
	wExited    = 0x4
	wContinued = 0x8
	wNoWait    = 0x1000000
	wNoThread  = 0x20000000
	wAll       = 0x40000000
	wClone     = 0x80000000
)

// Wait4 implements Linux syscall wait4(2).
func Wait4(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	pid, statusAddr, options, rusageAddr := int32(args[0]), args[1], uint32(args[2]), args[3]
	if options&^(wNoHang|wUntraced|wContinued|wNoThread|wAll|wClone) != 0 {
		return 0, unix.EINVAL
	}
	opts := kernel.WaitOptions{
		Exited:    true,
		Stopped:   options&wUntraced != 0,
		Continued: options&wContinued != 0,
		NoHang:    options&wNoHang != 0,
		CloneOnly: options&wClone != 0,
		All:       options&wAll != 0,
	}
	switch {
	case pid == -1:
		opts.Which = kernel.PAll
	case pid == 0:
		opts.Which = kernel.PPGID
	case pid < -1:
		opts.Which, opts.ID = kernel.PPGID, -pid
	default:
		opts.Which, opts.ID = kernel.PPID, pid
	}
	res, err := t.Wait(opts)
	if err != nil {
		return 0, err
	}
	if res.PID == 0 {
		return 0, nil
	}
	if statusAddr != 0 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(res.Status))
		if _, err := t.CopyOut(statusAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	if rusageAddr != 0 {
		ru := rusageBytes(res.User, res.Sys)
		setRusageMaxRSS(ru, res.MaxRSS)
		setRusageFaults(ru, res.MinFlt, res.MajFlt)
		if _, err := t.CopyOut(rusageAddr, ru); err != nil {
			return 0, unix.EFAULT
		}
	}
	return uint64(res.PID), nil
}

// Waitid implements Linux syscall waitid(2), with Linux's fifth argument,
// a struct rusage.
func Waitid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	which, id, infoAddr, options := int(args[0]), int32(args[1]), args[2], uint32(args[3])
	if options&^(wNoHang|wStopped|wExited|wContinued|wNoWait|wNoThread|wAll|wClone) != 0 ||
		options&(wExited|wStopped|wContinued) == 0 {
		return 0, unix.EINVAL
	}
	opts := kernel.WaitOptions{
		Exited:    options&wExited != 0,
		Stopped:   options&wStopped != 0,
		Continued: options&wContinued != 0,
		NoHang:    options&wNoHang != 0,
		NoWait:    options&wNoWait != 0,
		CloneOnly: options&wClone != 0,
		All:       options&wAll != 0,
		ID:        id,
	}
	switch which {
	case unix.P_ALL:
		opts.Which = kernel.PAll
	case unix.P_PID:
		if id <= 0 {
			return 0, unix.EINVAL
		}
		opts.Which = kernel.PPID
	case unix.P_PGID:
		if id < 0 {
			return 0, unix.EINVAL
		}
		opts.Which = kernel.PPGID
	case unix.P_PIDFD:
		p, done, err := pidfdOf(t, id)
		if err != nil {
			return 0, err
		}
		opts.Which, opts.Target = kernel.PPID, p.ThreadGroup()
		done()
	default:
		return 0, unix.EINVAL
	}
	res, err := t.Wait(opts)
	if err != nil {
		return 0, err
	}
	if rusageAddr := args[4]; rusageAddr != 0 && res.PID != 0 {
		// Linux's fifth argument: the waited-for child's usage, as
		// wait4 reports it, written only when a child was found.
		ru := rusageBytes(res.User, res.Sys)
		setRusageMaxRSS(ru, res.MaxRSS)
		setRusageFaults(ru, res.MinFlt, res.MajFlt)
		if _, err := t.CopyOut(rusageAddr, ru); err != nil {
			return 0, unix.EFAULT
		}
	}
	if infoAddr != 0 {
		info := kernel.SigInfo{}
		if res.PID != 0 {
			info = kernel.SigInfo{Signo: int32(unix.SIGCHLD), Code: res.Code}
			info.SetPIDUID(res.PID, res.UID)
			info.SetStatus(res.CodeStatus)
		}
		if _, err := t.CopyOut(infoAddr, info.Bytes()); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, nil
}

// Getpgrp implements Linux syscall getpgrp(2).
func Getpgrp(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) {
	pgid, _ := t.ProcessGroupIDs(t.ThreadGroup())
	return uint64(pgid), nil
}

func targetGroup(t *kernel.Task, pid int32) (*kernel.ThreadGroup, error) {
	if pid == 0 {
		return t.ThreadGroup(), nil
	}
	if pid < 0 {
		return nil, unix.EINVAL
	}
	tg := t.LookupThreadGroup(pid)
	if tg == nil {
		return nil, unix.ESRCH
	}
	return tg, nil
}

// Getpgid implements Linux syscall getpgid(2).
func Getpgid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	tg, err := targetGroup(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	pgid, _ := t.ProcessGroupIDs(tg)
	return uint64(pgid), nil
}

// Getsid implements Linux syscall getsid(2).
func Getsid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	tg, err := targetGroup(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	_, sid := t.ProcessGroupIDs(tg)
	return uint64(sid), nil
}

// Setpgid implements Linux syscall setpgid(2).
func Setpgid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.SetPGID(int32(args[0]), int32(args[1]))
}

// Setsid implements Linux syscall setsid(2).
func Setsid(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) {
	if _, err := t.Kernel().SetSID(t.ThreadGroup()); err != nil {
		return 0, err
	}
	return uint64(t.TGID()), nil
}
