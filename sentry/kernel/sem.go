package kernel

// System V semaphores (ipc/sem.c): semget, semop/semtimedop, semctl, and
// the SEM_UNDO adjustments applied when a process exits.
//
// The structure follows Linux closely because the order in which waiters
// are woken is observable:
//
//   - A sleeping semop is a semQueue on one of four kinds of list: a
//     single operation waits on its semaphore's pendingAlter (decrements)
//     or pendingConst (wait-for-zero) list; an array of operations
//     ("complex") waits on the set's own pendingAlter or pendingConst. While
//     a complex operation sleeps (complexCount > 0), the set is in complex
//     mode and every sleeping alter operation is on the set's list
//     (merge_queues); when the last one leaves, they go back
//     (unmerge_queues).
//   - The task that changes a semaphore performs the sleeping operations
//     that can now complete, on behalf of their sleepers, in FIFO order
//     (update_queue, wake_const_ops), and then wakes them: a woken semop
//     does not compete again.
//
// Lock order: IPCNamespace.semMu, then Kernel.mu is never taken under it;
// application memory is copied with no lock held.

import (
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Semaphore constants (include/uapi/linux/sem.h).
const (
	semUndoFlag = 0x1000 // SEM_UNDO

	semGetPID  = 11 // GETPID
	semGetVal  = 12 // GETVAL
	semGetAll  = 13 // GETALL
	semGetNcnt = 14 // GETNCNT
	semGetZcnt = 15 // GETZCNT
	semSetVal  = 16 // SETVAL
	semSetAll  = 17 // SETALL
	semStat    = 18 // SEM_STAT
	semInfo    = 19 // SEM_INFO
	semStatAny = 20 // SEM_STAT_ANY

	// Linux's defaults, the limits of a new IPC namespace
	// (kernel.sem = "32000 1024000000 500 32000").
	semMSL = 32000
	semMNI = 32000
	semMNS = semMNI * semMSL
	semOPM = 500
	semVMX = 32767
	semAEM = semVMX
	semUSZ = 20

	sizeofSemidDS = 104 // struct semid64_ds
	sizeofSemBuf  = 6   // struct sembuf
)

// SemBuf is struct sembuf: one operation of a semop.
type SemBuf struct {
	Num uint16
	Op  int16
	Flg int16
}

// semSet is a semaphore set (struct sem_array).
type semSet struct {
	ipcPerm
	ns    *IPCNamespace
	sems  []semaphore
	ctime int64
	// pendingAlter and pendingConst are the sleeping complex operations,
	// and in complex mode the simple alter ones too.
	pendingAlter, pendingConst semQueueList
	// complexCount is the number of sleeping complex operations.
	complexCount int
	// undos are the undo structures that refer to the set (list_id).
	undos map[*semUndo]struct{}
}

// semaphore is one semaphore of a set (struct sem).
type semaphore struct {
	val int32
	// pid is the root-namespace ID of the process that last changed the
	// semaphore (0: none).
	pid   int32
	otime int64
	// pendingAlter and pendingConst are the sleeping single operations
	// on this semaphore (outside complex mode for alter).
	pendingAlter, pendingConst semQueueList
}

// semQueue is one sleeping semop (struct sem_queue).
type semQueue struct {
	sops  []SemBuf
	undo  *semUndo
	pid   int32 // root-namespace ID of the sleeper's process
	alter bool
	// blocking is the index in sops of the operation that made it sleep.
	blocking int
	// done is set, with status, when the operation has been performed
	// for the sleeper or has failed; wake is closed then.
	done   bool
	status error
	wake   chan struct{}
	// list, prev and next place the queue on a list.
	list       *semQueueList
	prev, next *semQueue
}

// semQueueList is a FIFO list of sleeping operations.
type semQueueList struct{ head, tail *semQueue }

func (l *semQueueList) empty() bool { return l.head == nil }

func (l *semQueueList) pushBack(q *semQueue) {
	q.list, q.prev, q.next = l, l.tail, nil
	if l.tail != nil {
		l.tail.next = q
	} else {
		l.head = q
	}
	l.tail = q
}

func (l *semQueueList) remove(q *semQueue) {
	if q.prev != nil {
		q.prev.next = q.next
	} else {
		l.head = q.next
	}
	if q.next != nil {
		q.next.prev = q.prev
	} else {
		l.tail = q.prev
	}
	q.list, q.prev, q.next = nil, nil, nil
}

// semUndoList holds the SEM_UNDO adjustments of the tasks that share it
// (struct sem_undo_list): one task, or the tasks cloned with
// CLONE_SYSVSEM (the threads of a process). It is bound to one IPC
// namespace, ns: leaving the namespace applies and drops it, as Linux's
// unshare does.
type semUndoList struct {
	ns *IPCNamespace
	// refs counts the tasks sharing the list.
	refs atomic.Int32
	// entries, most recently used first, are protected by ns.semMu.
	entries []*semUndo
}

// semUndo is the adjustments of one list for one set (struct sem_undo);
// protected by the namespace's semMu.
type semUndo struct {
	ulp    *semUndoList
	set    *semSet
	semadj []int32
}

func (s *semSet) id() int32 { return s.ipcPerm.id() }

// Semget implements semget(2).
func (t *Task) Semget(key, nsems, flag int32) (int32, error) {
	ns := t.IPCNamespace()
	if nsems < 0 || int64(nsems) > ns.limits.semMSL.Load() {
		return 0, unix.EINVAL
	}
	c := &t.creds
	ns.semMu.Lock()
	defer ns.semMu.Unlock()
	more := func(s *semSet) error {
		if int(nsems) > len(s.sems) {
			return unix.EINVAL
		}
		return nil
	}
	return ns.sems.get(c, key, flag, more, func() (int32, error) {
		// newary.
		if nsems == 0 {
			return 0, unix.EINVAL
		}
		if int64(ns.usedSems)+int64(nsems) > ns.limits.semMNS.Load() {
			return 0, unix.ENOSPC
		}
		s := &semSet{
			ipcPerm: newIPCPerm(c, key, flag),
			ns:      ns,
			sems:    make([]semaphore, nsems),
			ctime:   nowSeconds(),
			undos:   make(map[*semUndo]struct{}),
		}
		if err := ns.sems.add(s, int(ns.limits.semMNI.Load())); err != nil {
			return 0, err
		}
		ns.usedSems += int(nsems)
		return s.id(), nil
	})
}

// perform tries q's operations atomically (perform_atomic_semop_slow):
// 0 when they were applied, 1 when q must sleep (q.blocking says on
// which), or an error (EAGAIN for IPC_NOWAIT, ERANGE past SEMVMX or the
// adjustment range). Operations on the same semaphore apply in order.
func (s *semSet) perform(q *semQueue) (int, error) {
	var err error
	i := 0
	for ; i < len(q.sops); i++ {
		op := &q.sops[i]
		cur := &s.sems[op.Num]
		v := cur.val
		if op.Op == 0 && v != 0 {
			goto wouldBlock
		}
		v += int32(op.Op)
		if v < 0 {
			goto wouldBlock
		}
		if v > semVMX {
			err = unix.ERANGE
			goto undo
		}
		if op.Flg&semUndoFlag != 0 {
			adj := q.undo.semadj[op.Num] - int32(op.Op)
			if adj < -semAEM-1 || adj > semAEM {
				err = unix.ERANGE
				goto undo
			}
			q.undo.semadj[op.Num] = adj
		}
		cur.val = v
	}
	for j := len(q.sops) - 1; j >= 0; j-- {
		s.sems[q.sops[j].Num].pid = q.pid
	}
	return 0, nil

wouldBlock:
	q.blocking = i
	if q.sops[i].Flg&IPCNoWait != 0 {
		err = unix.EAGAIN
	}
undo:
	for j := i - 1; j >= 0; j-- {
		op := &q.sops[j]
		s.sems[op.Num].val -= int32(op.Op)
		if op.Flg&semUndoFlag != 0 {
			q.undo.semadj[op.Num] += int32(op.Op)
		}
	}
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// complete ends q's sleep with err (wake_up_sem_queue_prepare).
func (q *semQueue) complete(err error) {
	q.done, q.status = true, err
	close(q.wake)
}

// unlinkQueue takes q off its list (unlink_queue).
func (s *semSet) unlinkQueue(q *semQueue) {
	q.list.remove(q)
	if len(q.sops) > 1 {
		s.complexCount--
	}
}

// mergeQueues moves the sleeping simple alter operations to the set's
// list, entering complex mode (merge_queues).
func (s *semSet) mergeQueues() {
	for i := range s.sems {
		l := &s.sems[i].pendingAlter
		for q := l.head; q != nil; {
			next := q.next
			l.remove(q)
			s.pendingAlter.pushBack(q)
			q = next
		}
	}
}

// unmergeQueues moves them back once no complex operation sleeps
// (unmerge_queues, which Linux runs when it drops the set's global lock).
func (s *semSet) unmergeQueues() {
	if s.complexCount > 0 {
		return
	}
	for q := s.pendingAlter.head; q != nil; {
		next := q.next
		s.pendingAlter.remove(q)
		s.sems[q.sops[0].Num].pendingAlter.pushBack(q)
		q = next
	}
}

// wakeConstOps performs the sleeping wait-for-zero operations of
// semaphore num (-1: the set's list) that can complete (wake_const_ops);
// it reports whether one did.
func (s *semSet) wakeConstOps(num int) bool {
	l := &s.pendingConst
	if num >= 0 {
		l = &s.sems[num].pendingConst
	}
	completed := false
	for q := l.head; q != nil; {
		next := q.next
		r, err := s.perform(q)
		if r == 0 {
			s.unlinkQueue(q)
			q.complete(err)
			if err == nil {
				completed = true
			}
		}
		q = next
	}
	return completed
}

// wakeupZero wakes the wait-for-zero operations that the change of the
// semaphores in sops (nil: any) may have released (do_smart_wakeup_zero).
func (s *semSet) wakeupZero(sops []SemBuf) bool {
	completed, gotZero := false, false
	if sops != nil {
		for _, op := range sops {
			if s.sems[op.Num].val == 0 {
				gotZero = true
				completed = s.wakeConstOps(int(op.Num)) || completed
			}
		}
	} else {
		for i := range s.sems {
			if s.sems[i].val == 0 {
				gotZero = true
				completed = s.wakeConstOps(i) || completed
			}
		}
	}
	if gotZero {
		completed = s.wakeConstOps(-1) || completed
	}
	return completed
}

// updateQueue performs, in FIFO order, the sleeping alter operations of
// semaphore num (-1: the set's list) that can complete (update_queue).
func (s *semSet) updateQueue(num int) bool {
	l := &s.pendingAlter
	if num >= 0 {
		l = &s.sems[num].pendingAlter
	}
	completed := false
again:
	for q := l.head; q != nil; {
		next := q.next
		// On a semaphore's own list every operation is a single
		// decrement: none can pass a zero.
		if num >= 0 && s.sems[num].val == 0 {
			break
		}
		r, err := s.perform(q)
		if r > 0 {
			q = next
			continue
		}
		s.unlinkQueue(q)
		restart := false
		if err == nil {
			completed = true
			s.wakeupZero(q.sops)
			// check_restart: a completed complex operation, or
			// pending complex ones, may have enabled earlier
			// waiters.
			restart = !s.pendingAlter.empty() || len(q.sops) > 1
		}
		q.complete(err)
		if restart {
			goto again
		}
		q = next
	}
	return completed
}

// smartUpdate runs the wake-ups a change of the semaphores in sops (nil:
// unknown) calls for, and sets otime when an operation completed or
// otime asks for it (do_smart_update).
func (s *semSet) smartUpdate(sops []SemBuf, otime bool) {
	otime = s.wakeupZero(sops) || otime
	switch {
	case !s.pendingAlter.empty():
		otime = s.updateQueue(-1) || otime
	case sops == nil:
		for i := range s.sems {
			otime = s.updateQueue(i) || otime
		}
	default:
		// Only increments can release sleeping decrements.
		for _, op := range sops {
			if op.Op > 0 {
				otime = s.updateQueue(int(op.Num)) || otime
			}
		}
	}
	if otime {
		s.setOtime(sops)
	}
}

// setOtime records a semop's time on the first semaphore it used.
func (s *semSet) setOtime(sops []SemBuf) {
	i := 0
	if sops != nil {
		i = int(sops[0].Num)
	}
	s.sems[i].otime = nowSeconds()
}

// otime is the latest semop time of the set (get_semotime).
func (s *semSet) otime() int64 {
	r := int64(0)
	for i := range s.sems {
		r = max(r, s.sems[i].otime)
	}
	return r
}

// count is GETNCNT (zero false) or GETZCNT (zero true) of semaphore num:
// the sleepers whose first blocking operation waits on it (count_semcnt).
func (s *semSet) count(num int, zero bool) int {
	n := 0
	l := &s.sems[num].pendingAlter
	if zero {
		l = &s.sems[num].pendingConst
	}
	for q := l.head; q != nil; q = q.next {
		n++
	}
	check := func(q *semQueue) {
		op := q.sops[q.blocking]
		if int(op.Num) == num && (zero && op.Op == 0 || !zero && op.Op < 0) {
			n++
		}
	}
	for q := s.pendingAlter.head; q != nil; q = q.next {
		check(q)
	}
	if zero {
		for q := s.pendingConst.head; q != nil; q = q.next {
			check(q)
		}
	}
	return n
}

// free removes the set (freeary): its undo structures go, its sleepers
// fail with EIDRM.
//
// Preconditions: ns.semMu is held.
func (s *semSet) free() {
	for un := range s.undos {
		un.ulp.drop(un)
	}
	s.undos = nil
	fail := func(l *semQueueList) {
		for q := l.head; q != nil; {
			next := q.next
			s.unlinkQueue(q)
			q.complete(unix.EIDRM)
			q = next
		}
	}
	fail(&s.pendingConst)
	fail(&s.pendingAlter)
	for i := range s.sems {
		fail(&s.sems[i].pendingConst)
		fail(&s.sems[i].pendingAlter)
		s.sems[i].pid = 0
	}
	s.ns.sems.remove(s)
	s.ns.usedSems -= len(s.sems)
}

// drop takes un off the list.
func (ulp *semUndoList) drop(un *semUndo) {
	for i, e := range ulp.entries {
		if e == un {
			ulp.entries = append(ulp.entries[:i], ulp.entries[i+1:]...)
			return
		}
	}
}

// undoList returns the task's undo list, making it on first use
// (get_undo_list).
func (t *Task) undoList() *semUndoList {
	if t.semUndo == nil {
		t.semUndo = &semUndoList{ns: t.IPCNamespace()}
		t.semUndo.refs.Store(1)
	}
	return t.semUndo
}

// shareSemUndo returns the caller's undo list with a reference for a
// task cloned with CLONE_SYSVSEM (copy_semundo).
func (t *Task) shareSemUndo() *semUndoList {
	ulp := t.undoList()
	ulp.refs.Add(1)
	return ulp
}

// findAllocUndo returns the adjustments of the caller's undo list for
// set s, making them on first use (find_alloc_undo); it moves them to the
// front of the list.
//
// Preconditions: ns.semMu is held; s is in the task's namespace.
func (t *Task) findAllocUndo(s *semSet) *semUndo {
	ulp := t.undoList()
	for i, un := range ulp.entries {
		if un.set == s {
			copy(ulp.entries[1:i+1], ulp.entries[:i])
			ulp.entries[0] = un
			return un
		}
	}
	un := &semUndo{ulp: ulp, set: s, semadj: make([]int32, len(s.sems))}
	ulp.entries = append([]*semUndo{un}, ulp.entries...)
	s.undos[un] = struct{}{}
	return un
}

// exitSem drops the task's reference on its undo list; the last one
// applies the adjustments (exit_sem): each semaphore gets its semadj
// added, clamped to 0..SEMVMX, and the process as its last pid, and the
// sleepers this releases are woken.
func (t *Task) exitSem() {
	ulp := t.semUndo
	if ulp == nil {
		return
	}
	t.semUndo = nil
	if ulp.refs.Add(-1) != 0 {
		return
	}
	ns := ulp.ns
	ns.semMu.Lock()
	defer ns.semMu.Unlock()
	for _, un := range ulp.entries {
		s := un.set
		delete(s.undos, un)
		for i, adj := range un.semadj {
			if adj == 0 {
				continue
			}
			sem := &s.sems[i]
			sem.val = min(max(sem.val+adj, 0), semVMX)
			sem.pid = t.tg.id
		}
		s.smartUpdate(nil, true)
		s.unmergeQueues()
	}
	ulp.entries = nil
}

// Semtimedop implements semtimedop(2) (semop(2): ts 0): sops is the
// address of nsops struct sembuf, ts of the timeout (relative, on the
// monotonic clock) or 0.
func (t *Task) Semtimedop(id int32, sopsAddr uint64, nsops uint32, ts uint64) error {
	var tb [16]byte
	if ts != 0 {
		if _, err := t.CopyIn(ts, tb[:]); err != nil {
			return unix.EFAULT
		}
	}
	if int64(nsops) > t.IPCNamespace().limits.semOPM.Load() {
		return unix.E2BIG
	}
	if nsops < 1 {
		return unix.EINVAL
	}
	b := make([]byte, int(nsops)*sizeofSemBuf)
	if _, err := t.CopyIn(sopsAddr, b); err != nil {
		return unix.EFAULT
	}
	sops := make([]SemBuf, nsops)
	for i := range sops {
		sops[i] = SemBuf{
			Num: ipcLE.Uint16(b[6*i:]),
			Op:  int16(ipcLE.Uint16(b[6*i+2:])),
			Flg: int16(ipcLE.Uint16(b[6*i+4:])),
		}
	}
	if id < 0 {
		return unix.EINVAL
	}
	var deadline time.Time
	if ts != 0 {
		sec, nsec := int64(ipcLE.Uint64(tb[0:])), int64(ipcLE.Uint64(tb[8:]))
		if sec < 0 || uint64(nsec) >= 1e9 {
			return unix.EINVAL
		}
		// ktime_add_safe saturates a timeout past what a Duration
		// holds (about 292 years): that is no timeout in practice.
		if sec < math.MaxInt64/int64(time.Second)-1 {
			deadline = time.Now().Add(time.Duration(sec)*time.Second + time.Duration(nsec))
		}
	}
	return t.semop(id, sops, deadline)
}

// semop performs or sleeps on sops (__do_semtimedop): deadline is zero
// for no timeout.
func (t *Task) semop(id int32, sops []SemBuf, deadline time.Time) error {
	if id < 0 {
		return unix.EINVAL
	}
	maxNum, undos, alter := 0, false, false
	for _, op := range sops {
		maxNum = max(maxNum, int(op.Num))
		undos = undos || op.Flg&semUndoFlag != 0
		alter = alter || op.Op != 0
	}
	ns := t.IPCNamespace()
	ns.semMu.Lock()
	s, err := ns.sems.lookup(id)
	if err != nil {
		ns.semMu.Unlock()
		return err
	}
	var un *semUndo
	if undos {
		un = t.findAllocUndo(s)
	}
	if maxNum >= len(s.sems) {
		ns.semMu.Unlock()
		return unix.EFBIG
	}
	acc := uint32(0o444)
	if alter {
		acc = 0o222
	}
	if !s.allowed(&t.creds, acc) {
		ns.semMu.Unlock()
		return unix.EACCES
	}
	q := &semQueue{sops: sops, undo: un, pid: t.tg.id, alter: alter}
	r, err := s.perform(q)
	if r == 0 {
		if err == nil {
			if alter {
				s.smartUpdate(sops, true)
			} else {
				s.setOtime(sops)
			}
		}
		s.unmergeQueues()
		ns.semMu.Unlock()
		return err
	}

	// Sleep on the right list.
	q.wake = make(chan struct{})
	if len(sops) == 1 {
		sem := &s.sems[sops[0].Num]
		switch {
		case !alter:
			sem.pendingConst.pushBack(q)
		case s.complexCount > 0:
			s.pendingAlter.pushBack(q)
		default:
			sem.pendingAlter.pushBack(q)
		}
	} else {
		if s.complexCount == 0 {
			s.mergeQueues()
		}
		if alter {
			s.pendingAlter.pushBack(q)
		} else {
			s.pendingConst.pushBack(q)
		}
		s.complexCount++
	}
	ns.semMu.Unlock()

	timedOut, berr := t.BlockUntil(q.wake, deadline)
	ns.semMu.Lock()
	defer ns.semMu.Unlock()
	if q.done {
		// Performed for us (or failed, EIDRM) while we were waking.
		return q.status
	}
	s.unlinkQueue(q)
	s.unmergeQueues()
	if timedOut && berr == nil {
		return unix.EAGAIN
	}
	// A signal, a stop or an exit: semop is never restarted.
	return unix.EINTR
}

// SemidDS is struct semid64_ds.
type SemidDS struct {
	Perm         IPCPerm64
	Otime, Ctime int64
	Nsems        uint64
}

func (d *SemidDS) marshal() []byte {
	b := make([]byte, sizeofSemidDS)
	d.Perm.put(b)
	ipcLE.PutUint64(b[48:], uint64(d.Otime))
	ipcLE.PutUint64(b[64:], uint64(d.Ctime))
	ipcLE.PutUint64(b[80:], d.Nsems)
	return b
}

func (s *semSet) stat() SemidDS {
	return SemidDS{Perm: s.perm64(), Otime: s.otime(), Ctime: s.ctime, Nsems: uint64(len(s.sems))}
}

// Semctl implements semctl(2); arg is the union semun, passed by value.
func (t *Task) Semctl(id, num, cmd int32, arg uint64) (uint64, error) {
	if id < 0 {
		return 0, unix.EINVAL
	}
	ns := t.IPCNamespace()
	c := &t.creds
	switch cmd {
	case IPCInfo, semInfo:
		return t.semInfo(ns, cmd, arg)
	case IPCStat, semStat, semStatAny:
		ns.semMu.Lock()
		var s *semSet
		var err error
		if cmd == IPCStat {
			s, err = ns.sems.lookup(id)
		} else {
			s, err = ns.sems.lookupIndex(id)
		}
		if err == nil && cmd != semStatAny && !s.allowed(c, 0o444) {
			err = unix.EACCES
		}
		if err != nil {
			ns.semMu.Unlock()
			return 0, err
		}
		ds, sid := s.stat(), s.id()
		ns.semMu.Unlock()
		ds.Perm = ds.Perm.inUserNS(c.UserNamespace())
		if _, err := t.CopyOut(arg, ds.marshal()); err != nil {
			return 0, unix.EFAULT
		}
		if cmd == IPCStat {
			return 0, nil
		}
		return uint64(sid), nil
	case semGetAll:
		ns.semMu.Lock()
		s, err := ns.sems.lookup(id)
		if err == nil && !s.allowed(c, 0o444) {
			err = unix.EACCES
		}
		if err != nil {
			ns.semMu.Unlock()
			return 0, err
		}
		b := make([]byte, 2*len(s.sems))
		for i := range s.sems {
			ipcLE.PutUint16(b[2*i:], uint16(s.sems[i].val))
		}
		ns.semMu.Unlock()
		if _, err := t.CopyOut(arg, b); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	case semSetAll:
		ns.semMu.Lock()
		s, err := ns.sems.lookup(id)
		if err == nil && !s.allowed(c, 0o222) {
			err = unix.EACCES
		}
		if err != nil {
			ns.semMu.Unlock()
			return 0, err
		}
		b := make([]byte, 2*len(s.sems))
		ns.semMu.Unlock()
		if _, err := t.CopyIn(arg, b); err != nil {
			return 0, unix.EFAULT
		}
		for i := 0; i < len(b); i += 2 {
			if ipcLE.Uint16(b[i:]) > semVMX {
				return 0, unix.ERANGE
			}
		}
		ns.semMu.Lock()
		defer ns.semMu.Unlock()
		if s.removed {
			return 0, unix.EIDRM
		}
		for i := range s.sems {
			s.sems[i].val = int32(ipcLE.Uint16(b[2*i:]))
			s.sems[i].pid = t.tg.id
		}
		for un := range s.undos {
			clear(un.semadj)
		}
		s.ctime = nowSeconds()
		s.smartUpdate(nil, false)
		s.unmergeQueues()
		return 0, nil
	case semSetVal:
		val := int32(arg)
		if val < 0 || val > semVMX {
			return 0, unix.ERANGE
		}
		ns.semMu.Lock()
		defer ns.semMu.Unlock()
		s, err := ns.sems.lookup(id)
		if err != nil {
			return 0, err
		}
		if num < 0 || int(num) >= len(s.sems) {
			return 0, unix.EINVAL
		}
		if !s.allowed(c, 0o222) {
			return 0, unix.EACCES
		}
		for un := range s.undos {
			un.semadj[num] = 0
		}
		s.sems[num].val = val
		s.sems[num].pid = t.tg.id
		s.ctime = nowSeconds()
		s.smartUpdate(nil, false)
		s.unmergeQueues()
		return 0, nil
	case semGetVal, semGetPID, semGetNcnt, semGetZcnt:
		ns.semMu.Lock()
		s, err := ns.sems.lookup(id)
		if err == nil && !s.allowed(c, 0o444) {
			err = unix.EACCES
		}
		if err == nil && (num < 0 || int(num) >= len(s.sems)) {
			err = unix.EINVAL
		}
		if err != nil {
			ns.semMu.Unlock()
			return 0, err
		}
		var r int
		switch cmd {
		case semGetVal:
			r = int(s.sems[num].val)
		case semGetPID:
			r = int(s.sems[num].pid)
		case semGetNcnt:
			r = s.count(int(num), false)
		case semGetZcnt:
			r = s.count(int(num), true)
		}
		ns.semMu.Unlock()
		if cmd == semGetPID {
			// pidOf takes Kernel.mu: not under semMu.
			r = int(t.pidOf(int32(r)))
		}
		return uint64(r), nil
	case IPCSet, IPCRmid:
		var in IPCPerm64
		if cmd == IPCSet {
			b := make([]byte, sizeofSemidDS)
			if _, err := t.CopyIn(arg, b); err != nil {
				return 0, unix.EFAULT
			}
			var err error
			if in, err = getIPC64Perm(b).kernelIDs(c.UserNamespace()); err != nil {
				return 0, err
			}
		}
		ns.semMu.Lock()
		defer ns.semMu.Unlock()
		s, err := ns.sems.obtainForCtl(c, id)
		if err != nil {
			return 0, err
		}
		if cmd == IPCRmid {
			s.free()
			return 0, nil
		}
		if err := s.update(in); err != nil {
			return 0, err
		}
		s.ctime = nowSeconds()
		return 0, nil
	}
	return 0, unix.EINVAL
}

// semInfo answers IPC_INFO and SEM_INFO (semctl_info): the limits, and for
// SEM_INFO the number of sets and of semaphores in use. It returns the
// highest index in use.
func (t *Task) semInfo(ns *IPCNamespace, cmd int32, arg uint64) (uint64, error) {
	ns.semMu.Lock()
	usz, aem := semUSZ, semAEM
	if cmd == semInfo {
		usz, aem = len(ns.sems.byIndex), ns.usedSems
	}
	ret := ns.sems.maxIdx()
	ns.semMu.Unlock()
	b := make([]byte, sizeofSeminfo)
	// semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz,
	// semvmx, semaem.
	lim := ns.limits.sem()
	ipcLE.PutUint32(b[0:], uint32(lim.MNS))
	ipcLE.PutUint32(b[4:], uint32(lim.MNI))
	ipcLE.PutUint32(b[8:], uint32(lim.MNS))
	ipcLE.PutUint32(b[12:], uint32(lim.MNS))
	ipcLE.PutUint32(b[16:], uint32(lim.MSL))
	ipcLE.PutUint32(b[20:], uint32(lim.OPM))
	ipcLE.PutUint32(b[24:], uint32(lim.OPM))
	ipcLE.PutUint32(b[28:], uint32(usz))
	ipcLE.PutUint32(b[32:], semVMX)
	ipcLE.PutUint32(b[36:], uint32(aem))
	if _, err := t.CopyOut(arg, b); err != nil {
		return 0, unix.EFAULT
	}
	return uint64(ret), nil
}

// SemSetInfo is one set as /proc/sysvipc/sem lists it.
type SemSetInfo struct {
	SemidDS
	ID int32
}

// SemSets lists the semaphore sets in index order.
func (n *IPCNamespace) SemSets() []SemSetInfo {
	n.semMu.Lock()
	defer n.semMu.Unlock()
	var out []SemSetInfo
	for _, s := range n.sems.sorted() {
		out = append(out, SemSetInfo{ID: s.id(), SemidDS: s.stat()})
	}
	return out
}
