package vfs_test

import (
	"math"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

func TestFileReadWriteOffsets(t *testing.T) {
	impl := &memImpl{data: []byte("0123456789")}
	f := vfs.NewFile(impl, nil, unix.O_RDWR)
	buf := make([]byte, 4)
	if n, err := f.Read(buf); n != 4 || err != nil || string(buf) != "0123" {
		t.Fatalf("Read = %d, %v, %q", n, err, buf)
	}
	if n, err := f.Read(buf); n != 4 || err != nil || string(buf) != "4567" {
		t.Fatalf("second Read = %d, %v, %q", n, err, buf)
	}
	// PRead neither uses nor moves the offset.
	if n, err := f.PRead(buf[:2], 1); n != 2 || err != nil || string(buf[:2]) != "12" {
		t.Fatalf("PRead = %d, %v, %q", n, err, buf[:2])
	}
	if n, _ := f.Read(buf); n != 2 || string(buf[:2]) != "89" {
		t.Fatalf("Read after PRead = %d, %q", n, buf[:n])
	}
	if n, err := f.Read(buf); n != 0 || err != nil {
		t.Fatalf("Read at EOF = %d, %v", n, err)
	}
	// Write at the offset (the end) extends the file.
	if n, err := f.Write([]byte("ab")); n != 2 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	// PWrite does not move it.
	if n, err := f.PWrite([]byte("X"), 0); n != 1 || err != nil {
		t.Fatalf("PWrite = %d, %v", n, err)
	}
	if off, _ := f.Seek(0, unix.SEEK_CUR); off != 12 {
		t.Errorf("offset after Write and PWrite = %d, want 12", off)
	}
	if string(impl.data) != "X123456789ab" {
		t.Errorf("file holds %q", impl.data)
	}
	if _, err := f.PRead(buf, -1); err != unix.EINVAL {
		t.Errorf("PRead at -1: %v, want EINVAL", err)
	}
	if _, err := f.PWrite(buf, -1); err != unix.EINVAL {
		t.Errorf("PWrite at -1: %v, want EINVAL", err)
	}
}

func TestFileAppend(t *testing.T) {
	impl := &memImpl{data: []byte("abc")}
	f := vfs.NewFile(impl, nil, unix.O_WRONLY|unix.O_APPEND)
	if _, err := f.Seek(0, unix.SEEK_SET); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Write([]byte("de")); n != 2 || err != nil {
		t.Fatal(n, err)
	}
	// Somebody else extends the file: the next append still goes to the
	// end.
	impl.data = append(impl.data, 'Z')
	if _, err := f.Write([]byte("f")); err != nil {
		t.Fatal(err)
	}
	if string(impl.data) != "abcdeZf" {
		t.Errorf("file holds %q, want abcdeZf", impl.data)
	}
	if off, _ := f.Seek(0, unix.SEEK_CUR); off != 7 {
		t.Errorf("offset after appending = %d, want 7", off)
	}
	// On Linux, pwrite to an O_APPEND file appends whatever the offset
	// (pwrite(2), BUGS), and leaves the file offset alone.
	if _, err := f.PWrite([]byte("!"), 0); err != nil {
		t.Fatal(err)
	}
	if string(impl.data) != "abcdeZf!" {
		t.Errorf("after pwrite at 0 with O_APPEND the file holds %q, want abcdeZf!", impl.data)
	}
	if off, _ := f.Seek(0, unix.SEEK_CUR); off != 7 {
		t.Errorf("offset after pwrite = %d, want 7", off)
	}
	// F_SETFL can turn O_APPEND off.
	f.SetStatusFlags(0)
	if _, err := f.Seek(1, unix.SEEK_SET); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("B")); err != nil {
		t.Fatal(err)
	}
	if impl.data[1] != 'B' {
		t.Errorf("write without O_APPEND did not go to the offset: %q", impl.data)
	}
}

func TestFileSeek(t *testing.T) {
	const size = 100
	for _, tc := range []struct {
		name   string
		cur    int64
		off    int64
		whence int
		want   int64
		err    error
	}{
		{"SET", 50, 7, unix.SEEK_SET, 7, nil},
		{"SET past the end", 0, 1000, unix.SEEK_SET, 1000, nil},
		{"SET negative", 50, -1, unix.SEEK_SET, 0, unix.EINVAL},
		{"CUR forward", 50, 5, unix.SEEK_CUR, 55, nil},
		{"CUR back", 50, -50, unix.SEEK_CUR, 0, nil},
		{"CUR before the start", 50, -51, unix.SEEK_CUR, 0, unix.EINVAL},
		{"CUR overflowing", 50, math.MaxInt64, unix.SEEK_CUR, 0, unix.EINVAL},
		{"END", 0, 0, unix.SEEK_END, size, nil},
		{"END back", 0, -size, unix.SEEK_END, 0, nil},
		{"END before the start", 0, -size - 1, unix.SEEK_END, 0, unix.EINVAL},
		{"END overflowing", 0, math.MaxInt64, unix.SEEK_END, 0, unix.EINVAL},
		{"DATA inside", 0, 30, unix.SEEK_DATA, 30, nil},
		{"DATA at the end", 0, size, unix.SEEK_DATA, 0, unix.ENXIO},
		{"DATA negative", 0, -1, unix.SEEK_DATA, 0, unix.ENXIO},
		{"HOLE inside", 0, 30, unix.SEEK_HOLE, size, nil},
		{"HOLE at 0", 0, 0, unix.SEEK_HOLE, size, nil},
		{"HOLE at the end", 0, size, unix.SEEK_HOLE, 0, unix.ENXIO},
		{"bad whence", 50, 0, 5, 0, unix.EINVAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := vfs.NewFile(&memImpl{data: make([]byte, size)}, nil, unix.O_RDONLY)
			if _, err := f.Seek(tc.cur, unix.SEEK_SET); err != nil {
				t.Fatal(err)
			}
			got, err := f.Seek(tc.off, tc.whence)
			if err != tc.err || (err == nil && got != tc.want) {
				t.Errorf("Seek(%d, %d) = %d, %v; want %d, %v", tc.off, tc.whence, got, err, tc.want, tc.err)
			}
			// A failed seek leaves the offset alone.
			wantPos := tc.want
			if err != nil {
				wantPos = tc.cur
			}
			if pos, _ := f.Seek(0, unix.SEEK_CUR); pos != wantPos {
				t.Errorf("offset afterwards = %d, want %d", pos, wantPos)
			}
		})
	}
}

func TestFileStream(t *testing.T) {
	impl := &streamImpl{memImpl{data: []byte("stream")}}
	f := vfs.NewFile(impl, nil, unix.O_RDWR)
	if !f.IsStream() {
		t.Fatal("IsStream = false")
	}
	for _, whence := range []int{unix.SEEK_SET, unix.SEEK_CUR, unix.SEEK_END} {
		if _, err := f.Seek(0, whence); err != unix.ESPIPE {
			t.Errorf("Seek(whence %d) on a stream: %v, want ESPIPE", whence, err)
		}
	}
	if _, err := f.PRead(make([]byte, 1), 0); err != unix.ESPIPE {
		t.Errorf("PRead on a stream: %v, want ESPIPE", err)
	}
	if _, err := f.PWrite([]byte{1}, 0); err != unix.ESPIPE {
		t.Errorf("PWrite on a stream: %v, want ESPIPE", err)
	}
	impl.offs = nil
	if _, err := f.Read(make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, off := range impl.offs {
		if off != -1 {
			t.Errorf("stream impl called with offset %d, want -1", off)
		}
	}
	if len(impl.offs) != 2 {
		t.Errorf("impl called %d times, want 2", len(impl.offs))
	}
}

func TestFileAccessMode(t *testing.T) {
	for _, tc := range []struct {
		name            string
		flags           int
		canRead, canWrt bool
	}{
		{"O_RDONLY", unix.O_RDONLY, true, false},
		{"O_WRONLY", unix.O_WRONLY, false, true},
		{"O_RDWR", unix.O_RDWR, true, true},
		{"access mode 3", 3, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			impl := &memImpl{data: []byte("data")}
			f := vfs.NewFile(impl, nil, tc.flags)
			if f.Readable() != tc.canRead || f.Writable() != tc.canWrt {
				t.Errorf("Readable %v Writable %v, want %v %v", f.Readable(), f.Writable(), tc.canRead, tc.canWrt)
			}
			buf := make([]byte, 2)
			check := func(what string, ok bool, err error) {
				t.Helper()
				if ok && err != nil {
					t.Errorf("%s: %v", what, err)
				}
				if !ok && err != unix.EBADF {
					t.Errorf("%s: %v, want EBADF", what, err)
				}
			}
			_, err := f.Read(buf)
			check("Read", tc.canRead, err)
			_, err = f.PRead(buf, 0)
			check("PRead", tc.canRead, err)
			_, err = f.Write(buf)
			check("Write", tc.canWrt, err)
			_, err = f.PWrite(buf, 0)
			check("PWrite", tc.canWrt, err)
			if !tc.canWrt && string(impl.data) != "data" {
				t.Errorf("a file not open for writing was written: %q", impl.data)
			}
		})
	}
}

func TestFileStatusFlags(t *testing.T) {
	impl := &nonblockImpl{}
	f := vfs.NewFile(impl, nil, unix.O_RDWR|unix.O_APPEND|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_CREAT|unix.O_TRUNC)
	if got, want := f.StatusFlags(), unix.O_RDWR|unix.O_APPEND|unix.O_NONBLOCK; got != want {
		t.Errorf("StatusFlags = %#o, want %#o", got, want)
	}
	if len(impl.nonblock) != 1 || !impl.nonblock[0] {
		t.Errorf("impl told %v about O_NONBLOCK at open, want [true]", impl.nonblock)
	}
	// F_SETFL changes only O_APPEND, O_NONBLOCK and O_DIRECT: not the
	// access mode, nor creation flags.
	f.SetStatusFlags(unix.O_WRONLY | unix.O_CREAT)
	if got := f.StatusFlags(); got != unix.O_RDWR {
		t.Errorf("StatusFlags after F_SETFL(O_WRONLY|O_CREAT) = %#o, want O_RDWR", got)
	}
	f.SetStatusFlags(unix.O_DIRECT)
	if got := f.StatusFlags(); got != unix.O_RDWR|unix.O_DIRECT {
		t.Errorf("StatusFlags after F_SETFL(O_DIRECT) = %#o, want O_RDWR|O_DIRECT", got)
	}
	f.SetStatusFlags(0)
	if !f.Readable() {
		t.Errorf("F_SETFL changed the access mode")
	}
	if n := len(impl.nonblock); n != 4 || impl.nonblock[n-1] {
		t.Errorf("impl told %v about O_NONBLOCK, want a final false", impl.nonblock)
	}
	f.SetStatusFlags(unix.O_NONBLOCK)
	if got := f.StatusFlags(); got != unix.O_RDWR|unix.O_NONBLOCK {
		t.Errorf("StatusFlags = %#o, want O_RDWR|O_NONBLOCK", got)
	}
	if impl.nonblock[len(impl.nonblock)-1] != true {
		t.Errorf("impl not told about O_NONBLOCK")
	}
}

func TestFileReferences(t *testing.T) {
	impl := &memImpl{}
	d := vfs.NewRoot(dir(nil))
	f := vfs.NewFile(impl, d, unix.O_RDONLY)
	if f.Impl() != impl || f.Dentry() != d {
		t.Errorf("Impl or Dentry not what NewFile got")
	}
	f.IncRef()
	f.IncRef()
	f.DecRef()
	f.DecRef()
	if impl.closed != 0 {
		t.Fatalf("closed with a reference left")
	}
	f.DecRef()
	if impl.closed != 1 {
		t.Errorf("closed %d times after the last DecRef, want 1", impl.closed)
	}
}

func TestFileReaddir(t *testing.T) {
	tree := dir(map[string]*node{"a": file(""), "b": file(""), "c": dir(nil), "d": file(""), "e": file("")})
	impl, err := tree.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	f := vfs.NewFile(impl, vfs.NewRoot(tree), unix.O_RDONLY|unix.O_DIRECTORY)
	read := func(max int) []string {
		t.Helper()
		var names []string
		err := f.Readdir(4096, func(e vfs.Dirent) bool {
			if len(names) == max {
				return false
			}
			names = append(names, e.Name)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	// The position moves past emitted entries only: an entry the caller
	// had no room for comes first next time.
	if got := read(2); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("first batch %v", got)
	}
	if got := read(0); len(got) != 0 {
		t.Fatalf("refused batch %v", got)
	}
	if got := read(10); len(got) != 3 || got[0] != "c" || got[2] != "e" {
		t.Fatalf("second batch %v, want c d e", got)
	}
	if got := read(10); len(got) != 0 {
		t.Errorf("after the end: %v", got)
	}
	// Seeking to a cookie restarts there.
	if _, err := f.Seek(0, unix.SEEK_SET); err != nil {
		t.Fatal(err)
	}
	if got := read(10); len(got) != 5 {
		t.Errorf("after rewinding: %v", got)
	}
	if _, err := f.Seek(3, unix.SEEK_SET); err != nil {
		t.Fatal(err)
	}
	if got := read(10); len(got) != 2 || got[0] != "d" {
		t.Errorf("after seeking to cookie 3: %v, want d e", got)
	}

	// Not a directory.
	g := vfs.NewFile(&memImpl{}, nil, unix.O_RDONLY)
	if err := g.Readdir(4096, func(vfs.Dirent) bool { return true }); err != unix.ENOTDIR {
		t.Errorf("Readdir of a regular file: %v, want ENOTDIR", err)
	}
}
