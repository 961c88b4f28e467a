// Command goprog exercises the Go runtime inside the sandbox: goroutines on
// several threads, heavy allocation (GC), timers, os/exec, and blocking
// system calls that signals interrupt and the kernel restarts.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
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
	fmt.Println(restartedReads(100))
}

// restartedReads reads n bytes one by one from a blocking pipe on a thread
// that another goroutine signals while it waits. The handler is Go's, with
// SA_RESTART: each interrupted read(2) is restarted and returns its byte,
// never EINTR. In the sandbox the read goes through the syscall package's
// one system-call site, which the systrap platform patches, so each
// restart lands on the patched site.
func restartedReads(n int) string {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return fmt.Sprintf("pipe2: %v", err)
	}
	sig := make(chan os.Signal, 64)
	signal.Notify(sig, syscall.SIGUSR1)
	defer signal.Stop(sig)
	tid := make(chan int)
	result := make(chan string)
	go func() {
		runtime.LockOSThread()
		tid <- syscall.Gettid()
		buf := make([]byte, 1)
		for i := 0; i < n; i++ {
			m, err := syscall.Read(p[0], buf)
			if m != 1 || err != nil || buf[0] != byte(i) {
				result <- fmt.Sprintf("read %d: %d bytes %v, byte %d", i, m, err, buf[0])
				return
			}
		}
		result <- fmt.Sprintf("restarted reads: %d bytes in order", n)
	}()
	reader := <-tid
	for i := 0; i < n; i++ {
		for j := 0; j < 3; j++ {
			syscall.Tgkill(syscall.Getpid(), reader, syscall.SIGUSR1)
			time.Sleep(100 * time.Microsecond)
		}
		syscall.Write(p[1], []byte{byte(i)})
	}
	return <-result
}
