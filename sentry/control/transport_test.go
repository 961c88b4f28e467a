package control

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestCallReturnsOnReply checks a call returns as soon as the answer
// comes, not when its context ends.
func TestCallReturnsOnReply(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "c.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for i := 0; i < 2; i++ {
			conn, req, files, err := Accept(int(l.Fd()))
			if err != nil {
				t.Error(err)
				return
			}
			closeFiles(files)
			if req.Op == OpInfo {
				_ = conn.Reply(&Response{Info: &Info{PID: 7}})
			} else {
				_ = conn.Fail(CodeInvalid, "unknown op %q", req.Op)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := &Client{Path: sock}
	start := time.Now()
	resp, err := c.Call(ctx, &Request{Op: OpInfo})
	if err != nil || resp.Info == nil || resp.Info.PID != 7 {
		t.Fatalf("info: %+v %v", resp, err)
	}
	_, err = c.Call(ctx, &Request{Op: "fly"})
	if e, ok := err.(*Error); !ok || e.Code != CodeInvalid {
		t.Fatalf("fly: %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("calls took %v: they waited for their context", d)
	}
}
