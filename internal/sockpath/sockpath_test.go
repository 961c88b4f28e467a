package sockpath

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLongPath(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(deep, "control.sock")
	if len(path) <= maxPath {
		t.Fatalf("test path %d bytes is not too long", len(path))
	}
	addr, done, err := Short(path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unixpacket", addr)
	done()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if st, err := os.Stat(path); err != nil || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no socket at the long path: %v", err)
	}
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	addr, done, err = Short(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unixpacket", addr)
	done()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 8)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}

	if addr, _, err := Short("/tmp/x.sock"); err != nil || addr != "/tmp/x.sock" {
		t.Errorf("a short path became %q, %v", addr, err)
	}
	if _, _, err := Short(filepath.Join(deep, strings.Repeat("n", 120))); err == nil {
		t.Error("a name longer than sun_path was accepted")
	}
}
