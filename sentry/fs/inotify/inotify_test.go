package inotify

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// key is the kind of WatchTarget the lead passes.
type key struct{ dev, ino uint64 }

var (
	dir   = key{1, 10}
	file  = key{1, 11}
	sub   = key{1, 12}
	other = key{1, 13}
)

type ev struct {
	wd     int32
	mask   uint32
	cookie uint32
	name   string
}

func (e ev) String() string {
	return fmt.Sprintf("{wd %d mask %#x cookie %d %q}", e.wd, e.mask, e.cookie, e.name)
}

// decode parses packed struct inotify_event records, checking the padding.
func decode(t *testing.T, b []byte) []ev {
	t.Helper()
	var out []ev
	for len(b) > 0 {
		if len(b) < EventSize {
			t.Fatalf("%d trailing bytes", len(b))
		}
		n := int(binary.LittleEndian.Uint32(b[12:]))
		if n%EventSize != 0 || len(b) < EventSize+n {
			t.Fatalf("bad len %d", n)
		}
		name := b[EventSize : EventSize+n]
		if i := bytes.IndexByte(name, 0); n > 0 && (i < 0 || !bytes.Equal(name[i:], make([]byte, n-i))) {
			t.Fatalf("name %q not NUL padded", name)
		} else if n > 0 {
			name = name[:i]
		}
		out = append(out, ev{
			wd:     int32(binary.LittleEndian.Uint32(b[0:])),
			mask:   binary.LittleEndian.Uint32(b[4:]),
			cookie: binary.LittleEndian.Uint32(b[8:]),
			name:   string(name),
		})
		b = b[EventSize+n:]
	}
	return out
}

// readAll drains the instance with a large buffer.
func readAll(t *testing.T, in *Instance) []ev {
	t.Helper()
	var out []ev
	for {
		buf := make([]byte, 1<<16)
		n, err := in.ReadAt(buf, 0)
		if err == unix.EAGAIN {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, decode(t, buf[:n])...)
	}
}

func wantEvents(t *testing.T, in *Instance, want ...ev) {
	t.Helper()
	got := readAll(t, in)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events:\n got  %v\n want %v", got, want)
	}
}

func addWatch(t *testing.T, in *Instance, target WatchTarget, mask uint32) int32 {
	t.Helper()
	wd, err := in.AddWatch(target, mask)
	if err != nil {
		t.Fatalf("AddWatch(%v, %#x) = %v", target, mask, err)
	}
	return wd
}

func TestInterfaces(t *testing.T) {
	in := New(NewRegistry())
	var _ vfs.FileImpl = in
	var _ vfs.Streamer = in
	var _ vfs.Ioctler = in
	var _ waiter.Waitable = in
	st, err := in.Stat()
	if err != nil || st.Mode != 0o600 || st.Ino == 0 {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	if _, err := in.WriteAt(make([]byte, 16), 0); err != unix.EINVAL {
		t.Fatalf("write = %v", err)
	}
	if _, err := in.ReadAt(make([]byte, 4096), 0); err != unix.EAGAIN {
		t.Fatalf("empty read = %v", err)
	}
	if in.Readiness(waiter.EventIn|waiter.EventOut) != 0 {
		t.Fatal("empty instance ready")
	}
}

func TestEncodingByteExact(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	wd := addWatch(t, in, dir, unix.IN_ALL_EVENTS)
	if wd != 1 {
		t.Fatalf("first wd = %d, want 1", wd)
	}
	r.Notify(dir, unix.IN_CREATE, 0, "abc", false)
	r.Notify(dir, unix.IN_MOVED_FROM, 0x01020304, "0123456789abcde", true) // 15: one block
	r.Notify(dir, unix.IN_DELETE_SELF, 0, "", false)
	r.Notify(dir, unix.IN_MOVED_TO, 7, "0123456789abcdef", false) // 16: two blocks
	want := []byte{
		1, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0,
		'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		1, 0, 0, 0, 0x40, 0, 0, 0x40, 4, 3, 2, 1, 16, 0, 0, 0,
		'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 0,
		1, 0, 0, 0, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		1, 0, 0, 0, 0x80, 0, 0, 0, 7, 0, 0, 0, 32, 0, 0, 0,
		'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	}
	var fionread [4]byte
	io := fakeIO{out: func(b []byte) { copy(fionread[:], b) }}
	if _, err := in.Ioctl(io, unix.TIOCINQ, 0x1000); err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(fionread[:]); got != uint32(len(want)) {
		t.Fatalf("FIONREAD = %d, want %d", got, len(want))
	}
	buf := bytes.Repeat([]byte{0xff}, 256)
	n, err := in.ReadAt(buf, 0)
	if err != nil || !bytes.Equal(buf[:n], want) {
		t.Fatalf("read = %d, %v\n got  %x\n want %x", n, err, buf[:n], want)
	}
}

// The same operations on the host's inotify and through the Registry give
// the same bytes.
func TestEncodingMatchesHost(t *testing.T) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("host inotify: %v", err)
	}
	defer unix.Close(fd)
	tmp := t.TempDir()
	if _, err := unix.InotifyAddWatch(fd, tmp, unix.IN_ALL_EVENTS); err != nil {
		t.Skipf("host inotify_add_watch: %v", err)
	}
	names := []string{"a", "0123456789abcde", "0123456789abcdef"}
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(tmp, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(tmp, "d")); err != nil {
		t.Fatal(err)
	}
	host := make([]byte, 4096)
	n, err := unix.Read(fd, host)
	if err != nil {
		t.Fatal(err)
	}
	host = host[:n]

	r := NewRegistry()
	in := New(r)
	addWatch(t, in, dir, unix.IN_ALL_EVENTS)
	for i, name := range names {
		f := key{1, uint64(100 + i)}
		// open(O_CREAT|O_WRONLY|O_TRUNC), write, close.
		r.Notify(dir, unix.IN_CREATE, 0, name, false)
		r.NotifyFile(dir, f, name, unix.IN_OPEN, false)
		r.NotifyFile(dir, f, name, unix.IN_MODIFY, false)
		r.NotifyFile(dir, f, name, unix.IN_CLOSE_WRITE, false)
	}
	r.Notify(dir, unix.IN_CREATE, 0, "d", true)
	r.Notify(dir, unix.IN_DELETE, 0, "d", true)
	ours := make([]byte, 4096)
	n, err = in.ReadAt(ours, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours = ours[:n]
	if !bytes.Equal(host, ours) {
		t.Fatalf("host and sentry differ:\n host %v\n ours %v", decode(t, host), decode(t, ours))
	}
}

func TestReadBufferSizes(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	addWatch(t, in, dir, unix.IN_CREATE)
	r.Notify(dir, unix.IN_CREATE, 0, "x", false)                // 32 bytes
	r.Notify(dir, unix.IN_CREATE, 0, "0123456789abcdef", false) // 48 bytes
	r.Notify(dir, unix.IN_CREATE, 0, "y", false)                // 32 bytes
	for _, size := range []int{0, 1, 16, 31} {
		if _, err := in.ReadAt(make([]byte, size), 0); err != unix.EINVAL {
			t.Fatalf("read(%d) = %v, want EINVAL", size, err)
		}
	}
	// A buffer for the first and part of the second returns the first.
	buf := make([]byte, 79)
	n, err := in.ReadAt(buf, 0)
	if err != nil || n != 32 {
		t.Fatalf("read = %d, %v", n, err)
	}
	if _, err := in.ReadAt(make([]byte, 47), 0); err != unix.EINVAL {
		t.Fatalf("read(47) = %v, want EINVAL", err)
	}
	n, err = in.ReadAt(make([]byte, 80), 0)
	if err != nil || n != 80 {
		t.Fatalf("read = %d, %v", n, err)
	}
	if _, err := in.ReadAt(make([]byte, 80), 0); err != unix.EAGAIN {
		t.Fatalf("read = %v, want EAGAIN", err)
	}
}

func TestCoalesce(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	wd := addWatch(t, in, dir, unix.IN_ALL_EVENTS)
	for range 5 {
		r.NotifyFile(dir, file, "f", unix.IN_MODIFY, false)
	}
	r.NotifyFile(dir, file, "g", unix.IN_MODIFY, false)
	r.NotifyFile(dir, file, "f", unix.IN_MODIFY, false)
	r.NotifyFile(dir, file, "f", unix.IN_ACCESS, false)
	r.NotifyFile(dir, file, "f", unix.IN_ACCESS, true)
	// Different cookies are never merged.
	r.Notify(dir, unix.IN_MOVED_FROM, 1, "m", false)
	r.Notify(dir, unix.IN_MOVED_FROM, 2, "m", false)
	r.Notify(dir, unix.IN_MOVED_FROM, 2, "m", false)
	wantEvents(t, in,
		ev{wd, unix.IN_MODIFY, 0, "f"},
		ev{wd, unix.IN_MODIFY, 0, "g"},
		ev{wd, unix.IN_MODIFY, 0, "f"},
		ev{wd, unix.IN_ACCESS, 0, "f"},
		ev{wd, unix.IN_ACCESS | unix.IN_ISDIR, 0, "f"},
		ev{wd, unix.IN_MOVED_FROM, 1, "m"},
		ev{wd, unix.IN_MOVED_FROM, 2, "m"},
	)
	// Nothing merges into an event already read.
	r.NotifyFile(dir, file, "f", unix.IN_MODIFY, false)
	r.NotifyFile(dir, file, "f", unix.IN_MODIFY, false)
	wantEvents(t, in, ev{wd, unix.IN_MODIFY, 0, "f"})
}

func TestOverflow(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	wd := addWatch(t, in, dir, unix.IN_CREATE)
	for i := range MaxQueuedEvents + 10 {
		r.Notify(dir, unix.IN_CREATE, 0, fmt.Sprint(i), false)
	}
	got := readAll(t, in)
	if len(got) != MaxQueuedEvents+1 {
		t.Fatalf("%d events, want %d", len(got), MaxQueuedEvents+1)
	}
	for i, e := range got[:MaxQueuedEvents] {
		if e != (ev{wd, unix.IN_CREATE, 0, fmt.Sprint(i)}) {
			t.Fatalf("event %d = %v", i, e)
		}
	}
	if last := got[MaxQueuedEvents]; last != (ev{-1, unix.IN_Q_OVERFLOW, 0, ""}) {
		t.Fatalf("last event = %v", last)
	}

	// Fill again and read two events: the queue (which counts the
	// overflow event, as Linux's q_len does) has room for one more after
	// the overflow; no second overflow while the first is queued.
	for i := range MaxQueuedEvents + 1 {
		r.Notify(dir, unix.IN_CREATE, 0, fmt.Sprint(i), false)
	}
	if _, err := in.ReadAt(make([]byte, 64), 0); err != nil { // two events
		t.Fatal(err)
	}
	r.Notify(dir, unix.IN_CREATE, 0, "after", false)
	r.Notify(dir, unix.IN_CREATE, 0, "dropped", false)
	got = readAll(t, in)
	tail := got[len(got)-3:]
	want := []ev{{wd, unix.IN_CREATE, 0, fmt.Sprint(MaxQueuedEvents - 1)}, {-1, unix.IN_Q_OVERFLOW, 0, ""}, {wd, unix.IN_CREATE, 0, "after"}}
	if fmt.Sprint(tail) != fmt.Sprint(want) {
		t.Fatalf("tail = %v, want %v", tail, want)
	}
	// IN_IGNORED overflows too.
	for i := range MaxQueuedEvents {
		r.Notify(dir, unix.IN_CREATE, 0, fmt.Sprint(i), false)
	}
	if err := in.RmWatch(wd); err != nil {
		t.Fatal(err)
	}
	got = readAll(t, in)
	if last := got[len(got)-1]; len(got) != MaxQueuedEvents+1 || last != (ev{-1, unix.IN_Q_OVERFLOW, 0, ""}) {
		t.Fatalf("%d events, last %v", len(got), last)
	}
}

func TestAddWatchMasks(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	for _, mask := range []uint32{0, 0x800000, unix.IN_MASK_ADD | unix.IN_MASK_CREATE | unix.IN_CREATE} {
		if _, err := in.AddWatch(dir, mask); err != unix.EINVAL {
			t.Errorf("AddWatch(%#x) = %v, want EINVAL", mask, err)
		}
	}
	if CheckMask(0) != unix.EINVAL || CheckMask(1<<23) != unix.EINVAL || CheckMask(unix.IN_ONLYDIR) != nil {
		t.Error("CheckMask")
	}
	wd := addWatch(t, in, dir, unix.IN_CREATE)
	// Same target: same wd, mask replaced.
	if w2 := addWatch(t, in, dir, unix.IN_DELETE); w2 != wd {
		t.Fatalf("second AddWatch = %d, want %d", w2, wd)
	}
	r.Notify(dir, unix.IN_CREATE, 0, "a", false)
	r.Notify(dir, unix.IN_DELETE, 0, "b", false)
	wantEvents(t, in, ev{wd, unix.IN_DELETE, 0, "b"})
	// IN_MASK_ADD ORs.
	if w2 := addWatch(t, in, dir, unix.IN_CREATE|unix.IN_MASK_ADD); w2 != wd {
		t.Fatalf("IN_MASK_ADD wd = %d", w2)
	}
	r.Notify(dir, unix.IN_CREATE, 0, "a", false)
	r.Notify(dir, unix.IN_DELETE, 0, "b", false)
	wantEvents(t, in, ev{wd, unix.IN_CREATE, 0, "a"}, ev{wd, unix.IN_DELETE, 0, "b"})
	// IN_MASK_CREATE on a watched target.
	if _, err := in.AddWatch(dir, unix.IN_CREATE|unix.IN_MASK_CREATE); err != unix.EEXIST {
		t.Fatalf("IN_MASK_CREATE = %v, want EEXIST", err)
	}
	if w := addWatch(t, in, file, unix.IN_MODIFY|unix.IN_MASK_CREATE); w != wd+1 {
		t.Fatalf("new wd = %d, want %d", w, wd+1)
	}
	// A mask of flags only is a watch with no events.
	w3 := addWatch(t, in, sub, unix.IN_ONLYDIR|unix.IN_DONT_FOLLOW)
	r.NotifyFile(nil, sub, "", unix.IN_ALL_EVENTS, true)
	wantEvents(t, in)
	// But it still gets IN_UNMOUNT.
	r.Unmounted(sub)
	wantEvents(t, in, ev{w3, unix.IN_UNMOUNT, 0, ""}, ev{w3, unix.IN_IGNORED, 0, ""})
}

func TestWDAllocation(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	w1 := addWatch(t, in, key{2, 1}, unix.IN_CREATE)
	w2 := addWatch(t, in, key{2, 2}, unix.IN_CREATE)
	if err := in.RmWatch(w1); err != nil {
		t.Fatal(err)
	}
	// Cyclic: a freed wd is not reused at once.
	if w3 := addWatch(t, in, key{2, 3}, unix.IN_CREATE); w1 != 1 || w2 != 2 || w3 != 3 {
		t.Fatalf("wds %d %d %d", w1, w2, w3)
	}
	// INOTIFY_IOC_SETNEXTWD.
	if _, err := in.Ioctl(fakeIO{}, IocSetNextWD, 0); err != unix.EINVAL {
		t.Fatalf("SETNEXTWD 0 = %v", err)
	}
	if _, err := in.Ioctl(fakeIO{}, IocSetNextWD, 1<<31); err != unix.EINVAL {
		t.Fatalf("SETNEXTWD 2^31 = %v", err)
	}
	if _, err := in.Ioctl(fakeIO{}, IocSetNextWD, 1); err != nil {
		t.Fatal(err)
	}
	if w := addWatch(t, in, key{2, 4}, unix.IN_CREATE); w != 1 {
		t.Fatalf("wd after SETNEXTWD 1 = %d", w)
	}
	if w := addWatch(t, in, key{2, 5}, unix.IN_CREATE); w != 4 {
		t.Fatalf("wd = %d, want 4 (2 and 3 in use)", w)
	}
	if _, err := in.Ioctl(fakeIO{}, IocSetNextWD, 1<<31-1); err != nil {
		t.Fatal(err)
	}
	if w := addWatch(t, in, key{2, 6}, unix.IN_CREATE); w != 1<<31-1 {
		t.Fatalf("wd = %d", w)
	}
	if w := addWatch(t, in, key{2, 7}, unix.IN_CREATE); w != 5 {
		t.Fatalf("wd after wrap = %d, want 5", w)
	}
	if _, err := in.Ioctl(fakeIO{}, unix.TCGETS, 0); err != unix.ENOTTY {
		t.Fatalf("TCGETS = %v", err)
	}
}

func TestRmWatch(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	if err := in.RmWatch(1); err != unix.EINVAL {
		t.Fatalf("RmWatch(unknown) = %v", err)
	}
	wd := addWatch(t, in, dir, unix.IN_ALL_EVENTS)
	r.Notify(dir, unix.IN_CREATE, 0, "a", false)
	if err := in.RmWatch(wd); err != nil {
		t.Fatal(err)
	}
	if err := in.RmWatch(wd); err != unix.EINVAL {
		t.Fatalf("second RmWatch = %v", err)
	}
	r.Notify(dir, unix.IN_CREATE, 0, "b", false)
	wantEvents(t, in, ev{wd, unix.IN_CREATE, 0, "a"}, ev{wd, unix.IN_IGNORED, 0, ""})
	if r.nwatches.Load() != 0 || len(r.targets) != 0 {
		t.Fatalf("registry keeps %d watches", r.nwatches.Load())
	}
	// IN_IGNORED is never merged.
	w2 := addWatch(t, in, dir, unix.IN_ALL_EVENTS)
	in.RmWatch(w2)
	w3 := addWatch(t, in, dir, unix.IN_ALL_EVENTS)
	if w3 == w2 {
		t.Fatal("wd reused at once")
	}
	wantEvents(t, in, ev{w2, unix.IN_IGNORED, 0, ""})
}

func TestOneShot(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	wd := addWatch(t, in, dir, unix.IN_CREATE|unix.IN_ONESHOT)
	r.Notify(dir, unix.IN_DELETE, 0, "nope", false) // not asked for: no effect
	r.Notify(dir, unix.IN_CREATE, 0, "a", false)
	r.Notify(dir, unix.IN_CREATE, 0, "b", false)
	wantEvents(t, in, ev{wd, unix.IN_CREATE, 0, "a"}, ev{wd, unix.IN_IGNORED, 0, ""})
	if err := in.RmWatch(wd); err != unix.EINVAL {
		t.Fatalf("RmWatch after oneshot = %v", err)
	}
	// Replacing the mask drops IN_ONESHOT; IN_MASK_ADD keeps it.
	wd = addWatch(t, in, dir, unix.IN_CREATE|unix.IN_ONESHOT)
	addWatch(t, in, dir, unix.IN_CREATE)
	r.Notify(dir, unix.IN_CREATE, 0, "a", false)
	r.Notify(dir, unix.IN_CREATE, 0, "b", false)
	wantEvents(t, in, ev{wd, unix.IN_CREATE, 0, "a"}, ev{wd, unix.IN_CREATE, 0, "b"})
	addWatch(t, in, dir, unix.IN_DELETE|unix.IN_ONESHOT|unix.IN_MASK_ADD)
	r.Notify(dir, unix.IN_CREATE, 0, "c", false)
	r.Notify(dir, unix.IN_CREATE, 0, "d", false)
	wantEvents(t, in, ev{wd, unix.IN_CREATE, 0, "c"}, ev{wd, unix.IN_IGNORED, 0, ""})
}

func TestFanOut(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	wdDir := addWatch(t, in, dir, unix.IN_ALL_EVENTS)
	wdFile := addWatch(t, in, file, unix.IN_MODIFY|unix.IN_ATTRIB|unix.IN_DELETE_SELF)
	r.NotifyFile(dir, file, "f", unix.IN_MODIFY, false)
	r.NotifyFile(dir, file, "f", unix.IN_OPEN, false) // the file's watch did not ask
	r.NotifyFile(nil, file, "", unix.IN_ATTRIB, false)
	// A subdirectory: IN_ISDIR on both halves.
	wdSub := addWatch(t, in, sub, unix.IN_OPEN)
	r.NotifyFile(dir, sub, "s", unix.IN_OPEN, true)
	wantEvents(t, in,
		ev{wdDir, unix.IN_MODIFY, 0, "f"},
		ev{wdFile, unix.IN_MODIFY, 0, ""},
		ev{wdDir, unix.IN_OPEN, 0, "f"},
		ev{wdFile, unix.IN_ATTRIB, 0, ""},
		ev{wdDir, unix.IN_OPEN | unix.IN_ISDIR, 0, "s"},
		ev{wdSub, unix.IN_OPEN | unix.IN_ISDIR, 0, ""},
	)
	// Events on a target nobody watches, and nil targets.
	r.NotifyFile(other, key{9, 9}, "x", unix.IN_MODIFY, false)
	r.Notify(nil, unix.IN_MODIFY, 0, "", false)
	wantEvents(t, in)
}

func TestExclUnlink(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	wdDir := addWatch(t, in, dir, unix.IN_MODIFY|unix.IN_EXCL_UNLINK)
	wdFile := addWatch(t, in, file, unix.IN_MODIFY)
	r.NotifyUnlinked(dir, file, "f", unix.IN_MODIFY, false)
	wantEvents(t, in, ev{wdFile, unix.IN_MODIFY, 0, ""})
	// The flag applies to a watch on the file itself too.
	addWatch(t, in, file, unix.IN_MODIFY|unix.IN_EXCL_UNLINK)
	addWatch(t, in, dir, unix.IN_MODIFY)
	r.NotifyUnlinked(dir, file, "f", unix.IN_MODIFY, false)
	wantEvents(t, in, ev{wdDir, unix.IN_MODIFY, 0, "f"})
	r.NotifyFile(dir, file, "f", unix.IN_MODIFY, false)
	wantEvents(t, in, ev{wdDir, unix.IN_MODIFY, 0, "f"}, ev{wdFile, unix.IN_MODIFY, 0, ""})
}

func TestRenameAndTargetGone(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	wdDir := addWatch(t, in, dir, unix.IN_ALL_EVENTS)
	wdSub := addWatch(t, in, sub, unix.IN_ALL_EVENTS)
	wdFile := addWatch(t, in, file, unix.IN_ALL_EVENTS)
	wdOther := addWatch(t, in, other, unix.IN_ALL_EVENTS)
	// Move dir/f to sub/g, replacing other.
	r.NotifyRename(dir, sub, file, other, "f", "g", false)
	got := readAll(t, in)
	if len(got) != 4 || got[0].cookie == 0 || got[0].cookie != got[1].cookie {
		t.Fatalf("rename events %v", got)
	}
	c := got[0].cookie
	want := []ev{
		{wdDir, unix.IN_MOVED_FROM, c, "f"},
		{wdSub, unix.IN_MOVED_TO, c, "g"},
		{wdOther, unix.IN_ATTRIB, 0, ""},
		{wdFile, unix.IN_MOVE_SELF, 0, ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events:\n got  %v\n want %v", got, want)
	}
	r.TargetGone(other)
	wantEvents(t, in, ev{wdOther, unix.IN_DELETE_SELF, 0, ""}, ev{wdOther, unix.IN_IGNORED, 0, ""})
	// A directory: IN_ISDIR on the pair but not on IN_MOVE_SELF; fresh
	// cookies.
	r.NotifyRename(dir, dir, sub, nil, "s", "t", true)
	got = readAll(t, in)
	if len(got) != 3 || got[0].cookie == c || got[0].cookie != got[1].cookie {
		t.Fatalf("rename events %v", got)
	}
	c = got[0].cookie
	want = []ev{
		{wdDir, unix.IN_MOVED_FROM | unix.IN_ISDIR, c, "s"},
		{wdDir, unix.IN_MOVED_TO | unix.IN_ISDIR, c, "t"},
		{wdSub, unix.IN_MOVE_SELF, 0, ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events:\n got  %v\n want %v", got, want)
	}
	// A watch without IN_DELETE_SELF still gets IN_IGNORED; no IN_ISDIR.
	addWatch(t, in, sub, unix.IN_CREATE)
	r.TargetGone(sub)
	wantEvents(t, in, ev{wdSub, unix.IN_IGNORED, 0, ""})
	r.Notify(sub, unix.IN_CREATE, 0, "x", false)
	wantEvents(t, in)
	if err := in.RmWatch(wdSub); err != unix.EINVAL {
		t.Fatalf("RmWatch after TargetGone = %v", err)
	}
}

func TestMultipleInstances(t *testing.T) {
	r := NewRegistry()
	a, b := New(r), New(r)
	wa := addWatch(t, a, dir, unix.IN_CREATE)
	wb := addWatch(t, b, dir, unix.IN_CREATE|unix.IN_DELETE)
	wb2 := addWatch(t, b, file, unix.IN_ATTRIB)
	if wa != 1 || wb != 1 || wb2 != 2 {
		t.Fatalf("wds %d %d %d", wa, wb, wb2)
	}
	r.Notify(dir, unix.IN_CREATE, 0, "x", false)
	r.Notify(dir, unix.IN_DELETE, 0, "x", false)
	r.NotifyFile(dir, file, "f", unix.IN_ATTRIB, false)
	wantEvents(t, a, ev{wa, unix.IN_CREATE, 0, "x"})
	wantEvents(t, b, ev{wb, unix.IN_CREATE, 0, "x"}, ev{wb, unix.IN_DELETE, 0, "x"}, ev{wb2, unix.IN_ATTRIB, 0, ""})
	// Removing a's watch leaves b's.
	a.RmWatch(wa)
	r.Notify(dir, unix.IN_CREATE, 0, "y", false)
	wantEvents(t, a, ev{wa, unix.IN_IGNORED, 0, ""})
	wantEvents(t, b, ev{wb, unix.IN_CREATE, 0, "y"})
	// Closing b unregisters its watches, without events.
	r.Notify(dir, unix.IN_CREATE, 0, "z", false)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if r.nwatches.Load() != 0 || len(r.targets) != 0 {
		t.Fatalf("registry keeps %d watches after close", r.nwatches.Load())
	}
	r.Notify(dir, unix.IN_CREATE, 0, "z", false)
	if _, err := b.ReadAt(make([]byte, 64), 0); err != unix.EAGAIN {
		t.Fatalf("read after close = %v", err)
	}
	if _, err := b.AddWatch(dir, unix.IN_CREATE); err != unix.EBADF {
		t.Fatalf("AddWatch after close = %v", err)
	}
}

func TestReadinessAndWakeups(t *testing.T) {
	r := NewRegistry()
	in := New(r)
	ch := waiter.NewChannel()
	in.EventRegister(ch, waiter.EventIn)
	defer in.EventUnregister(ch)
	wd := addWatch(t, in, dir, unix.IN_CREATE)
	r.Notify(dir, unix.IN_DELETE, 0, "x", false)
	select {
	case <-ch:
		t.Fatal("woken for an unwatched event")
	default:
	}
	r.Notify(dir, unix.IN_CREATE, 0, "x", false)
	select {
	case <-ch:
	default:
		t.Fatal("not woken")
	}
	if in.Readiness(waiter.EventIn|waiter.EventOut) != waiter.EventIn {
		t.Fatal("not readable")
	}
	readAll(t, in)
	if in.Readiness(waiter.EventIn) != 0 {
		t.Fatal("readable when empty")
	}
	in.RmWatch(wd)
	select {
	case <-ch:
	default:
		t.Fatal("not woken for IN_IGNORED")
	}
}

func TestNewCookie(t *testing.T) {
	r := NewRegistry()
	if a, b := r.NewCookie(), r.NewCookie(); a == 0 || b == a {
		t.Fatalf("cookies %d %d", a, b)
	}
	r.cookie.Store(^uint32(0))
	if c := r.NewCookie(); c != 1 {
		t.Fatalf("cookie after wrap = %d", c)
	}
}

// Concurrent watchers, notifiers, readers and closers under -race, with
// AddWatch and Notify racing (the lock order).
func TestConcurrent(t *testing.T) {
	r := NewRegistry()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				in := New(r)
				wd, _ := in.AddWatch(dir, unix.IN_ALL_EVENTS|unix.IN_ONESHOT)
				in.AddWatch(file, unix.IN_ALL_EVENTS)
				in.ReadAt(make([]byte, 4096), 0)
				in.Readiness(waiter.EventIn)
				if i%2 == 0 {
					in.RmWatch(wd)
				}
				in.Close()
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				r.NotifyFile(dir, file, "f", unix.IN_MODIFY, false)
				r.NotifyRename(dir, dir, file, nil, "f", "g", false)
			}
			r.TargetGone(file)
		}()
	}
	wg.Wait()
	if r.nwatches.Load() != 0 {
		t.Fatalf("%d watches left", r.nwatches.Load())
	}
}

type fakeIO struct {
	out func([]byte)
}

func (fakeIO) CopyIn(uint64, []byte) (int, error) { return 0, unix.EFAULT }

func (io fakeIO) CopyOut(_ uint64, src []byte) (int, error) {
	if io.out == nil {
		return 0, unix.EFAULT
	}
	io.out(src)
	return len(src), nil
}

func TestFionreadFault(t *testing.T) {
	in := New(NewRegistry())
	if _, err := in.Ioctl(fakeIO{}, unix.TIOCINQ, 0); err != unix.EFAULT {
		t.Fatalf("FIONREAD to bad address = %v", err)
	}
}
