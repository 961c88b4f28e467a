// Command goprog exercises the Go runtime inside the sandbox: goroutines on
// several threads, heavy allocation (GC), timers and os/exec.
package main

import (
	"fmt"
	"os/exec"
	"sync"
	"time"
)

func main() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	sum := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := make([][]byte, 0)
			for j := 0; j < 200; j++ {
				s = append(s, make([]byte, 10000))
			}
			mu.Lock()
			sum += len(s) * i
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	t := time.NewTimer(20 * time.Millisecond)
	<-t.C
	out, err := exec.Command("/bin/busybox", "echo", "from child").Output()
	fmt.Printf("sum=%d child=%q err=%v\n", sum, out, err)
}
