package kernel

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel log: what dmesg(1) reads through syslog(2).
//
// The sandbox's kernel logs what a pod's operator looks for there: the
// OOM killer's victims and the processes killed by a fault they did not
// handle, in Linux's words so that the usual searches ("Killed process",
// "segfault at") find them. The log is the pod's own, so reading it
// needs no privilege (kernel.dmesg_restrict is 0, Linux's own default);
// clearing it and the console calls need CAP_SYSLOG or CAP_SYS_ADMIN.

// klogBufferBytes is the log's size (log_buf_len; CONFIG_LOG_BUF_SHIFT
// 17): the oldest records go when the texts outgrow it.
const klogBufferBytes = 1 << 17

// klogRecordOverhead is what a record costs in the buffer besides its
// text, as Linux's printk_info does.
const klogRecordOverhead = 16

// Log levels (include/linux/kern_levels.h).
const (
	klogErr  = 3
	klogInfo = 6
)

// capSyslog is CAP_SYSLOG.
const capSyslog = 34

// klogBurst rate-limited messages (printkRatelimited) may be logged in
// each klogInterval, all kinds together (printk_ratelimit's defaults): a
// program that faults in a loop cannot flood the log.
const (
	klogBurst    = 10
	klogInterval = 5 * time.Second
)

// klogRecord is one message.
type klogRecord struct {
	seq uint64
	// at is the time since boot.
	at    time.Duration
	level int
	text  string
}

// formatted is the record as syslog(2) returns it: "<level>[seconds]
// text\n".
func (r *klogRecord) formatted() string {
	us := r.at.Microseconds()
	return fmt.Sprintf("<%d>[%5d.%06d] %s\n", r.level, us/1e6, us%1e6, r.text)
}

// kernelLog is the log's buffer and the readers' positions.
type kernelLog struct {
	// mu protects every field.
	mu      sync.Mutex
	records []klogRecord
	bytes   int
	// next numbers the next record; clearSeq is the first record
	// READ_ALL shows (SYSLOG_ACTION_CLEAR moves it), readSeq the first
	// SYSLOG_ACTION_READ has not returned all of, readPartial how many
	// bytes of that one's formatted text it has.
	next, clearSeq, readSeq uint64
	readPartial             int
	// added is made by a reader that waits for a record, and closed
	// (and forgotten) when one is added.
	added chan struct{}
	// windowStart and inWindow rate-limit the messages that ask for it.
	windowStart time.Time
	inWindow    int
}

// printk adds a message to the kernel log.
func (k *Kernel) printk(level int, format string, args ...any) {
	l := &k.klog
	text := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, klogRecord{seq: l.next, at: time.Since(k.BootTime), level: level, text: text})
	l.next++
	l.bytes += len(text) + klogRecordOverhead
	drop := 0
	for l.bytes > klogBufferBytes && drop < len(l.records)-1 {
		l.bytes -= len(l.records[drop].text) + klogRecordOverhead
		drop++
	}
	if drop > 0 {
		l.records = append(l.records[:0:0], l.records[drop:]...)
	}
	if l.added != nil {
		close(l.added)
		l.added = nil
	}
}

// printkRatelimited is printk under printk_ratelimit: it reports false,
// logging nothing, past klogBurst messages in klogInterval.
func (k *Kernel) printkRatelimited(level int, format string, args ...any) bool {
	l := &k.klog
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.windowStart) >= klogInterval {
		l.windowStart, l.inWindow = now, 0
	}
	l.inWindow++
	allowed := l.inWindow <= klogBurst
	l.mu.Unlock()
	if allowed {
		k.printk(level, format, args...)
	}
	return allowed
}

// LogRatelimited adds an error message of a subsystem to the kernel log
// under printk_ratelimit: why the packet filter refused a table, which
// is all Linux tells of it besides an errno.
func (k *Kernel) LogRatelimited(msg string) {
	k.printkRatelimited(klogErr, "%s", msg)
}

// firstLocked returns the index of the first record at or after seq.
//
// Preconditions: l.mu is held.
func (l *kernelLog) firstLocked(seq uint64) int {
	if len(l.records) == 0 {
		return 0
	}
	if oldest := l.records[0].seq; seq > oldest {
		return int(min(seq-oldest, uint64(len(l.records))))
	}
	return 0
}

// Syslog actions (syslog(2)).
const (
	syslogClose        = 0
	syslogOpen         = 1
	syslogRead         = 2
	syslogReadAll      = 3
	syslogReadClear    = 4
	syslogClear        = 5
	syslogConsoleOff   = 6
	syslogConsoleOn    = 7
	syslogConsoleLevel = 8
	syslogSizeUnread   = 9
	syslogSizeBuffer   = 10
)

// Syslog implements syslog(2) for the calling task: do_syslog's checks
// and actions. hasBuf says the caller's buffer is not NULL. The read
// actions return the text to copy to the buffer, of size n; the others
// their result.
func (t *Task) Syslog(action int, hasBuf bool, n int) (text string, result int, err error) {
	// syslog_action_restricted with dmesg_restrict 0: anyone may read
	// the whole log and its size; the rest, unknown actions included,
	// is privileged.
	if action != syslogReadAll && action != syslogSizeBuffer && !t.creds.HasCap(capSyslog) && !t.creds.HasCap(CapSysAdmin) {
		return "", 0, unix.EPERM
	}
	if action < syslogClose || action > syslogSizeBuffer {
		return "", 0, unix.EINVAL
	}
	l := &t.k.klog
	switch action {
	case syslogRead:
		if !hasBuf || n < 0 {
			return "", 0, unix.EINVAL
		}
		if n == 0 {
			return "", 0, nil
		}
		return l.read(t, n)
	case syslogReadAll, syslogReadClear:
		if !hasBuf || n < 0 {
			return "", 0, unix.EINVAL
		}
		if n == 0 {
			return "", 0, nil
		}
		text := l.readAll(n, action == syslogReadClear)
		return text, len(text), nil
	case syslogClear:
		l.mu.Lock()
		l.clearSeq = l.next
		l.mu.Unlock()
	case syslogConsoleLevel:
		// The sandbox has no console: the level is checked, not kept.
		if n < 1 || n > 8 {
			return "", 0, unix.EINVAL
		}
	case syslogSizeUnread:
		l.mu.Lock()
		defer l.mu.Unlock()
		size := 0
		for _, r := range l.records[l.firstLocked(l.readSeq):] {
			size += len(r.formatted())
		}
		return "", size - l.readPartialLocked(), nil
	case syslogSizeBuffer:
		return "", klogBufferBytes, nil
	}
	return "", 0, nil
}

// readPartialLocked is how much of the first unread record READ has
// returned, 0 if that record is gone.
//
// Preconditions: l.mu is held.
func (l *kernelLog) readPartialLocked() int {
	if len(l.records) == 0 || l.records[0].seq > l.readSeq {
		return 0
	}
	return l.readPartial
}

// readAll returns the newest records since the last clear that fit in n
// bytes, oldest first, as syslog_print_all does, and clears the log with
// clear.
func (l *kernelLog) readAll(n int, clear bool) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	recs := l.records[l.firstLocked(l.clearSeq):]
	texts := make([]string, 0, len(recs))
	size := 0
	for i := len(recs) - 1; i >= 0; i-- {
		s := recs[i].formatted()
		if size+len(s) > n {
			break
		}
		size += len(s)
		texts = append(texts, s)
	}
	var b strings.Builder
	b.Grow(size)
	for i := len(texts) - 1; i >= 0; i-- {
		b.WriteString(texts[i])
	}
	if clear {
		l.clearSeq = l.next
	}
	return b.String()
}

// read waits for records READ has not returned and returns as many as
// fit in n bytes, the first at least in part, as syslog_print does.
func (l *kernelLog) read(t *Task, n int) (string, int, error) {
	for {
		l.mu.Lock()
		i := l.firstLocked(l.readSeq)
		if i < len(l.records) {
			break
		}
		if l.added == nil {
			l.added = make(chan struct{})
		}
		ch := l.added
		l.mu.Unlock()
		if err := t.Block(ch); err != nil {
			return "", 0, err
		}
	}
	defer l.mu.Unlock()
	i := l.firstLocked(l.readSeq)
	if l.records[i].seq != l.readSeq {
		// Records it had not read were dropped meanwhile.
		l.readSeq, l.readPartial = l.records[i].seq, 0
	}
	var b strings.Builder
	for ; i < len(l.records) && b.Len() < n; i++ {
		s := l.records[i].formatted()[l.readPartial:]
		if b.Len()+len(s) > n {
			s = s[:n-b.Len()]
			b.WriteString(s)
			l.readPartial += len(s)
			break
		}
		b.WriteString(s)
		l.readSeq, l.readPartial = l.records[i].seq+1, 0
	}
	return b.String(), b.Len(), nil
}

// logOOMKillLocked logs the OOM killer's choice as Linux's memcg OOM
// does (mem_cgroup_print_oom_meminfo's first line, oom_kill_process's
// message).
//
// Preconditions: k.mu is held.
func (k *Kernel) logOOMKillLocked(c *Container, victim *ThreadGroup) {
	k.printk(klogInfo, "memory: usage %dkB, limit %dkB, failcnt %d", c.memcg.Usage()>>10, c.memcg.Limit()>>10, c.memcg.Failcnt())
	k.logKilledLocked("Memory cgroup out of memory", victim)
}

// logKilledLocked logs an OOM victim as __oom_kill_process does, after
// the killer's own words (why).
//
// Preconditions: k.mu is held.
func (k *Kernel) logKilledLocked(why string, victim *ThreadGroup) {
	var name string
	var uid uint32
	var vm, anon, file, shmem uint64
	if l := victim.leader; l != nil {
		name, uid = l.name, l.creds.UID
		if l.mm != nil {
			vm = l.mm.Usage().VirtualBytes
			anon, file, shmem = l.mm.ResidentByKind()
		}
	}
	k.printk(klogErr, "%s: Killed process %d (%s) total-vm:%dkB, anon-rss:%dkB, file-rss:%dkB, shmem-rss:%dkB, UID:%d oom_score_adj:%d",
		why, victim.id, name, vm>>10, anon*4096>>10, file*4096>>10, shmem*4096>>10, uid, victim.oomScoreAdj)
}

// logUnhandledFault logs a page fault whose SIGSEGV will kill the task
// (forceSignal told), as x86's show_signal_msg does: the faulting
// address, the instruction and stack pointers, the error code and the
// file mapped at the instruction (Linux goes on with the host CPU it ran
// on, which the sandbox does not know, and the code bytes, which it
// leaves out).
func (t *Task) logUnhandledFault(addr, errCode uint64) {
	ip, sp := t.st.Regs.Rip, t.st.Regs.Rsp
	t.k.printkRatelimited(t.faultLogLevel(), "%s[%d]: segfault at %x ip %016x sp %016x error %x%s", t.name, t.tg.id, addr, ip, sp, errCode, t.codeFileAt(ip))
}

// trapNames are the descriptions x86's traps.c logs an unhandled trap
// with, by the signal and code the trap delivers.
var trapNames = map[[2]int]string{
	{int(unix.SIGFPE), 1}:     "trap divide error",   // FPE_INTDIV
	{int(unix.SIGILL), 2}:     "trap invalid opcode", // ILL_ILLOPN
	{int(unix.SIGTRAP), 0x80}: "trap int3",           // SI_KERNEL
	{int(unix.SIGSEGV), 0x80}: "general protection fault",
}

// logUnhandledTrap logs an exception other than a page fault whose
// signal will kill the task, as traps.c's show_signal does ("traps:
// comm[pid] trap invalid opcode ip:... sp:... error:0 in ...").
func (t *Task) logUnhandledTrap(sig unix.Signal, code int) {
	desc, known := trapNames[[2]int{int(sig), code}]
	if !known {
		return
	}
	ip, sp := t.st.Regs.Rip, t.st.Regs.Rsp
	t.k.printkRatelimited(t.faultLogLevel(), "traps: %s[%d] %s ip:%x sp:%x error:0%s", t.name, t.tg.id, desc, ip, sp, t.codeFileAt(ip))
}

// faultLogLevel is KERN_EMERG for the sandbox's init, KERN_INFO for the
// rest, as show_signal_msg chooses.
func (t *Task) faultLogLevel() int {
	if t.tg.id == 1 {
		return 0
	}
	return klogInfo
}

// codeFileAt is print_vma_addr's " in FILE[OFFSET,START+SIZE]" for the
// file mapped at ip, "" when none is.
func (t *Task) codeFileAt(ip uint64) string {
	if t.mm == nil {
		return ""
	}
	for _, v := range t.mm.VMAs(false) {
		if v.Start <= ip && ip < v.End {
			if f := MappingFile(v.File); f != nil && f.Dentry() != nil {
				return fmt.Sprintf(" in %s[%x,%x+%x]", f.Dentry().Name(), ip-v.Start+v.Offset, v.Start, v.End-v.Start)
			}
			return ""
		}
	}
	return ""
}
