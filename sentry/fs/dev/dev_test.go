package dev_test

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/dev"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// open opens /dev/name as a file description.
func open(t *testing.T, name string, flags int) *vfs.File {
	t.Helper()
	in, err := dev.New().Lookup(name)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", name, err)
	}
	impl, err := in.Open(flags)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	return vfs.NewFile(impl, nil, flags)
}

func TestDeviceNodes(t *testing.T) {
	d := dev.New()
	for _, tc := range []struct {
		name         string
		major, minor uint32
	}{
		{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9},
	} {
		in, err := d.Lookup(tc.name)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tc.name, err)
			continue
		}
		st, _ := in.Stat()
		if st.Mode != unix.S_IFCHR|0o666 {
			t.Errorf("%s: mode %#o, want a 0666 character device", tc.name, st.Mode)
		}
		if st.Rdev != unix.Mkdev(tc.major, tc.minor) {
			t.Errorf("%s: rdev %d:%d, want %d:%d", tc.name, unix.Major(st.Rdev), unix.Minor(st.Rdev), tc.major, tc.minor)
		}
		if _, err := in.Lookup("x"); err != unix.ENOTDIR {
			t.Errorf("%s: Lookup below a device: %v, want ENOTDIR", tc.name, err)
		}
		if _, err := in.Readlink(); err != unix.EINVAL {
			t.Errorf("%s: Readlink: %v, want EINVAL", tc.name, err)
		}
	}
	for name, target := range map[string]string{
		"stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "fd": "/proc/self/fd",
	} {
		in, err := d.Lookup(name)
		if err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
			continue
		}
		if got, err := in.Readlink(); got != target || err != nil {
			t.Errorf("%s -> %q, %v; want %q", name, got, err, target)
		}
	}
	shm, err := d.Lookup("shm")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := shm.Stat(); st.Mode != unix.S_IFDIR|0o1777 {
		t.Errorf("shm mode %#o, want a sticky 1777 directory", st.Mode)
	}
	if _, err := d.Lookup("sda"); err != unix.ENOENT {
		t.Errorf("Lookup(sda): %v, want ENOENT: no host devices", err)
	}
}

func TestDevListing(t *testing.T) {
	impl, err := dev.New().Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := impl.(vfs.DirReader).Readdir(0, 4096)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name)
	}
	want := []string{".", "..", "fd", "full", "net", "null", "random", "shm", "stderr", "stdin", "stdout", "urandom", "zero"}
	if len(names) != len(want) {
		t.Fatalf("/dev lists %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("/dev lists %v, want %v", names, want)
		}
	}
}

func TestNull(t *testing.T) {
	f := open(t, "null", unix.O_RDWR)
	if n, err := f.Read(make([]byte, 10)); n != 0 || err != nil {
		t.Errorf("read /dev/null = %d, %v; want EOF", n, err)
	}
	if n, err := f.Write(make([]byte, 100)); n != 100 || err != nil {
		t.Errorf("write /dev/null = %d, %v; want 100", n, err)
	}
}

func TestZero(t *testing.T) {
	f := open(t, "zero", unix.O_RDWR)
	buf := bytes.Repeat([]byte{0xff}, 5000)
	if n, err := f.Read(buf); n != len(buf) || err != nil {
		t.Fatalf("read /dev/zero = %d, %v", n, err)
	}
	if !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Errorf("/dev/zero read non-zero bytes")
	}
	if n, err := f.Write([]byte("x")); n != 1 || err != nil {
		t.Errorf("write /dev/zero = %d, %v", n, err)
	}
	if !dev.IsZero(f.Impl()) {
		t.Errorf("IsZero(/dev/zero) = false")
	}
	for _, name := range []string{"null", "full", "urandom"} {
		if dev.IsZero(open(t, name, unix.O_RDONLY).Impl()) {
			t.Errorf("IsZero(/dev/%s) = true", name)
		}
	}
}

func TestFull(t *testing.T) {
	f := open(t, "full", unix.O_RDWR)
	if n, err := f.Write([]byte("x")); n != 0 || err != unix.ENOSPC {
		t.Errorf("write /dev/full = %d, %v; want ENOSPC", n, err)
	}
	buf := bytes.Repeat([]byte{0xff}, 64)
	if n, err := f.Read(buf); n != len(buf) || err != nil || !bytes.Equal(buf, make([]byte, 64)) {
		t.Errorf("read /dev/full = %d, %v, %x; want zeroes", n, err, buf)
	}
}

func TestRandom(t *testing.T) {
	for _, name := range []string{"random", "urandom"} {
		f := open(t, name, unix.O_RDWR)
		a, b := make([]byte, 64), make([]byte, 64)
		if n, err := f.Read(a); n != 64 || err != nil {
			t.Fatalf("read /dev/%s = %d, %v", name, n, err)
		}
		f.Read(b)
		if bytes.Equal(a, make([]byte, 64)) || bytes.Equal(a, b) {
			t.Errorf("/dev/%s is not random: %x, %x", name, a, b)
		}
		// Writing adds entropy on Linux; it succeeds.
		if n, err := f.Write([]byte("seed")); n != 4 || err != nil {
			t.Errorf("write /dev/%s = %d, %v", name, n, err)
		}
	}
}

// Linux's memory devices accept any lseek and stay at position 0.
func TestSeekAlwaysZero(t *testing.T) {
	for _, name := range []string{"null", "zero", "full", "random", "urandom"} {
		f := open(t, name, unix.O_RDONLY)
		if f.IsStream() {
			t.Errorf("/dev/%s is a stream: lseek would fail with ESPIPE", name)
		}
		f.Read(make([]byte, 100))
		for _, tc := range []struct {
			off    int64
			whence int
		}{{100, unix.SEEK_SET}, {-5, unix.SEEK_CUR}, {1 << 40, unix.SEEK_END}, {0, unix.SEEK_CUR}} {
			if pos, err := f.Seek(tc.off, tc.whence); pos != 0 || err != nil {
				t.Errorf("/dev/%s: Seek(%d, %d) = %d, %v; want 0", name, tc.off, tc.whence, pos, err)
			}
		}
	}
}

func TestDevNetTun(t *testing.T) {
	net, err := dev.New().Lookup("net")
	if err != nil {
		t.Fatal(err)
	}
	tun, err := net.Lookup("tun")
	if err != nil {
		t.Fatal(err)
	}
	st, err := tun.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != unix.S_IFCHR|0o666 || unix.Major(st.Rdev) != 10 || unix.Minor(st.Rdev) != 200 {
		t.Fatalf("/dev/net/tun: mode %o, device %d:%d; want a character device 10:200, mode 666", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
}
