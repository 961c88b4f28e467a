package fdio_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/fdio"
)

func TestPwriteAll(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := fdio.PwriteAll(int(f.Fd()), data, 100); err != nil {
		t.Fatalf("PwriteAll: %v", err)
	}
	got := make([]byte, len(data)+100)
	if n, err := f.ReadAt(got, 0); n != len(got) || err != nil {
		t.Fatalf("ReadAt: %d, %v", n, err)
	}
	if !bytes.Equal(got[100:], data) || !bytes.Equal(got[:100], make([]byte, 100)) {
		t.Error("file contents differ from what was written")
	}
	if err := fdio.PwriteAll(-1, data, 0); err != unix.EBADF {
		t.Errorf("PwriteAll on a bad descriptor: %v, want EBADF", err)
	}
}

func TestPreadFull(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := bytes.Repeat([]byte("0123456789"), 1000)
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5000)
	if err := fdio.PreadFull(int(f.Fd()), got, 1234); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[1234:6234]) {
		t.Error("PreadFull read other bytes")
	}
	if err := fdio.PreadFull(int(f.Fd()), got, int64(len(data))-10); err != io.ErrUnexpectedEOF {
		t.Errorf("reading past the end: %v, want io.ErrUnexpectedEOF", err)
	}
}
