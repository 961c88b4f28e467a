package loader

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// testMaxAddr is the x86-64 user address limit (TASK_SIZE_LOW).
const testMaxAddr = 0x7ffffffff000

// vma is one live mapping of fakeMem.
type vma struct {
	start, end uint64
	opts       mm.MMapOpts // Offset is adjusted to start
}

// fakeMem is a Memory that records mappings and backs CopyOut with pages,
// materialised from the mapped file (or zeros) on first write, as private
// mappings are. It also records requests the loader should never make.
type fakeMem struct {
	max   uint64
	calls []mm.MMapOpts
	vmas  []vma
	pages map[uint64]*[arch.PageSize]byte
	brk   uint64
	brkN  int
	// mmapTop is where the next non-fixed mapping ends.
	mmapTop uint64
	// bugs are invariant violations by the loader.
	bugs []string
	// failMMap makes the nth MMap call (1-based) fail with ENOMEM.
	failMMap int
	// failCopyOut makes CopyOut fail with EFAULT.
	failCopyOut bool
	// ahead records the MapProgramAhead calls.
	ahead []aheadCall
}

// aheadCall is one MapProgramAhead call.
type aheadCall struct {
	start, end uint64
	program    bool
}

func newFakeMem() *fakeMem {
	return &fakeMem{
		max:     testMaxAddr,
		pages:   map[uint64]*[arch.PageSize]byte{},
		mmapTop: 0x7ffff7fff000,
	}
}

func (m *fakeMem) bug(format string, args ...any) {
	m.bugs = append(m.bugs, fmt.Sprintf(format, args...))
}

func (m *fakeMem) MaxUserAddress() uint64 { return m.max }

func (m *fakeMem) SetBrkStart(addr uint64) {
	m.brk = addr
	m.brkN++
	if addr&pageMask != 0 {
		m.bug("SetBrkStart(%#x) not page-aligned", addr)
	}
}

func (m *fakeMem) MapProgramAhead(start, end uint64, program bool) {
	m.ahead = append(m.ahead, aheadCall{start, end, program})
	if start&pageMask != 0 || end&pageMask != 0 || end <= start {
		m.bug("MapProgramAhead [%#x, %#x)", start, end)
	}
	for _, a := range []uint64{start, end - arch.PageSize} {
		if v := m.find(a); v == nil || v.opts.Perms == 0 {
			m.bug("MapProgramAhead [%#x, %#x) covers %#x, not a segment", start, end, a)
		}
	}
}

func (m *fakeMem) MMap(opts mm.MMapOpts) (uint64, error) {
	m.calls = append(m.calls, opts)
	if m.failMMap == len(m.calls) {
		return 0, unix.ENOMEM
	}
	if opts.Length == 0 || opts.Length&pageMask != 0 {
		m.bug("MMap length %#x", opts.Length)
		return 0, unix.EINVAL
	}
	if opts.Offset&pageMask != 0 || (opts.File == nil && opts.Offset != 0) {
		m.bug("MMap offset %#x", opts.Offset)
		return 0, unix.EINVAL
	}
	if opts.Perms&^opts.MaxPerms != 0 {
		m.bug("MMap perms %v beyond %v", opts.Perms, opts.MaxPerms)
		return 0, unix.EINVAL
	}
	if opts.NoReplace && !opts.Fixed {
		m.bug("NoReplace without Fixed")
	}
	addr := opts.Addr
	if opts.Fixed {
		if addr&pageMask != 0 || addr+opts.Length < addr {
			m.bug("MMap fixed addr %#x length %#x", addr, opts.Length)
			return 0, unix.EINVAL
		}
		if addr+opts.Length > m.max {
			return 0, unix.ENOMEM
		}
		if addr < 0x10000 {
			return 0, unix.EPERM // mmap_min_addr
		}
		if opts.NoReplace && m.overlaps(addr, addr+opts.Length) {
			return 0, unix.EEXIST
		}
	} else {
		if opts.Length > m.mmapTop-0x10000 {
			return 0, unix.ENOMEM
		}
		addr = m.mmapTop - opts.Length
		if m.overlaps(addr, addr+opts.Length) {
			return 0, unix.ENOMEM
		}
		m.mmapTop = addr
	}
	m.insert(vma{start: addr, end: addr + opts.Length, opts: opts})
	return addr, nil
}

func (m *fakeMem) overlaps(start, end uint64) bool {
	for _, v := range m.vmas {
		if v.start < end && start < v.end {
			return true
		}
	}
	return false
}

// insert adds v, replacing whatever it overlaps.
func (m *fakeMem) insert(v vma) {
	var out []vma
	for _, o := range m.vmas {
		if o.end <= v.start || v.end <= o.start {
			out = append(out, o)
			continue
		}
		if o.start < v.start {
			l := o
			l.end = v.start
			out = append(out, l)
		}
		if v.end < o.end {
			r := o
			if r.opts.File != nil {
				r.opts.Offset += v.end - o.start
			}
			r.start = v.end
			out = append(out, r)
		}
	}
	out = append(out, v)
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	m.vmas = out
	for p := range m.pages {
		if p >= v.start && p < v.end {
			delete(m.pages, p)
		}
	}
}

func (m *fakeMem) find(addr uint64) *vma {
	for i := range m.vmas {
		if m.vmas[i].start <= addr && addr < m.vmas[i].end {
			return &m.vmas[i]
		}
	}
	return nil
}

// page returns the current contents of the page at p, or nil if unmapped.
func (m *fakeMem) page(p uint64) *[arch.PageSize]byte {
	if pg := m.pages[p]; pg != nil {
		return pg
	}
	v := m.find(p)
	if v == nil {
		return nil
	}
	pg := new([arch.PageSize]byte)
	if f := v.opts.File; f != nil {
		f.ReadAt(pg[:], int64(v.opts.Offset+(p-v.start)))
	}
	return pg
}

func (m *fakeMem) CopyOut(addr uint64, src []byte) (int, error) {
	if m.failCopyOut {
		return 0, unix.EFAULT
	}
	if addr+uint64(len(src)) < addr {
		m.bug("CopyOut wraps")
		return 0, unix.EFAULT
	}
	done := 0
	for done < len(src) {
		a := addr + uint64(done)
		p := arch.PageRoundDown(a)
		v := m.find(p)
		if v == nil || v.opts.Perms&platform.Write == 0 {
			return done, unix.EFAULT
		}
		pg := m.page(p)
		m.pages[p] = pg
		done += copy(pg[a-p:], src[done:])
	}
	return done, nil
}

// read returns n bytes at addr.
func (m *fakeMem) read(addr, n uint64) ([]byte, error) {
	out := make([]byte, 0, n)
	for uint64(len(out)) < n {
		a := addr + uint64(len(out))
		p := arch.PageRoundDown(a)
		pg := m.page(p)
		if pg == nil {
			return nil, fmt.Errorf("read %#x: unmapped", a)
		}
		k := min(n-uint64(len(out)), arch.PageSize-(a-p))
		out = append(out, pg[a-p:a-p+k]...)
	}
	return out, nil
}

func (m *fakeMem) u64(addr uint64) (uint64, error) {
	b, err := m.read(addr, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// cstring reads a NUL-terminated string at addr.
func (m *fakeMem) cstring(addr uint64) (string, error) {
	var s []byte
	for len(s) < 1<<20 {
		b, err := m.read(addr+uint64(len(s)), 1)
		if err != nil {
			return "", err
		}
		if b[0] == 0 {
			return string(s), nil
		}
		s = append(s, b[0])
	}
	return "", fmt.Errorf("string at %#x too long", addr)
}

// initialStack is the decoded initial stack.
type initialStack struct {
	argc       uint64
	argv, envv []string
	argvPtrs   []uint64
	envvPtrs   []uint64
	auxv       [][2]uint64
	auxvAddr   uint64
}

func (s *initialStack) aux(key uint64) (uint64, bool) {
	for _, kv := range s.auxv {
		if kv[0] == key {
			return kv[1], true
		}
	}
	return 0, false
}

// decodeStack parses the stack at sp.
func (m *fakeMem) decodeStack(sp uint64) (*initialStack, error) {
	s := &initialStack{}
	var err error
	if s.argc, err = m.u64(sp); err != nil {
		return nil, err
	}
	if s.argc > 1<<20 {
		return nil, fmt.Errorf("argc %d", s.argc)
	}
	p := sp + 8
	for i := uint64(0); i < s.argc; i++ {
		ptr, err := m.u64(p)
		if err != nil {
			return nil, err
		}
		str, err := m.cstring(ptr)
		if err != nil {
			return nil, err
		}
		s.argvPtrs = append(s.argvPtrs, ptr)
		s.argv = append(s.argv, str)
		p += 8
	}
	if v, err := m.u64(p); err != nil || v != 0 {
		return nil, fmt.Errorf("argv not NULL-terminated: %#x %v", v, err)
	}
	p += 8
	for {
		ptr, err := m.u64(p)
		if err != nil {
			return nil, err
		}
		p += 8
		if ptr == 0 {
			break
		}
		str, err := m.cstring(ptr)
		if err != nil {
			return nil, err
		}
		s.envvPtrs = append(s.envvPtrs, ptr)
		s.envv = append(s.envv, str)
	}
	s.auxvAddr = p
	for {
		k, err := m.u64(p)
		if err != nil {
			return nil, err
		}
		v, err := m.u64(p + 8)
		if err != nil {
			return nil, err
		}
		p += 16
		if k == AtNull {
			break
		}
		s.auxv = append(s.auxv, [2]uint64{k, v})
		if len(s.auxv) > 100 {
			return nil, fmt.Errorf("auxv not terminated")
		}
	}
	return s, nil
}

// memFile is a File backed by a byte slice.
type memFile struct {
	data []byte
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Size() (int64, error) { return int64(len(f.data)), nil }

// fakeOpener serves files by path; paths not in files are read from the
// host if host is set.
type fakeOpener struct {
	files  map[string][]byte
	host   bool
	opened []string
}

func (o *fakeOpener) OpenExecutable(path string) (File, error) {
	o.opened = append(o.opened, path)
	if b, ok := o.files[path]; ok {
		return &memFile{b}, nil
	}
	if o.host {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, unix.ENOENT
		}
		return &memFile{b}, nil
	}
	return nil, unix.ENOENT
}
