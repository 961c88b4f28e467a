package devpts

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

func TestLockUnlockAndIndexes(t *testing.T) {
	fs := New()
	m0 := openMaster(t, fs)
	m := newMem()
	if _, err := m0.Ioctl(m, unix.TIOCGPTN, 0); err != nil || intAt(m, 0) != 0 {
		t.Fatalf("TIOCGPTN = %d, %v", intAt(m, 0), err)
	}
	if _, err := m0.Ioctl(m, unix.TIOCGPTLCK, 0); err != nil || intAt(m, 0) != 1 {
		t.Fatalf("TIOCGPTLCK = %d, %v; want locked", intAt(m, 0), err)
	}
	if _, err := openReplica(t, fs, 0); err != unix.EIO {
		t.Fatalf("open locked replica: %v, want EIO", err)
	}
	putInt(m, 0, 0)
	if _, err := m0.Ioctl(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := m0.Ioctl(m, unix.TIOCGPTLCK, 4); err != nil || intAt(m, 4) != 0 {
		t.Fatalf("TIOCGPTLCK after unlock = %d, %v", intAt(m, 4), err)
	}
	r0, err := openReplica(t, fs, 0)
	if err != nil {
		t.Fatalf("open unlocked replica: %v", err)
	}
	// Locking again forbids further opens.
	putInt(m, 0, 1)
	_, _ = m0.Ioctl(m, unix.TIOCSPTLCK, 0)
	if _, err := openReplica(t, fs, 0); err != unix.EIO {
		t.Fatalf("open relocked replica: %v, want EIO", err)
	}
	if _, err := r0.Ioctl(m, unix.TIOCGPTN, 0); err != unix.ENOTTY {
		t.Fatalf("TIOCGPTN on replica: %v, want ENOTTY", err)
	}
	if _, err := m0.Ioctl(m, unix.TIOCSPTLCK, badAddr); err != unix.EFAULT {
		t.Fatalf("TIOCSPTLCK bad address: %v", err)
	}

	m1 := openMaster(t, fs)
	if m1.TTY().Index() != 1 {
		t.Fatalf("second index = %d", m1.TTY().Index())
	}
	// The master closes while its replica is open: the node goes, the
	// index stays taken.
	_ = m0.Close()
	if _, err := fs.Root().Lookup("0"); err != unix.ENOENT {
		t.Fatalf("lookup of closed pty: %v", err)
	}
	m2 := openMaster(t, fs)
	if m2.TTY().Index() != 2 {
		t.Fatalf("index with 0 still referenced = %d, want 2", m2.TTY().Index())
	}
	_ = r0.Close()
	m3 := openMaster(t, fs)
	if m3.TTY().Index() != 0 {
		t.Fatalf("reused index = %d, want 0", m3.TTY().Index())
	}
	_ = m1.Close()
	m4 := openMaster(t, fs)
	if m4.TTY().Index() != 1 {
		t.Fatalf("reused index = %d, want 1", m4.TTY().Index())
	}
	for _, f := range []*File{m2, m3, m4} {
		_ = f.Close()
	}
	// Double close is harmless.
	_ = m4.Close()
	if n := len(fs.used); n != 0 {
		t.Fatalf("%d indexes still used", n)
	}
}

func TestExhaustion(t *testing.T) {
	fs := New()
	var ms []*File
	for range maxPTYs {
		ms = append(ms, openMaster(t, fs))
	}
	if _, err := fs.OpenMaster(unix.O_RDWR); err != unix.ENOSPC {
		t.Fatalf("OpenMaster when full: %v, want ENOSPC", err)
	}
	_ = ms[7].Close()
	if f := openMaster(t, fs); f.TTY().Index() != 7 {
		t.Fatalf("index after freeing 7 = %d", f.TTY().Index())
	}
}

func TestDirectory(t *testing.T) {
	fs := New()
	root := fs.Root()
	st, _ := root.Stat()
	if st.Mode != unix.S_IFDIR|0o755 {
		t.Fatalf("root mode %o", st.Mode)
	}
	m0, m1 := openMaster(t, fs), openMaster(t, fs)
	m1.TTY().SetOwner(1000, 1001)
	f, err := root.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Open(unix.O_RDWR); err != unix.EISDIR {
		t.Fatalf("open dir for write: %v", err)
	}
	dr := f.(vfs.DirReader)
	ents, err := dr.Readdir(0, 4096)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name)
	}
	if want := []string{".", "..", "ptmx", "0", "1"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("readdir = %v, want %v", names, want)
	}
	// Resume after "0".
	rest, _ := dr.Readdir(ents[3].Off, 4096)
	if len(rest) != 1 || rest[0].Name != "1" || rest[0].Type != unix.DT_CHR {
		t.Fatalf("readdir from cookie = %+v", rest)
	}
	ptmx, err := root.Lookup("ptmx")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := ptmx.Stat(); st.Mode != unix.S_IFCHR|0o666 || st.Rdev != unix.Mkdev(5, 2) {
		t.Fatalf("ptmx stat mode %o rdev %x", st.Mode, st.Rdev)
	}
	n0, _ := root.Lookup("0")
	st0, _ := n0.Stat()
	if st0.Mode != unix.S_IFCHR|0o620 || st0.Rdev != unix.Mkdev(136, 0) || st0.Uid != 0 || st0.Gid != 5 {
		t.Fatalf("pts/0 stat %+v", st0)
	}
	n1, _ := root.Lookup("1")
	st1, _ := n1.Stat()
	if st1.Uid != 1000 || st1.Gid != 1001 || st1.Rdev != unix.Mkdev(136, 1) {
		t.Fatalf("pts/1 owner %d:%d rdev %x", st1.Uid, st1.Gid, st1.Rdev)
	}
	for _, bad := range []string{"2", "01", "-1", "x", "+1"} {
		if _, err := root.Lookup(bad); err != unix.ENOENT {
			t.Fatalf("lookup %q: %v", bad, err)
		}
	}
	// Opening ptmx through the directory allocates a pty.
	impl, err := ptmx.Open(unix.O_RDWR)
	if err != nil || impl.(*File).TTY().Index() != 2 || !impl.(*File).IsMaster() {
		t.Fatalf("open ptmx: %v", err)
	}
	if st, _ := impl.Stat(); st.Rdev != unix.Mkdev(5, 2) {
		t.Fatal("master stat is not ptmx")
	}
	if m1.TTY().Name() != "pts/1" || m1.TTY().Rdev() != unix.Mkdev(136, 1) {
		t.Fatal("Name/Rdev")
	}
	_ = m0
}

func TestDefaultTermios(t *testing.T) {
	p := newPair(t)
	tm := p.termios(t)
	want := DefaultTermios()
	if tm != want {
		t.Fatalf("termios %+v, want %+v", tm, want)
	}
	if tm.Iflag != unix.ICRNL|unix.IXON || tm.Oflag != unix.OPOST|unix.ONLCR ||
		tm.Lflag != unix.ISIG|unix.ICANON|unix.ECHO|unix.ECHOE|unix.ECHOK|unix.ECHOCTL|unix.ECHOKE|unix.IEXTEN {
		t.Fatalf("flags %+v", tm)
	}
	if tm.CC[unix.VINTR] != 3 || tm.CC[unix.VQUIT] != 034 || tm.CC[unix.VERASE] != 0177 ||
		tm.CC[unix.VKILL] != 025 || tm.CC[unix.VEOF] != 4 || tm.CC[unix.VMIN] != 1 ||
		tm.CC[unix.VSTART] != 021 || tm.CC[unix.VSTOP] != 023 || tm.CC[unix.VSUSP] != 032 ||
		tm.CC[unix.VWERASE] != 027 || tm.CC[unix.VLNEXT] != 026 {
		t.Fatalf("cc %v", tm.CC)
	}
	// The master sees the same termios, and its TCSETS changes it.
	if _, err := p.master.Ioctl(p.m, unix.TCGETS2, 0); err != nil {
		t.Fatal(err)
	}
	if DecodeTermios(p.m.b) != want || intAt(p.m, 36) != 38400 || intAt(p.m, 40) != 38400 {
		t.Fatal("TCGETS2 on master")
	}
	tm.Lflag &^= unix.ECHO
	tm.Cflag = tm.Cflag&^unix.CBAUD | unix.B9600
	copy(p.m.b, tm.Encode())
	if _, err := p.master.Ioctl(p.m, unix.TCSETSW, 0); err != nil {
		t.Fatal(err)
	}
	if got := p.termios(t); got != tm {
		t.Fatalf("after master TCSETSW: %+v", got)
	}
	_, _ = p.replica.Ioctl(p.m, unix.TCGETS2, 0)
	if intAt(p.m, 36) != 9600 {
		t.Fatalf("ispeed after B9600 = %d", intAt(p.m, 36))
	}
	if _, err := p.replica.Ioctl(p.m, unix.TCGETS, badAddr); err != unix.EFAULT {
		t.Fatalf("TCGETS bad address: %v", err)
	}
	if _, err := p.replica.Ioctl(p.m, 0x54ff, 0); err != unix.ENOTTY {
		t.Fatalf("unknown ioctl: %v", err)
	}
}

func TestCanonicalEditing(t *testing.T) {
	p := newPair(t)
	for _, tc := range []struct{ in, read, echo string }{
		{"abc\x7fd\r", "abd\n", "abc\b \bd\r\n"},
		{"xyz\x15q\n", "q\n", "xyz\b \b\b \b\b \bq\r\n"},
		{"foo bar\x17baz\n", "foo baz\n", "foo bar\b \b\b \b\b \bbaz\r\n"},
		{"foo  \x17x\n", "x\n", "foo  \b \b\b \b\b \b\b \b\b \bx\r\n"},
		{"\x7f\x15\x17ok\n", "ok\n", "ok\r\n"},
		{"a\x01\x7f\n", "a\n", "a^A\b \b\b \b\r\n"},
		{"\x16\x03\x16\x7f\n", "\x03\x7f\n", "^\b^C^\b^?\r\n"},
		{"a\tb\x7f\x7f\n", "a\n", "a\tb\b \b\b\b\b\b\b\b\b\r\n"},
		{"hi\x04", "hi", "hi"},
		// The line started at column 2, after the echo of "hi".
		{"a\tb\x7f\x7f\n", "a\n", "a\tb\b \b\b\b\b\b\b\r\n"},
	} {
		mustWrite(t, p.master, tc.in)
		if got := readNow(t, p.replica); got != tc.read {
			t.Errorf("%q: read %q, want %q", tc.in, got, tc.read)
		}
		if got := readNow(t, p.master); got != tc.echo {
			t.Errorf("%q: echo %q, want %q", tc.in, got, tc.echo)
		}
	}
	// Nothing is readable before the line ends.
	mustWrite(t, p.master, "partial")
	if _, err := p.replica.ReadAt(make([]byte, 10), 0); err != unix.EAGAIN {
		t.Fatalf("read of partial line: %v", err)
	}
	if p.replica.Readiness(waiter.EventIn) != 0 {
		t.Fatal("partial line reported readable")
	}
	m := newMem()
	_, _ = p.replica.Ioctl(m, unix.TIOCINQ, 0)
	if intAt(m, 0) != 0 {
		t.Fatalf("FIONREAD with partial line = %d", intAt(m, 0))
	}
	// Lines are read one at a time, and in pieces.
	mustWrite(t, p.master, " line\nsecond\n\x04")
	_, _ = p.replica.Ioctl(m, unix.TIOCINQ, 0)
	if intAt(m, 0) != 20 {
		t.Fatalf("FIONREAD = %d, want 20", intAt(m, 0))
	}
	b := make([]byte, 5)
	var got []string
	for range 6 {
		n, err := p.replica.ReadAt(b, 0)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(b[:n]))
	}
	if want := []string{"parti", "al li", "ne\n", "secon", "d\n", ""}; !reflect.DeepEqual(got, want) {
		t.Fatalf("reads %q, want %q", got, want)
	}
	if _, err := p.replica.ReadAt(b, 0); err != unix.EAGAIN {
		t.Fatalf("read after EOF line: %v", err)
	}
	readNow(t, p.master)

	// EOL, EOL2 and REPRINT.
	p.update(t, func(tm *Termios) { tm.CC[unix.VEOL] = '!'; tm.CC[unix.VEOL2] = '?' })
	mustWrite(t, p.master, "ab!cd?")
	if a, b := readNow(t, p.replica), readNow(t, p.replica); a != "ab!" || b != "cd?" {
		t.Fatalf("EOL lines %q %q", a, b)
	}
	readNow(t, p.master)
	mustWrite(t, p.master, "xy\x12")
	if got := readNow(t, p.master); got != "xy^R\r\nxy" {
		t.Fatalf("reprint echo %q", got)
	}
}

func TestEchoModes(t *testing.T) {
	p := newPair(t)
	p.update(t, func(tm *Termios) { tm.Lflag &^= unix.ECHO })
	mustWrite(t, p.master, "secret\n")
	if got := readNow(t, p.master); got != "" {
		t.Fatalf("echo with -echo: %q", got)
	}
	if got := readNow(t, p.replica); got != "secret\n" {
		t.Fatalf("read %q", got)
	}
	p.update(t, func(tm *Termios) { tm.Lflag |= unix.ECHONL })
	mustWrite(t, p.master, "x\n")
	if got := readNow(t, p.master); got != "\r\n" {
		t.Fatalf("ECHONL echo %q", got)
	}
	readNow(t, p.replica)
	// ECHO without ECHOCTL echoes control characters raw; KILL without
	// ECHOKE echoes the kill character and a newline (ECHOK).
	p.update(t, func(tm *Termios) { tm.Lflag = tm.Lflag&^(unix.ECHOCTL|unix.ECHOKE|unix.ECHONL) | unix.ECHO })
	mustWrite(t, p.master, "a\x01b\x15")
	if got := readNow(t, p.master); got != "a\x01b\x15\r\n" {
		t.Fatalf("raw echo %q", got)
	}
	// ERASE without ECHOE echoes the erase character.
	p.update(t, func(tm *Termios) { tm.Lflag = tm.Lflag&^unix.ECHOE | unix.ECHOCTL })
	mustWrite(t, p.master, "ab\x7f\n")
	if got := readNow(t, p.master); got != "ab^?\r\n" {
		t.Fatalf("-echoe erase echo %q", got)
	}
	if got := readNow(t, p.replica); got != "a\n" {
		t.Fatalf("read %q", got)
	}
}

func TestInputTranslation(t *testing.T) {
	p := newPair(t)
	mustWrite(t, p.master, "a\r")
	if got := readNow(t, p.replica); got != "a\n" {
		t.Fatalf("ICRNL: %q", got)
	}
	p.update(t, func(tm *Termios) { tm.Iflag |= unix.IGNCR })
	mustWrite(t, p.master, "b\r\n")
	if got := readNow(t, p.replica); got != "b\n" {
		t.Fatalf("IGNCR: %q", got)
	}
	p.update(t, func(tm *Termios) {
		tm.Iflag = unix.INLCR | unix.ISTRIP
		tm.Lflag &^= unix.ICANON | unix.ECHO
	})
	mustWrite(t, p.master, "c\n\xe1")
	if got := readNow(t, p.replica); got != "c\ra" {
		t.Fatalf("INLCR/ISTRIP: %q", got)
	}
	p.update(t, func(tm *Termios) { tm.Iflag = unix.IUCLC })
	mustWrite(t, p.master, "AbC")
	if got := readNow(t, p.replica); got != "abc" {
		t.Fatalf("IUCLC: %q", got)
	}
}

func TestOutputProcessing(t *testing.T) {
	p := newPair(t)
	mustWrite(t, p.replica, "one\ntwo\n")
	if got := readNow(t, p.master); got != "one\r\ntwo\r\n" {
		t.Fatalf("ONLCR: %q", got)
	}
	p.update(t, func(tm *Termios) { tm.Oflag = unix.OPOST | unix.XTABS | unix.OCRNL | unix.OLCUC })
	mustWrite(t, p.replica, "ab\tc\r")
	if got := readNow(t, p.master); got != "AB      C\n" {
		t.Fatalf("XTABS/OCRNL/OLCUC: %q", got)
	}
	p.update(t, func(tm *Termios) { tm.Oflag = unix.OPOST | unix.ONOCR | unix.ONLCR })
	mustWrite(t, p.replica, "\n\rx\r")
	if got := readNow(t, p.master); got != "\r\nx\r" {
		t.Fatalf("ONOCR: %q", got)
	}
	p.update(t, func(tm *Termios) { tm.Oflag = unix.ONLCR })
	mustWrite(t, p.replica, "raw\n")
	if got := readNow(t, p.master); got != "raw\n" {
		t.Fatalf("-opost: %q", got)
	}
	m := newMem()
	mustWrite(t, p.replica, "12345")
	_, _ = p.master.Ioctl(m, unix.TIOCINQ, 0)
	_, _ = p.replica.Ioctl(m, unix.TIOCOUTQ, 4)
	if intAt(m, 0) != 5 || intAt(m, 4) != 5 {
		t.Fatalf("master FIONREAD %d, replica TIOCOUTQ %d", intAt(m, 0), intAt(m, 4))
	}
	_, _ = p.master.Ioctl(m, unix.TCFLSH, unix.TCIFLUSH)
	if got := readNow(t, p.master); got != "" {
		t.Fatalf("after master TCIFLUSH: %q", got)
	}
}

func TestSignalCharacters(t *testing.T) {
	p := newPair(t)
	jc := &fakeJC{sid: 10, pgid: 10, leader: true, rec: p.rec, groups: map[int32]int32{10: 10, 11: 10}}
	if _, err := p.replica.IoctlTask(jc, p.m, unix.TIOCSCTTY, 0); err != nil {
		t.Fatalf("TIOCSCTTY: %v", err)
	}
	putInt(p.m, 0, 11)
	if _, err := p.replica.IoctlTask(jc, p.m, unix.TIOCSPGRP, 0); err != nil {
		t.Fatalf("TIOCSPGRP: %v", err)
	}
	mustWrite(t, p.master, "abc\x03")
	if got := p.rec.take(); !reflect.DeepEqual(got, []pendingSignal{{11, unix.SIGINT}}) {
		t.Fatalf("^C sent %v", got)
	}
	if got := readNow(t, p.master); got != "abc^C" {
		t.Fatalf("^C echo %q", got)
	}
	mustWrite(t, p.master, "\n")
	if got := readNow(t, p.replica); got != "\n" {
		t.Fatalf("^C did not flush the line: %q", got)
	}
	mustWrite(t, p.master, "\x1c\x1a")
	if got := p.rec.take(); !reflect.DeepEqual(got, []pendingSignal{{11, unix.SIGQUIT}, {11, unix.SIGTSTP}}) {
		t.Fatalf("^\\ ^Z sent %v", got)
	}
	p.update(t, func(tm *Termios) { tm.Lflag |= unix.NOFLSH })
	readNow(t, p.master)
	mustWrite(t, p.master, "keep\x03\n")
	if got := readNow(t, p.replica); got != "keep\n" {
		t.Fatalf("NOFLSH: %q", got)
	}
	p.rec.take()
	// Without ISIG the characters are data.
	p.update(t, func(tm *Termios) { tm.Lflag &^= unix.ISIG })
	mustWrite(t, p.master, "\x03\n")
	if got := readNow(t, p.replica); got != "\x03\n" || len(p.rec.take()) != 0 {
		t.Fatalf("-isig: %q", got)
	}
	// TIOCSIG from the master.
	if _, err := p.master.Ioctl(p.m, unix.TIOCSIG, uint64(unix.SIGINT)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.master.Ioctl(p.m, unix.TIOCSIG, uint64(unix.SIGKILL)); err != unix.EINVAL {
		t.Fatalf("TIOCSIG SIGKILL: %v", err)
	}
	if got := p.rec.take(); !reflect.DeepEqual(got, []pendingSignal{{11, unix.SIGINT}}) {
		t.Fatalf("TIOCSIG sent %v", got)
	}
}

func TestNoForegroundNoSignal(t *testing.T) {
	p := newPair(t)
	mustWrite(t, p.master, "\x03")
	if got := p.rec.take(); len(got) != 0 {
		t.Fatalf("signal without a foreground group: %v", got)
	}
}

func TestFlowControl(t *testing.T) {
	p := newPair(t)
	mustWrite(t, p.master, "\x13")
	if _, err := p.replica.WriteAt([]byte("x"), 0); err != unix.EAGAIN {
		t.Fatalf("write while stopped: %v", err)
	}
	if p.replica.Readiness(waiter.EventOut) != 0 {
		t.Fatal("writable while stopped")
	}
	ch := waiter.NewChannel()
	p.replica.EventRegister(ch, waiter.EventOut)
	defer p.replica.EventUnregister(ch)
	mustWrite(t, p.master, "\x11")
	select {
	case <-ch:
	default:
		t.Fatal("no EventOut on ^Q")
	}
	mustWrite(t, p.replica, "x")
	// TCXONC does the same.
	if _, err := p.replica.Ioctl(p.m, unix.TCXONC, unix.TCOOFF); err != nil {
		t.Fatal(err)
	}
	if _, err := p.replica.WriteAt([]byte("x"), 0); err != unix.EAGAIN {
		t.Fatalf("write after TCOOFF: %v", err)
	}
	if _, err := p.replica.Ioctl(p.m, unix.TCXONC, unix.TCOON); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, p.replica, "y")
	if _, err := p.replica.Ioctl(p.m, unix.TCXONC, 9); err != unix.EINVAL {
		t.Fatalf("TCXONC 9: %v", err)
	}
	if got := readNow(t, p.master); got != "xy" {
		t.Fatalf("master read %q", got)
	}
}

func TestNonCanonical(t *testing.T) {
	p := newPair(t)
	mustWrite(t, p.master, "pend")
	p.update(t, func(tm *Termios) {
		tm.Lflag &^= unix.ICANON | unix.ECHO
		tm.CC[unix.VMIN], tm.CC[unix.VTIME] = 3, 0
	})
	// Switching off ICANON makes the partial line readable.
	if got := readNow(t, p.replica); got != "pend" {
		t.Fatalf("pending input after -icanon: %q", got)
	}
	mustWrite(t, p.master, "ab")
	b := make([]byte, 10)
	if _, err := p.replica.ReadAt(b, 0); err != unix.EAGAIN {
		t.Fatalf("read below VMIN: %v", err)
	}
	if p.replica.Readiness(waiter.EventIn) != 0 {
		t.Fatal("readable below VMIN")
	}
	// A smaller buffer needs fewer bytes.
	if n, err := p.replica.ReadAt(b[:1], 0); err != nil || string(b[:n]) != "a" {
		t.Fatalf("read of 1 with VMIN 3: %q, %v", b[:n], err)
	}
	mustWrite(t, p.master, "cd")
	if n, err := p.replica.ReadAt(b, 0); err != nil || string(b[:n]) != "bcd" {
		t.Fatalf("read at VMIN: %q, %v", b[:n], err)
	}
	// Non-blocking reads take what is there.
	mustWrite(t, p.master, "e")
	p.replica.SetNonblocking(true)
	if n, err := p.replica.ReadAt(b, 0); err != nil || string(b[:n]) != "e" {
		t.Fatalf("nonblocking read: %q, %v", b[:n], err)
	}
	if _, err := p.replica.ReadAt(b, 0); err != unix.EAGAIN {
		t.Fatalf("nonblocking empty read: %v", err)
	}
	p.replica.SetNonblocking(false)
	// VMIN 0, VTIME 0: polling read.
	p.update(t, func(tm *Termios) { tm.CC[unix.VMIN], tm.CC[unix.VTIME] = 0, 0 })
	if n, err := p.replica.ReadAt(b, 0); n != 0 || err != nil {
		t.Fatalf("VMIN 0 VTIME 0 empty read: %d, %v", n, err)
	}
	// VMIN 0, VTIME 1: 0 after 0.1s.
	p.update(t, func(tm *Termios) { tm.CC[unix.VMIN], tm.CC[unix.VTIME] = 0, 1 })
	start := time.Now()
	n, err := readWait(p.replica, b, 5*time.Second)
	if n != 0 || err != nil || time.Since(start) < 90*time.Millisecond {
		t.Fatalf("VTIME read: %d, %v after %v", n, err, time.Since(start))
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		mustWrite(t, p.master, "z")
	}()
	if n, err := readWait(p.replica, b, 5*time.Second); err != nil || string(b[:n]) != "z" {
		t.Fatalf("VTIME read with data: %q, %v", b[:n], err)
	}
	// VMIN 2, VTIME 1: one byte, then the inter-byte timer ends it.
	p.update(t, func(tm *Termios) { tm.CC[unix.VMIN], tm.CC[unix.VTIME] = 2, 1 })
	mustWrite(t, p.master, "q")
	start = time.Now()
	if n, err := readWait(p.replica, b, 5*time.Second); err != nil || string(b[:n]) != "q" || time.Since(start) < 90*time.Millisecond {
		t.Fatalf("inter-byte timeout: %q, %v after %v", b[:n], err, time.Since(start))
	}
	// Back to canonical mode: pending input is one line.
	mustWrite(t, p.master, "xyz")
	p.update(t, func(tm *Termios) { tm.Lflag |= unix.ICANON })
	if got := readNow(t, p.replica); got != "xyz" {
		t.Fatalf("pending input after icanon: %q", got)
	}
}

func TestWindowSize(t *testing.T) {
	p := newPair(t)
	jc := &fakeJC{sid: 5, pgid: 5, leader: true, rec: p.rec}
	if _, err := p.replica.IoctlTask(jc, p.m, unix.TIOCSCTTY, 0); err != nil {
		t.Fatal(err)
	}
	ws := Winsize{Row: 24, Col: 80, Xpixel: 1, Ypixel: 2}
	copy(p.m.b, ws.encode())
	if _, err := p.master.Ioctl(p.m, unix.TIOCSWINSZ, 0); err != nil {
		t.Fatal(err)
	}
	if got := p.rec.take(); !reflect.DeepEqual(got, []pendingSignal{{5, unix.SIGWINCH}}) {
		t.Fatalf("SIGWINCH: %v", got)
	}
	if _, err := p.replica.Ioctl(p.m, unix.TIOCGWINSZ, 16); err != nil || decodeWinsize(p.m.b[16:]) != ws {
		t.Fatalf("TIOCGWINSZ: %+v, %v", decodeWinsize(p.m.b[16:]), err)
	}
	// The same size again raises nothing.
	if _, err := p.replica.Ioctl(p.m, unix.TIOCSWINSZ, 0); err != nil {
		t.Fatal(err)
	}
	if got := p.rec.take(); len(got) != 0 {
		t.Fatalf("SIGWINCH for an unchanged size: %v", got)
	}
	if _, err := p.replica.Ioctl(p.m, unix.TIOCSWINSZ, badAddr); err != unix.EFAULT {
		t.Fatalf("TIOCSWINSZ bad address: %v", err)
	}
}

func TestHangup(t *testing.T) {
	p := newPair(t)
	var mu sync.Mutex
	var hung []int32
	p.fs.SetHooks(Hooks{SignalProcessGroup: p.rec.send, HangUp: func(sid int32, tty *TTY) {
		mu.Lock()
		hung = append(hung, sid)
		mu.Unlock()
	}})
	jc := &fakeJC{sid: 7, pgid: 7, leader: true, rec: p.rec}
	if _, err := p.replica.IoctlTask(jc, p.m, unix.TIOCSCTTY, 0); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, p.master, "unread\n")
	ch := waiter.NewChannel()
	p.replica.EventRegister(ch, waiter.EventIn)
	defer p.replica.EventUnregister(ch)
	p.update(t, func(tm *Termios) { tm.Oflag &^= unix.OPOST })
	done := make(chan error)
	go func() {
		// A blocked write wakes up with EIO.
		_, err := writeWait(p.replica, make([]byte, 1<<20), 5*time.Second)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	_ = p.master.Close()
	if err := <-done; err != unix.EIO {
		t.Fatalf("blocked write after hangup: %v", err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("no notification on hangup")
	}
	mu.Lock()
	if !reflect.DeepEqual(hung, []int32{7}) {
		t.Fatalf("HangUp calls %v", hung)
	}
	mu.Unlock()
	if n, err := p.replica.ReadAt(make([]byte, 10), 0); n != 0 || err != nil {
		t.Fatalf("read after hangup: %d, %v", n, err)
	}
	if _, err := p.replica.WriteAt([]byte("x"), 0); err != unix.EIO {
		t.Fatalf("write after hangup: %v", err)
	}
	if _, err := p.replica.Ioctl(p.m, unix.TCGETS, 0); err != unix.EIO {
		t.Fatalf("TCGETS after hangup: %v", err)
	}
	if _, err := p.replica.IoctlTask(jc, p.m, unix.TIOCSPGRP, 0); err != unix.ENOTTY {
		t.Fatalf("TIOCSPGRP after hangup: %v", err)
	}
	want := waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp
	if got := p.replica.Readiness(0xffff); got != want {
		t.Fatalf("readiness after hangup %#x", got)
	}
	if _, err := p.replica.TTY().node.Open(unix.O_RDWR); err != unix.EIO {
		t.Fatalf("open after hangup: %v", err)
	}
	if p.replica.TTY().SessionID() != 0 {
		t.Fatal("session kept after hangup")
	}
}

func TestHangupWithoutHook(t *testing.T) {
	p := newPair(t)
	jc := &fakeJC{sid: 7, pgid: 7, leader: true, rec: p.rec, groups: map[int32]int32{7: 7, 8: 7}}
	if _, err := p.replica.IoctlTask(jc, p.m, unix.TIOCSCTTY, 0); err != nil {
		t.Fatal(err)
	}
	putInt(p.m, 0, 8)
	if _, err := p.replica.IoctlTask(jc, p.m, unix.TIOCSPGRP, 0); err != nil {
		t.Fatal(err)
	}
	_ = p.master.Close()
	if got := p.rec.take(); !reflect.DeepEqual(got, []pendingSignal{{8, unix.SIGHUP}, {8, unix.SIGCONT}}) {
		t.Fatalf("hangup signals %v", got)
	}
}

func TestReplicaClose(t *testing.T) {
	p := newPair(t)
	mustWrite(t, p.replica, "bye")
	ch := waiter.NewChannel()
	p.master.EventRegister(ch, waiter.EventHUp)
	defer p.master.EventUnregister(ch)
	if p.master.Readiness(waiter.EventHUp) != 0 {
		t.Fatal("HUP with a replica open")
	}
	_ = p.replica.Close()
	select {
	case <-ch:
	default:
		t.Fatal("no EventHUp on the master")
	}
	if p.master.Readiness(waiter.EventHUp|waiter.EventIn) != waiter.EventHUp|waiter.EventIn {
		t.Fatal("master readiness after replica close")
	}
	if got := readNow(t, p.master); got != "bye" {
		t.Fatalf("drain: %q", got)
	}
	if _, err := p.master.ReadAt(make([]byte, 4), 0); err != unix.EIO {
		t.Fatalf("master read after replica close: %v", err)
	}
	if _, err := p.master.WriteAt([]byte("x"), 0); err != unix.EIO {
		t.Fatalf("master write without replica: %v", err)
	}
	// Reopening the replica clears it.
	r, err := openReplica(t, p.fs, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if p.master.Readiness(waiter.EventHUp) != 0 {
		t.Fatal("HUP after reopen")
	}
	if _, err := p.master.ReadAt(make([]byte, 4), 0); err != unix.EAGAIN {
		t.Fatalf("master read after reopen: %v", err)
	}
}

func TestMasterWriteBeforeReplicaOpen(t *testing.T) {
	fs := New()
	m := openMaster(t, fs)
	defer m.Close()
	if _, err := m.WriteAt([]byte("x"), 0); err != unix.EIO {
		t.Fatalf("write with no replica ever open: %v", err)
	}
	if _, err := m.ReadAt(make([]byte, 1), 0); err != unix.EAGAIN {
		t.Fatalf("read with no replica ever open: %v", err)
	}
	if m.Readiness(waiter.EventHUp) != 0 {
		t.Fatal("HUP before the replica was opened")
	}
}

func TestReadinessNotifications(t *testing.T) {
	p := newPair(t)
	rch, mch := waiter.NewChannel(), waiter.NewChannel()
	p.replica.EventRegister(rch, waiter.EventIn)
	p.master.EventRegister(mch, waiter.EventIn)
	defer p.replica.EventUnregister(rch)
	defer p.master.EventUnregister(mch)
	if p.replica.Readiness(waiter.EventIn|waiter.EventOut) != waiter.EventOut {
		t.Fatal("fresh replica readiness")
	}
	if p.master.Readiness(waiter.EventIn|waiter.EventOut) != waiter.EventOut {
		t.Fatal("fresh master readiness")
	}
	mustWrite(t, p.master, "x")
	select {
	case <-rch:
		t.Fatal("replica woken by a partial line")
	default:
	}
	select {
	case <-mch: // the echo
	default:
		t.Fatal("master not woken by the echo")
	}
	mustWrite(t, p.master, "\n")
	select {
	case <-rch:
	default:
		t.Fatal("replica not woken by a line")
	}
	if p.replica.Readiness(waiter.EventIn) == 0 {
		t.Fatal("replica not readable")
	}
	readNow(t, p.master)
	mustWrite(t, p.replica, "out")
	select {
	case <-mch:
	default:
		t.Fatal("master not woken by output")
	}
	if p.master.Readiness(waiter.EventIn) == 0 {
		t.Fatal("master not readable")
	}
}

func TestBufferLimits(t *testing.T) {
	p := newPair(t)
	p.update(t, func(tm *Termios) { tm.Oflag &^= unix.OPOST; tm.Lflag &^= unix.ICANON | unix.ECHO })
	// Replica to master: the writer fills the buffer, then EAGAIN.
	big := []byte(strings.Repeat("o", 2*flipBufSize))
	n, err := p.replica.WriteAt(big, 0)
	if err != nil || n != flipBufSize {
		t.Fatalf("big replica write: %d, %v", n, err)
	}
	if _, err := p.replica.WriteAt(big, 0); err != unix.EAGAIN {
		t.Fatalf("write when full: %v", err)
	}
	if p.replica.Readiness(waiter.EventOut) != 0 {
		t.Fatal("full replica reported writable")
	}
	ch := waiter.NewChannel()
	p.replica.EventRegister(ch, waiter.EventOut)
	if got := readNow(t, p.master); len(got) != flipBufSize {
		t.Fatalf("master read %d", len(got))
	}
	select {
	case <-ch:
	default:
		t.Fatal("no EventOut after the master read")
	}
	p.replica.EventUnregister(ch)
	// Master to replica: the line discipline's 4096 plus the flip buffer.
	n, err = p.master.WriteAt(big, 0)
	if err != nil || n != flipBufSize {
		t.Fatalf("big master write: %d, %v", n, err)
	}
	n, err = p.master.WriteAt(big, 0)
	if err != nil || n != inputBufSize {
		t.Fatalf("second master write: %d, %v", n, err)
	}
	if _, err := p.master.WriteAt(big, 0); err != unix.EAGAIN {
		t.Fatalf("master write when full: %v", err)
	}
	if p.master.Readiness(waiter.EventOut) != 0 {
		t.Fatal("full master reported writable")
	}
	m := newMem()
	_, _ = p.replica.Ioctl(m, unix.TIOCINQ, 0)
	_, _ = p.master.Ioctl(m, unix.TIOCOUTQ, 4)
	if intAt(m, 0) != inputBufSize || intAt(m, 4) != flipBufSize {
		t.Fatalf("FIONREAD %d TIOCOUTQ %d", intAt(m, 0), intAt(m, 4))
	}
	total := 0
	b := make([]byte, 1000)
	for {
		n, err := p.replica.ReadAt(b, 0)
		if err == unix.EAGAIN {
			break
		}
		total += n
	}
	if total != flipBufSize+inputBufSize {
		t.Fatalf("replica read %d in all", total)
	}
	// TCSETSF and TCFLSH drop pending input.
	mustWrite(t, p.master, "zzz")
	if _, err := p.replica.Ioctl(m, unix.TCFLSH, unix.TCIFLUSH); err != nil {
		t.Fatal(err)
	}
	if got := readNow(t, p.replica); got != "" {
		t.Fatalf("after TCIFLUSH: %q", got)
	}
	if _, err := p.replica.Ioctl(m, unix.TCFLSH, 7); err != unix.EINVAL {
		t.Fatalf("TCFLSH 7: %v", err)
	}
}

func TestCanonicalLineLimit(t *testing.T) {
	p := newPair(t)
	p.update(t, func(tm *Termios) { tm.Lflag &^= unix.ECHO })
	long := strings.Repeat("x", 3*inputBufSize)
	// A line longer than the buffer never blocks the writer: the excess
	// is dropped and the end of line still gets through.
	mustWrite(t, p.master, long)
	mustWrite(t, p.master, "\x7f\n")
	got := readNow(t, p.replica)
	if len(got) != inputBufSize-1 || got[len(got)-1] != '\n' {
		t.Fatalf("long line read %d bytes", len(got))
	}
}

func TestBlockingReadWrite(t *testing.T) {
	p := newPair(t)
	p.update(t, func(tm *Termios) { tm.Oflag &^= unix.OPOST; tm.Lflag &^= unix.ECHO })
	const total = 300000
	var wg sync.WaitGroup
	wg.Add(1)
	var got []byte
	echoed := make(chan struct{})
	go func() {
		defer close(echoed)
		// The replica echoes back every line.
		b := make([]byte, 512)
		for {
			n, err := readWait(p.replica, b, 10*time.Second)
			if err != nil || n == 0 {
				return
			}
			if _, err := writeWait(p.replica, b[:n], 10*time.Second); err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		b := make([]byte, 4096)
		for len(got) < total {
			n, err := readWait(p.master, b, 10*time.Second)
			if err != nil {
				t.Errorf("master read: %v after %d", err, len(got))
				return
			}
			got = append(got, b[:n]...)
		}
	}()
	line := []byte(strings.Repeat("y", 99) + "\n")
	var sent []byte
	for len(sent) < total {
		if _, err := writeWait(p.master, line, 10*time.Second); err != nil {
			t.Fatalf("master write: %v", err)
		}
		sent = append(sent, line...)
	}
	wg.Wait()
	// Hanging up ends the echoing reader.
	_ = p.master.Close()
	<-echoed
	if string(got) != string(sent[:len(got)]) || len(got) != total {
		t.Fatalf("echoed %d bytes, mismatch", len(got))
	}
}

func TestJobControlReadWrite(t *testing.T) {
	p := newPair(t)
	leader := &fakeJC{sid: 1, pgid: 1, leader: true, rec: p.rec, groups: map[int32]int32{1: 1, 2: 1, 9: 9}}
	if _, err := p.replica.IoctlTask(leader, p.m, unix.TIOCSCTTY, 0); err != nil {
		t.Fatal(err)
	}
	if leader.ctty != any(p.replica.TTY()) {
		t.Fatal("ctty not set")
	}
	bg := &fakeJC{sid: 1, pgid: 2, ctty: p.replica.TTY(), rec: p.rec, groups: leader.groups}
	mustWrite(t, p.master, "in\n")
	b := make([]byte, 10)
	if _, err := p.replica.ReadTask(bg, b); err != ErrJobControlStop {
		t.Fatalf("background read: %v", err)
	}
	if got := p.rec.take(); !reflect.DeepEqual(got, []pendingSignal{{2, unix.SIGTTIN}}) {
		t.Fatalf("background read sent %v", got)
	}
	bg.ignored = map[unix.Signal]bool{unix.SIGTTIN: true}
	if _, err := p.replica.ReadTask(bg, b); err != unix.EIO {
		t.Fatalf("background read ignoring SIGTTIN: %v", err)
	}
	bg.ignored = nil
	bg.orphaned = true
	if _, err := p.replica.ReadTask(bg, b); err != unix.EIO {
		t.Fatalf("orphaned background read: %v", err)
	}
	bg.orphaned = false
	// A task whose controlling terminal is another is not checked.
	other := &fakeJC{sid: 9, pgid: 9, rec: p.rec}
	if n, err := p.replica.ReadTask(other, b); err != nil || string(b[:n]) != "in\n" {
		t.Fatalf("read by a task without this ctty: %q, %v", b[:n], err)
	}
	// Writes: allowed without TOSTOP.
	if _, err := p.replica.WriteTask(bg, []byte("w")); err != nil {
		t.Fatalf("background write: %v", err)
	}
	p.update(t, func(tm *Termios) { tm.Lflag |= unix.TOSTOP })
	if _, err := p.replica.WriteTask(bg, []byte("w")); err != ErrJobControlStop {
		t.Fatalf("background write with TOSTOP: %v", err)
	}
	if got := p.rec.take(); !reflect.DeepEqual(got, []pendingSignal{{2, unix.SIGTTOU}}) {
		t.Fatalf("TOSTOP sent %v", got)
	}
	bg.ignored = map[unix.Signal]bool{unix.SIGTTOU: true}
	if _, err := p.replica.WriteTask(bg, []byte("w")); err != nil {
		t.Fatalf("background write ignoring SIGTTOU: %v", err)
	}
	bg.ignored = nil
	// TCSETS from the background.
	dt := DefaultTermios()
	copy(p.m.b, dt.Encode())
	if _, err := p.replica.IoctlTask(bg, p.m, unix.TCSETS, 0); err != ErrJobControlStop {
		t.Fatalf("background TCSETS: %v", err)
	}
	p.rec.take()
	// The foreground may do all of it.
	if _, err := p.replica.WriteTask(leader, []byte("w")); err != nil {
		t.Fatal(err)
	}
	// The master is never checked.
	if _, err := p.master.ReadTask(bg, b); err != nil {
		t.Fatalf("master read by background task: %v", err)
	}
}

func TestJobControlIoctls(t *testing.T) {
	p := newPair(t)
	groups := map[int32]int32{1: 1, 2: 1, 9: 9}
	nonLeader := &fakeJC{sid: 1, pgid: 2, rec: p.rec, groups: groups}
	if _, err := p.replica.IoctlTask(nonLeader, p.m, unix.TIOCSCTTY, 0); err != unix.EPERM {
		t.Fatalf("TIOCSCTTY by non-leader: %v", err)
	}
	if _, err := p.replica.Ioctl(p.m, unix.TIOCSCTTY, 0); err != unix.ENOTTY {
		t.Fatalf("TIOCSCTTY without a task: %v", err)
	}
	leader := &fakeJC{sid: 1, pgid: 1, leader: true, rec: p.rec, groups: groups}
	if _, err := p.replica.IoctlTask(leader, p.m, unix.TIOCSCTTY, 0); err != nil {
		t.Fatal(err)
	}
	// Again: no-op.
	if _, err := p.replica.IoctlTask(leader, p.m, unix.TIOCSCTTY, 0); err != nil {
		t.Fatalf("second TIOCSCTTY: %v", err)
	}
	nonLeader.ctty = p.replica.TTY()
	if _, err := p.replica.IoctlTask(leader, p.m, unix.TIOCGSID, 0); err != nil || intAt(p.m, 0) != 1 {
		t.Fatalf("TIOCGSID = %d, %v", intAt(p.m, 0), err)
	}
	if _, err := p.replica.IoctlTask(leader, p.m, unix.TIOCGPGRP, 0); err != nil || intAt(p.m, 0) != 1 {
		t.Fatalf("TIOCGPGRP = %d, %v", intAt(p.m, 0), err)
	}
	// Another session's leader cannot take it, unless it steals it.
	thief := &fakeJC{sid: 9, pgid: 9, leader: true, rec: p.rec, groups: groups}
	if _, err := p.replica.IoctlTask(thief, p.m, unix.TIOCGPGRP, 0); err != unix.ENOTTY {
		t.Fatalf("TIOCGPGRP not the ctty: %v", err)
	}
	if _, err := p.master.IoctlTask(thief, p.m, unix.TIOCGPGRP, 0); err != nil || intAt(p.m, 0) != 1 {
		t.Fatalf("TIOCGPGRP on master = %d, %v", intAt(p.m, 0), err)
	}
	if _, err := p.replica.IoctlTask(thief, p.m, unix.TIOCSCTTY, 0); err != unix.EPERM {
		t.Fatalf("TIOCSCTTY of a taken tty: %v", err)
	}
	if _, err := p.replica.IoctlTask(thief, p.m, unix.TIOCSCTTY, 1); err != unix.EPERM {
		t.Fatalf("steal without CAP_SYS_ADMIN: %v", err)
	}
	// Set the foreground group from the background: SIGTTOU.
	putInt(p.m, 0, 2)
	if _, err := p.replica.IoctlTask(nonLeader, p.m, unix.TIOCSPGRP, 0); err != ErrJobControlStop {
		t.Fatalf("background TIOCSPGRP: %v", err)
	}
	if got := p.rec.take(); !reflect.DeepEqual(got, []pendingSignal{{2, unix.SIGTTOU}}) {
		t.Fatalf("background TIOCSPGRP sent %v", got)
	}
	nonLeader.ignored = map[unix.Signal]bool{unix.SIGTTOU: true}
	if _, err := p.replica.IoctlTask(nonLeader, p.m, unix.TIOCSPGRP, 0); err != nil {
		t.Fatalf("background TIOCSPGRP ignoring SIGTTOU: %v", err)
	}
	if p.replica.TTY().ForegroundProcessGroup() != 2 {
		t.Fatal("foreground group not set")
	}
	for _, tc := range []struct {
		pg   int32
		want error
	}{{-1, unix.EINVAL}, {77, unix.ESRCH}, {9, unix.EPERM}, {1, nil}} {
		putInt(p.m, 0, tc.pg)
		if _, err := p.replica.IoctlTask(nonLeader, p.m, unix.TIOCSPGRP, 0); err != tc.want {
			t.Fatalf("TIOCSPGRP %d: %v, want %v", tc.pg, err, tc.want)
		}
	}
	if _, err := p.replica.IoctlTask(thief, p.m, unix.TIOCSPGRP, 0); err != unix.ENOTTY {
		t.Fatalf("TIOCSPGRP not the ctty: %v", err)
	}
	// Steal with CAP_SYS_ADMIN.
	thief.admin = true
	if _, err := p.replica.IoctlTask(thief, p.m, unix.TIOCSCTTY, 1); err != nil {
		t.Fatalf("steal: %v", err)
	}
	if !reflect.DeepEqual(thief.cleared, []int32{1}) || p.replica.TTY().SessionID() != 9 ||
		p.replica.TTY().ForegroundProcessGroup() != 9 {
		t.Fatalf("steal: cleared %v, session %d", thief.cleared, p.replica.TTY().SessionID())
	}
	// TIOCNOTTY by the leader: SIGHUP and SIGCONT to the foreground.
	p.rec.take()
	if _, err := p.master.IoctlTask(thief, p.m, unix.TIOCNOTTY, 0); err != unix.ENOTTY {
		t.Fatalf("TIOCNOTTY on master: %v", err)
	}
	if _, err := p.replica.IoctlTask(thief, p.m, unix.TIOCNOTTY, 0); err != nil {
		t.Fatal(err)
	}
	if got := p.rec.take(); !reflect.DeepEqual(got, []pendingSignal{{9, unix.SIGHUP}, {9, unix.SIGCONT}}) {
		t.Fatalf("TIOCNOTTY sent %v", got)
	}
	if thief.ctty != nil || p.replica.TTY().SessionID() != 0 {
		t.Fatal("TIOCNOTTY kept the ctty")
	}
	if _, err := p.master.Ioctl(p.m, unix.TIOCGSID, 0); err != unix.ENOTTY {
		t.Fatalf("TIOCGSID with no session: %v", err)
	}
	// A non-leader's TIOCNOTTY only drops its own.
	nl := &fakeJC{sid: 3, pgid: 4, ctty: p.replica.TTY(), rec: p.rec}
	if _, err := p.replica.IoctlTask(nl, p.m, unix.TIOCNOTTY, 0); err != nil || nl.ctty != nil {
		t.Fatalf("non-leader TIOCNOTTY: %v", err)
	}
	// TIOCSCTTY through the master acquires the replica.
	l2 := &fakeJC{sid: 20, pgid: 20, leader: true, rec: p.rec}
	if _, err := p.master.IoctlTask(l2, p.m, unix.TIOCSCTTY, 0); err != nil || l2.ctty != any(p.replica.TTY()) {
		t.Fatalf("TIOCSCTTY on master: %v", err)
	}
}

func TestControllingTTYOnOpen(t *testing.T) {
	p := newPair(t)
	r2, err := openReplica(t, p.fs, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	l := &fakeJC{sid: 4, pgid: 4, leader: true, rec: p.rec}
	r2.SetControllingTTYOnOpen(l, unix.O_RDWR|unix.O_NOCTTY)
	if l.ctty != nil {
		t.Fatal("O_NOCTTY acquired")
	}
	p.master.SetControllingTTYOnOpen(l, unix.O_RDWR)
	if l.ctty != nil {
		t.Fatal("master acquired")
	}
	r2.SetControllingTTYOnOpen(l, unix.O_RDWR)
	if l.ctty != any(p.replica.TTY()) || p.replica.TTY().SessionID() != 4 {
		t.Fatal("open did not acquire")
	}
	l2 := &fakeJC{sid: 5, pgid: 5, leader: true, rec: p.rec}
	r2.SetControllingTTYOnOpen(l2, unix.O_RDWR)
	if l2.ctty != nil {
		t.Fatal("acquired a terminal another session has")
	}
	// Session leader exit.
	p.replica.TTY().Disassociate(true)
	if got := p.rec.take(); !reflect.DeepEqual(got, []pendingSignal{{4, unix.SIGHUP}}) {
		t.Fatalf("Disassociate(onExit) sent %v", got)
	}
}

func TestExclusiveAndPeer(t *testing.T) {
	p := newPair(t)
	if _, err := p.replica.Ioctl(p.m, unix.TIOCEXCL, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := openReplica(t, p.fs, 0); err != unix.EBUSY {
		t.Fatalf("open exclusive: %v", err)
	}
	_, _ = p.replica.Ioctl(p.m, unix.TIOCGEXCL, 0)
	if intAt(p.m, 0) != 1 {
		t.Fatal("TIOCGEXCL")
	}
	_, _ = p.replica.Ioctl(p.m, unix.TIOCNXCL, 0)
	peer, err := p.master.OpenPeer(unix.O_RDWR | unix.O_NOCTTY)
	if err != nil {
		t.Fatalf("OpenPeer: %v", err)
	}
	defer peer.Close()
	mustWrite(t, p.master, "hi\n")
	if got := readNow(t, peer.(*File)); got != "hi\n" {
		t.Fatalf("peer read %q", got)
	}
	if _, err := p.master.OpenPeer(unix.O_CREAT); err != unix.EINVAL {
		t.Fatalf("OpenPeer O_CREAT: %v", err)
	}
	if _, err := p.replica.OpenPeer(0); err != unix.ENOTTY {
		t.Fatalf("OpenPeer on replica: %v", err)
	}
	if _, err := p.master.Ioctl(p.m, unix.TIOCGPTPEER, 0); err != unix.ENOTTY {
		t.Fatalf("TIOCGPTPEER: %v", err)
	}
	for _, req := range []uint64{unix.TCSBRK, unix.TCSBRKP, unix.TIOCGETD} {
		if _, err := p.replica.Ioctl(p.m, req, 0); err != nil {
			t.Fatalf("ioctl %#x: %v", req, err)
		}
	}
}

func TestPacketMode(t *testing.T) {
	p := newPair(t)
	putInt(p.m, 0, 1)
	if _, err := p.master.Ioctl(p.m, unix.TIOCPKT, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.replica.Ioctl(p.m, unix.TIOCPKT, 0); err != unix.ENOTTY {
		t.Fatalf("TIOCPKT on replica: %v", err)
	}
	mustWrite(t, p.replica, "x")
	if got := readNow(t, p.master); got != "\x00x" {
		t.Fatalf("packet data %q", got)
	}
	if _, err := p.replica.Ioctl(p.m, unix.TCFLSH, unix.TCIFLUSH); err != nil {
		t.Fatal(err)
	}
	if p.master.Readiness(waiter.EventPri) == 0 {
		t.Fatal("no EventPri for packet status")
	}
	if got := readNow(t, p.master); got != string([]byte{unix.TIOCPKT_FLUSHREAD}) {
		t.Fatalf("packet status %q", got)
	}
	_, _ = p.master.Ioctl(p.m, unix.TIOCGPKT, 4)
	if intAt(p.m, 4) != 1 {
		t.Fatal("TIOCGPKT")
	}
}

func TestTermiosRoundTrip(t *testing.T) {
	tm := Termios{Iflag: 1, Oflag: 2, Cflag: 3, Lflag: 4, Line: 5}
	for i := range tm.CC {
		tm.CC[i] = byte(i + 10)
	}
	b := tm.Encode()
	if len(b) != 36 || DecodeTermios(b) != tm {
		t.Fatal("round trip")
	}
}

func TestInterfaces(t *testing.T) {
	var f any = &File{}
	for _, ok := range []bool{
		is[vfs.FileImpl](f), is[vfs.Streamer](f), is[vfs.Nonblocker](f), is[vfs.Ioctler](f), is[waiter.Waitable](f),
	} {
		if !ok {
			t.Fatal("File misses an interface")
		}
	}
	if !is[vfs.DirReader](&rootFile{}) || !is[vfs.Inode](New().Root()) || !is[vfs.Inode](New()) || !is[vfs.DirReader](New()) {
		t.Fatal("root misses an interface")
	}
	if !errors.Is(ErrJobControlStop, ErrJobControlStop) {
		t.Fatal()
	}
}

func is[T any](v any) bool { _, ok := v.(T); return ok }
