package loader

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Stack constants.
const (
	// Platform is the AT_PLATFORM string (ELF_PLATFORM: utsname machine).
	Platform = "x86_64"
	// StackExpand is how much stack is mapped below the argument pages
	// (setup_arg_pages' stack_expand); mm grows it further on faults.
	StackExpand = 128 << 10
	// minStackBase keeps the stack clear of the lowest pages.
	minStackBase = 1 << 20
)

// stackLayout is the initial stack, built top-down as Linux's
// bprm_mm_init, copy_strings and create_elf_tables do:
//
//	top-8      8 zero bytes (bprm->p starts one pointer below the top)
//	           execfn string (AT_EXECFN)
//	           envp strings
//	           argv strings
//	           alignment to 16 bytes (arch_align_stack)
//	           platform string (AT_PLATFORM)
//	           16 random bytes (AT_RANDOM)
//	           padding to make sp 16-byte aligned
//	           auxv pairs, AT_NULL last
//	           envp pointers, NULL
//	           argv pointers, NULL
//	sp         argc
type stackLayout struct {
	top, sp  uint64
	argv     []string
	envv     []string
	argvPtrs []uint64
	envvPtrs []uint64
	execfn   uint64
	execStr  string
	platform uint64
	random   uint64

	argvStart, argvEnd, envvStart, envvEnd uint64
}

// layoutStack computes the addresses of everything on the initial stack,
// whose top is maxAddr minus the random gap, for nauxv auxv entries
// (AT_NULL excluded).
func layoutStack(maxAddr, stackRandom uint64, execfn string, argv, envv []string, nauxv int) (*stackLayout, error) {
	maxAddr = arch.PageRoundDown(maxAddr)
	stackRandom = arch.PageRoundDown(stackRandom)
	if stackRandom >= maxAddr {
		return nil, unix.ENOMEM
	}
	st := &stackLayout{
		top:     maxAddr - stackRandom,
		argv:    argv,
		envv:    envv,
		execStr: cstr(execfn),
	}
	// checkArgs bounds the strings to ArgBudget, so the whole stack is a
	// few MiB; make sure it cannot wrap below zero.
	need := uint64(ArgBudget + 64*arch.PageSize + StackExpand)
	if st.top < minStackBase+need {
		return nil, unix.ENOMEM
	}

	p := st.top - 8
	p -= uint64(len(st.execStr)) + 1
	st.execfn = p

	st.envvEnd = p
	st.envvPtrs = make([]uint64, len(envv))
	for i := len(envv) - 1; i >= 0; i-- {
		p -= uint64(len(cstr(envv[i]))) + 1
		st.envvPtrs[i] = p
	}
	st.envvStart = p

	st.argvEnd = p
	st.argvPtrs = make([]uint64, len(argv))
	for i := len(argv) - 1; i >= 0; i-- {
		p -= uint64(len(cstr(argv[i]))) + 1
		st.argvPtrs[i] = p
	}
	st.argvStart = p

	p &^= 15
	p -= uint64(len(Platform)) + 1
	st.platform = p
	p -= 16
	st.random = p

	p -= uint64(nauxv+1) * 16
	items := uint64(len(argv)+1+len(envv)+1) + 1
	st.sp = (p - items*8) &^ 15
	return st, nil
}

// mapStack maps the stack: the pages the layout uses plus StackExpand,
// growing down.
func (st *stackLayout) mapStack(mem Memory, execStack bool) error {
	used, _ := arch.PageRoundUp(st.top - st.sp)
	length := used + StackExpand
	perms := platform.Read | platform.Write
	if execStack {
		perms |= platform.Execute
	}
	_, err := mem.MMap(mm.MMapOpts{
		Addr:      st.top - length,
		Length:    length,
		Fixed:     true,
		NoReplace: true,
		Perms:     perms,
		MaxPerms:  allPerms,
		Private:   true,
		GrowsDown: true,
		Name:      "[stack]",
	})
	return err
}

// write fills the stack in one copy.
func (st *stackLayout) write(mem Memory, random [16]byte, auxv [][2]uint64) error {
	buf := make([]byte, st.top-st.sp)
	at := func(addr uint64) []byte { return buf[addr-st.sp:] }
	le := binary.LittleEndian

	copy(at(st.execfn), st.execStr) // NULs: buf is zeroed
	for i, s := range st.envv {
		copy(at(st.envvPtrs[i]), cstr(s))
	}
	for i, s := range st.argv {
		copy(at(st.argvPtrs[i]), cstr(s))
	}
	copy(at(st.platform), Platform)
	copy(at(st.random), random[:])

	b := at(st.sp)
	le.PutUint64(b, uint64(len(st.argv)))
	b = b[8:]
	for _, p := range st.argvPtrs {
		le.PutUint64(b, p)
		b = b[8:]
	}
	b = b[8:] // NULL
	for _, p := range st.envvPtrs {
		le.PutUint64(b, p)
		b = b[8:]
	}
	b = b[8:] // NULL
	for _, kv := range auxv {
		le.PutUint64(b, kv[0])
		le.PutUint64(b[8:], kv[1])
		b = b[16:]
	}
	// AT_NULL: already zero.

	n, err := mem.CopyOut(st.sp, buf)
	if err != nil {
		return err
	}
	if n != len(buf) {
		return unix.EFAULT
	}
	return nil
}
