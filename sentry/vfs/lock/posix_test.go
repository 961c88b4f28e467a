package lock

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// op is one non-blocking record lock request in a test.
type op struct {
	owner string // "A", "B", "C"
	ofd   bool
	typ   Type
	start uint64
	end   uint64
}

// do runs o against l with owners from m and returns the error.
func do(l *Locks, m map[string]*owner, o op) error {
	ow := m[o.owner]
	if o.ofd {
		return l.LockRangeOFD(ow, o.typ, Range{o.start, o.end}, nil)
	}
	return l.LockRange(ow, pidOf(o.owner), o.typ, Range{o.start, o.end}, nil)
}

func pidOf(name string) int32 { return int32(name[0]) }

func ownerMap() map[string]*owner {
	m := make(map[string]*owner)
	for _, o := range owners("A", "B", "C") {
		m[o.name] = o
	}
	return m
}

// posixLock builds the expected lock of a POSIX owner.
func posixLock(name string, typ Type, start, end uint64) rl {
	return rl{owner: name, typ: typ, start: start, end: end, pid: pidOf(name)}
}

// ofdLock builds the expected lock of an OFD owner.
func ofdLock(name string, typ Type, start, end uint64) rl {
	return rl{owner: name, ofd: true, typ: typ, start: start, end: end, pid: -1}
}

const (
	rd = ReadLock
	wr = WriteLock
	un = Unlock
)

// TestSplitMerge mirrors the cases handled by Linux's posix_lock_inode.
func TestSplitMerge(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []op
		want []rl
	}{
		{
			name: "single lock",
			ops:  []op{{"A", false, rd, 0, 10}},
			want: []rl{posixLock("A", rd, 0, 10)},
		},
		{
			name: "unlock with nothing held",
			ops:  []op{{"A", false, un, 0, EOF}},
		},
		{
			name: "same lock twice",
			ops:  []op{{"A", false, wr, 0, 10}, {"A", false, wr, 0, 10}},
			want: []rl{posixLock("A", wr, 0, 10)},
		},
		{
			name: "adjacent same type coalesce (right)",
			ops:  []op{{"A", false, rd, 0, 10}, {"A", false, rd, 10, 20}},
			want: []rl{posixLock("A", rd, 0, 20)},
		},
		{
			name: "adjacent same type coalesce (left)",
			ops:  []op{{"A", false, wr, 10, 20}, {"A", false, wr, 0, 10}},
			want: []rl{posixLock("A", wr, 0, 20)},
		},
		{
			name: "adjacent different type stay apart",
			ops:  []op{{"A", false, rd, 0, 10}, {"A", false, wr, 10, 20}},
			want: []rl{posixLock("A", rd, 0, 10), posixLock("A", wr, 10, 20)},
		},
		{
			name: "gap of one byte stays apart",
			ops:  []op{{"A", false, rd, 0, 10}, {"A", false, rd, 11, 20}},
			want: []rl{posixLock("A", rd, 0, 10), posixLock("A", rd, 11, 20)},
		},
		{
			name: "overlapping same type merge",
			ops:  []op{{"A", false, rd, 0, 10}, {"A", false, rd, 5, 15}},
			want: []rl{posixLock("A", rd, 0, 15)},
		},
		{
			name: "contained same type is absorbed",
			ops:  []op{{"A", false, rd, 0, 30}, {"A", false, rd, 10, 20}},
			want: []rl{posixLock("A", rd, 0, 30)},
		},
		{
			name: "containing same type absorbs",
			ops:  []op{{"A", false, rd, 10, 20}, {"A", false, rd, 0, 30}},
			want: []rl{posixLock("A", rd, 0, 30)},
		},
		{
			name: "fill gap merges three",
			ops:  []op{{"A", false, rd, 0, 10}, {"A", false, rd, 20, 30}, {"A", false, rd, 10, 20}},
			want: []rl{posixLock("A", rd, 0, 30)},
		},
		{
			name: "bridge over many",
			ops: []op{
				{"A", false, wr, 0, 5}, {"A", false, wr, 10, 15}, {"A", false, wr, 20, 25},
				{"A", false, wr, 30, 35}, {"A", false, wr, 3, 32},
			},
			want: []rl{posixLock("A", wr, 0, 35)},
		},
		{
			name: "different type in the middle splits in three",
			ops:  []op{{"A", false, rd, 0, 30}, {"A", false, wr, 10, 20}},
			want: []rl{posixLock("A", rd, 0, 10), posixLock("A", wr, 10, 20), posixLock("A", rd, 20, 30)},
		},
		{
			name: "unlock the middle splits in two",
			ops:  []op{{"A", false, wr, 0, 30}, {"A", false, un, 10, 20}},
			want: []rl{posixLock("A", wr, 0, 10), posixLock("A", wr, 20, 30)},
		},
		{
			name: "unlock the head",
			ops:  []op{{"A", false, wr, 0, 30}, {"A", false, un, 0, 10}},
			want: []rl{posixLock("A", wr, 10, 30)},
		},
		{
			name: "unlock the tail to EOF",
			ops:  []op{{"A", false, wr, 0, EOF}, {"A", false, un, 100, EOF}},
			want: []rl{posixLock("A", wr, 0, 100)},
		},
		{
			name: "unlock across several",
			ops: []op{
				{"A", false, rd, 0, 10}, {"A", false, wr, 20, 30}, {"A", false, rd, 40, 50},
				{"A", false, un, 5, 45},
			},
			want: []rl{posixLock("A", rd, 0, 5), posixLock("A", rd, 45, 50)},
		},
		{
			name: "unlock everything",
			ops:  []op{{"A", false, rd, 0, 10}, {"A", false, wr, 20, EOF}, {"A", false, un, 0, EOF}},
		},
		{
			name: "overlap different type trims both sides",
			ops:  []op{{"A", false, rd, 0, 10}, {"A", false, rd, 20, 30}, {"A", false, wr, 5, 25}},
			want: []rl{posixLock("A", rd, 0, 5), posixLock("A", wr, 5, 25), posixLock("A", rd, 25, 30)},
		},
		{
			name: "overlap different type on the left",
			ops:  []op{{"A", false, wr, 0, 10}, {"A", false, rd, 5, 15}},
			want: []rl{posixLock("A", wr, 0, 5), posixLock("A", rd, 5, 15)},
		},
		{
			name: "overlap different type on the right",
			ops:  []op{{"A", false, wr, 10, 20}, {"A", false, rd, 5, 15}},
			want: []rl{posixLock("A", rd, 5, 15), posixLock("A", wr, 15, 20)},
		},
		{
			name: "downgrade whole lock",
			ops:  []op{{"A", false, wr, 0, 10}, {"A", false, rd, 0, 10}},
			want: []rl{posixLock("A", rd, 0, 10)},
		},
		{
			name: "upgrade then merge with neighbours",
			ops:  []op{{"A", false, rd, 0, 10}, {"A", false, wr, 10, 20}, {"A", false, rd, 20, 30}, {"A", false, rd, 10, 20}},
			want: []rl{posixLock("A", rd, 0, 30)},
		},
		{
			name: "replace several with one to EOF",
			ops:  []op{{"A", false, wr, 10, 20}, {"A", false, rd, 30, 40}, {"A", false, rd, 0, EOF}},
			want: []rl{posixLock("A", rd, 0, EOF)},
		},
		{
			name: "different type hole then refill",
			ops:  []op{{"A", false, wr, 0, 30}, {"A", false, rd, 10, 20}, {"A", false, wr, 10, 20}},
			want: []rl{posixLock("A", wr, 0, 30)},
		},
		{
			name: "other owners never merge",
			ops:  []op{{"A", false, rd, 0, 10}, {"B", false, rd, 10, 20}, {"B", false, rd, 5, 8}},
			want: []rl{posixLock("A", rd, 0, 10), posixLock("B", rd, 5, 8), posixLock("B", rd, 10, 20)},
		},
		{
			name: "unlock leaves other owners alone",
			ops:  []op{{"A", false, rd, 0, 10}, {"B", false, rd, 0, 10}, {"A", false, un, 0, EOF}},
			want: []rl{posixLock("B", rd, 0, 10)},
		},
		{
			name: "OFD locks split and merge the same way",
			ops:  []op{{"A", true, rd, 0, 30}, {"A", true, wr, 10, 20}, {"A", true, un, 12, 18}, {"A", true, rd, 30, 40}},
			want: []rl{ofdLock("A", rd, 0, 10), ofdLock("A", wr, 10, 12), ofdLock("A", wr, 18, 20), ofdLock("A", rd, 20, 40)},
		},
		{
			name: "OFD and POSIX locks of the same value are different owners",
			ops:  []op{{"A", false, rd, 0, 10}, {"A", true, rd, 10, 20}, {"A", true, un, 0, 10}},
			want: []rl{posixLock("A", rd, 0, 10), ofdLock("A", rd, 10, 20)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l Locks
			m := ownerMap()
			for _, o := range tc.ops {
				if err := do(&l, m, o); err != nil {
					t.Fatalf("%+v: %v", o, err)
				}
				checkInvariants(t, &l)
			}
			if got := snapshot(&l); !slices.Equal(got, tc.want) {
				t.Errorf("got locks\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
}

func TestConflicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		held []op
		req  op
		want error
	}{
		{"read vs read", []op{{"A", false, rd, 0, 10}}, op{"B", false, rd, 5, 15}, nil},
		{"read vs write", []op{{"A", false, rd, 0, 10}}, op{"B", false, wr, 5, 15}, unix.EAGAIN},
		{"write vs read", []op{{"A", false, wr, 0, 10}}, op{"B", false, rd, 9, 15}, unix.EAGAIN},
		{"write vs write", []op{{"A", false, wr, 0, 10}}, op{"B", false, wr, 0, 1}, unix.EAGAIN},
		{"adjacent write", []op{{"A", false, wr, 0, 10}}, op{"B", false, wr, 10, 20}, nil},
		{"adjacent before", []op{{"A", false, wr, 10, 20}}, op{"B", false, wr, 0, 10}, nil},
		{"in a hole", []op{{"A", false, wr, 0, 10}, {"A", false, wr, 20, 30}}, op{"B", false, wr, 10, 20}, nil},
		{"to EOF", []op{{"A", false, rd, 1000, EOF}}, op{"B", false, wr, 0, EOF}, unix.EAGAIN},
		{"self never conflicts", []op{{"A", false, wr, 0, 10}}, op{"A", false, wr, 0, 10}, nil},
		{"self upgrade with other reader elsewhere", []op{{"A", false, rd, 0, 10}, {"B", false, rd, 20, 30}}, op{"A", false, wr, 0, 10}, nil},
		{"upgrade blocked by other reader", []op{{"A", false, rd, 0, 10}, {"B", false, rd, 5, 6}}, op{"A", false, wr, 0, 10}, unix.EAGAIN},
		{"unlock never conflicts", []op{{"A", false, wr, 0, 10}}, op{"B", false, un, 0, 10}, nil},
		{"OFD vs POSIX", []op{{"A", false, wr, 0, 10}}, op{"B", true, rd, 0, 10}, unix.EAGAIN},
		{"POSIX vs OFD", []op{{"A", true, rd, 0, 10}}, op{"B", false, wr, 0, 10}, unix.EAGAIN},
		{"OFD vs OFD", []op{{"A", true, wr, 0, 10}}, op{"B", true, wr, 0, 10}, unix.EAGAIN},
		{"OFD read vs OFD read", []op{{"A", true, rd, 0, 10}}, op{"B", true, rd, 0, 10}, nil},
		{"OFD self", []op{{"A", true, wr, 0, 10}}, op{"A", true, wr, 5, 20}, nil},
		{"same value POSIX vs OFD conflict", []op{{"A", false, wr, 0, 10}}, op{"A", true, wr, 0, 10}, unix.EAGAIN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l Locks
			m := ownerMap()
			for _, o := range tc.held {
				if err := do(&l, m, o); err != nil {
					t.Fatalf("%+v: %v", o, err)
				}
			}
			before := snapshot(&l)
			if err := do(&l, m, tc.req); err != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.want != nil && !slices.Equal(snapshot(&l), before) {
				t.Errorf("failed request changed the locks")
			}
			checkInvariants(t, &l)
		})
	}
}

func TestGetLk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		held  []op
		req   op
		want  Conflict
		start int64 // l_start and l_len of the conflict.
		len   int64
	}{
		{
			name: "nothing held",
			req:  op{"B", false, wr, 0, EOF},
			want: Conflict{Type: Unlock},
		},
		{
			name: "own lock is not reported",
			held: []op{{"B", false, wr, 0, 10}},
			req:  op{"B", false, wr, 0, 10},
			want: Conflict{Type: Unlock},
		},
		{
			name: "readers share",
			held: []op{{"A", false, rd, 0, 10}},
			req:  op{"B", false, rd, 0, 10},
			want: Conflict{Type: Unlock},
		},
		{
			name:  "write lock reported with pid",
			held:  []op{{"A", false, wr, 5, 10}},
			req:   op{"B", false, rd, 0, EOF},
			want:  Conflict{Type: wr, Range: Range{5, 10}, PID: pidOf("A")},
			start: 5, len: 5,
		},
		{
			name:  "read lock conflicts with write request",
			held:  []op{{"A", false, rd, 5, EOF}},
			req:   op{"B", false, wr, 100, 200},
			want:  Conflict{Type: rd, Range: Range{5, EOF}, PID: pidOf("A")},
			start: 5, len: 0,
		},
		{
			name:  "first conflict is the lowest",
			held:  []op{{"C", false, wr, 50, 60}, {"A", false, rd, 20, 30}, {"A", false, wr, 40, 45}},
			req:   op{"B", false, wr, 0, EOF},
			want:  Conflict{Type: rd, Range: Range{20, 30}, PID: pidOf("A")},
			start: 20, len: 10,
		},
		{
			name:  "first conflicting, skipping compatible",
			held:  []op{{"A", false, rd, 20, 30}, {"C", false, wr, 50, 60}},
			req:   op{"B", false, rd, 0, EOF},
			want:  Conflict{Type: wr, Range: Range{50, 60}, PID: pidOf("C")},
			start: 50, len: 10,
		},
		{
			name:  "OFD lock reports pid -1 to POSIX",
			held:  []op{{"A", true, wr, 0, 10}},
			req:   op{"B", false, rd, 0, 1},
			want:  Conflict{Type: wr, Range: Range{0, 10}, PID: -1},
			start: 0, len: 10,
		},
		{
			name:  "OFD GETLK sees POSIX lock with its pid",
			held:  []op{{"A", false, wr, 0, 10}},
			req:   op{"B", true, rd, 0, 1},
			want:  Conflict{Type: wr, Range: Range{0, 10}, PID: pidOf("A")},
			start: 0, len: 10,
		},
		{
			name: "OFD GETLK ignores own description",
			held: []op{{"B", true, wr, 0, 10}},
			req:  op{"B", true, wr, 0, 10},
			want: Conflict{Type: Unlock},
		},
		{
			name:  "OFD GETLK sees other description",
			held:  []op{{"A", true, rd, 0, 10}},
			req:   op{"B", true, wr, 5, 6},
			want:  Conflict{Type: rd, Range: Range{0, 10}, PID: -1},
			start: 0, len: 10,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l Locks
			m := ownerMap()
			for _, o := range tc.held {
				if err := do(&l, m, o); err != nil {
					t.Fatalf("%+v: %v", o, err)
				}
			}
			r := Range{tc.req.start, tc.req.end}
			var got Conflict
			var err error
			if tc.req.ofd {
				got, err = l.TestRangeOFD(m[tc.req.owner], tc.req.typ, r)
			} else {
				got, err = l.TestRange(m[tc.req.owner], tc.req.typ, r)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if got.Type != Unlock {
				if s, n := got.Range.ToFlock(); s != tc.start || n != tc.len {
					t.Errorf("ToFlock() = %d, %d; want %d, %d", s, n, tc.start, tc.len)
				}
			}
		})
	}
}

func TestWaiterWokenOnUnlock(t *testing.T) {
	var l Locks
	a, b := &owner{"A"}, &owner{"B"}
	if err := l.LockRange(a, 1, wr, Range{0, 10}, nil); err != nil {
		t.Fatal(err)
	}
	w := newTW()
	done := async(func() error { return l.LockRange(b, 2, wr, Range{5, 15}, w.wait) })
	w.blocked(t)
	expectPending(t, done)
	if !inGraph(b) {
		t.Error("blocked POSIX waiter not in the waits-for graph")
	}

	// Taking more locks or releasing unrelated ranges does not unblock it.
	if err := l.LockRange(a, 1, wr, Range{100, 200}, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.LockRange(a, 1, un, Range{100, 200}, nil); err != nil {
		t.Fatal(err)
	}
	w.blocked(t) // Woken, retried, blocked again.
	expectPending(t, done)

	// Unlocking part of the conflicting lock is not enough.
	if err := l.LockRange(a, 1, un, Range{0, 6}, nil); err != nil {
		t.Fatal(err)
	}
	w.blocked(t)
	expectPending(t, done)

	// Downgrading to a read lock is still a conflict for a writer.
	if err := l.LockRange(a, 1, rd, Range{6, 10}, nil); err != nil {
		t.Fatal(err)
	}
	w.blocked(t)
	expectPending(t, done)

	if err := l.LockRange(a, 1, un, Range{0, EOF}, nil); err != nil {
		t.Fatal(err)
	}
	expectDone(t, done, nil)
	if got, want := snapshot(&l), []rl{{owner: "B", typ: wr, start: 5, end: 15, pid: 2}}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if inGraph(b) {
		t.Error("waiter left in the waits-for graph")
	}
}

func TestManyReadersWokenTogether(t *testing.T) {
	var l Locks
	os := owners("W", "R1", "R2", "R3")
	if err := l.LockRange(os[0], 1, wr, Range{0, EOF}, nil); err != nil {
		t.Fatal(err)
	}
	var dones []<-chan error
	for i, o := range os[1:] {
		w := newTW()
		dones = append(dones, async(func() error { return l.LockRange(o, int32(i+2), rd, Range{0, 10}, w.wait) }))
		w.blocked(t)
	}
	for _, d := range dones {
		expectPending(t, d)
	}
	// A downgrade to a read lock lets every reader in.
	if err := l.LockRange(os[0], 1, rd, Range{0, EOF}, nil); err != nil {
		t.Fatal(err)
	}
	for _, d := range dones {
		expectDone(t, d, nil)
	}
	if n := len(snapshot(&l)); n != 4 {
		t.Errorf("got %d locks, want 4", n)
	}
}

func TestWriterWaitsForAllReaders(t *testing.T) {
	var l Locks
	os := owners("R1", "R2", "W")
	for i, o := range os[:2] {
		if err := l.LockRange(o, int32(i), rd, Range{0, 10}, nil); err != nil {
			t.Fatal(err)
		}
	}
	w := newTW()
	done := async(func() error { return l.LockRange(os[2], 9, wr, Range{0, 10}, w.wait) })
	w.blocked(t)
	l.ReleasePOSIX(os[0])
	w.blocked(t)
	expectPending(t, done)
	l.ReleasePOSIX(os[1])
	expectDone(t, done, nil)
}

func TestOFDWaiter(t *testing.T) {
	var l Locks
	p, f := &owner{"P"}, &owner{"F"}
	if err := l.LockRange(p, 1, rd, Range{0, 10}, nil); err != nil {
		t.Fatal(err)
	}
	w := newTW()
	done := async(func() error { return l.LockRangeOFD(f, wr, Range{0, 1}, w.wait) })
	w.blocked(t)
	if inGraphKey(ownerKey{owner: f, ofd: true}) || inGraph(f) {
		t.Error("OFD waiter in the waits-for graph")
	}
	// A POSIX close releases the POSIX lock and wakes the OFD waiter.
	l.ReleasePOSIX(p)
	expectDone(t, done, nil)
	if got, want := snapshot(&l), []rl{ofdLock("F", wr, 0, 1)}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestInterruptedWaitWithdraws(t *testing.T) {
	var l Locks
	a, b := &owner{"A"}, &owner{"B"}
	if err := l.LockRange(a, 1, wr, Range{0, 10}, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.LockRange(b, 2, wr, Range{10, 20}, nil); err != nil {
		t.Fatal(err)
	}
	w := newTW()
	done := async(func() error { return l.LockRange(b, 2, wr, Range{0, 10}, w.wait) })
	w.blocked(t)
	if !inGraph(b) {
		t.Fatal("B not in the waits-for graph")
	}
	close(w.intr)
	expectDone(t, done, unix.EINTR)
	if inGraph(b) {
		t.Error("interrupted waiter left in the waits-for graph")
	}
	l.mu.Lock()
	nblocked := len(l.blocked)
	l.mu.Unlock()
	if nblocked != 0 {
		t.Errorf("interrupted waiter left in blocked set (%d)", nblocked)
	}
	// B's locks are unchanged by the failed request.
	if got, want := snapshot(&l), []rl{{owner: "A", typ: wr, start: 0, end: 10, pid: 1}, {owner: "B", typ: wr, start: 10, end: 20, pid: 2}}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// A may now wait for B without a (false) EDEADLK.
	w2 := newTW()
	done2 := async(func() error { return l.LockRange(a, 1, wr, Range{10, 20}, w2.wait) })
	w2.blocked(t)
	expectPending(t, done2)
	l.ReleasePOSIX(b)
	expectDone(t, done2, nil)
	l.ReleasePOSIX(a)
	if inGraph(a) || inGraph(b) {
		t.Error("graph not empty")
	}
}

func TestInterruptedOFDWait(t *testing.T) {
	var l Locks
	f1, f2 := &owner{"F1"}, &owner{"F2"}
	if err := l.LockRangeOFD(f1, wr, Range{0, EOF}, nil); err != nil {
		t.Fatal(err)
	}
	w := newTW()
	done := async(func() error { return l.LockRangeOFD(f2, rd, Range{0, 1}, w.wait) })
	w.blocked(t)
	close(w.intr)
	expectDone(t, done, unix.EINTR)
	if got, want := snapshot(&l), []rl{ofdLock("F1", wr, 0, EOF)}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestReleasePOSIX(t *testing.T) {
	var l Locks
	a, b := &owner{"A"}, &owner{"B"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.LockRange(a, 'A', rd, Range{0, 10}, nil))
	must(l.LockRange(a, 'A', wr, Range{20, 30}, nil))
	must(l.LockRange(b, 'B', rd, Range{0, 10}, nil))
	must(l.LockRangeOFD(a, wr, Range{40, 50}, nil)) // Same value as an OFD owner.
	must(l.Flock(a, wr, nil))

	w := newTW()
	done := async(func() error { return l.LockRange(b, 'B', wr, Range{25, 26}, w.wait) })
	w.blocked(t)

	l.ReleasePOSIX(a)
	expectDone(t, done, nil)
	want := []rl{posixLock("B", rd, 0, 10), posixLock("B", wr, 25, 26), ofdLock("A", wr, 40, 50)}
	if got := snapshot(&l); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// The flock lock survives.
	if err := l.Flock(b, rd, nil); err != unix.EWOULDBLOCK {
		t.Errorf("flock after ReleasePOSIX: got %v, want EWOULDBLOCK", err)
	}
	// Releasing an owner with nothing is harmless.
	l.ReleasePOSIX(&owner{"nobody"})
	l.ReleaseFile(&owner{"nobody"})

	l.ReleaseFile(a)
	if got := snapshot(&l); !slices.Equal(got, want[:2]) {
		t.Errorf("got %v, want %v", got, want[:2])
	}
	if err := l.Flock(b, rd, nil); err != nil {
		t.Errorf("flock after ReleaseFile: %v", err)
	}
	l.ReleaseOFD(b) // B has no OFD locks.
	if got := snapshot(&l); !slices.Equal(got, want[:2]) {
		t.Errorf("got %v, want %v", got, want[:2])
	}
}

// TestMutualExclusion hammers one range with blocking write locks from many
// owners and checks that at most one holds it at a time.
func TestMutualExclusion(t *testing.T) {
	var l Locks
	const n, iters = 8, 200
	var (
		mu      sync.Mutex
		holders int
		wg      sync.WaitGroup
	)
	wait := func(ch <-chan struct{}) error { <-ch; return nil }
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			o := &owner{"T"}
			lockFn := func(typ Type) error { return l.LockRange(o, int32(i), typ, Range{0, 1}, wait) }
			if i%2 == 1 {
				lockFn = func(typ Type) error { return l.LockRangeOFD(o, typ, Range{0, 1}, wait) }
			}
			for range iters {
				if err := lockFn(wr); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				holders++
				if holders != 1 {
					errs <- unix.EBUSY
				}
				mu.Unlock()
				mu.Lock()
				holders--
				mu.Unlock()
				if err := lockFn(un); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := snapshot(&l); len(got) != 0 {
		t.Errorf("locks left: %v", got)
	}
}

// TestRandomAgainstByteModel applies random requests and compares the
// result with a byte-by-byte model. Together with checkInvariants (an
// owner's locks are maximal runs of one type, as Linux keeps them) this pins
// the split/merge result down exactly.
func TestRandomAgainstByteModel(t *testing.T) {
	const size = 48 // Byte size-1 stands for "to EOF".
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"A", "B", "C"}
	for iter := range 300 {
		var l Locks
		m := ownerMap()
		model := make(map[ownerKey]*[size]Type)
		key := func(name string, ofd bool) ownerKey { return ownerKey{owner: m[name], ofd: ofd} }
		for _, n := range names {
			for _, ofd := range []bool{false, true} {
				var a [size]Type
				for i := range a {
					a[i] = Unlock
				}
				model[key(n, ofd)] = &a
			}
		}
		for range 30 {
			o := op{owner: names[rng.IntN(3)], ofd: rng.IntN(4) == 0, typ: []Type{rd, wr, un}[rng.IntN(3)]}
			o.start = uint64(rng.IntN(size - 1))
			o.end = o.start + 1 + uint64(rng.IntN(size-1-int(o.start)))
			hi := o.end
			if rng.IntN(5) == 0 {
				o.end, hi = EOF, size
			}
			// Model: conflict?
			wantErr := error(nil)
			if o.typ != un {
				for k, a := range model {
					if k == key(o.owner, o.ofd) {
						continue
					}
					for i := o.start; i < hi; i++ {
						if a[i] == wr || (a[i] == rd && o.typ == wr) {
							wantErr = unix.EAGAIN
						}
					}
				}
			}
			if err := do(&l, m, o); err != wantErr {
				t.Fatalf("iter %d: %+v: got %v, want %v", iter, o, err, wantErr)
			}
			if wantErr == nil {
				a := model[key(o.owner, o.ofd)]
				for i := o.start; i < hi; i++ {
					a[i] = o.typ
				}
			}
			checkInvariants(t, &l)
			// Compare.
			got := make(map[ownerKey]*[size]Type)
			for k := range model {
				var a [size]Type
				for i := range a {
					a[i] = Unlock
				}
				got[k] = &a
			}
			l.mu.Lock()
			for _, lk := range l.posix {
				end := min(lk.r.End, size)
				if lk.r.End != EOF && lk.r.End >= size {
					t.Fatalf("finite lock reaches the EOF marker: %+v", lk)
				}
				for i := lk.r.Start; i < end; i++ {
					got[lk.owner][i] = lk.typ
				}
			}
			l.mu.Unlock()
			for k := range model {
				if *got[k] != *model[k] {
					t.Fatalf("iter %d after %+v: owner %v/%v:\ngot  %v\nwant %v", iter, o, k.owner, k.ofd, *got[k], *model[k])
				}
			}
		}
	}
}
