package monotime

import (
	"testing"
	"time"
)

func TestNowAdvancesWithTime(t *testing.T) {
	a := Now()
	time.Sleep(2 * time.Millisecond)
	b := Now()
	if d := b - a; d < 2*time.Millisecond {
		t.Errorf("Now advanced by %v across a 2ms sleep", d)
	}
}

func BenchmarkNow(b *testing.B) {
	for b.Loop() {
		Now()
	}
}

func BenchmarkTimeNow(b *testing.B) {
	for b.Loop() {
		time.Now()
	}
}
