package boot

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestPauseImage checks the pause program's ELF image parses and, on an
// amd64 Linux host, runs there as it runs in the sandbox: it blocks
// (never exits on its own) and ignores a SIGCHLD, which its handler
// catches.
func TestPauseImage(t *testing.T) {
	img := pauseImage()
	path := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(path, img, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Entry != pauseBase+pauseCode || len(f.Progs) != 1 || f.Progs[0].Type != elf.PT_LOAD || f.Progs[0].Filesz != uint64(len(img)) {
		t.Errorf("ELF: entry %#x, programs %+v", f.Entry, f.Progs)
	}
	f.Close()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs only on linux/amd64")
	}
	cmd := exec.Command(path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(200 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGCHLD)
	select {
	case err := <-done:
		t.Fatalf("pause exited: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
	_ = cmd.Process.Kill()
	if err := <-done; err == nil {
		t.Fatal("pause exited cleanly after SIGKILL")
	}
}
