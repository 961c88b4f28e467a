package crilog

import (
	"bufio"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// records reads what the log wrote to the pipe's read end.
func records(t *testing.T, r *os.File) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 2)
		if _, err := time.Parse(time.RFC3339Nano, parts[0]); err != nil {
			t.Fatalf("record %q: %v", sc.Text(), err)
		}
		out = append(out, parts[1])
	}
	return out
}

func TestLinesPartialAndLong(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	l := New(w)
	out := l.NewWriter(Stdout, nil, nil)
	errw := l.NewWriter(Stderr, nil, nil)
	long := strings.Repeat("x", MaxLine+10)
	got := make(chan []string)
	go func() { got <- records(t, r) }()
	out.Write([]byte("hel"))
	errw.Write([]byte("oops\n"))
	out.Write([]byte("lo\nwor"))
	out.Write([]byte("ld\n" + long + "\n"))
	out.Write([]byte("tail"))
	out.Close()
	errw.Close()
	l.Close()
	want := []string{
		"stderr F oops",
		"stdout F hello",
		"stdout F world",
		"stdout P " + long[:MaxLine],
		"stdout F " + long[MaxLine:],
		"stdout F tail",
	}
	recs := <-got
	if strings.Join(recs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("records:\n%q\nwant:\n%q", recs, want)
	}
}

func TestInterleavedWritersKeepRecordsWhole(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	l := New(w)
	got := make(chan []string)
	go func() { got <- records(t, r) }()
	var wg sync.WaitGroup
	const lines = 500
	for _, s := range []string{Stdout, Stderr} {
		wr := l.NewWriter(s, nil, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < lines; i++ {
				wr.Write([]byte(strings.Repeat(s[3:4], 3000) + "\n"))
			}
			wr.Close()
		}()
	}
	wg.Wait()
	l.Close()
	recs := <-got
	if len(recs) != 2*lines {
		t.Fatalf("%d records, want %d", len(recs), 2*lines)
	}
	for _, rec := range recs {
		if rec != "stdout F "+strings.Repeat("o", 3000) && rec != "stderr F "+strings.Repeat("e", 3000) {
			t.Fatalf("mixed record %.60q", rec)
		}
	}
}

func TestReopenAndTee(t *testing.T) {
	r1, w1, _ := os.Pipe()
	r2, w2, _ := os.Pipe()
	l := New(w1)
	var teed []byte
	out := l.NewWriter(Stdout, func(b []byte) { teed = append(teed, b...) }, nil)
	g1 := make(chan []string)
	g2 := make(chan []string)
	go func() { g1 <- records(t, r1) }()
	go func() { g2 <- records(t, r2) }()
	out.Write([]byte("one\n"))
	l.Reopen(w2)
	out.Write([]byte("two\n"))
	out.Close()
	l.Close()
	if a, b := <-g1, <-g2; len(a) != 1 || a[0] != "stdout F one" || len(b) != 1 || b[0] != "stdout F two" {
		t.Fatalf("before reopen %q, after %q", a, b)
	}
	if string(teed) != "one\ntwo\n" {
		t.Fatalf("tee saw %q", teed)
	}
}
