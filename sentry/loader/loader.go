// Package loader loads a Linux amd64 program into a fresh address space for
// execve: it resolves #! scripts, maps the ELF executable and its program
// interpreter (the dynamic linker), and builds the initial stack with argv,
// envp and the auxiliary vector, as Linux's fs/binfmt_script.c and
// fs/binfmt_elf.c do.
//
// Everything read from a file is untrusted: malformed input yields an error
// (ENOEXEC for a bad executable), never a panic.
package loader

import (
	"errors"
	"io"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vdso"
)

// Memory is what the loader needs from the new address space;
// *mm.MemoryManager implements it.
type Memory interface {
	// MMap creates a mapping and returns its address.
	MMap(opts mm.MMapOpts) (uint64, error)
	// CopyOut writes src to application memory at addr.
	CopyOut(addr uint64, src []byte) (int, error)
	// SetBrkStart sets where the program break starts (page-rounded end of
	// the highest PT_LOAD of the main executable).
	SetBrkStart(addr uint64)
	// MaxUserAddress is the end of the mappable user range (the stack goes
	// just below it, minus a random gap).
	MaxUserAddress() uint64
	// MapProgramAhead populates and maps a loaded segment before the
	// program runs (mm/exec_ahead.go); program is false for the
	// interpreter's segments.
	MapProgramAhead(start, end uint64, program bool)
}

// File is an executable opened by the kernel. Whether the caller may execute
// it (a regular file with an x bit) is decided by the kernel before the file
// reaches the loader, and by the Opener for the files it opens.
type File interface {
	mm.Mappable // ReadAt + Size
}

// Opener opens another file by path in the task's file system view, for
// PT_INTERP and #! interpreters. It applies the same exec checks as execve
// and returns ENOENT/EACCES/ENOEXEC errors as unix.Errno.
type Opener interface {
	OpenExecutable(path string) (File, error)
}

// Args describes one execve.
type Args struct {
	// Filename is the path as given to execve (AT_EXECFN, and the task
	// name).
	Filename string
	// File is Filename, already opened.
	File File
	// Argv and Envv are the argument and environment strings. An empty Argv
	// is replaced by {""} as Linux does since 5.18.
	Argv, Envv []string
	// Opener opens interpreters; nil makes any interpreter fail with ENOENT.
	Opener Opener
	// Random are the 16 AT_RANDOM bytes (the caller fills them from
	// crypto/rand).
	Random [16]byte
	// Secure is AT_SECURE.
	Secure bool
	// HWCap and HWCap2 are AT_HWCAP and AT_HWCAP2.
	HWCap, HWCap2 uint64
	// PageSize is AT_PAGESZ: 0 or arch.PageSize (4096).
	PageSize uint64
	// UID, EUID, GID and EGID are the credentials reported in the auxv.
	UID, EUID, GID, EGID uint32
	// ExecCreds, when set, is called with the ELF file that will run (File,
	// or the last #! interpreter: Linux takes the set-user-ID and
	// set-group-ID bits from the file the exec ends up with) once scripts
	// are resolved and before anything is mapped; what it returns
	// replaces UID, EUID, GID, EGID and Secure.
	ExecCreds func(exe File) AuxCreds
	// StackRandom is the page-aligned gap between MaxUserAddress and the top
	// of the stack (the caller randomises it; 0 in tests).
	StackRandom uint64
	// MMapRandom is a page-aligned offset added to the load base of an
	// ET_DYN executable (Linux's arch_mmap_rnd); 0 in tests.
	MMapRandom uint64
	// VDSO, when set, is mapped into the new address space and announced
	// by AT_SYSINFO_EHDR, as Linux's arch_setup_additional_pages does.
	VDSO *vdso.VDSO
	// VDSORandom chooses the vDSO's place (see vdsoHint); 0 in tests.
	VDSORandom uint64
}

// AuxCreds are the credentials the auxiliary vector reports.
type AuxCreds struct {
	UID, EUID, GID, EGID uint32
	// Secure is AT_SECURE.
	Secure bool
}

// Result describes the loaded program.
type Result struct {
	// Entry is where execution starts: the interpreter's entry point if the
	// program has a PT_INTERP, else the program's.
	Entry uint64
	// StackPointer is the initial RSP, pointing at argc.
	StackPointer uint64
	// ArgvStart, ArgvEnd, EnvvStart and EnvvEnd bound the argument and
	// environment strings on the stack (Linux's mm->arg_start etc.).
	ArgvStart, ArgvEnd, EnvvStart, EnvvEnd uint64
	// Auxv is the auxiliary vector written to the stack, without AT_NULL.
	Auxv [][2]uint64
	// Interpreter is the PT_INTERP path used, "" for a static program.
	Interpreter string
	// Name is the task name: the first 15 bytes of Filename's base name.
	Name string
	// Argv is the final argument vector, after #! rewriting.
	Argv []string
	// ExePath and ExeFile are the ELF executable actually loaded: Filename
	// and File, or the last #! interpreter for a script (/proc/pid/exe).
	ExePath string
	ExeFile File
	// BrkStart is the value passed to Memory.SetBrkStart.
	BrkStart uint64
	// SysinfoEHdr is the vDSO's address (AT_SYSINFO_EHDR), 0 without
	// one.
	SysinfoEHdr uint64
}

// Limits, from Linux.
const (
	// MaxScriptRewrites is how many #! rewrites one execve allows; one more
	// fails with ELOOP. fs/exec.c's exec_binprm gives up when depth > 5,
	// which lets five nested scripts run (checked on Linux 6.18).
	MaxScriptRewrites = 5
	// BinprmBufSize is how much of a file is read to recognise its format,
	// and so the longest #! line (BINPRM_BUF_SIZE).
	BinprmBufSize = 256
	// MaxArgStrLen is the longest single argument or environment string,
	// NUL included (MAX_ARG_STRLEN).
	MaxArgStrLen = 32 * arch.PageSize
	// ArgBudget is the space argv and envp strings and pointers may take:
	// a quarter of the default 8 MiB stack limit (bprm_stack_limits).
	ArgBudget = 8 << 20 / 4
	// PathMax bounds a PT_INTERP path, NUL included (PATH_MAX).
	PathMax = 4096
	// TaskCommLen is the size of a task name, NUL included (TASK_COMM_LEN).
	TaskCommLen = 16
)

// Load loads the program args describes into mem. Errors are unix.Errno
// values: ENOEXEC for a file that is neither a valid amd64 ELF executable nor
// a #! script, ELIBBAD for a PT_INTERP that is not an amd64 ELF, ELOOP for
// too deeply nested scripts, E2BIG for oversized arguments, ENOMEM when the
// image does not fit, and whatever Opener and Memory return.
//
// Everything that can fail because of the files is checked before the first
// mapping is made, so a failed Load leaves mem untouched unless mem itself
// fails.
func Load(mem Memory, args Args) (Result, error) {
	if args.File == nil {
		return Result{}, unix.ENOEXEC
	}
	pageSize := args.PageSize
	if pageSize == 0 {
		pageSize = arch.PageSize
	}
	if pageSize != arch.PageSize {
		return Result{}, unix.EINVAL
	}
	argv := args.Argv
	if len(argv) == 0 {
		argv = []string{""}
	}
	// The pointer part of the budget counts the caller's strings only, as
	// in Linux, where bprm_stack_limits runs before binfmt_script adds its.
	ptrBytes := uint64(len(argv)+len(args.Envv)) * 8
	if err := checkArgs(args.Filename, argv, args.Envv, ptrBytes); err != nil {
		return Result{}, err
	}

	// Resolve #! scripts down to an ELF file.
	path, file := args.Filename, args.File
	var buf [BinprmBufSize]byte
	var exe *elfFile
	for rewrites := 0; ; rewrites++ {
		n, err := readFull(file, buf[:], 0)
		if err != nil {
			return Result{}, err
		}
		if isELF(buf[:n]) {
			exe, err = parseELF(file, buf[:n], false)
			if err != nil {
				return Result{}, err
			}
			break
		}
		name, arg, err := parseScript(buf[:n])
		if err != nil {
			return Result{}, err
		}
		// argv becomes [interp, (arg), path, argv[1:]...].
		nargv := make([]string, 0, len(argv)+2)
		nargv = append(nargv, name)
		if arg != nil {
			nargv = append(nargv, *arg)
		}
		nargv = append(nargv, path)
		argv = append(nargv, argv[1:]...)
		if err := checkArgs(args.Filename, argv, args.Envv, ptrBytes); err != nil {
			return Result{}, err
		}
		if args.Opener == nil {
			return Result{}, unix.ENOENT
		}
		next, err := args.Opener.OpenExecutable(name)
		if err != nil {
			return Result{}, err
		}
		if next == nil {
			return Result{}, unix.ENOENT
		}
		if rewrites+1 > MaxScriptRewrites {
			// exec_binprm's depth check, made after the rewrite.
			return Result{}, unix.ELOOP
		}
		path, file = name, next
	}

	if args.ExecCreds != nil {
		c := args.ExecCreds(file)
		args.UID, args.EUID, args.GID, args.EGID, args.Secure = c.UID, c.EUID, c.GID, c.EGID, c.Secure
	}

	// Open and check the program interpreter.
	var interp *elfFile
	if exe.interp != "" {
		if args.Opener == nil {
			return Result{}, unix.ENOENT
		}
		f, err := args.Opener.OpenExecutable(exe.interp)
		if err != nil {
			return Result{}, err
		}
		if f == nil {
			return Result{}, unix.ENOENT
		}
		n, err := readFull(f, buf[:], 0)
		if err != nil {
			return Result{}, err
		}
		interp, err = parseELF(f, buf[:n], true)
		if err != nil {
			return Result{}, err
		}
	}

	// Lay out the stack; its size depends only on the strings.
	maxAddr := mem.MaxUserAddress()
	nauxv := numAuxv
	if args.VDSO != nil {
		nauxv++
	}
	st, err := layoutStack(maxAddr, args.StackRandom, args.Filename, argv, args.Envv, nauxv)
	if err != nil {
		return Result{}, err
	}

	// Place the executable and interpreter. These are the last checks that
	// can fail without touching mem.
	if err := exe.place(maxAddr, args.MMapRandom); err != nil {
		return Result{}, err
	}
	if interp != nil {
		if err := interp.placeInterp(maxAddr); err != nil {
			return Result{}, err
		}
	}

	if interp == nil && exe.entry+exe.bias >= maxAddr {
		// BAD_ADDR(elf_entry): Linux says EINVAL here.
		return Result{}, unix.ENOEXEC
	}

	// From here on, mem changes.
	if err := st.mapStack(mem, exe.execStack); err != nil {
		return Result{}, err
	}
	if err := exe.load(mem); err != nil {
		return Result{}, err
	}
	brk := exe.brk()
	mem.SetBrkStart(brk)

	entry := exe.entry + exe.bias
	var base uint64
	if interp != nil {
		if err := interp.load(mem); err != nil {
			return Result{}, err
		}
		base = interp.bias
		entry = interp.entry + interp.bias
	}
	if entry >= maxAddr {
		// BAD_ADDR(elf_entry): Linux says EINVAL here.
		return Result{}, unix.ENOEXEC
	}

	// The vDSO comes last, as in load_elf_binary.
	var auxv [][2]uint64
	var sysinfoEHdr uint64
	if args.VDSO != nil {
		if sysinfoEHdr, err = args.VDSO.Map(mem, vdsoHint(maxAddr, st.top, args.VDSORandom)); err != nil {
			return Result{}, err
		}
		mem.MapProgramAhead(sysinfoEHdr-vdso.DataSize, sysinfoEHdr+vdso.ImageSize, false)
		// ARCH_DLINFO: AT_SYSINFO_EHDR comes first.
		auxv = append(auxv, [2]uint64{AtSysinfoEHdr, sysinfoEHdr})
	}
	auxv = append(auxv, [][2]uint64{
		{AtMinSigStkSz, MinSigStackSize},
		{AtHWCap, args.HWCap},
		{AtPagesz, pageSize},
		{AtClkTck, ClockTicks},
		{AtPhdr, exe.phdrAddr()},
		{AtPhent, phdrSize},
		{AtPhnum, uint64(exe.phnum)},
		{AtBase, base},
		{AtFlags, 0},
		{AtEntry, exe.entry + exe.bias},
		{AtUID, uint64(args.UID)},
		{AtEUID, uint64(args.EUID)},
		{AtGID, uint64(args.GID)},
		{AtEGID, uint64(args.EGID)},
		{AtSecure, boolToUint(args.Secure)},
		{AtRandom, st.random},
		{AtHWCap2, args.HWCap2},
		{AtExecFn, st.execfn},
		{AtPlatform, st.platform},
		// Linux then adds AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN where
		// rseq(2) is supported; the sentry does not implement it.
	}...)
	if len(auxv) != nauxv {
		panic("loader: auxv length out of sync with numAuxv")
	}
	if err := st.write(mem, args.Random, auxv); err != nil {
		return Result{}, err
	}

	res := Result{
		Entry:        entry,
		StackPointer: st.sp,
		ArgvStart:    st.argvStart,
		ArgvEnd:      st.argvEnd,
		EnvvStart:    st.envvStart,
		EnvvEnd:      st.envvEnd,
		Auxv:         auxv,
		Interpreter:  exe.interp,
		Name:         taskName(args.Filename),
		Argv:         argv,
		ExePath:      path,
		ExeFile:      file,
		BrkStart:     brk,
		SysinfoEHdr:  sysinfoEHdr,
	}
	return res, nil
}

// vdsoHint chooses where the vDSO goes: a random page-aligned place in the
// gap between the top of the stack and maxAddr, which the stack's own
// randomisation leaves free, as Linux's vdso_addr placed it above the stack
// at a random page (before Linux 6.x moved it to the mmap area). The
// stack grows down, so nothing ever needs that gap. When the gap is too
// small (no stack randomisation), the hint is 0 and the vDSO goes where an
// mmap without a hint would.
func vdsoHint(maxAddr, stackTop, rnd uint64) uint64 {
	maxAddr = arch.PageRoundDown(maxAddr)
	if stackTop >= maxAddr || maxAddr-stackTop < vdso.BlockSize {
		return 0
	}
	slots := (maxAddr-stackTop-vdso.BlockSize)/arch.PageSize + 1
	return stackTop + rnd/arch.PageSize%slots*arch.PageSize
}

// Auxv constants.
const (
	// MinSigStackSize is AT_MINSIGSTKSZ: the uapi MINSIGSTKSZ, which covers
	// a signal frame with a legacy FXSAVE area.
	MinSigStackSize = 2048
	// ClockTicks is AT_CLKTCK (USER_HZ).
	ClockTicks = 100
	// numAuxv is the number of auxv entries Load writes, AT_NULL and
	// AT_SYSINFO_EHDR excluded.
	numAuxv = 19
)

// checkArgs applies Linux's E2BIG limits to the strings that will be copied
// to the stack: each at most MaxArgStrLen bytes with its NUL, and all of them
// with ptrBytes of pointers within ArgBudget.
func checkArgs(execfn string, argv, envv []string, ptrBytes uint64) error {
	total := ptrBytes
	if total >= ArgBudget {
		return unix.E2BIG
	}
	for _, list := range [][]string{{execfn}, argv, envv} {
		for _, s := range list {
			n := uint64(len(cstr(s))) + 1
			if n > MaxArgStrLen {
				return unix.E2BIG
			}
			total += n
			if total > ArgBudget {
				return unix.E2BIG
			}
		}
	}
	return nil
}

// cstr returns s up to its first NUL, as the C string Linux would copy.
func cstr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// taskName returns the first TaskCommLen-1 bytes of filename's base name
// (kbasename: everything after the last '/').
func taskName(filename string) string {
	name := cstr(filename)
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if len(name) > TaskCommLen-1 {
		name = name[:TaskCommLen-1]
	}
	return name
}

func boolToUint(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// readFull reads up to len(p) bytes at off and returns how many it got; a
// short file is not an error.
func readFull(f File, p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		m, err := f.ReadAt(p[n:], off+int64(n))
		if m < 0 || m > len(p)-n {
			return 0, unix.EIO
		}
		n += m
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, ioError(err)
		}
		if m == 0 {
			return n, nil
		}
	}
	return n, nil
}

// ioError turns a read error into an errno: an Errno stays, anything else is
// EIO.
func ioError(err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return unix.EIO
}
