package lock

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// owner is a test lock owner; each test makes its own, so that tests cannot
// interfere through the global waits-for graph.
type owner struct{ name string }

func (o *owner) String() string { return o.name }

func owners(names ...string) []*owner {
	var os []*owner
	for _, n := range names {
		os = append(os, &owner{n})
	}
	return os
}

// rl is a record lock as seen by tests.
type rl struct {
	owner string
	ofd   bool
	typ   Type
	start uint64
	end   uint64
	pid   int32
}

func (r rl) String() string {
	kind := "posix"
	if r.ofd {
		kind = "ofd"
	}
	end := fmt.Sprint(r.end)
	if r.end == EOF {
		end = "EOF"
	}
	return fmt.Sprintf("%s/%s %v [%d,%s) pid=%d", r.owner, kind, r.typ, r.start, end, r.pid)
}

func snapshot(l *Locks) []rl {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []rl
	for _, lk := range l.posix {
		out = append(out, rl{
			owner: lk.owner.owner.(*owner).name,
			ofd:   lk.owner.ofd,
			typ:   lk.typ,
			start: lk.r.Start,
			end:   lk.r.End,
			pid:   lk.pid,
		})
	}
	return out
}

// checkInvariants verifies that the locks are sorted and that no owner's
// locks overlap or touch with the same type.
func checkInvariants(t *testing.T, l *Locks) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, a := range l.posix {
		if a.r.Start >= a.r.End {
			t.Errorf("empty lock %+v", a)
		}
		if i > 0 && l.posix[i-1].r.Start > a.r.Start {
			t.Errorf("locks not sorted at %d", i)
		}
		for _, b := range l.posix[i+1:] {
			if a.owner != b.owner {
				continue
			}
			if a.r.overlaps(b.r) {
				t.Errorf("same-owner locks overlap: %+v %+v", a, b)
			}
			if a.typ == b.typ && (a.r.End == b.r.Start || b.r.End == a.r.Start) {
				t.Errorf("same-owner same-type locks touch: %+v %+v", a, b)
			}
		}
	}
}

// tw is a test Waiter: it announces each wait on waiting and blocks until
// the channel is closed or intr is closed (then failing with EINTR).
type tw struct {
	waiting chan struct{}
	intr    chan struct{}
}

func newTW() *tw {
	return &tw{waiting: make(chan struct{}, 1000), intr: make(chan struct{})}
}

func (w *tw) wait(ch <-chan struct{}) error {
	w.waiting <- struct{}{}
	select {
	case <-ch:
		return nil
	case <-w.intr:
		return unix.EINTR
	}
}

// blocked waits until the waiter has started waiting (n more times).
func (w *tw) blocked(t *testing.T) {
	t.Helper()
	select {
	case <-w.waiting:
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for the request to block")
	}
}

func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

func expectPending(t *testing.T, ch <-chan error) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("request completed with %v, want still blocked", err)
	case <-time.After(20 * time.Millisecond):
	}
}

func expectDone(t *testing.T, ch <-chan error, want error) {
	t.Helper()
	select {
	case err := <-ch:
		if !errors.Is(err, want) && err != want {
			t.Fatalf("request got %v, want %v", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for the request to complete")
	}
}

func graphLen() int {
	graphMu.Lock()
	defer graphMu.Unlock()
	return len(graph)
}

func inGraph(o *owner) bool { return inGraphKey(ownerKey{owner: o}) }

func inGraphKey(k ownerKey) bool {
	graphMu.Lock()
	defer graphMu.Unlock()
	_, ok := graph[k]
	return ok
}

func TestRangeFromFlock(t *testing.T) {
	const max = math.MaxInt64
	for _, tc := range []struct {
		name               string
		base, start, len   int64
		want               Range
		wantErr            error
		wantStart, wantLen int64 // ToFlock of want.
	}{
		{name: "simple", start: 10, len: 5, want: Range{10, 15}, wantStart: 10, wantLen: 5},
		{name: "base", base: 100, start: 10, len: 5, want: Range{110, 115}, wantStart: 110, wantLen: 5},
		{name: "negative start with base", base: 100, start: -10, len: 5, want: Range{90, 95}, wantStart: 90, wantLen: 5},
		{name: "to EOF", start: 7, want: Range{7, EOF}, wantStart: 7, wantLen: 0},
		{name: "whole file", want: Range{0, EOF}, wantStart: 0, wantLen: 0},
		{name: "negative length", start: 10, len: -4, want: Range{6, 10}, wantStart: 6, wantLen: 4},
		{name: "negative length to zero", start: 10, len: -10, want: Range{0, 10}, wantStart: 0, wantLen: 10},
		{name: "negative length below zero", start: 10, len: -11, wantErr: unix.EINVAL},
		{name: "negative length at zero", start: 0, len: -1, wantErr: unix.EINVAL},
		{name: "min length", start: max, len: math.MinInt64, wantErr: unix.EINVAL},
		{name: "negative start", start: -1, len: 1, wantErr: unix.EINVAL},
		{name: "negative start to EOF", base: 5, start: -6, wantErr: unix.EINVAL},
		{name: "base+start overflows", base: max, start: 1, len: 1, wantErr: unix.EINVAL},
		{name: "end overflows", start: max, len: 2, wantErr: unix.EOVERFLOW},
		{name: "huge length", start: 2, len: max, wantErr: unix.EOVERFLOW},
		{name: "reaches last offset", start: 1, len: max, want: Range{1, EOF}, wantStart: 1, wantLen: 0},
		{name: "stops before last offset", start: 0, len: max, want: Range{0, max}, wantStart: 0, wantLen: max},
		{name: "last byte", start: max, len: 1, want: Range{max, EOF}, wantStart: max, wantLen: 0},
		{name: "ends before last byte", start: max - 1, len: 1, want: Range{max - 1, max}, wantStart: max - 1, wantLen: 1},
		{name: "start at max to EOF", start: max, want: Range{max, EOF}, wantStart: max, wantLen: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RangeFromFlock(tc.base, tc.start, tc.len)
			if err != tc.wantErr {
				t.Fatalf("RangeFromFlock(%d, %d, %d) = %+v, %v; want error %v", tc.base, tc.start, tc.len, got, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got != tc.want {
				t.Fatalf("RangeFromFlock(%d, %d, %d) = %+v, want %+v", tc.base, tc.start, tc.len, got, tc.want)
			}
			if s, n := got.ToFlock(); s != tc.wantStart || n != tc.wantLen {
				t.Errorf("ToFlock() = %d, %d; want %d, %d", s, n, tc.wantStart, tc.wantLen)
			}
		})
	}
}

func TestParseFlockOp(t *testing.T) {
	for _, tc := range []struct {
		op      int32
		typ     Type
		block   bool
		ignore  bool
		wantErr error
	}{
		{op: unix.LOCK_SH, typ: ReadLock, block: true},
		{op: unix.LOCK_EX, typ: WriteLock, block: true},
		{op: unix.LOCK_UN, typ: Unlock, block: true},
		{op: unix.LOCK_SH | unix.LOCK_NB, typ: ReadLock},
		{op: unix.LOCK_EX | unix.LOCK_NB, typ: WriteLock},
		{op: unix.LOCK_UN | unix.LOCK_NB, typ: Unlock},
		{op: 0, wantErr: unix.EINVAL},
		{op: unix.LOCK_NB, wantErr: unix.EINVAL},
		{op: unix.LOCK_SH | unix.LOCK_EX, wantErr: unix.EINVAL},
		{op: 16, wantErr: unix.EINVAL},
		{op: LockMand | unix.LOCK_SH, ignore: true},
		{op: -1, ignore: true},
	} {
		t.Run(fmt.Sprint(tc.op), func(t *testing.T) {
			typ, block, ignore, err := ParseFlockOp(tc.op)
			if err != tc.wantErr || ignore != tc.ignore {
				t.Fatalf("ParseFlockOp(%#x) = _, _, %v, %v; want ignore %v, error %v", tc.op, ignore, err, tc.ignore, tc.wantErr)
			}
			if err == nil && !ignore && (typ != tc.typ || block != tc.block) {
				t.Errorf("ParseFlockOp(%#x) = %v, %v; want %v, %v", tc.op, typ, block, tc.typ, tc.block)
			}
		})
	}
}

func TestTypeValues(t *testing.T) {
	// The caller converts l_type with a plain conversion.
	if ReadLock != Type(unix.F_RDLCK) || WriteLock != Type(unix.F_WRLCK) || Unlock != Type(unix.F_UNLCK) {
		t.Fatal("Type values differ from F_RDLCK/F_WRLCK/F_UNLCK")
	}
	if !slices.Equal([]string{ReadLock.String(), WriteLock.String(), Unlock.String()}, []string{"F_RDLCK", "F_WRLCK", "F_UNLCK"}) {
		t.Error("bad String")
	}
}

func TestInvalidArguments(t *testing.T) {
	var l Locks
	o := &owner{"A"}
	for _, tc := range []struct {
		name string
		f    func() error
	}{
		{"LockRange bad type", func() error { return l.LockRange(o, 1, Type(7), Range{0, 1}, nil) }},
		{"LockRange empty range", func() error { return l.LockRange(o, 1, ReadLock, Range{5, 5}, nil) }},
		{"LockRange reversed range", func() error { return l.LockRange(o, 1, Unlock, Range{6, 5}, nil) }},
		{"LockRangeOFD bad type", func() error { return l.LockRangeOFD(o, Type(-1), Range{0, 1}, nil) }},
		{"TestRange unlock", func() error { _, err := l.TestRange(o, Unlock, Range{0, 1}); return err }},
		{"TestRange empty", func() error { _, err := l.TestRange(o, ReadLock, Range{1, 1}); return err }},
		{"TestRangeOFD unlock", func() error { _, err := l.TestRangeOFD(o, Unlock, Range{0, 1}); return err }},
		{"Flock bad type", func() error { return l.Flock(o, Type(3), nil) }},
	} {
		if err := tc.f(); err != unix.EINVAL {
			t.Errorf("%s: got %v, want EINVAL", tc.name, err)
		}
	}
}
