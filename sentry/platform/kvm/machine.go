package kvm

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// machine is the KVM VM: its memory, the trampoline pages shared by every
// address space, the root page tables and the vCPU pool.
type machine struct {
	// Immutable after newMachine.
	kvmFD   int
	vmFD    int
	mf      *memfile.File
	memSize uint64
	// storeBase and storeEnd bound the memory file's store among ranges
	// (both 0 without one).
	storeBase, storeEnd uint64
	runSize             int
	pid                 int
	cpuid               cpuidSet
	cpuid2              kvmCPUID2
	nx                  bool
	fp                  fpFormat
	xcr0                uint64
	// guestXSAVE is set when the vCPUs run with CR4.OSXSAVE and the
	// sentry sets their XCR0 (KVM_SET_XCRS) to xcr0.
	guestXSAVE bool
	// codePage and idtPage are the trampoline's code and IDT.
	codePage memfile.Range
	idtPage  memfile.Range
	// idleRoot is the PML4 of the address space with nothing but the
	// trampoline; vCPUs start on it.
	idleRoot uint64
	pool     *pool
	wd       *watchdog

	// kernelMu protects kernelPT: the trampoline's tables below PML4
	// entry 255, shared by every root. They only ever gain entries (a new
	// vCPU's area), which needs no TLB shootdown.
	kernelMu sync.Mutex
	kernelPT pageTables

	// rootsMu protects freeRoots.
	rootsMu sync.Mutex
	// freeRoots are PML4 pages of released address spaces, user half
	// empty. Root pages are never returned to the memory file: a vCPU's
	// CR3 may still point at one after its address space is gone, and
	// the trampoline runs on it before the cr3+iret stub loads the next
	// CR3. Keeping every root a valid root (PML4 entry 255 always the
	// trampoline) makes that safe.
	freeRoots []uint64

	// memSlots and storeSlots are the memory slots of the memory file
	// and of its store (slots.go).
	memSlots, storeSlots lazySlots

	// shadow is what the platform does on hosts whose KVM shadows the
	// guest's page tables (shadow.go).
	shadow shadowState

	// fpMu serializes FPU state hand-offs between contexts (context.go):
	// it protects every context's fp and fpIn and every vCPU's fpOwner
	// writes.
	fpMu sync.Mutex
}

// Lock order (a lock may be taken while holding those above it; the memory
// file's own lock and lazySlots.mu may be taken under any of them):
//
//	addressSpace.mu
//	  machine.shadow.mu
//	    machine.rootsMu
//	pool.mu
//	  machine.kernelMu
//	machine.fpMu
//
// No two addressSpace.mu are ever held together, and the vCPU loop holds
// no lock while it runs the guest.

func unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: kvm: %s", platform.ErrUnavailable, fmt.Sprintf(format, args...))
}

// handedDevice is a /dev/kvm descriptor the sentry's parent opened for
// it (UseDevice), or -1. A confined sentry runs as a user the device's
// permissions may not admit, so the daemon opens it.
var handedDevice = -1

// UseDevice makes the platform use fd, an open /dev/kvm, instead of
// opening the device itself. Call it before New.
func UseDevice(fd int) { handedDevice = fd }

// openDevice returns a descriptor of /dev/kvm of the machine's own.
func openDevice() (int, error) {
	if handedDevice >= 0 {
		return unix.FcntlInt(uintptr(handedDevice), unix.F_DUPFD_CLOEXEC, 0)
	}
	return unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
}

// newMachine opens /dev/kvm, checks what the platform needs and sets up the
// VM. Failures that mean "no usable KVM here" wrap platform.ErrUnavailable.
func newMachine(mf *memfile.File) (_ *machine, err error) {
	fd, err := openDevice()
	if err != nil {
		return nil, unavailable("opening /dev/kvm: %v", err)
	}
	m := &machine{kvmFD: fd, vmFD: -1, mf: mf, pid: os.Getpid()}
	defer func() {
		if err != nil {
			m.close()
		}
	}()
	if v, err := ioctl(fd, kvmGetAPIVersion, 0); err != nil || v != kvmAPIVersion {
		return nil, unavailable("KVM_GET_API_VERSION = %d (%v), want %d", v, err, kvmAPIVersion)
	}
	for _, c := range []struct {
		cap  uintptr
		name string
	}{
		{capUserMemory, "KVM_CAP_USER_MEMORY"},
		{capExtCPUID, "KVM_CAP_EXT_CPUID"},
		{capImmediateExit, "KVM_CAP_IMMEDIATE_EXIT"},
	} {
		if n, err := checkExtension(fd, c.cap); err != nil || n <= 0 {
			return nil, unavailable("%s missing", c.name)
		}
	}
	if n, err := checkExtension(fd, capSyncRegs); err != nil || n&syncValid != syncValid {
		return nil, unavailable("KVM_CAP_SYNC_REGS = %#x (%v), need regs, sregs and events", n, err)
	}

	// KVM_CREATE_VM may fail with EINTR when a signal (the Go runtime's)
	// arrives while it waits; retry a few times.
	for i := 0; ; i++ {
		r, err := ioctl(fd, kvmCreateVM, 0)
		if err == nil {
			m.vmFD = int(r)
			break
		}
		if err != unix.EINTR || i == 10 {
			return nil, unavailable("KVM_CREATE_VM: %v", err)
		}
	}
	unix.CloseOnExec(m.vmFD)
	size, err := ioctl(fd, kvmGetVCPUMmapSize, 0)
	if err != nil {
		return nil, fmt.Errorf("kvm: KVM_GET_VCPU_MMAP_SIZE: %w", err)
	}
	m.runSize = int(size)

	if err := m.setUpCPUID(); err != nil {
		return nil, err
	}
	if err := m.setUpMemory(); err != nil {
		return nil, err
	}
	if err := m.setUpTrampoline(); err != nil {
		return nil, err
	}
	m.pool = newPool(m.maxVCPUs(), m.newVCPU)
	return m, nil
}

// setUpCPUID reads the supported CPUID and decides NX and the FPU format.
func (m *machine) setUpCPUID() error {
	m.cpuid2.NEnt = maxCPUIDEntries
	if err := getSupportedCPUID(m.kvmFD, &m.cpuid2); err != nil {
		return fmt.Errorf("kvm: KVM_GET_SUPPORTED_CPUID: %w", err)
	}
	m.cpuid = cpuidSet{entries: m.cpuid2.Entries[:m.cpuid2.NEnt]}
	if !m.cpuid.hasLongMode() {
		return unavailable("the guest CPU has no long mode or SYSCALL")
	}
	m.nx = m.cpuid.hasNX()
	// The FPU state moves in XSAVE format whenever KVM can: KVM_GET_FPU
	// and KVM_SET_FPU carry the legacy area without MXCSR (measured on
	// the development hosts: a handler saw the interrupted code's MXCSR
	// instead of the clean state), and on the PVM of those hosts the
	// application runs with the host's XCR0 (AVX and AVX-512 live in the
	// vCPU) although KVM's supported CPUID hides XSAVE: only
	// KVM_GET_XSAVE and KVM_SET_XSAVE move that state. The guest's own
	// XSAVE (CR4.OSXSAVE, XCR0) is set up only where the CPUID offers it.
	m.fp = fpFXSAVE
	x, _ := checkExtension(m.kvmFD, capXSAVE)
	c, _ := checkExtension(m.kvmFD, capXCRs)
	if x > 0 && c > 0 {
		m.fp = fpXSAVE
		m.xcr0 = m.cpuid.guestXCR0()
		m.guestXSAVE = m.cpuid.hasXSAVE()
	}
	return nil
}

// setUpMemory registers the memory file as guest physical memory.
func (m *machine) setUpMemory() error {
	m.memSize = m.mf.Size() &^ (pageSize - 1)
	if m.memSize == 0 {
		return fmt.Errorf("kvm: memory file of %d bytes is too small", m.mf.Size())
	}
	if bits := m.cpuid.physAddrBits(); physBase+m.memSize > 1<<bits {
		return unavailable("memory file of %#x bytes at guest physical %#x exceeds the guest's %d physical address bits", m.memSize, uint64(physBase), bits)
	}
	// The memory file and its store are guest physical memory from
	// physBase, in the order of their ranges (memfile.StoreOf), in
	// slots made as the guest comes to reach them (slots.go).
	var storeSize uint64
	if s := m.mf.Store(); s != nil {
		end := s.Base() + s.Size()
		if bits := m.cpuid.physAddrBits(); physBase+end > 1<<bits {
			return unavailable("memory file store ending at %#x at guest physical %#x exceeds the guest's %d physical address bits", end, uint64(physBase), bits)
		}
		m.storeBase, m.storeEnd = s.Base(), end
		storeSize = s.Size()
	}
	m.setUpSlots(m.storeBase, storeSize)
	// Intel VMX without unrestricted guest emulates real mode with a TSS
	// in guest memory; the vCPUs never run in real mode, but the vCPU
	// reset state is real mode and some kernels warn or fail without it.
	// It is meaningless on SVM and PVM, so failure is ignored.
	if n, _ := checkExtension(m.kvmFD, capSetTSSAddr); n > 0 {
		_, _ = ioctl(m.vmFD, kvmSetTSSAddr, tssAddr)
	}
	return nil
}

// setUpTrampoline allocates and maps the code page and the IDT, creating
// the shared trampoline tables under the idle root.
func (m *machine) setUpTrampoline() error {
	mem := memfileTables{m}
	root, err := mem.allocTable()
	if err != nil {
		return fmt.Errorf("kvm: allocating the idle root: %w", err)
	}
	m.idleRoot = root
	m.kernelPT = pageTables{mem: mem, root: root}
	code := buildCodePage()
	idt := buildIDT()
	for _, p := range []struct {
		page  *memfile.Range
		bytes []byte
		va    uint64
		flags uint64
	}{
		{&m.codePage, code[:], codeVA, kernelCodeFlags},
		{&m.idtPage, idt[:], idtVA, kernelROFlags},
	} {
		r, err := m.mf.Allocate(pageSize)
		if err != nil {
			return fmt.Errorf("kvm: allocating trampoline pages: %w", err)
		}
		*p.page = r
		copy(m.mf.Slice(r), p.bytes)
		if err := m.mapKernel(p.va, physBase+r.Start, pageSize, p.flags); err != nil {
			return err
		}
	}
	return nil
}

// mapKernel maps [va, va+length) of the trampoline's range.
func (m *machine) mapKernel(va, phys, length, flags uint64) error {
	if va < maxUserAddress || va+length > 1<<47 || va+length < va {
		return fmt.Errorf("kvm: %#x+%#x is outside the trampoline's range", va, length)
	}
	if !m.nx {
		flags &^= pteNX
	}
	if err := m.ensureSlots(memfile.Range{Start: phys - physBase, End: phys - physBase + length}); err != nil {
		return err
	}
	m.kernelMu.Lock()
	defer m.kernelMu.Unlock()
	if err := m.kernelPT.mapRange(va, va+length, phys, flags, kernelTableFlags, nil); err != nil {
		return fmt.Errorf("kvm: mapping the trampoline: %w", err)
	}
	return nil
}

// setUpVCPUArea allocates, fills and maps vCPU v's GDT, TSS and stacks.
func (m *machine) setUpVCPUArea(v *vCPU) error {
	r, err := m.mf.Allocate(vcpuPages * pageSize)
	if err != nil {
		return fmt.Errorf("kvm: allocating vCPU %d's pages: %w", v.id, err)
	}
	v.area = r
	page0 := m.mf.Slice(memfile.Range{Start: r.Start, End: r.Start + pageSize})
	gdt := buildGDT(vcpuPageVA(v.id, 0) + tssOffset)
	for i, d := range gdt {
		binary.LittleEndian.PutUint64(page0[gdtOffset+8*i:], d)
	}
	tss := buildTSS(stackTop(v.id, stackRSP0), [7]uint64{
		istDF - 1:  stackTop(v.id, stackIST1),
		istNMI - 1: stackTop(v.id, stackIST2),
		istMC - 1:  stackTop(v.id, stackIST3),
	})
	copy(page0[tssOffset:], tss[:])
	for k := 0; k < vcpuPages; k++ {
		if err := m.mapKernel(vcpuPageVA(v.id, k), physBase+r.Start+uint64(k)*pageSize, pageSize, kernelRWFlags); err != nil {
			return err
		}
	}
	return nil
}

// maxVCPUs is the pool's cap: twice GOMAXPROCS (at least 16), so that every
// thread that can be running application code at once has a vCPU of its
// own with room for threads that come and go, bounded by KVM's limit
// (KVM_CAP_MAX_VCPUS, or the older KVM_CAP_NR_VCPUS) and the trampoline's
// slots. Beyond the cap, tasks share vCPUs (pool.go).
func (m *machine) maxVCPUs() int {
	n := 2 * runtime.GOMAXPROCS(0)
	if n < 16 {
		n = 16
	}
	limit, err := checkExtension(m.kvmFD, capMaxVCPUs)
	if err != nil || limit <= 0 {
		limit, err = checkExtension(m.kvmFD, capNRVCPUs)
	}
	if err != nil || limit <= 0 {
		limit = 4 // KVM's documented default when neither is reported
	}
	return min(n, limit, maxVCPUSlots)
}

// newRoot returns a PML4 page with the trampoline's shared entry.
func (m *machine) newRoot() (uint64, error) {
	m.rootsMu.Lock()
	r, ok := popPage(&m.freeRoots)
	m.rootsMu.Unlock()
	if ok {
		return r, nil
	}
	mem := memfileTables{m}
	r, err := mem.allocTable()
	if err != nil {
		return 0, err
	}
	idle := mem.table(m.idleRoot)
	mem.table(r)[kernelPML4Index] = idle[kernelPML4Index]
	return r, nil
}

// freeRoot keeps root, whose user half is empty, for reuse; on a host
// that shadows page tables, once KVM has forgotten it (shadow.go).
func (m *machine) freeRoot(root uint64) {
	if m.shadow.on {
		m.quarantineRoot(root)
		return
	}
	m.rootsMu.Lock()
	m.freeRoots = append(m.freeRoots, root)
	m.rootsMu.Unlock()
}

// close releases the VM. The caller guarantees that no vCPU runs.
func (m *machine) close() {
	if m.wd != nil {
		m.wd.stop()
	}
	if m.pool != nil {
		m.pool.close()
		for _, v := range m.pool.created() {
			v.close()
		}
	}
	if m.vmFD >= 0 {
		_ = unix.Close(m.vmFD)
		m.vmFD = -1
	}
	if m.kvmFD >= 0 {
		_ = unix.Close(m.kvmFD)
		m.kvmFD = -1
	}
	m.releaseMemory()
}

// releaseMemory returns the platform's own pages to the memory file: the
// vCPU areas, the trampoline's pages and tables, and the roots of released
// address spaces. Roots still in use leak; Close's precondition is that
// there are none.
func (m *machine) releaseMemory() {
	if m.pool != nil {
		for _, v := range m.pool.created() {
			if v.area.Length() > 0 {
				m.mf.Release(v.area)
				v.area = memfile.Range{}
			}
		}
	}
	for _, r := range []*memfile.Range{&m.codePage, &m.idtPage} {
		if r.Length() > 0 {
			m.mf.Release(*r)
			*r = memfile.Range{}
		}
	}
	if m.idleRoot == 0 {
		return
	}
	mem := memfileTables{m}
	if e := mem.table(m.idleRoot)[kernelPML4Index]; e&ptePresent != 0 {
		m.kernelPT.freeSubtree(e&pteAddrMask, levelPDPT)
	}
	mem.freeTable(m.idleRoot)
	m.idleRoot = 0
	m.rootsMu.Lock()
	for _, r := range m.freeRoots {
		mem.freeTable(r)
	}
	m.freeRoots = nil
	m.rootsMu.Unlock()
	m.releaseShadowMemory()
}

// tableMemory is where address spaces created now take their tables
// from.
func (m *machine) tableMemory() tableMemory {
	if m.shadow.on {
		return shadowTables{m}
	}
	return memfileTables{m}
}
