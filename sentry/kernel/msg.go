package kernel

// System V message queues (ipc/msg.c): msgget, msgsnd, msgrcv, msgctl.
//
// As in Linux, a sender that finds a receiver sleeping for a matching
// message hands the message over directly (pipelined_send) instead of
// queueing it, a full queue parks senders in FIFO order and wakes those
// whose message now fits (ss_wakeup), and removal fails every sleeper with
// EIDRM. msgsnd and msgrcv return ERESTARTNOHAND when a signal interrupts
// them: restarted unless a handler runs (then EINTR, even with
// SA_RESTART).
//
// Lock order: IPCNamespace.msgMu is never held while copying to or from
// application memory or while taking Kernel.mu.

import (
	"math"

	"golang.org/x/sys/unix"
)

// Message queue constants (include/uapi/linux/msg.h).
const (
	msgStat    = 11 // MSG_STAT
	msgInfo    = 12 // MSG_INFO
	msgStatAny = 13 // MSG_STAT_ANY

	msgNoError = 0o10000 // MSG_NOERROR
	msgExcept  = 0o20000 // MSG_EXCEPT
	msgCopy    = 0o40000 // MSG_COPY

	// Linux's defaults, the limits of a new IPC namespace.
	msgMNI  = 32000
	msgMax  = 8192
	msgMNB  = 16384
	msgSSZ  = 16
	msgPool = msgMNI * msgMNB / 1024
	msgMap  = msgMNB
	msgTQL  = msgMNB
	msgSeg  = 0xffff

	// Receive modes (SEARCH_*).
	searchAny       = 1
	searchEqual     = 2
	searchNotEqual  = 3
	searchLessEqual = 4
	searchNumber    = 5
)

// msgQueue is a message queue (struct msg_queue).
type msgQueue struct {
	ipcPerm
	ns                  *IPCNamespace
	stime, rtime, ctime int64
	// cbytes and qnum are the bytes and messages on the queue, qbytes
	// its capacity in bytes.
	cbytes, qnum, qbytes uint64
	// lspid and lrpid are root-namespace IDs of the last sender and
	// receiver (0: none).
	lspid, lrpid int32
	messages     []*message
	// receivers and senders are the sleepers, in FIFO order.
	receivers []*msgReceiver
	senders   []*msgSender
}

// message is one message (struct msg_msg).
type message struct {
	mtype int64
	text  []byte
}

// msgReceiver is a sleeping msgrcv (struct msg_receiver).
type msgReceiver struct {
	mode    int
	msgtype int64
	maxsize int64
	// tid is the receiver's root-namespace thread ID: a pipelined
	// send records it as lrpid (task_pid, as Linux does).
	tid int32
	// done is set when a message (msg) or an error (err) was handed
	// over; wake is signalled then, and when the receiver must look again.
	done bool
	msg  *message
	err  error
	wake chan struct{}
}

// msgSender is a sleeping msgsnd (struct msg_sender).
type msgSender struct {
	msgsz uint64
	wake  chan struct{}
}

func (q *msgQueue) id() int32 { return q.ipcPerm.id() }

func wakeOne(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Msgget implements msgget(2).
func (t *Task) Msgget(key, flag int32) (int32, error) {
	ns := t.IPCNamespace()
	c := &t.creds
	ns.msgMu.Lock()
	defer ns.msgMu.Unlock()
	return ns.msgs.get(c, key, flag, nil, func() (int32, error) {
		q := &msgQueue{
			ipcPerm: newIPCPerm(c, key, flag),
			ns:      ns,
			ctime:   nowSeconds(),
			qbytes:  uint64(ns.limits.msgMNB.Load()),
		}
		if err := ns.msgs.add(q, int(ns.limits.msgMNI.Load())); err != nil {
			return 0, err
		}
		return q.id(), nil
	})
}

// fits is msg_fits_inqueue.
func (q *msgQueue) fits(msgsz uint64) bool {
	return msgsz+q.cbytes <= q.qbytes && 1+q.qnum <= q.qbytes
}

// ssWakeup wakes the sleeping senders whose message fits now, moving the
// others to the end in their order; kill wakes them all for removal
// (ss_wakeup).
func (q *msgQueue) ssWakeup(kill bool) {
	if kill {
		for _, s := range q.senders {
			wakeOne(s.wake)
		}
		q.senders = nil
		return
	}
	var keep, moved []*msgSender
	for _, s := range q.senders {
		if !q.fits(s.msgsz) {
			moved = append(moved, s)
			continue
		}
		// Woken senders stay queued until they run (ss_del).
		wakeOne(s.wake)
		keep = append(keep, s)
	}
	q.senders = append(keep, moved...)
}

// ssDel takes s off the senders, if it is still there.
func (q *msgQueue) ssDel(s *msgSender) {
	for i, e := range q.senders {
		if e == s {
			q.senders = append(q.senders[:i], q.senders[i+1:]...)
			return
		}
	}
}

// rDel takes r off the receivers, if it is still there.
func (q *msgQueue) rDel(r *msgReceiver) {
	for i, e := range q.receivers {
		if e == r {
			q.receivers = append(q.receivers[:i], q.receivers[i+1:]...)
			return
		}
	}
}

// expungeAll ends every receiver's sleep: with err (EIDRM) handed over,
// or, for err == nil, just woken to look again (expunge_all(-EAGAIN)).
func (q *msgQueue) expungeAll(err error) {
	for _, r := range q.receivers {
		if err != nil {
			r.done, r.err = true, err
		}
		wakeOne(r.wake)
	}
	if err != nil {
		q.receivers = nil
	}
}

// testMsg is testmsg: whether m matches a receive of typ in mode.
func testMsg(m *message, typ int64, mode int) bool {
	switch mode {
	case searchAny, searchNumber:
		return true
	case searchLessEqual:
		return m.mtype <= typ
	case searchEqual:
		return m.mtype == typ
	case searchNotEqual:
		return m.mtype != typ
	}
	return false
}

// pipelinedSend hands m to the first sleeping receiver it matches; a
// receiver whose buffer is too small gets E2BIG and the search goes on
// (pipelined_send).
func (q *msgQueue) pipelinedSend(m *message) bool {
	for i := 0; i < len(q.receivers); {
		r := q.receivers[i]
		if !testMsg(m, r.msgtype, r.mode) {
			i++
			continue
		}
		q.receivers = append(q.receivers[:i], q.receivers[i+1:]...)
		r.done = true
		if r.maxsize < int64(len(m.text)) {
			r.err = unix.E2BIG
			wakeOne(r.wake)
			continue
		}
		q.lrpid = r.tid
		q.rtime = nowSeconds()
		r.msg = m
		wakeOne(r.wake)
		return true
	}
	return false
}

// Msgsnd implements msgsnd(2): buf is the struct msgbuf's address.
func (t *Task) Msgsnd(id int32, buf, msgsz uint64, flag int32) error {
	var b [8]byte
	if _, err := t.CopyIn(buf, b[:]); err != nil {
		return unix.EFAULT
	}
	mtype := int64(ipcLE.Uint64(b[:]))
	if msgsz > uint64(t.IPCNamespace().limits.msgMax.Load()) || id < 0 || mtype < 1 {
		return unix.EINVAL
	}
	text := make([]byte, msgsz)
	if _, err := t.CopyIn(buf+8, text); err != nil {
		return unix.EFAULT
	}
	return t.msgsnd(id, mtype, text, flag)
}

// msgsnd sends the message once it is copied in (do_msgsnd).
func (t *Task) msgsnd(id int32, mtype int64, text []byte, flag int32) error {
	ns := t.IPCNamespace()
	ns.msgMu.Lock()
	defer ns.msgMu.Unlock()
	q, err := ns.msgs.lookup(id)
	if err != nil {
		return err
	}
	msgsz := uint64(len(text))
	for {
		if !q.allowed(&t.creds, 0o222) {
			return unix.EACCES
		}
		if q.removed {
			return unix.EIDRM
		}
		if q.fits(msgsz) {
			break
		}
		if flag&IPCNoWait != 0 {
			return unix.EAGAIN
		}
		s := &msgSender{msgsz: msgsz, wake: make(chan struct{}, 1)}
		q.senders = append(q.senders, s)
		ns.msgMu.Unlock()
		berr := t.Block(s.wake)
		ns.msgMu.Lock()
		if q.removed {
			return unix.EIDRM
		}
		q.ssDel(s)
		if berr != nil {
			return ERESTARTNOHAND
		}
	}
	q.lspid = t.tg.id
	q.stime = nowSeconds()
	m := &message{mtype: mtype, text: text}
	if !q.pipelinedSend(m) {
		q.messages = append(q.messages, m)
		q.cbytes += msgsz
		q.qnum++
		ns.msgBytes += len(text)
		ns.msgHdrs++
	}
	return nil
}

// findMsg is find_msg: the index of the message a receive of *typ in
// mode takes, or -1. A "lowest type up to" search lowers *typ as it finds
// lower types.
func (q *msgQueue) findMsg(typ *int64, mode int) int {
	found := -1
	count := int64(0)
	for i, m := range q.messages {
		if !testMsg(m, *typ, mode) {
			continue
		}
		switch {
		case mode == searchLessEqual && m.mtype != 1:
			*typ = m.mtype - 1
			found = i
		case mode == searchNumber:
			if *typ == count {
				return i
			}
		default:
			return i
		}
		count++
	}
	return found
}

// Msgrcv implements msgrcv(2): buf is the struct msgbuf's address; it
// returns the number of bytes of text received.
func (t *Task) Msgrcv(id int32, buf uint64, bufsz, typ int64, flag int32) (uint64, error) {
	if id < 0 || bufsz < 0 {
		return 0, unix.EINVAL
	}
	if flag&msgCopy != 0 {
		if flag&msgExcept != 0 || flag&IPCNoWait == 0 {
			return 0, unix.EINVAL
		}
		// prepare_copy reads the buffer into the copy first.
		if _, err := t.CopyIn(buf, make([]byte, min(bufsz, t.IPCNamespace().limits.msgMax.Load()))); err != nil {
			return 0, unix.EFAULT
		}
	}
	mtype, text, err := t.msgrcv(id, bufsz, typ, flag)
	if err != nil {
		return 0, err
	}
	// do_msg_fill: the message has left the queue even if this fails.
	var b [8]byte
	ipcLE.PutUint64(b[:], uint64(mtype))
	if _, err := t.CopyOut(buf, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	if _, err := t.CopyOut(buf+8, text); err != nil {
		return 0, unix.EFAULT
	}
	return uint64(len(text)), nil
}

// msgrcv finds and takes the message (do_msgrcv): it returns the
// message's type and the bytes to copy out (truncated to bufsz).
func (t *Task) msgrcv(id int32, bufsz int64, typ int64, flag int32) (int64, []byte, error) {
	var mode int
	switch {
	case flag&msgCopy != 0:
		mode = searchNumber
	case typ == 0:
		mode = searchAny
	case typ < 0:
		mode = searchLessEqual
		if typ == math.MinInt64 {
			typ = math.MaxInt64
		} else {
			typ = -typ
		}
	case flag&msgExcept != 0:
		mode = searchNotEqual
	default:
		mode = searchEqual
	}
	ns := t.IPCNamespace()
	ns.msgMu.Lock()
	defer ns.msgMu.Unlock()
	q, err := ns.msgs.lookup(id)
	if err != nil {
		return 0, nil, err
	}
	var m *message
	for {
		if !q.allowed(&t.creds, 0o444) {
			return 0, nil, unix.EACCES
		}
		if q.removed {
			return 0, nil, unix.EIDRM
		}
		if i := q.findMsg(&typ, mode); i >= 0 {
			m = q.messages[i]
			if bufsz < int64(len(m.text)) && flag&msgNoError == 0 {
				return 0, nil, unix.E2BIG
			}
			if flag&msgCopy != 0 {
				// copy_msg into a copy of min(bufsz, msgmax)
				// bytes.
				if int64(len(m.text)) > min(bufsz, q.ns.limits.msgMax.Load()) {
					return 0, nil, unix.EINVAL
				}
				break
			}
			q.messages = append(q.messages[:i], q.messages[i+1:]...)
			q.qnum--
			q.rtime = nowSeconds()
			q.lrpid = t.tg.id
			q.cbytes -= uint64(len(m.text))
			ns.msgBytes -= len(m.text)
			ns.msgHdrs--
			q.ssWakeup(false)
			break
		}
		if flag&IPCNoWait != 0 {
			return 0, nil, unix.ENOMSG
		}
		r := &msgReceiver{mode: mode, msgtype: typ, maxsize: bufsz, tid: t.tid, wake: make(chan struct{}, 1)}
		if flag&msgNoError != 0 {
			r.maxsize = math.MaxInt32
		}
		q.receivers = append(q.receivers, r)
		ns.msgMu.Unlock()
		berr := t.Block(r.wake)
		ns.msgMu.Lock()
		if r.done {
			if r.err != nil {
				return 0, nil, r.err
			}
			m = r.msg
			break
		}
		q.rDel(r)
		if berr != nil {
			return 0, nil, ERESTARTNOHAND
		}
	}
	n := min(int64(len(m.text)), bufsz)
	return m.mtype, m.text[:n], nil
}

// MsqidDS is struct msqid64_ds.
type MsqidDS struct {
	Perm                 IPCPerm64
	Stime, Rtime, Ctime  int64
	Cbytes, Qnum, Qbytes uint64
	Lspid, Lrpid         int32
}

func (d *MsqidDS) marshal() []byte {
	b := make([]byte, sizeofMsqidDS)
	d.Perm.put(b)
	ipcLE.PutUint64(b[48:], uint64(d.Stime))
	ipcLE.PutUint64(b[56:], uint64(d.Rtime))
	ipcLE.PutUint64(b[64:], uint64(d.Ctime))
	ipcLE.PutUint64(b[72:], d.Cbytes)
	ipcLE.PutUint64(b[80:], d.Qnum)
	ipcLE.PutUint64(b[88:], d.Qbytes)
	ipcLE.PutUint32(b[96:], uint32(d.Lspid))
	ipcLE.PutUint32(b[100:], uint32(d.Lrpid))
	return b
}

// stat describes q with root-namespace process IDs.
func (q *msgQueue) stat() MsqidDS {
	return MsqidDS{
		Perm:  q.perm64(),
		Stime: q.stime, Rtime: q.rtime, Ctime: q.ctime,
		Cbytes: q.cbytes, Qnum: q.qnum, Qbytes: q.qbytes,
		Lspid: q.lspid, Lrpid: q.lrpid,
	}
}

// free removes q (freeque): its sleepers fail with EIDRM, its messages go.
//
// Preconditions: ns.msgMu is held.
func (q *msgQueue) free() {
	q.expungeAll(unix.EIDRM)
	q.ssWakeup(true)
	q.ns.msgs.remove(q)
	q.ns.msgHdrs -= len(q.messages)
	q.ns.msgBytes -= int(q.cbytes)
	q.messages = nil
}

// Msgctl implements msgctl(2).
func (t *Task) Msgctl(id, cmd int32, buf uint64) (uint64, error) {
	if id < 0 || cmd < 0 {
		return 0, unix.EINVAL
	}
	ns := t.IPCNamespace()
	c := &t.creds
	switch cmd {
	case IPCInfo, msgInfo:
		b := make([]byte, sizeofMsginfo)
		ns.msgMu.Lock()
		// msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql,
		// msgseg.
		if cmd == msgInfo {
			ipcLE.PutUint32(b[0:], uint32(len(ns.msgs.byIndex)))
			ipcLE.PutUint32(b[4:], uint32(min(ns.msgHdrs, math.MaxInt32)))
			ipcLE.PutUint32(b[24:], uint32(min(ns.msgBytes, math.MaxInt32)))
		} else {
			ipcLE.PutUint32(b[0:], msgPool)
			ipcLE.PutUint32(b[4:], msgMap)
			ipcLE.PutUint32(b[24:], msgTQL)
		}
		ret := ns.msgs.maxIdx()
		ns.msgMu.Unlock()
		ipcLE.PutUint32(b[8:], uint32(ns.limits.msgMax.Load()))
		ipcLE.PutUint32(b[12:], uint32(ns.limits.msgMNB.Load()))
		ipcLE.PutUint32(b[16:], uint32(ns.limits.msgMNI.Load()))
		ipcLE.PutUint32(b[20:], msgSSZ)
		ipcLE.PutUint16(b[28:], msgSeg)
		if _, err := t.CopyOut(buf, b); err != nil {
			return 0, unix.EFAULT
		}
		return uint64(ret), nil
	case IPCStat, msgStat, msgStatAny:
		ns.msgMu.Lock()
		var q *msgQueue
		var err error
		if cmd == IPCStat {
			q, err = ns.msgs.lookup(id)
		} else {
			q, err = ns.msgs.lookupIndex(id)
		}
		if err == nil && cmd != msgStatAny && !q.allowed(c, 0o444) {
			err = unix.EACCES
		}
		if err != nil {
			ns.msgMu.Unlock()
			return 0, err
		}
		ds, qid := q.stat(), q.id()
		ns.msgMu.Unlock()
		ds.Perm = ds.Perm.inUserNS(c.UserNamespace())
		// pidOf takes Kernel.mu: not under msgMu.
		ds.Lspid, ds.Lrpid = t.pidOf(ds.Lspid), t.pidOf(ds.Lrpid)
		if _, err := t.CopyOut(buf, ds.marshal()); err != nil {
			return 0, unix.EFAULT
		}
		if cmd == IPCStat {
			return 0, nil
		}
		return uint64(qid), nil
	case IPCSet, IPCRmid:
		var in IPCPerm64
		var qbytes int32
		if cmd == IPCSet {
			b := make([]byte, sizeofMsqidDS)
			if _, err := t.CopyIn(buf, b); err != nil {
				return 0, unix.EFAULT
			}
			var err error
			if in, err = getIPC64Perm(b).kernelIDs(c.UserNamespace()); err != nil {
				return 0, err
			}
			// msgctl_down takes msg_qbytes as an int.
			qbytes = int32(ipcLE.Uint64(b[88:]))
		}
		ns.msgMu.Lock()
		defer ns.msgMu.Unlock()
		q, err := ns.msgs.obtainForCtl(c, id)
		if err != nil {
			return 0, err
		}
		if cmd == IPCRmid {
			q.free()
			return 0, nil
		}
		if int64(uint32(qbytes)) > ns.limits.msgMNB.Load() && !c.HasCap(CapSysResource) {
			return 0, unix.EPERM
		}
		if err := q.update(in); err != nil {
			return 0, err
		}
		q.qbytes = uint64(int64(qbytes))
		q.ctime = nowSeconds()
		// Sleeping receivers may have lost their access, sleeping
		// senders may fit now.
		q.expungeAll(nil)
		q.ssWakeup(false)
		return 0, nil
	}
	return 0, unix.EINVAL
}

// MsgQueueInfo is one queue as /proc/sysvipc/msg lists it.
type MsgQueueInfo struct {
	MsqidDS
	ID int32
}

// MsgQueues lists the message queues in index order, process IDs as
// pidns sees them.
func (n *IPCNamespace) MsgQueues(pidns *PIDNamespace) []MsgQueueInfo {
	n.msgMu.Lock()
	var out []MsgQueueInfo
	for _, q := range n.msgs.sorted() {
		out = append(out, MsgQueueInfo{ID: q.id(), MsqidDS: q.stat()})
	}
	n.msgMu.Unlock()
	n.k.mu.Lock()
	for i := range out {
		out[i].Lspid = pidns.idLocked(out[i].Lspid)
		out[i].Lrpid = pidns.idLocked(out[i].Lrpid)
	}
	n.k.mu.Unlock()
	return out
}
