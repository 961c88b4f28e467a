package seccomp

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeMem is a sparse memory of mapped ranges.
type fakeMem struct {
	base uint64
	data []byte
}

func (m *fakeMem) CopyIn(addr uint64, dst []byte) (int, error) {
	if addr < m.base || addr-m.base >= uint64(len(m.data)) {
		return 0, errors.New("fault")
	}
	n := copy(dst, m.data[addr-m.base:])
	if n < len(dst) {
		return n, errors.New("fault")
	}
	return n, nil
}

func (m *fakeMem) CopyOut(addr uint64, src []byte) (int, error) {
	if addr < m.base || addr-m.base >= uint64(len(m.data)) {
		return 0, errors.New("fault")
	}
	n := copy(m.data[addr-m.base:], src)
	if n < len(src) {
		return n, errors.New("fault")
	}
	return n, nil
}

const memBase = 0x10000

// putFprog writes a sock_fprog at memBase pointing at the instructions
// written at memBase+0x100.
func newMem(insns []Instruction, len16 uint16) *fakeMem {
	m := &fakeMem{base: memBase, data: make([]byte, 0x100+len(insns)*8)}
	binary.LittleEndian.PutUint16(m.data[0:], len16)
	copy(m.data[2:8], []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}) // padding is ignored
	binary.LittleEndian.PutUint64(m.data[8:], memBase+0x100)
	copy(m.data[0x100:], EncodeInstructions(insns))
	return m
}

func TestDecodeFprog(t *testing.T) {
	prog := allowList(RetErrno|1, 0, 1, 2)
	m := newMem(prog, uint16(len(prog)))
	got, err := DecodeFprog(m, memBase)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(prog) {
		t.Fatalf("decoded %d instructions", len(got))
	}
	for i := range got {
		if got[i] != prog[i] {
			t.Errorf("instruction %d = %v, want %v", i, got[i], prog[i])
		}
	}
	// Byte layout of one sock_filter.
	b := EncodeInstructions([]Instruction{{Code: 0x1234, JT: 5, JF: 6, K: 0xa1b2c3d4}})
	if want := []byte{0x34, 0x12, 5, 6, 0xd4, 0xc3, 0xb2, 0xa1}; string(b) != string(want) {
		t.Errorf("sock_filter bytes %x", b)
	}

	check := func(name string, m *fakeMem, addr uint64, want unix.Errno) {
		t.Helper()
		_, err := DecodeFprog(m, addr)
		if err != want {
			t.Errorf("%s: error %v, want %v", name, err, want)
		}
	}
	check("NULL sock_fprog", m, 0, unix.EFAULT)
	check("unmapped sock_fprog", m, 0x5000, unix.EFAULT)
	check("sock_fprog crossing the end", m, memBase+uint64(len(m.data))-8, unix.EFAULT)
	check("len 0", newMem(prog, 0), memBase, unix.EINVAL)
	check("len 4097", newMem(prog, 4097), memBase, unix.EINVAL)
	check("len past the array", newMem(prog, uint16(len(prog)+1)), memBase, unix.EFAULT)
	nullFilter := newMem(prog, 1)
	binary.LittleEndian.PutUint64(nullFilter.data[8:], 0)
	check("NULL filter", nullFilter, memBase, unix.EINVAL)
	badFilter := newMem(prog, 1)
	binary.LittleEndian.PutUint64(badFilter.data[8:], 0xdead0000)
	check("unmapped filter", badFilter, memBase, unix.EFAULT)

	f, err := ReadFprog(m, memBase)
	if err != nil || f.Len != uint16(len(prog)) || f.Filter != memBase+0x100 {
		t.Errorf("ReadFprog = %+v, %v", f, err)
	}
}

// fakeTask is a Caller and a Thread.
type fakeTask struct {
	*fakeMem
	tid      int32
	nnp      bool
	sysAdmin bool
	state    State
	group    *fakeGroup
	exiting  bool
}

type fakeGroup struct {
	mu    sync.Mutex
	tasks []*fakeTask
	// locked is set while LockThreadGroup runs fn: the kernel's
	// NoNewPrivs would take the lock again there.
	locked bool
}

func (t *fakeTask) NoNewPrivs() bool {
	if t.group.locked {
		panic("NoNewPrivs inside LockThreadGroup")
	}
	return t.nnp
}
func (t *fakeTask) NoNewPrivsLocked() bool {
	if !t.group.locked {
		panic("NoNewPrivsLocked outside LockThreadGroup")
	}
	return t.nnp
}
func (t *fakeTask) HasCapSysAdmin() bool { return t.sysAdmin }
func (t *fakeTask) SeccompState() *State { return &t.state }
func (t *fakeTask) TID() int32           { return t.tid }
func (t *fakeTask) SetNoNewPrivs()       { t.nnp = true }
func (t *fakeTask) LockThreadGroup(fn func([]Thread)) {
	t.group.mu.Lock()
	defer t.group.mu.Unlock()
	var others []Thread
	for _, o := range t.group.tasks {
		if o != t && !o.exiting {
			others = append(others, o)
		}
	}
	t.group.locked = true
	defer func() { t.group.locked = false }()
	fn(others)
}

func newGroup(n int, mem *fakeMem) []*fakeTask {
	g := &fakeGroup{}
	for i := 0; i < n; i++ {
		g.tasks = append(g.tasks, &fakeTask{fakeMem: mem, tid: int32(100 + i), nnp: true, group: g})
	}
	return g.tasks
}

// install writes prog into the task's memory and calls seccomp(2).
func install(t *fakeTask, flags uint64, prog []Instruction) (uint64, error) {
	*t.fakeMem = *newMem(prog, uint16(len(prog)))
	return Seccomp(t, OpSetModeFilter, flags, memBase)
}

func TestSetModeFilter(t *testing.T) {
	prog := allowList(RetErrno|uint32(unix.EPERM), unix.SYS_READ, unix.SYS_WRITE)
	tasks := newGroup(1, &fakeMem{})
	task := tasks[0]
	if !(task.state.Mode() == ModeDisabled && !task.state.Enabled()) {
		t.Fatal("new state not disabled")
	}
	if v := task.state.Check(NewData(unix.SYS_GETPID, 0, [6]uint64{})); v.Kind != VerdictRun {
		t.Errorf("disabled: %+v", v)
	}
	if ret, err := install(task, 0, prog); ret != 0 || err != nil {
		t.Fatalf("install: %d %v", ret, err)
	}
	if task.state.Mode() != ModeFilter || !task.state.Enabled() || task.state.Filters().Len() != 1 {
		t.Fatalf("state after install: %v", task.state.Mode())
	}
	if r, _ := PrctlGetSeccomp(&task.state); r != 2 {
		t.Errorf("PR_GET_SECCOMP = %d", r)
	}
	v := task.state.Check(NewData(unix.SYS_GETPID, 0, [6]uint64{}))
	if v.Kind != VerdictReturn || v.Return != neg(uint64(unix.EPERM)) || v.Action != ActionErrno || v.Data != uint16(unix.EPERM) {
		t.Errorf("getpid: %+v", v)
	}
	if v := task.state.Check(NewData(unix.SYS_WRITE, 0, [6]uint64{})); v.Kind != VerdictRun {
		t.Errorf("write: %+v", v)
	}
	// Stacking: a second filter restricting write further.
	if _, err := install(task, FlagLog, []Instruction{
		Stmt(Ld|W|Abs, OffsetNr), Jump(Jmp|Jeq|K, unix.SYS_WRITE, 0, 1), Stmt(Ret|K, RetTrap|7), Stmt(Ret|K, RetAllow)}); err != nil {
		t.Fatal(err)
	}
	v = task.state.Check(NewData(unix.SYS_WRITE, 0x401000, [6]uint64{}))
	if v.Kind != VerdictTrap || v.Data != 7 || !v.Log {
		t.Errorf("write after second filter: %+v", v)
	}
	if v := task.state.Check(NewData(unix.SYS_READ, 0, [6]uint64{})); v.Kind != VerdictRun {
		t.Errorf("read: %+v", v)
	}
	// Strict mode cannot be entered from filter mode.
	if _, err := Seccomp(task, OpSetModeStrict, 0, 0); err != unix.EINVAL {
		t.Errorf("strict after filter: %v", err)
	}
}

func TestSetModeFilterErrors(t *testing.T) {
	good := []Instruction{Stmt(Ret|K, RetAllow)}
	cases := []struct {
		name  string
		flags uint64
		setup func(*fakeTask)
		want  unix.Errno
	}{
		{"unknown flag", 1 << 6, nil, unix.EINVAL},
		{"NEW_LISTENER unsupported", FlagNewListener, nil, unix.EINVAL},
		{"WAIT_KILLABLE_RECV", FlagWaitKillableRecv, nil, unix.EINVAL},
		{"TSYNC|NEW_LISTENER", FlagTsync | FlagNewListener, nil, unix.EINVAL},
		{"no nnp, no CAP_SYS_ADMIN", 0, func(t *fakeTask) { t.nnp = false }, unix.EACCES},
		{"bad fprog pointer", 0, func(t *fakeTask) { t.fakeMem.base = 0x90000 }, unix.EFAULT},
		{"len 0", 0, func(t *fakeTask) { binary.LittleEndian.PutUint16(t.data[0:], 0) }, unix.EINVAL},
		// Length is checked before privileges.
		{"len 0 without nnp", 0, func(t *fakeTask) { t.nnp = false; binary.LittleEndian.PutUint16(t.data[0:], 0) }, unix.EINVAL},
		{"len 5000", 0, func(t *fakeTask) { binary.LittleEndian.PutUint16(t.data[0:], 5000) }, unix.EINVAL},
		// Privileges are checked before the array is read.
		{"NULL filter without nnp", 0, func(t *fakeTask) { t.nnp = false; binary.LittleEndian.PutUint64(t.data[8:], 0) }, unix.EACCES},
		{"NULL filter", 0, func(t *fakeTask) { binary.LittleEndian.PutUint64(t.data[8:], 0) }, unix.EINVAL},
		{"unmapped filter", 0, func(t *fakeTask) { binary.LittleEndian.PutUint64(t.data[8:], 8) }, unix.EFAULT},
		{"invalid program", 0, func(t *fakeTask) { t.data[0x100] = 0xff }, unix.EINVAL},
		{"strict mode", 0, func(t *fakeTask) { t.state.p.Store(&snapshot{mode: ModeStrict}) }, unix.EINVAL},
	}
	for _, c := range cases {
		task := newGroup(1, &fakeMem{})[0]
		*task.fakeMem = *newMem(good, 1)
		if c.setup != nil {
			c.setup(task)
		}
		before := task.state.Mode()
		ret, err := Seccomp(task, OpSetModeFilter, c.flags, memBase)
		if err != c.want || ret != 0 {
			t.Errorf("%s: %d %v, want %v", c.name, ret, err, c.want)
		}
		if task.state.Mode() != before {
			t.Errorf("%s: mode changed", c.name)
		}
	}

	// CAP_SYS_ADMIN is enough without no_new_privs.
	task := newGroup(1, &fakeMem{})[0]
	task.nnp, task.sysAdmin = false, true
	if _, err := install(task, 0, good); err != nil {
		t.Errorf("CAP_SYS_ADMIN: %v", err)
	}
	// Flags are 32 bits: the high half of the register is ignored.
	task = newGroup(1, &fakeMem{})[0]
	if _, err := install(task, 1<<40|FlagSpecAllow, good); err != nil {
		t.Errorf("flags high bits: %v", err)
	}
	// libseccomp's flag probe: a known flag with a NULL pointer is EFAULT.
	for _, fl := range []uint64{0, FlagTsync, FlagLog, FlagSpecAllow, FlagTsyncEsrch} {
		if _, err := Seccomp(task, OpSetModeFilter, fl, 0); err != unix.EFAULT {
			t.Errorf("probe of flag %#x: %v", fl, err)
		}
	}
	// ENOMEM from the path limit.
	big := repeat(Stmt(Ret|K, RetAllow), MaxInstructions)
	task = newGroup(1, &fakeMem{})[0]
	for i := 0; i < 7; i++ {
		if _, err := install(task, 0, big); err != nil {
			t.Fatalf("filter %d: %v", i, err)
		}
	}
	if _, err := install(task, 0, big); err != unix.ENOMEM {
		t.Errorf("8th big filter: %v", err)
	}
	if task.state.Filters().Len() != 7 {
		t.Errorf("%d filters", task.state.Filters().Len())
	}
}

func TestTsync(t *testing.T) {
	deny := func(nr uint32) []Instruction {
		return []Instruction{Stmt(Ld|W|Abs, OffsetNr), Jump(Jmp|Jeq|K, nr, 0, 1), Stmt(Ret|K, RetErrno|nr), Stmt(Ret|K, RetAllow)}
	}
	tasks := newGroup(4, &fakeMem{})
	caller := tasks[0]
	tasks[1].nnp = false
	tasks[3].exiting = true
	// Caller gets a first filter alone; thread 2 inherits it (as a clone
	// made after it would).
	if _, err := install(caller, 0, deny(1)); err != nil {
		t.Fatal(err)
	}
	tasks[2].state.InheritFrom(&caller.state)
	// TSYNC: every live thread gets the caller's new stack.
	if ret, err := install(caller, FlagTsync, deny(2)); ret != 0 || err != nil {
		t.Fatalf("tsync: %d %v", ret, err)
	}
	for _, o := range tasks[1:3] {
		if o.state.Filters() != caller.state.Filters() || o.state.Mode() != ModeFilter || !o.nnp {
			t.Errorf("thread %d not synchronised", o.tid)
		}
	}
	if tasks[3].state.Enabled() {
		t.Errorf("exiting thread synchronised")
	}
	if v := tasks[1].state.Check(NewData(1, 0, [6]uint64{})); v.Kind != VerdictReturn || v.Data != 1 {
		t.Errorf("thread 1 write: %+v", v)
	}
	// A thread that diverged (its own filter) makes TSYNC fail with its
	// TID as the call's value, changing nothing.
	if _, err := install(tasks[2], 0, deny(3)); err != nil {
		t.Fatal(err)
	}
	before := caller.state.Filters()
	if ret, err := install(caller, FlagTsync, deny(4)); ret != 102 || err != nil {
		t.Errorf("tsync with diverged thread: %d %v", ret, err)
	}
	if caller.state.Filters() != before || tasks[1].state.Filters() != before {
		t.Errorf("failed tsync changed filters")
	}
	if ret, err := install(caller, FlagTsync|FlagTsyncEsrch, deny(4)); ret != 0 || err != unix.ESRCH {
		t.Errorf("tsync esrch: %d %v", ret, err)
	}
	// Without TSYNC the caller installs regardless.
	if ret, err := install(caller, 0, deny(4)); ret != 0 || err != nil {
		t.Errorf("no tsync: %d %v", ret, err)
	}
	// A thread in strict mode blocks TSYNC.
	tasks = newGroup(2, &fakeMem{})
	if _, err := Seccomp(tasks[1], OpSetModeStrict, 0, 0); err != nil {
		t.Fatal(err)
	}
	if ret, err := install(tasks[0], FlagTsync, deny(1)); ret != 101 || err != nil {
		t.Errorf("tsync with strict thread: %d %v", ret, err)
	}
	// A thread with an older (ancestor) stack is synchronised.
	tasks = newGroup(2, &fakeMem{})
	install(tasks[0], 0, deny(1))
	tasks[1].state.InheritFrom(&tasks[0].state)
	install(tasks[0], 0, deny(2))
	if ret, err := install(tasks[0], FlagTsync, deny(3)); ret != 0 || err != nil {
		t.Errorf("tsync with ancestor: %d %v", ret, err)
	}
	if tasks[1].state.Filters().Len() != 3 {
		t.Errorf("thread has %d filters", tasks[1].state.Filters().Len())
	}
	// no_new_privs is only propagated when the caller has it.
	tasks = newGroup(2, &fakeMem{})
	tasks[0].nnp, tasks[0].sysAdmin, tasks[1].nnp = false, true, false
	install(tasks[0], FlagTsync, deny(1))
	if tasks[1].nnp || tasks[1].state.Mode() != ModeFilter {
		t.Errorf("nnp %v mode %v", tasks[1].nnp, tasks[1].state.Mode())
	}
}

func TestStrict(t *testing.T) {
	task := newGroup(1, &fakeMem{})[0]
	task.nnp = false // strict mode needs no privilege
	if _, err := Seccomp(task, OpSetModeStrict, 1, 0); err != unix.EINVAL {
		t.Errorf("flags: %v", err)
	}
	if _, err := Seccomp(task, OpSetModeStrict, 0, memBase); err != unix.EINVAL {
		t.Errorf("args: %v", err)
	}
	if ret, err := Seccomp(task, OpSetModeStrict, 0, 0); ret != 0 || err != nil {
		t.Fatalf("strict: %v", err)
	}
	if task.state.Mode() != ModeStrict || !task.state.Enabled() {
		t.Fatalf("mode %v", task.state.Mode())
	}
	for nr, ok := range map[uint64]bool{
		unix.SYS_READ: true, unix.SYS_WRITE: true, unix.SYS_EXIT: true, unix.SYS_RT_SIGRETURN: true,
		unix.SYS_EXIT_GROUP: false, unix.SYS_GETPID: false, unix.SYS_PRCTL: false, unix.SYS_SECCOMP: false,
		1<<32 | unix.SYS_READ: true, // the filter sees the low 32 bits
	} {
		v := task.state.Check(NewData(nr, 0, [6]uint64{}))
		if ok && v.Kind != VerdictRun || !ok && (v.Kind != VerdictStrictKill || !v.Log) {
			t.Errorf("strict nr %#x: %+v", nr, v)
		}
	}
	// Filters cannot be added in strict mode.
	*task.fakeMem = *newMem([]Instruction{Stmt(Ret|K, RetAllow)}, 1)
	task.nnp = true
	if _, err := Seccomp(task, OpSetModeFilter, 0, memBase); err != unix.EINVAL {
		t.Errorf("filter in strict mode: %v", err)
	}
	// prctl forms.
	task = newGroup(1, &fakeMem{})[0]
	if _, err := PrctlSetSeccomp(task, 3, 0); err != unix.EINVAL {
		t.Errorf("prctl mode 3: %v", err)
	}
	if _, err := PrctlSetSeccomp(task, 1<<32|2, 0); err != unix.EINVAL {
		t.Errorf("prctl mode 1<<32|2: %v", err)
	}
	if _, err := PrctlSetSeccomp(task, 1, 0xdead); err != nil { // the filter argument is ignored
		t.Errorf("prctl strict: %v", err)
	}
	if r, _ := PrctlGetSeccomp(&task.state); r != 1 {
		t.Errorf("PR_GET_SECCOMP = %d", r)
	}
	task = newGroup(1, &fakeMem{})[0]
	*task.fakeMem = *newMem([]Instruction{Stmt(Ret|K, RetAllow)}, 1)
	if _, err := PrctlSetSeccomp(task, 2, memBase); err != nil || task.state.Mode() != ModeFilter {
		t.Errorf("prctl filter: %v", err)
	}
	if _, err := PrctlSetSeccomp(task, 2, 0); err != unix.EFAULT {
		t.Errorf("prctl filter NULL: %v", err)
	}
	if r, _ := PrctlGetSeccomp(&task.state); r != 2 {
		t.Errorf("PR_GET_SECCOMP = %d", r)
	}
	task.state.Reset()
	if task.state.Enabled() {
		t.Errorf("Reset")
	}
}

func TestOtherOps(t *testing.T) {
	m := &fakeMem{base: memBase, data: make([]byte, 16)}
	task := newGroup(1, m)[0]
	avail := func(a uint32) error {
		binary.LittleEndian.PutUint32(m.data, a)
		_, err := Seccomp(task, OpGetActionAvail, 0, memBase)
		return err
	}
	for _, a := range []uint32{RetKillProcess, RetKillThread, RetTrap, RetErrno, RetTrace, RetLog, RetAllow} {
		if err := avail(a); err != nil {
			t.Errorf("action %#x: %v", a, err)
		}
	}
	for _, a := range []uint32{RetUserNotif, 0x00010000, RetErrno | 1, 0xffffffff} {
		if err := avail(a); err != unix.EOPNOTSUPP {
			t.Errorf("action %#x: %v", a, err)
		}
	}
	if _, err := Seccomp(task, OpGetActionAvail, 1, memBase); err != unix.EINVAL {
		t.Errorf("action avail flags: %v", err)
	}
	if _, err := Seccomp(task, OpGetActionAvail, 0, 0x1234); err != unix.EFAULT {
		t.Errorf("action avail fault: %v", err)
	}
	if _, err := Seccomp(task, OpGetNotifSizes, 0, memBase); err != nil {
		t.Errorf("notif sizes: %v", err)
	}
	if got := m.data[:6]; string(got) != string([]byte{80, 0, 24, 0, 64, 0}) {
		t.Errorf("notif sizes %v", got)
	}
	if _, err := Seccomp(task, OpGetNotifSizes, 2, memBase); err != unix.EINVAL {
		t.Errorf("notif sizes flags: %v", err)
	}
	if _, err := Seccomp(task, OpGetNotifSizes, 0, memBase+12); err != unix.EFAULT {
		t.Errorf("notif sizes fault: %v", err)
	}
	if _, err := Seccomp(task, 4, 0, 0); err != unix.EINVAL {
		t.Errorf("op 4: %v", err)
	}
	if _, err := Seccomp(task, 1<<32|OpGetNotifSizes, 0, memBase); err != nil {
		t.Errorf("op high bits: %v", err)
	}
	if task.state.Enabled() {
		t.Errorf("queries changed the mode")
	}
}

func TestVerdicts(t *testing.T) {
	d := NewData(unix.SYS_OPENAT, 0x7f0000401234, [6]uint64{1, 2, 3, 4, 5, 6})
	enosys := uint64(unix.ENOSYS)
	cases := []struct {
		res  Result
		want Verdict
	}{
		{Result{Ret: RetAllow}, Verdict{Kind: VerdictRun, Action: ActionAllow}},
		{Result{Ret: RetAllow, Log: true}, Verdict{Kind: VerdictRun, Action: ActionAllow}},
		{Result{Ret: RetLog | 3}, Verdict{Kind: VerdictRun, Action: ActionLog, Data: 3, Log: true}},
		{Result{Ret: RetErrno | 13}, Verdict{Kind: VerdictReturn, Return: neg(13), Action: ActionErrno, Data: 13}},
		{Result{Ret: RetErrno | 13, Log: true}, Verdict{Kind: VerdictReturn, Return: neg(13), Action: ActionErrno, Data: 13, Log: true}},
		{Result{Ret: RetErrno}, Verdict{Kind: VerdictReturn, Return: 0, Action: ActionErrno}},
		{Result{Ret: RetErrno | 4095}, Verdict{Kind: VerdictReturn, Return: neg(4095), Action: ActionErrno, Data: 4095}},
		{Result{Ret: RetErrno | 4096}, Verdict{Kind: VerdictReturn, Return: neg(4095), Action: ActionErrno, Data: 4096}},
		{Result{Ret: RetErrno | 0xffff}, Verdict{Kind: VerdictReturn, Return: neg(4095), Action: ActionErrno, Data: 0xffff}},
		{Result{Ret: RetTrace | 5}, Verdict{Kind: VerdictReturn, Return: -enosys, Action: ActionTrace, Data: 5}},
		{Result{Ret: RetUserNotif}, Verdict{Kind: VerdictReturn, Return: -enosys, Action: ActionUserNotif}},
		{Result{Ret: RetTrap | 0xbeef}, Verdict{Kind: VerdictTrap, Action: ActionTrap, Data: 0xbeef}},
		{Result{Ret: RetKillThread | 1}, Verdict{Kind: VerdictKillThread, Action: ActionKillThread, Data: 1, Log: true}},
		{Result{Ret: RetKillProcess}, Verdict{Kind: VerdictKillProcess, Action: ActionKillProcess, Log: true}},
		{Result{Ret: 0x00010002}, Verdict{Kind: VerdictKillProcess, Action: 0x00010000, Data: 2, Log: true}},
		{Result{Ret: 0x7ffe0000}, Verdict{Kind: VerdictKillProcess, Action: 0x7ffe0000, Log: true}},
	}
	for _, c := range cases {
		if got := VerdictOf(c.res); got != c.want {
			t.Errorf("VerdictOf(%+v) = %+v, want %+v", c.res, got, c.want)
		}
	}
	v := VerdictOf(Result{Ret: RetTrap | 0xbeef})
	si := v.SigInfo(d)
	le := binary.LittleEndian
	if le.Uint32(si[0:]) != uint32(unix.SIGSYS) || le.Uint32(si[4:]) != 0xbeef || le.Uint32(si[8:]) != 1 ||
		le.Uint64(si[16:]) != 0x7f0000401234 || le.Uint32(si[24:]) != unix.SYS_OPENAT || le.Uint32(si[28:]) != AuditArchX86_64 {
		t.Errorf("siginfo %x", si[:32])
	}
	for i := 32; i < len(si); i++ {
		if si[i] != 0 {
			t.Fatalf("siginfo byte %d = %#x", i, si[i])
		}
	}
	if kinds := []VerdictKind{VerdictRun, VerdictReturn, VerdictTrap, VerdictKillThread, VerdictKillProcess, VerdictStrictKill, 99}; kinds[6].String() != "unknown" || kinds[2].String() != "trap" {
		t.Errorf("VerdictKind strings")
	}
	if ModeFilter.String() != "filter" || Mode(7).String() != "unknown" {
		t.Errorf("Mode strings")
	}
}

// TestSigSysLayout checks the offsets against the C layout of
// siginfo_t's _sigsys member computed from first principles: three ints,
// then the union aligned to 8 (it holds pointers).
func TestSigSysLayout(t *testing.T) {
	const intSize, ptrSize = 4, 8
	unionOff := (3*intSize + ptrSize - 1) / ptrSize * ptrSize
	if SigInfoOffsetCallAddr != unionOff || SigInfoOffsetSyscall != unionOff+ptrSize || SigInfoOffsetArch != unionOff+ptrSize+intSize {
		t.Errorf("SIGSYS offsets %d %d %d", SigInfoOffsetCallAddr, SigInfoOffsetSyscall, SigInfoOffsetArch)
	}
	b := SigSysFields(-1, 1, 2, -3)
	if binary.LittleEndian.Uint32(b[24:]) != 0xffffffff || binary.LittleEndian.Uint32(b[4:]) != 0xfffffffd {
		t.Errorf("signed fields %x", b[:32])
	}
}

// TestConcurrentCheck runs Check on threads while another thread keeps
// installing filters with TSYNC (run with -race).
func TestConcurrentCheck(t *testing.T) {
	tasks := newGroup(4, &fakeMem{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, o := range tasks[1:] {
		wg.Add(1)
		go func(o *fakeTask) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				v := o.state.Check(NewData(unix.SYS_GETPID, 0, [6]uint64{}))
				if v.Kind != VerdictRun && v.Kind != VerdictReturn {
					t.Errorf("verdict %+v", v)
					return
				}
			}
		}(o)
	}
	caller := tasks[0]
	for i := 0; i < 50; i++ {
		prog := []Instruction{Stmt(Ret|K, RetErrno|uint32(i))}
		mem := newMem(prog, 1)
		// A Caller wrapper with its own memory: the threads share theirs.
		if _, err := Seccomp(&memCaller{fakeTask: caller, mem: mem}, OpSetModeFilter, FlagTsync, memBase); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	for _, o := range tasks {
		if o.state.Filters().Len() != 50 {
			t.Errorf("thread %d has %d filters", o.tid, o.state.Filters().Len())
		}
	}
}

func neg(e uint64) uint64 { return -e }

type memCaller struct {
	*fakeTask
	mem *fakeMem
}

func (m *memCaller) CopyIn(addr uint64, dst []byte) (int, error) { return m.mem.CopyIn(addr, dst) }
