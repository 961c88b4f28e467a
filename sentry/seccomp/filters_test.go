package seccomp

import (
	"errors"
	"math/rand"
	"testing"

	"golang.org/x/sys/unix"
)

func retProg(t testing.TB, ret uint32) Program { return mustCompile(t, Stmt(Ret|K, ret)) }

func stack(t testing.TB, rets ...uint32) Filters {
	t.Helper()
	var f Filters
	for _, r := range rets {
		var err error
		if f, err = f.Install(retProg(t, r), false); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestActionOrder(t *testing.T) {
	order := []Action{ActionKillProcess, ActionKillThread, ActionTrap, ActionErrno, ActionUserNotif, ActionTrace, ActionLog, ActionAllow}
	for i, a := range order {
		for j, b := range order {
			if got := a.MoreRestrictive(b); got != (i < j) {
				t.Errorf("%v.MoreRestrictive(%v) = %v", a, b, got)
			}
		}
	}
	for i, a := range order {
		for j, b := range order {
			f := stack(t, a.Ret(1), b.Ret(2)) // b is newest
			act, data := f.Evaluate(testData)
			want, wantData := a, uint16(1)
			if j <= i {
				want, wantData = b, 2 // ties go to the newest
			}
			if a == ActionAllow && b == ActionAllow {
				wantData = 0 // Linux starts from SECCOMP_RET_ALLOW
			}
			if act != want || data != wantData {
				t.Errorf("filters %v then %v: Evaluate = %v/%d, want %v/%d", a, b, act, data, want, wantData)
			}
		}
	}
}

func TestEvaluate(t *testing.T) {
	if a, d := (Filters{}).Evaluate(testData); a != ActionAllow || d != 0 {
		t.Errorf("no filters: %v %d", a, d)
	}
	// The most restrictive wins wherever it is in the stack, with its data.
	f := stack(t, RetAllow, RetErrno|1, RetLog, RetTrap|9, RetTrace|3, RetErrno|2)
	if a, d := f.Evaluate(testData); a != ActionTrap || d != 9 {
		t.Errorf("Evaluate = %v %d, want trap 9", a, d)
	}
	if f.Len() != 6 || f.Empty() || len(f.Programs()) != 6 {
		t.Errorf("Len %d Empty %v", f.Len(), f.Empty())
	}
	if got := f.Programs()[0].Run(testData); got != RetErrno|2 {
		t.Errorf("Programs()[0] is not the newest: %#x", got)
	}
	// Unknown actions are ordered by their signed value: 0x00010000 is
	// between KILL_THREAD and TRAP, 0x80010000 after KILL_PROCESS.
	if a, _ := stack(t, RetTrap, 0x00010000).Evaluate(testData); a != 0x00010000 {
		t.Errorf("unknown 0x10000 vs trap: %v", a)
	}
	if a, _ := stack(t, RetKillThread, 0x00010000).Evaluate(testData); a != ActionKillThread {
		t.Errorf("unknown 0x10000 vs kill_thread: %v", a)
	}
	if a, _ := stack(t, 0x80010000, RetKillProcess).Evaluate(testData); a != ActionKillProcess {
		t.Errorf("unknown 0x80010000 vs kill_process: %v", a)
	}
	if a, _ := stack(t, 0x80010000, RetKillThread).Evaluate(testData); a != 0x80010000 {
		t.Errorf("unknown 0x80010000 vs kill_thread: %v", a)
	}
	// The log flag of the winning filter comes with the result.
	var g Filters
	g, _ = g.Install(retProg(t, RetErrno|5), true)
	g, _ = g.Install(retProg(t, RetErrno|6), false)
	if r := g.Run(testData); r.Ret != RetErrno|6 || r.Log {
		t.Errorf("Run = %+v", r)
	}
	g, _ = g.Install(retProg(t, RetTrap), true)
	if r := g.Run(testData); r.Ret != RetTrap || !r.Log || r.Action() != ActionTrap || r.Data() != 0 {
		t.Errorf("Run = %+v", r)
	}
}

func TestFiltersShared(t *testing.T) {
	base := stack(t, RetAllow)
	a, _ := base.Install(retProg(t, RetErrno|1), false)
	b, _ := base.Install(retProg(t, RetErrno|2), false)
	if _, d := a.Evaluate(testData); d != 1 {
		t.Errorf("a: %d", d)
	}
	if _, d := b.Evaluate(testData); d != 2 {
		t.Errorf("b: %d", d)
	}
	if act, _ := base.Evaluate(testData); act != ActionAllow || base.Len() != 1 {
		t.Errorf("base changed")
	}
	if !a.Extends(base) || !b.Extends(base) || !a.Extends(a) || !a.Extends(Filters{}) || !(Filters{}).Extends(Filters{}) {
		t.Errorf("Extends: descendants")
	}
	if a.Extends(b) || base.Extends(a) || (Filters{}).Extends(base) {
		t.Errorf("Extends: unrelated")
	}
	if a == b || a != a {
		t.Errorf("comparison")
	}
}

// TestPathLimit follows Linux's filter_chain_limits selftest: programs of
// 4096 instructions are installed until ENOMEM; each one counts 4 more.
func TestPathLimit(t *testing.T) {
	p := mustCompile(t, repeat(Stmt(Ret|K, RetAllow), MaxInstructions)...)
	var f Filters
	n := 0
	for {
		g, err := f.Install(p, false)
		if err != nil {
			if !errors.Is(err, unix.ENOMEM) || err != unix.ENOMEM {
				t.Fatalf("error %v", err)
			}
			break
		}
		f = g
		n++
	}
	// 4096 + 7*4100 = 32796 > 32768 >= 4096 + 6*4100.
	if n != 7 {
		t.Errorf("installed %d filters of %d instructions, want 7", n, MaxInstructions)
	}
	// A smaller filter still fits exactly.
	room := MaxPathInstructions - 7*(MaxInstructions+4)
	if _, err := f.Install(mustCompile(t, repeat(Stmt(Ret|K, RetAllow), room)...), false); err != nil {
		t.Errorf("filter of %d instructions: %v", room, err)
	}
	if _, err := f.Install(mustCompile(t, repeat(Stmt(Ret|K, RetAllow), room+1)...), false); err != unix.ENOMEM {
		t.Errorf("filter of %d instructions: %v", room+1, err)
	}
}

// allowList is what libseccomp generates for an allow list with a default
// action (here ERRNO(EPERM)), checking the architecture first and
// rejecting x32 numbers.
func allowList(def uint32, nrs ...uint32) []Instruction {
	p := []Instruction{
		Stmt(Ld|W|Abs, OffsetArch),
		Jump(Jmp|Jeq|K, AuditArchX86_64, 1, 0),
		Stmt(Ret|K, RetKillProcess),
		Stmt(Ld|W|Abs, OffsetNr),
		Jump(Jmp|Jge|K, X32SyscallBit, uint8(len(nrs)), 0),
	}
	for i, nr := range nrs {
		p = append(p, Jump(Jmp|Jeq|K, nr, uint8(len(nrs)-i), 0))
	}
	return append(p, Stmt(Ret|K, def), Stmt(Ret|K, RetAllow))
}

func TestConstantActionCache(t *testing.T) {
	p := mustCompile(t, allowList(RetErrno|uint32(unix.EPERM), 0, 1, 60, 231, 511, 512)...)
	var f Filters
	f, _ = f.Install(p, false)
	for nr := 0; nr < CacheSyscalls; nr++ {
		want := nr == 0 || nr == 1 || nr == 60 || nr == 231 || nr == 511
		if got := f.head.allow[nr/64]&(1<<(nr%64)) != 0; got != want {
			t.Errorf("cache bit %d = %v", nr, got)
		}
	}
	// A second filter that looks at arguments clears every bit it does
	// not decide from nr and arch alone.
	argCheck := mustCompile(t,
		Stmt(Ld|W|Abs, OffsetNr),
		Jump(Jmp|Jeq|K, 1, 0, 3),
		Stmt(Ld|W|Abs, OffsetArgLow(0)),
		Jump(Jmp|Jeq|K, 2, 0, 1),
		Stmt(Ret|K, RetErrno|9),
		Stmt(Ret|K, RetAllow),
	)
	g, _ := f.Install(argCheck, false)
	for nr := 0; nr < CacheSyscalls; nr++ {
		want := nr == 0 || nr == 60 || nr == 231 || nr == 511
		if got := g.head.allow[nr/64]&(1<<(nr%64)) != 0; got != want {
			t.Errorf("stacked cache bit %d = %v", nr, got)
		}
	}
	d := testData
	d.Nr, d.Args[0] = 1, 2
	if a, e := g.Evaluate(d); a != ActionErrno || e != 9 {
		t.Errorf("write(2): %v %d", a, e)
	}
	d.Nr = 512
	if a, _ := g.Evaluate(d); a != ActionAllow {
		t.Errorf("nr 512: %v", a)
	}
	d.Nr = 2
	if a, e := g.Evaluate(d); a != ActionErrno || e != uint16(unix.EPERM) {
		t.Errorf("nr 2: %v %d", a, e)
	}
	d.Nr, d.Arch = 0, 0x40000003 // AUDIT_ARCH_I386: not cached, killed
	if a, _ := g.Evaluate(d); a != ActionKillProcess {
		t.Errorf("i386: %v", a)
	}
	// RET ALLOW with data is not cached (Linux caches exactly RET_ALLOW).
	h, _ := (Filters{}).Install(retProg(t, RetAllow|1), false)
	if h.head.allow != [cacheWords]uint64{} {
		t.Errorf("ALLOW|1 cached")
	}
	// Linux starts from SECCOMP_RET_ALLOW and only replaces it with a
	// more restrictive result: data of an allow is lost.
	if r := h.Run(testData); r.Ret != RetAllow {
		t.Errorf("ALLOW|1: %#x", r.Ret)
	}
}

// TestCacheConsistent checks on random programs that whatever the cache
// says about a number, running the filters agrees.
func TestCacheConsistent(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 1500; i++ {
		var insns []Instruction
		if r.Intn(2) == 0 {
			nrs := make([]uint32, r.Intn(20))
			for j := range nrs {
				nrs[j] = uint32(r.Intn(600))
			}
			insns = allowList(interestingRets[r.Intn(len(interestingRets))], nrs...)
		} else {
			insns = randomProgram(r, 1+r.Intn(20), true, false)
		}
		p, err := Compile(insns)
		if err != nil {
			continue
		}
		f, _ := (Filters{}).Install(p, false)
		for nr := 0; nr < CacheSyscalls; nr++ {
			if f.head.allow[nr/64]&(1<<(nr%64)) == 0 {
				continue
			}
			for j := 0; j < 3; j++ {
				d := randomData(r)
				d.Nr, d.Arch = int32(nr), AuditArchX86_64
				if got := p.Run(d); got != RetAllow {
					t.Fatalf("program %v: cached allow for nr %d but Run = %#x on %+v", insns, nr, got, d)
				}
			}
		}
	}
}

func TestActionStrings(t *testing.T) {
	for _, a := range []Action{ActionKillProcess, ActionKillThread, ActionTrap, ActionErrno, ActionUserNotif, ActionTrace, ActionLog, ActionAllow} {
		b, ok := ParseAction(a.String())
		if !ok || b != a || !a.Known() || a.Effective() != a {
			t.Errorf("%v: round trip %v %v", a, b, ok)
		}
	}
	if a, ok := ParseAction("kill"); !ok || a != ActionKillThread {
		t.Errorf("kill")
	}
	if _, ok := ParseAction("nope"); ok {
		t.Errorf("nope parsed")
	}
	if s := Action(0x00010000).String(); s != "action(0x10000)" {
		t.Errorf("unknown: %q", s)
	}
	if Action(0x00010000).Known() || Action(0x00010000).Effective() != ActionKillProcess {
		t.Errorf("unknown action is not kill_process")
	}
	if a, d := ParseRet(0x00050001); a != ActionErrno || d != 1 {
		t.Errorf("ParseRet")
	}
	if ActionTrap.Ret(0x1234) != 0x00031234 {
		t.Errorf("Ret")
	}
	// The constants match the kernel headers.
	for _, c := range [][2]uint32{
		{RetKillProcess, unix.SECCOMP_RET_KILL_PROCESS}, {RetKillThread, unix.SECCOMP_RET_KILL_THREAD},
		{RetTrap, unix.SECCOMP_RET_TRAP}, {RetErrno, unix.SECCOMP_RET_ERRNO},
		{RetUserNotif, unix.SECCOMP_RET_USER_NOTIF}, {RetTrace, unix.SECCOMP_RET_TRACE},
		{RetLog, unix.SECCOMP_RET_LOG}, {RetAllow, unix.SECCOMP_RET_ALLOW},
		{RetActionFull, unix.SECCOMP_RET_ACTION_FULL}, {RetAction, unix.SECCOMP_RET_ACTION}, {RetData, unix.SECCOMP_RET_DATA},
		{AuditArchX86_64, unix.AUDIT_ARCH_X86_64}, {MaxInstructions, unix.BPF_MAXINSNS}, {MemWords, unix.BPF_MEMWORDS},
		{FlagTsync, unix.SECCOMP_FILTER_FLAG_TSYNC}, {FlagLog, unix.SECCOMP_FILTER_FLAG_LOG},
		{FlagSpecAllow, unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW}, {FlagNewListener, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER},
		{FlagTsyncEsrch, unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH}, {FlagWaitKillableRecv, unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
		{OpSetModeStrict, unix.SECCOMP_SET_MODE_STRICT}, {OpSetModeFilter, unix.SECCOMP_SET_MODE_FILTER},
		{OpGetActionAvail, unix.SECCOMP_GET_ACTION_AVAIL}, {OpGetNotifSizes, unix.SECCOMP_GET_NOTIF_SIZES},
		{uint32(ModeStrict), unix.SECCOMP_MODE_STRICT}, {uint32(ModeFilter), unix.SECCOMP_MODE_FILTER},
		{Ld | W | Abs, unix.BPF_LD | unix.BPF_W | unix.BPF_ABS}, {Jmp | Jset | X, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_X},
		{Ret | A, unix.BPF_RET | unix.BPF_A}, {Misc | Txa, unix.BPF_MISC | unix.BPF_TXA}, {Alu | Xor | K, unix.BPF_ALU | unix.BPF_XOR | unix.BPF_K},
		{Ldx | Mem, unix.BPF_LDX | unix.BPF_MEM}, {Alu | Mod | X, unix.BPF_ALU | unix.BPF_MOD | unix.BPF_X},
	} {
		if c[0] != c[1] {
			t.Errorf("constant %#x != kernel %#x", c[0], c[1])
		}
	}
}
