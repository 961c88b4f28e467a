package kernel

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"

	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

func TestCheckMQName(t *testing.T) {
	long := make([]byte, vfs.NameMax+1)
	for i := range long {
		long[i] = 'q'
	}
	slashLong := append([]byte{}, long...)
	slashLong[3] = '/'
	for name, want := range map[string]error{
		"q":                        nil,
		string(long[:vfs.NameMax]): nil,
		"":                         unix.ENOENT,
		".":                        unix.EACCES,
		"..":                       unix.EACCES,
		"...":                      nil,
		"a/b":                      unix.EACCES,
		string(long):               unix.ENAMETOOLONG,
		string(slashLong):          unix.EACCES, // '/' is checked first
	} {
		if got := CheckMQName(name); got != want {
			t.Errorf("CheckMQName(%.20q) = %v, want %v", name, got, want)
		}
	}
}

func TestMQCharge(t *testing.T) {
	// mqueue_get_inode's arithmetic on amd64.
	for _, c := range []struct {
		maxMsg, msgSize int64
		want            uint64
	}{
		{1, 904, 1000},
		{10, 8192, 10*8192 + 10*48 + 10*48},
		{65536, 1, 65536 + 65536*48 + 32768*48},
	} {
		if got, ok := mqCharge(c.maxMsg, c.msgSize); !ok || got != c.want {
			t.Errorf("mqCharge(%d, %d) = %d, %v; want %d", c.maxMsg, c.msgSize, got, ok, c.want)
		}
	}
	if _, ok := mqCharge(1<<40, 1<<40); ok {
		t.Errorf("mqCharge overflow not detected")
	}
}

func TestMQueueOrderAndAccounting(t *testing.T) {
	n := newMQNamespace()
	n.mu.Lock()
	q, err := n.createLocked("q", 0o600, &MQAttr{MaxMsg: 4, MsgSize: 8}, mqCreator{})
	n.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if r := q.Readiness(waiter.EventIn | waiter.EventOut); r != waiter.EventOut {
		t.Errorf("empty readiness %#x", r)
	}
	for _, m := range []struct {
		text string
		prio uint32
	}{{"a1", 1}, {"b", 5}, {"a2", 1}, {"c", 0}} {
		q.mu.Lock()
		q.insertLocked(&mqMessage{prio: m.prio, text: []byte(m.text)})
		q.mu.Unlock()
	}
	if r := q.Readiness(waiter.EventIn | waiter.EventOut); r != waiter.EventIn {
		t.Errorf("full readiness %#x", r)
	}
	if got := n.QueuedBytes(); got != 6 {
		t.Errorf("QueuedBytes = %d, want 6", got)
	}
	for _, want := range []string{"b", "a1", "a2", "c"} {
		q.mu.Lock()
		m := q.getLocked()
		q.mu.Unlock()
		if string(m.text) != want {
			t.Errorf("got %q, want %q", m.text, want)
		}
	}
	// The queue and its charge go when the name and the last open do.
	if err := q.Open(); err != nil {
		t.Fatal(err)
	}
	charged := n.ChargedBytes(0)
	if charged != 4*8+4*48+4*48 || n.count != 1 {
		t.Fatalf("charge %d count %d", charged, n.count)
	}
	if err := n.Unlink("q"); err != nil {
		t.Fatal(err)
	}
	if st := q.Stat(); st.Nlink != 0 || n.count != 1 {
		t.Errorf("unlinked open queue: nlink %d count %d", st.Nlink, n.count)
	}
	q.Release()
	if n.count != 0 || n.ChargedBytes(0) != 0 {
		t.Errorf("after last close: count %d charge %d", n.count, n.ChargedBytes(0))
	}
	if err := n.Unlink("q"); err != unix.ENOENT {
		t.Errorf("second Unlink = %v", err)
	}
	if err := q.Open(); err != unix.ENOENT {
		t.Errorf("Open of a freed queue = %v, want ENOENT", err)
	}
}

func TestMQLimits(t *testing.T) {
	n := newMQNamespace()
	n.SetSysctl("queues_max", 1)
	user := mqCreator{limited: true, rlimit: 1 << 20}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := n.createLocked("big", 0o600, &MQAttr{MaxMsg: 11, MsgSize: 8}, user); err != unix.EINVAL {
		t.Errorf("maxmsg over msg_max: %v", err)
	}
	admin := user
	admin.sysResource = true
	if _, err := n.createLocked("big", 0o600, &MQAttr{MaxMsg: 11, MsgSize: 8}, admin); err != nil {
		t.Errorf("maxmsg over msg_max with CAP_SYS_RESOURCE: %v", err)
	}
	if _, err := n.createLocked("more", 0o600, nil, user); err != unix.ENOSPC {
		t.Errorf("past queues_max: %v", err)
	}
	if _, err := n.createLocked("hard", 0o600, &MQAttr{MaxMsg: mqHardMsgMax + 1, MsgSize: 1}, admin); err != unix.EINVAL {
		t.Errorf("past HARD_MSGMAX: %v", err)
	}
	small := admin
	small.rlimit = 100
	if _, err := n.createLocked("rl", 0o600, &MQAttr{MaxMsg: 1, MsgSize: 5}, small); err != unix.EMFILE {
		t.Errorf("past RLIMIT_MSGQUEUE: %v", err)
	}
}

func TestMQMessageCharge(t *testing.T) {
	// alloc_msg's kmalloc'ed pieces on amd64, each with SLUB's
	// obj_cgroup pointer.
	for _, c := range []struct{ n, want int64 }{
		{0, 64 + 8},                          // msg_msg alone: kmalloc-64
		{16, 64 + 8},                         // 48+16
		{17, 96 + 8},                         // 48+17
		{4048, 4096 + 8},                     // DATALEN_MSG fills a page
		{4049, 4096 + 8 + 16 + 8},            // one byte in a msg_msgseg
		{8192, 4096 + 8 + 4096 + 8 + 64 + 8}, // 4048 + 4088 + 56
	} {
		if got := mqMessageCharge(c.n); got != c.want {
			t.Errorf("mqMessageCharge(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// Messages are charged to the sender's memory account while they exist:
// until received, until a sender that gave up takes its message back,
// or until the queue goes with them; a message that cannot be charged is
// ENOMEM, as Linux's GFP_KERNEL_ACCOUNT allocation of it fails.
func TestMQMessagesChargedToSender(t *testing.T) {
	n := newMQNamespace()
	n.mu.Lock()
	q, err := n.createLocked("q", 0o600, &MQAttr{MaxMsg: 3, MsgSize: 8192}, mqCreator{})
	n.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Open(); err != nil {
		t.Fatal(err)
	}
	mc := mm.NewMemCgroup()
	acct := mm.Account{Memcg: mc}
	tk := &Task{tg: &ThreadGroup{}}
	text := make([]byte, 8000)
	per := mqMessageCharge(8000)
	check := func(what string, msgs int64) {
		t.Helper()
		held := msgs * per
		if got := mc.ObjectBytes(); got != held {
			t.Errorf("%s: %d bytes of messages charged, want %d", what, got, held)
		}
		// Whole pages, less than one beyond what the messages hold.
		if u := int64(mc.Usage()); u < held || u >= held+4096 {
			t.Errorf("%s: usage %d for %d bytes of messages", what, u, held)
		}
	}
	for i := 0; i < 3; i++ {
		if err := tk.mqTimedSend(acct, q, text, 1, true, time.Time{}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	check("3 queued", 3)
	if err := tk.mqTimedSend(acct, q, text, 1, true, time.Time{}); err != unix.EAGAIN {
		t.Fatalf("send to a full queue: %v, want EAGAIN", err)
	}
	check("after EAGAIN", 3)
	if err := tk.mqTimedSend(acct, q, text, 1, false, time.Now().Add(-time.Second)); err != unix.ETIMEDOUT {
		t.Fatalf("send to a full queue past its deadline: %v, want ETIMEDOUT", err)
	}
	check("after ETIMEDOUT", 3)
	if _, _, err := tk.MQTimedReceive(q, true, time.Time{}); err != nil {
		t.Fatal(err)
	}
	check("after a receive", 2)

	// A limit the next message's pages do not fit under.
	mc.SetLimit(mc.Usage())
	if err := tk.mqTimedSend(acct, q, text, 1, true, time.Time{}); err != unix.ENOMEM {
		t.Fatalf("send past the memory limit: %v, want ENOMEM", err)
	}
	check("after ENOMEM", 2)
	if q.Attr().CurMsgs != 2 {
		t.Errorf("ENOMEM send queued a message")
	}
	mc.SetLimit(0)

	// The queue goes with its messages when unlinked and closed.
	if err := n.Unlink("q"); err != nil {
		t.Fatal(err)
	}
	check("unlinked, open", 2)
	q.Release()
	check("freed", 0)
	if mc.Usage() != 0 {
		t.Errorf("usage %d after the queue went", mc.Usage())
	}
}
