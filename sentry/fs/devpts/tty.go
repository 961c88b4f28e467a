package devpts

import (
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

const (
	// inputBufSize is N_TTY_BUF_SIZE: the line discipline's input buffer
	// (the longest canonical line is one less).
	inputBufSize = 4096
	// flipBufSize bounds what the master wrote and the line discipline has
	// not taken yet, and what the replica wrote and the master has not
	// read: Linux's tty buffer memory limit (TTYB_DEFAULT_MEM_LIMIT).
	flipBufSize = 65536
	// echoSlack is how far echoes may go beyond flipBufSize before they
	// are dropped (Linux's echo buffer).
	echoSlack = 4096
	// maxExpansion is the most bytes output processing makes of one byte
	// (a tab expanded to spaces).
	maxExpansion = 8
)

// TTY is one pseudo-terminal: the pair of ends, their shared termios and
// window size, and the line discipline between them. The kernel stores a
// *TTY as a session's controlling terminal.
type TTY struct {
	fs    *FS
	index int
	node  *replicaInode

	// rq wakes waiters on replica files, mq waiters on the master.
	rq waiter.Queue
	mq waiter.Queue

	// mu protects everything below.
	mu      sync.Mutex
	termios Termios
	ispeed  uint32
	ospeed  uint32
	winsize Winsize
	// locked is TIOCSPTLCK's lock: replicas cannot be opened.
	locked bool
	// masterOpen is cleared when the master closes; the replica is then
	// hung up.
	masterOpen bool
	hungUp     bool
	// replicas counts open replica files.
	replicas int
	// otherClosed is set when the last replica closed (TTY_OTHER_CLOSED
	// on the master): master reads fail with EIO, polls report HUP.
	otherClosed bool
	released    bool
	exclusive   bool
	packet      bool
	pktStatus   byte
	uid, gid    uint32
	// session and pgrp are the session whose controlling terminal this
	// is and its foreground process group (0: none).
	session int32
	pgrp    int32

	// raw is what the master wrote and the line discipline has not taken.
	raw []byte
	// in is the line discipline's input: what replicas read. In canonical
	// mode only in[:marks[len(marks)-1]] is readable and marks are the
	// ends of the complete lines (an end-of-file character is not stored,
	// so a line may be empty); the rest is the line being edited.
	in    []byte
	marks []int
	// out is what replicas wrote, after output processing, and echoes:
	// what the master reads.
	out []byte
	// column is the output column, canonColumn the column where the line
	// being edited started (for erasing tabs).
	column      int
	canonColumn int
	lnext       bool
	// stopped is set by the STOP character (or TCOOFF): replica writes
	// wait.
	stopped bool

	// Deferred until mu is released: events to notify and signals to send.
	notifyR, notifyM uint32
	sigs             []pendingSignal
}

type pendingSignal struct {
	pgid int32
	sig  unix.Signal
}

func newTTY(fs *FS, idx int) *TTY {
	t := &TTY{
		fs: fs, index: idx, termios: DefaultTermios(), ispeed: baud38400, ospeed: baud38400,
		locked: true, masterOpen: true, gid: ttyGID,
	}
	t.node = &replicaInode{t: t, ino: synth.NewIno()}
	return t
}

// Index returns N of /dev/pts/N.
func (t *TTY) Index() int { return t.index }

// Name returns the replica's name under /dev ("pts/N"), as ttyname and
// /proc show it.
func (t *TTY) Name() string { return "pts/" + strconv.Itoa(t.index) }

// Rdev returns the replica's device number (tty_nr in /proc/PID/stat).
func (t *TTY) Rdev() uint64 { return unix.Mkdev(replicaMajor+uint32(t.index>>8), uint32(t.index&0xff)) }

// SetOwner sets the replica node's owner (grantpt's chown).
func (t *TTY) SetOwner(uid, gid uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.uid, t.gid = uid, gid
}

// ForegroundProcessGroup returns the foreground process group (0: none).
func (t *TTY) ForegroundProcessGroup() int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pgrp
}

// SessionID returns the session this is the controlling terminal of (0:
// none).
func (t *TTY) SessionID() int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.session
}

// Disassociate is Linux's disassociate_ctty for this terminal, called by
// the kernel when the leader of the session whose controlling terminal
// this is exits (onExit) and used by TIOCNOTTY from a session leader: it
// sends SIGHUP (and, unless onExit, SIGCONT) to the foreground process
// group and forgets the session. The kernel clears the controlling
// terminal of the session's processes itself.
func (t *TTY) Disassociate(onExit bool) {
	t.mu.Lock()
	if pg := t.pgrp; pg != 0 {
		t.signalLocked(pg, unix.SIGHUP)
		if !onExit {
			t.signalLocked(pg, unix.SIGCONT)
		}
	}
	t.session, t.pgrp = 0, 0
	t.unlock()
}

func (t *TTY) attr() unix.Stat_t {
	t.mu.Lock()
	uid, gid := t.uid, t.gid
	t.mu.Unlock()
	a := synth.Attr(t.node.ino, unix.S_IFCHR|0o620, t.Rdev())
	a.Uid, a.Gid = uid, gid
	return a
}

// unlock releases mu, then wakes waiters and sends the signals the
// operation produced.
func (t *TTY) unlock() {
	r, m, sigs := t.notifyR, t.notifyM, t.sigs
	t.notifyR, t.notifyM, t.sigs = 0, 0, nil
	t.mu.Unlock()
	if r != 0 {
		t.rq.Notify(r)
	}
	if m != 0 {
		t.mq.Notify(m)
	}
	if len(sigs) > 0 {
		if send := t.fs.getHooks().SignalProcessGroup; send != nil {
			for _, s := range sigs {
				send(s.pgid, s.sig)
			}
		}
	}
}

func (t *TTY) signalLocked(pgid int32, sig unix.Signal) {
	if pgid > 0 {
		t.sigs = append(t.sigs, pendingSignal{pgid, sig})
	}
}

// openReplica opens /dev/pts/N.
func (t *TTY) openReplica(flags int) (*File, error) {
	t.mu.Lock()
	defer t.unlock()
	if !t.masterOpen || t.locked {
		return nil, unix.EIO
	}
	if t.exclusive {
		return nil, unix.EBUSY
	}
	t.replicas++
	t.otherClosed = false
	f := &File{t: t, readable: flags&unix.O_ACCMODE != unix.O_WRONLY}
	f.nonblock.Store(flags&unix.O_NONBLOCK != 0)
	return f, nil
}

// closeMaster hangs the replica up and hides its node.
func (t *TTY) closeMaster() {
	t.mu.Lock()
	t.masterOpen = false
	t.hungUp = true
	sid, pg := t.session, t.pgrp
	t.session, t.pgrp = 0, 0
	t.raw, t.in, t.marks = nil, nil, nil
	release := t.replicas == 0 && !t.released
	t.released = t.released || release
	t.notifyR |= waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp
	t.unlock()
	t.fs.removeNode(t)
	if release {
		t.fs.release(t)
	}
	if sid != 0 {
		h := t.fs.getHooks()
		switch {
		case h.HangUp != nil:
			h.HangUp(sid, t)
		case h.SignalProcessGroup != nil && pg > 0:
			h.SignalProcessGroup(pg, unix.SIGHUP)
			h.SignalProcessGroup(pg, unix.SIGCONT)
		}
	}
}

// closeReplica drops one replica file.
func (t *TTY) closeReplica() {
	t.mu.Lock()
	t.replicas--
	if t.replicas == 0 && t.masterOpen {
		t.otherClosed = true
		t.notifyM |= waiter.EventIn | waiter.EventHUp | waiter.EventErr
	}
	release := t.replicas == 0 && !t.masterOpen && !t.released
	t.released = t.released || release
	t.unlock()
	if release {
		t.fs.release(t)
	}
}

// canonLocked reports whether the line discipline is in canonical mode.
func (t *TTY) canonLocked() bool { return t.termios.lflag(unix.ICANON) }

// lineStartLocked returns where the line being edited starts in in.
func (t *TTY) lineStartLocked() int {
	if len(t.marks) == 0 {
		return 0
	}
	return t.marks[len(t.marks)-1]
}

// readableLocked returns how many bytes of in a replica may read now.
func (t *TTY) readableLocked() int {
	if t.canonLocked() {
		return t.lineStartLocked()
	}
	return len(t.in)
}

// setTermiosLocked installs a new termios, converting pending input when
// ICANON changes as Linux's n_tty_set_termios does.
func (t *TTY) setTermiosLocked(nt Termios) {
	old := t.termios
	t.termios = nt
	if (old.Lflag^nt.Lflag)&unix.ICANON != 0 {
		t.marks = nil
		if nt.lflag(unix.ICANON) && len(t.in) > 0 {
			// Pending input becomes one complete line.
			t.marks = []int{len(t.in)}
		}
		t.lnext = false
		t.notifyR |= waiter.EventIn
	}
	if old.CC[unix.VMIN] != nt.CC[unix.VMIN] || old.CC[unix.VTIME] != nt.CC[unix.VTIME] {
		t.notifyR |= waiter.EventIn
	}
	if !nt.iflag(unix.IXON) && t.stopped {
		t.startLocked()
	}
	if t.packet && (old.Iflag^nt.Iflag)&unix.IXON != 0 {
		if nt.iflag(unix.IXON) && nt.CC[unix.VSTART] == 021 && nt.CC[unix.VSTOP] == 023 {
			t.setPktLocked(unix.TIOCPKT_DOSTOP)
		} else {
			t.setPktLocked(unix.TIOCPKT_NOSTOP)
		}
	}
	// The new flags may let more input in.
	t.processInputLocked()
}

func (t *TTY) setPktLocked(bit byte) {
	if !t.packet {
		return
	}
	switch bit {
	case unix.TIOCPKT_STOP:
		t.pktStatus &^= unix.TIOCPKT_START
	case unix.TIOCPKT_START:
		t.pktStatus &^= unix.TIOCPKT_STOP
	case unix.TIOCPKT_DOSTOP:
		t.pktStatus &^= unix.TIOCPKT_NOSTOP
	case unix.TIOCPKT_NOSTOP:
		t.pktStatus &^= unix.TIOCPKT_DOSTOP
	}
	t.pktStatus |= bit
	t.notifyM |= waiter.EventIn | waiter.EventPri
}

func (t *TTY) stopLocked() {
	if !t.stopped {
		t.stopped = true
		t.setPktLocked(unix.TIOCPKT_STOP)
	}
}

func (t *TTY) startLocked() {
	if t.stopped {
		t.stopped = false
		t.setPktLocked(unix.TIOCPKT_START)
		t.notifyR |= waiter.EventOut
	}
}

// flushInputLocked discards the replica's pending input.
func (t *TTY) flushInputLocked() {
	if len(t.raw) > 0 {
		t.notifyM |= waiter.EventOut
	}
	t.raw, t.in, t.marks = nil, nil, nil
	t.lnext = false
	t.setPktLocked(unix.TIOCPKT_FLUSHREAD)
}

// --- Input: master writes, replica reads. ---

// masterWriteLocked queues what the master wrote and runs the line
// discipline over it; it returns how many bytes were taken.
func (t *TTY) masterWriteLocked(src []byte) int {
	n := min(len(src), flipBufSize-len(t.raw))
	t.raw = append(t.raw, src[:n]...)
	t.processInputLocked()
	return n
}

// processInputLocked feeds raw input to the line discipline while it has
// room.
func (t *TTY) processInputLocked() {
	i := 0
	for i < len(t.raw) && t.receiveLocked(t.raw[i]) {
		i++
	}
	if i > 0 {
		t.notifyM |= waiter.EventOut
		if i == len(t.raw) {
			t.raw = nil
		} else {
			t.raw = t.raw[i:]
		}
	}
}

// receiveLocked is n_tty's receive of one input byte; it returns false,
// without taking the byte, when the input buffer is full.
func (t *TTY) receiveLocked(c byte) bool {
	tm := &t.termios
	canon := tm.lflag(unix.ICANON)
	// full: canonical mode with only a partial line and no room left;
	// ordinary characters are dropped so that editing characters and a
	// line end still get through.
	full := false
	if canon {
		if len(t.in) >= inputBufSize-1 {
			if len(t.marks) > 0 {
				return false
			}
			full = true
		}
	} else if len(t.in) >= inputBufSize {
		return false
	}
	if tm.iflag(unix.ISTRIP) {
		c &= 0x7f
	}
	if tm.iflag(unix.IUCLC) && tm.lflag(unix.IEXTEN) && c >= 'A' && c <= 'Z' {
		c += 'a' - 'A'
	}
	if t.lnext {
		t.lnext = false
		t.putCharLocked(c, full)
		return true
	}
	if tm.iflag(unix.IXON) {
		if t.stopped && tm.iflag(unix.IXANY) && !tm.is(c, unix.VSTOP) {
			t.startLocked()
		}
		if tm.is(c, unix.VSTART) {
			t.startLocked()
			return true
		}
		if tm.is(c, unix.VSTOP) {
			t.stopLocked()
			return true
		}
	}
	if tm.lflag(unix.ISIG) {
		switch {
		case tm.is(c, unix.VINTR):
			t.isigLocked(unix.SIGINT, c)
			return true
		case tm.is(c, unix.VQUIT):
			t.isigLocked(unix.SIGQUIT, c)
			return true
		case tm.is(c, unix.VSUSP):
			t.isigLocked(unix.SIGTSTP, c)
			return true
		}
	}
	if c == '\r' {
		if tm.iflag(unix.IGNCR) {
			return true
		}
		if tm.iflag(unix.ICRNL) {
			c = '\n'
		}
	} else if c == '\n' && tm.iflag(unix.INLCR) {
		c = '\r'
	}
	if canon {
		iext := tm.lflag(unix.IEXTEN)
		switch {
		case tm.is(c, unix.VERASE) || tm.is(c, unix.VKILL) || (iext && tm.is(c, unix.VWERASE)):
			t.eraseLocked(c)
			return true
		case iext && tm.is(c, unix.VLNEXT):
			t.lnext = true
			if tm.lflag(unix.ECHO) && tm.lflag(unix.ECHOCTL) {
				t.echoRawLocked('^')
				t.echoRawLocked('\b')
			}
			return true
		case iext && tm.lflag(unix.ECHO) && tm.is(c, unix.VREPRINT):
			t.echoCharLocked(c)
			t.echoRawLocked('\n')
			for _, b := range t.in[t.lineStartLocked():] {
				t.echoCharLocked(b)
			}
			return true
		case c == '\n':
			if tm.lflag(unix.ECHO) || tm.lflag(unix.ECHONL) {
				t.echoRawLocked('\n')
			}
			t.commitLineLocked(c, true)
			return true
		case tm.is(c, unix.VEOF):
			t.commitLineLocked(0, false)
			return true
		case tm.is(c, unix.VEOL) || (iext && tm.is(c, unix.VEOL2)):
			if tm.lflag(unix.ECHO) {
				if len(t.in) == t.lineStartLocked() {
					t.canonColumn = t.column
				}
				t.echoCharLocked(c)
			}
			t.commitLineLocked(c, true)
			return true
		}
	}
	t.putCharLocked(c, full)
	return true
}

// putCharLocked echoes and queues an ordinary input character.
func (t *TTY) putCharLocked(c byte, full bool) {
	if full {
		return
	}
	if t.termios.lflag(unix.ECHO) {
		if c == '\n' {
			t.echoRawLocked('\n')
		} else {
			if len(t.in) == t.lineStartLocked() {
				t.canonColumn = t.column
			}
			t.echoCharLocked(c)
		}
	}
	t.in = append(t.in, c)
	if !t.canonLocked() {
		t.notifyR |= waiter.EventIn
	}
}

// commitLineLocked ends the line being edited, with c stored at its end
// when store is set (EOF is not stored).
func (t *TTY) commitLineLocked(c byte, store bool) {
	if store {
		t.in = append(t.in, c)
	}
	t.marks = append(t.marks, len(t.in))
	t.notifyR |= waiter.EventIn
}

// isigLocked handles INTR, QUIT and SUSP: the signal to the foreground
// process group, a flush unless NOFLSH, and the echo.
func (t *TTY) isigLocked(sig unix.Signal, c byte) {
	t.signalLocked(t.pgrp, sig)
	if !t.termios.lflag(unix.NOFLSH) {
		t.in, t.marks = nil, nil
		t.lnext = false
		t.setPktLocked(unix.TIOCPKT_FLUSHREAD)
	}
	if t.termios.iflag(unix.IXON) {
		t.startLocked()
	}
	if t.termios.lflag(unix.ECHO) {
		t.echoCharLocked(c)
	}
}

func isContinuation(c byte, tm *Termios) bool { return tm.iflag(unix.IUTF8) && c&0xc0 == 0x80 }

// eraseLocked is n_tty's eraser for ERASE, WERASE and KILL.
func (t *TTY) eraseLocked(c byte) {
	tm := &t.termios
	start := t.lineStartLocked()
	if len(t.in) == start {
		return
	}
	echo := tm.lflag(unix.ECHO)
	const (
		erase = iota
		werase
		kill
	)
	var kind int
	switch {
	case tm.is(c, unix.VERASE):
		kind = erase
	case tm.is(c, unix.VWERASE):
		kind = werase
	default:
		if !echo {
			t.in = t.in[:start]
			return
		}
		if !tm.lflag(unix.ECHOK) || !tm.lflag(unix.ECHOKE) || !tm.lflag(unix.ECHOE) {
			t.in = t.in[:start]
			t.echoCharLocked(c)
			if tm.lflag(unix.ECHOK) {
				t.echoRawLocked('\n')
			}
			return
		}
		kind = kill
	}
	seenAlnums := 0
	for len(t.in) > start {
		head := len(t.in)
		var ch byte
		for {
			head--
			ch = t.in[head]
			if !isContinuation(ch, tm) || head == start {
				break
			}
		}
		if isContinuation(ch, tm) {
			break
		}
		if kind == werase {
			if isalnum(ch) || ch == '_' {
				seenAlnums++
			} else if seenAlnums > 0 {
				break
			}
		}
		t.in = t.in[:head]
		if echo {
			switch {
			case kind == erase && !tm.lflag(unix.ECHOE):
				t.echoCharLocked(tm.CC[unix.VERASE])
			case ch == '\t':
				t.eraseTabLocked(start)
			default:
				if iscntrl(ch) && tm.lflag(unix.ECHOCTL) {
					t.echoBytesLocked("\b \b")
				}
				if !iscntrl(ch) || tm.lflag(unix.ECHOCTL) {
					t.echoBytesLocked("\b \b")
				}
			}
		}
		if kind == erase {
			break
		}
	}
}

// eraseTabLocked backs the cursor over an erased tab (n_tty's
// echo_erase_tab and its ECHO_OP_ERASE_TAB).
func (t *TTY) eraseTabLocked(start int) {
	tm := &t.termios
	cols, afterTab := 0, false
	for i := len(t.in) - 1; i >= start; i-- {
		c := t.in[i]
		if c == '\t' {
			afterTab = true
			break
		} else if iscntrl(c) {
			if tm.lflag(unix.ECHOCTL) {
				cols += 2
			}
		} else if !isContinuation(c, tm) {
			cols++
		}
	}
	if !afterTab {
		cols += t.canonColumn
	}
	bs := min(8-(cols&7), t.column)
	for range bs {
		t.appendEchoLocked([]byte{'\b'})
		if t.column > 0 {
			t.column--
		}
	}
}

// --- Output: replica writes and echoes, master reads. ---

// appendEchoLocked queues echo bytes that bypass output processing;
// echoes are dropped when the master does not read.
func (t *TTY) appendEchoLocked(b []byte) bool {
	if len(t.out)+len(b) > flipBufSize+echoSlack {
		return false
	}
	t.out = append(t.out, b...)
	t.notifyM |= waiter.EventIn
	return true
}

// echoRawLocked echoes c through output processing.
func (t *TTY) echoRawLocked(c byte) {
	if t.termios.oflag(unix.OPOST) {
		t.outputCharLocked(c, flipBufSize+echoSlack)
	} else {
		t.appendEchoLocked([]byte{c})
	}
}

func (t *TTY) echoBytesLocked(s string) {
	for i := range len(s) {
		t.echoRawLocked(s[i])
	}
}

// echoCharLocked echoes c, control characters as ^X under ECHOCTL.
func (t *TTY) echoCharLocked(c byte) {
	if t.termios.lflag(unix.ECHOCTL) && iscntrl(c) && c != '\t' {
		if t.appendEchoLocked([]byte{'^', c ^ 0o100}) {
			t.column += 2
		}
		return
	}
	t.echoRawLocked(c)
}

// outputCharLocked is n_tty's do_output_char (OPOST is set): it appends
// the processed c to out unless that would pass limit.
func (t *TTY) outputCharLocked(c byte, limit int) bool {
	tm := &t.termios
	space := limit - len(t.out)
	if space <= 0 {
		return false
	}
	put := func(b ...byte) {
		t.out = append(t.out, b...)
		t.notifyM |= waiter.EventIn
	}
	switch c {
	case '\n':
		if tm.oflag(unix.ONLRET) {
			t.column = 0
		}
		if tm.oflag(unix.ONLCR) {
			if space < 2 {
				return false
			}
			t.canonColumn, t.column = 0, 0
			put('\r', '\n')
			return true
		}
		t.canonColumn = t.column
	case '\r':
		if tm.oflag(unix.ONOCR) && t.column == 0 {
			return true
		}
		if tm.oflag(unix.OCRNL) {
			c = '\n'
			if tm.oflag(unix.ONLRET) {
				t.canonColumn, t.column = 0, 0
			}
			break
		}
		t.canonColumn, t.column = 0, 0
	case '\t':
		spaces := 8 - (t.column & 7)
		if tm.Oflag&unix.TABDLY == unix.XTABS {
			if space < spaces {
				return false
			}
			t.column += spaces
			put([]byte("        ")[:spaces]...)
			return true
		}
		t.column += spaces
	case '\b':
		if t.column > 0 {
			t.column--
		}
	default:
		if !iscntrl(c) {
			if tm.oflag(unix.OLCUC) && c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			if !isContinuation(c, tm) {
				t.column++
			}
		}
	}
	put(c)
	return true
}

// replicaWriteLocked takes what fits of a replica's write.
func (t *TTY) replicaWriteLocked(src []byte) int {
	if !t.termios.oflag(unix.OPOST) {
		n := min(len(src), flipBufSize-len(t.out))
		if n > 0 {
			t.out = append(t.out, src[:n]...)
			t.notifyM |= waiter.EventIn
		}
		return n
	}
	for i, c := range src {
		if !t.outputCharLocked(c, flipBufSize) {
			return i
		}
	}
	return len(src)
}
