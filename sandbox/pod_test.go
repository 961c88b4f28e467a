package sandbox

import (
	"os"
	"testing"
)

func TestStartPodChecksOptions(t *testing.T) {
	if _, err := StartPod(PodOptions{Trees: []string{"r=/"}}); err == nil {
		t.Fatal("a pod without a control listener started")
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := StartPod(PodOptions{ControlListener: f}); err == nil {
		t.Fatal("a pod whose gofer serves nothing started")
	}
}

func TestPodSpec(t *testing.T) {
	if s := PodSpec("h"); !s.Pod || s.Hostname != "h" {
		t.Fatalf("PodSpec: %+v", s)
	}
}
