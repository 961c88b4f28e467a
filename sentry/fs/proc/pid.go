package proc

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// threadOf returns thread tid of p: the leader (possibly a zombie) for the
// process's own ID, else a live thread.
func threadOf(p *Process, tid int32) (*Thread, bool) {
	if tid == p.PID {
		return &p.Leader, true
	}
	return p.Thread(tid)
}

// view is one process directory: /proc/[pid] (whole), /proc/[tid] for a
// thread that is not a leader, or /proc/[pid]/task/[tid].
type view struct {
	fs       *filesystem
	pid, tid int32
	whole    bool
}

// attr checks that the thread still exists and makes its files owned by
// its effective IDs, as Linux does for a dumpable task.
func (v *view) attr(st *unix.Stat_t) error {
	p, ok := v.fs.src.Process(v.pid)
	if !ok {
		return unix.ENOENT
	}
	t, ok := threadOf(p, v.tid)
	if !ok {
		return unix.ENOENT
	}
	st.Uid, st.Gid = t.Creds.EUID, t.Creds.EGID
	return nil
}

// snapshot returns the process and the thread shown; ESRCH once gone, as
// Linux's reads of a dead process's files fail.
func (v *view) snapshot() (*Process, *Thread, error) {
	p, ok := v.fs.src.Process(v.pid)
	if !ok {
		return nil, nil, unix.ESRCH
	}
	t, ok := threadOf(p, v.tid)
	if !ok {
		return nil, nil, unix.ESRCH
	}
	return p, t, nil
}

// read reads the process's memory.
func (v *view) read(addr uint64, dst []byte) (int, error) {
	return v.fs.src.ReadMemory(v.pid, addr, dst)
}

// memory returns the live process's address space size and split.
func (v *view) memory(countPages bool) (Memory, memClass) {
	src := v.fs.src
	mem, _ := src.Memory(v.pid)
	maps, _ := src.Mappings(v.pid, countPages)
	exe, _ := src.Exe(v.pid)
	return mem, classify(maps, exe)
}

func (v *view) stat() ([]byte, error) {
	p, t, err := v.snapshot()
	if err != nil {
		return nil, err
	}
	a := statArgs{p: p, t: t, whole: v.whole}
	if !p.Zombie {
		a.mem, a.code = v.memory(false)
		a.exec, _ = v.fs.src.ExecInfo(v.pid)
	}
	return formatStat(a), nil
}

func (v *view) statm() ([]byte, error) {
	p, _, err := v.snapshot()
	if err != nil {
		return nil, err
	}
	var mem Memory
	var c memClass
	if !p.Zombie {
		mem, c = v.memory(true)
	}
	return formatStatm(mem, c), nil
}

func (v *view) status() ([]byte, error) {
	p, t, err := v.snapshot()
	if err != nil {
		return nil, err
	}
	// The IDs as the reader's user namespace sees them (userns.go).
	shown := *t
	shown.Creds = v.fs.readerCreds(t.Creds)
	a := statusArgs{p: p, t: &shown, hasMM: !p.Zombie}
	if a.hasMM {
		a.mem, a.code = v.memory(true)
	}
	return formatStatus(a), nil
}

// execArea reads one of the initial stack's areas.
func (v *view) execArea(area func(ExecInfo) (uint64, uint64)) ([]byte, error) {
	p, _, err := v.snapshot()
	if err != nil {
		return nil, err
	}
	if p.Zombie {
		return nil, nil
	}
	ex, ok := v.fs.src.ExecInfo(v.pid)
	if !ok {
		return nil, nil
	}
	start, end := area(ex)
	return readRange(start, end, v.read), nil
}

func (v *view) cmdline() ([]byte, error) {
	p, _, err := v.snapshot()
	if err != nil {
		return nil, err
	}
	if p.Zombie {
		return nil, nil
	}
	ex, ok := v.fs.src.ExecInfo(v.pid)
	if !ok {
		return nil, nil
	}
	return cmdline(ex, v.read)
}

func (v *view) comm() ([]byte, error) {
	_, t, err := v.snapshot()
	if err != nil {
		return nil, err
	}
	return line(t.Name), nil
}

// setComm renames the thread, as Linux's comm_write does: the first 15
// bytes written, up to a NUL, whatever the offset.
func (v *view) setComm(p []byte) (int, error) {
	name := p[:min(len(p), taskCommLen-1)]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	if err := v.fs.src.SetComm(v.pid, v.tid, string(name)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// taskCommLen is TASK_COMM_LEN.
const taskCommLen = 16

func (v *view) limits() ([]byte, error) {
	p, _, err := v.snapshot()
	if err != nil {
		return nil, err
	}
	return formatLimits(&p.Limits), nil
}

// maps returns the generator of maps, smaps or smaps_rollup: format
// renders the mappings, with their resident counts if resident.
func (v *view) maps(resident bool, format func([]Mapping) []byte) func() ([]byte, error) {
	return func() ([]byte, error) {
		if _, _, err := v.snapshot(); err != nil {
			return nil, err
		}
		maps, _ := v.fs.src.Mappings(v.pid, resident)
		return format(maps), nil
	}
}

func (v *view) exe() (string, error) {
	exe, ok := v.fs.src.Exe(v.pid)
	if !ok || exe == "" {
		return "", unix.ENOENT
	}
	return exe, nil
}

func (v *view) cwd() (string, error) {
	cwd, ok := v.fs.src.Cwd(v.pid)
	if !ok {
		return "", unix.ENOENT
	}
	return cwd, nil
}

func (v *view) root() (string, error) {
	p, _, err := v.snapshot()
	if err != nil || p.Zombie {
		return "", unix.ENOENT
	}
	// The sandbox has no chroot: every process's root is /.
	return "/", nil
}

// processDir returns the directory of thread tid of process pid (the
// process itself when tid is pid and not inTask).
func (fs *filesystem) processDir(pid, tid int32, key string, inTask bool) *node {
	v := &view{fs: fs, pid: pid, tid: tid, whole: !inTask}
	file := func(perm uint32, gen func() ([]byte, error)) func(string) *node {
		return func(k string) *node { return fs.file(k, perm, v.attr, gen) }
	}
	text := func(s string) func() ([]byte, error) {
		return func() ([]byte, error) {
			if _, _, err := v.snapshot(); err != nil {
				return nil, err
			}
			return []byte(s), nil
		}
	}
	link := func(target func() (string, error)) func(string) *node {
		return func(k string) *node { return fs.symlink(k, v.attr, target) }
	}
	mounts := func(format func([]Mount) []byte) func() ([]byte, error) {
		return func() ([]byte, error) {
			p, _, err := v.snapshot()
			if err != nil {
				return nil, err
			}
			return format(fs.mountsOf(p)), nil
		}
	}
	entries := []entry{
		{"auxv", file(0o400, func() ([]byte, error) {
			return v.execArea(func(ex ExecInfo) (uint64, uint64) { return ex.AuxvStart, ex.AuxvEnd })
		})},
		// The sandbox is one cgroup (v2), the root of its hierarchy,
		// and every cgroup namespace is rooted there
		// (kernel/cgroupns.go): the path reads "/" from any of them.
		{"cgroup", file(0o444, text("0::/\n"))},
		{"cmdline", file(0o444, v.cmdline)},
		{"comm", func(k string) *node {
			n := fs.file(k, 0o644, v.attr, v.comm)
			n.write = v.setComm
			return n
		}},
		{"cwd", link(v.cwd)},
		{"environ", file(0o400, func() ([]byte, error) {
			return v.execArea(func(ex ExecInfo) (uint64, uint64) { return ex.EnvStart, ex.EnvEnd })
		})},
		{"exe", link(v.exe)},
		{"fd", func(k string) *node { return fs.fdDir(k, v, false) }},
		{"fdinfo", func(k string) *node { return fs.fdDir(k, v, true) }},
		{"limits", file(0o444, v.limits)},
		{"maps", file(0o444, v.maps(false, formatMaps))},
		{"mountinfo", file(0o444, mounts(formatMountinfo))},
		{"mounts", file(0o444, mounts(formatMounts))},
		{"net", func(k string) *node { return fs.netDir(k, v.attr) }},
		{"ns", func(k string) *node { return fs.nsDir(k, v) }},
	}
	entries = append(entries, fs.oomEntries(v)...)
	entries = append(entries, []entry{
		{"root", link(v.root)},
		{"smaps", file(0o444, v.maps(true, formatSmaps))},
		{"smaps_rollup", file(0o444, v.maps(true, formatSmapsRollup))},
		{"stat", file(0o444, v.stat)},
		{"statm", file(0o444, v.statm)},
		{"status", file(0o444, v.status)},
		// No kernel symbols to name a wait channel: "0", as Linux
		// shows when it has none either.
		{"wchan", file(0o444, text("0"))},
	}...)
	if !inTask {
		entries = append(entries, entry{"task", func(k string) *node { return fs.taskDir(k, v) }})
	}
	// uid_map, gid_map and setgroups (userns.go).
	entries = append(entries, fs.userNSEntries(v)...)
	if src, ok := fs.src.(NamespaceSource); ok && !inTask {
		// A process's, not a thread's, as on Linux; only where the
		// Source knows time namespaces.
		entries = append(entries, entry{"timens_offsets", func(k string) *node {
			n := fs.file(k, 0o644, v.attr, func() ([]byte, error) { return v.timensOffsets(src) })
			n.write = func(p []byte) (int, error) { return v.setTimensOffsets(src, p) }
			return n
		}})
	}
	return fs.fixedDir(key, 0o555, v.attr, entries)
}

// taskDir returns /proc/[pid]/task.
func (fs *filesystem) taskDir(key string, v *view) *node {
	tids := func() ([]int32, error) {
		p, _, err := v.snapshot()
		if err != nil {
			return nil, unix.ENOENT
		}
		out := []int32{p.PID}
		for _, t := range p.Threads {
			if t.TID != p.PID {
				out = append(out, t.TID)
			}
		}
		return out, nil
	}
	return fs.dir(key, 0o555, v.attr, func() ([]dirent, error) {
		ids, err := tids()
		if err != nil {
			return nil, err
		}
		out := make([]dirent, 0, len(ids))
		for _, tid := range ids {
			name := strconv.Itoa(int(tid))
			out = append(out, dirent{pos: 2 + uint64(tid), name: name, ino: ino(key + "/" + name), typ: unix.DT_DIR})
		}
		// Leader first, others by ID: cookies must increase.
		sortDirents(out)
		return out, nil
	}, func(name string) (vfs.Inode, error) {
		tid, ok := parseID(name)
		if !ok {
			return nil, unix.ENOENT
		}
		p, _, err := v.snapshot()
		if err != nil {
			return nil, unix.ENOENT
		}
		if _, ok := threadOf(p, tid); !ok {
			return nil, unix.ENOENT
		}
		return fs.processDir(v.pid, tid, key+"/"+name, true), nil
	})
}

// sortDirents orders entries by cookie.
func sortDirents(ents []dirent) {
	for i := 1; i < len(ents); i++ {
		for j := i; j > 0 && ents[j].pos < ents[j-1].pos; j-- {
			ents[j], ents[j-1] = ents[j-1], ents[j]
		}
	}
}

// fdDir returns /proc/[pid]/fd (symlinks) or /proc/[pid]/fdinfo (files).
func (fs *filesystem) fdDir(key string, v *view, info bool) *node {
	find := func(fd int32) (FD, error) {
		f, ok := fs.src.FD(v.pid, fd)
		if !ok {
			return FD{}, unix.ENOENT
		}
		return f, nil
	}
	child := func(k string, fd int32) *node {
		attr := func(st *unix.Stat_t) error {
			if err := v.attr(st); err != nil {
				return err
			}
			f, err := find(fd)
			if err != nil {
				return err
			}
			if !info {
				// lrwx------ as the descriptor allows.
				perm := uint32(0)
				switch f.Flags & unix.O_ACCMODE {
				case unix.O_RDONLY:
					perm = 0o500
				case unix.O_WRONLY:
					perm = 0o300
				case unix.O_RDWR:
					perm = 0o700
				}
				st.Mode = unix.S_IFLNK | perm
			}
			return nil
		}
		if info {
			return fs.file(k, 0o400, attr, func() ([]byte, error) {
				f, err := find(fd)
				if err != nil {
					return nil, err
				}
				mnt := 0
				if strings.HasPrefix(f.Target, "/") {
					mnt = mountOf(fs.mounts(), f.Target)
				}
				return formatFDInfo(&f, mnt), nil
			})
		}
		n := fs.symlink(k, attr, func() (string, error) {
			f, err := find(fd)
			if err != nil {
				return "", err
			}
			return f.Target, nil
		})
		n.magic = func() (*vfs.Dentry, error) {
			f, err := find(fd)
			if err != nil {
				return nil, err
			}
			return f.Dentry, nil
		}
		return n
	}
	typ := uint8(unix.DT_LNK)
	if info {
		typ = unix.DT_REG
	}
	return fs.dir(key, 0o500, v.attr, func() ([]dirent, error) {
		fds, ok := fs.src.FDs(v.pid)
		if !ok {
			return nil, unix.ENOENT
		}
		out := make([]dirent, len(fds))
		for i, f := range fds {
			name := strconv.Itoa(int(f.FD))
			out[i] = dirent{pos: 2 + uint64(f.FD), name: name, ino: ino(key + "/" + name), typ: typ}
		}
		return out, nil
	}, func(name string) (vfs.Inode, error) {
		fd, ok := parseFD(name)
		if !ok {
			return nil, unix.ENOENT
		}
		if _, err := find(fd); err != nil {
			return nil, err
		}
		return child(key+"/"+name, fd), nil
	})
}

// parseFD parses a descriptor number (0 allowed, no leading zeros).
func parseFD(name string) (int32, bool) {
	if name == "0" {
		return 0, true
	}
	return parseID(name)
}

// namespaces are the ns/ links: the sandbox has one namespace of each
// kind, given Linux's initial namespaces' inode numbers.
var namespaces = []struct {
	name, kind string
	ino        uint64
}{
	{"cgroup", "cgroup", 4026531835},
	{"ipc", "ipc", 4026531839},
	{"mnt", "mnt", 4026531841},
	{"net", "net", 4026531840},
	{"pid", "pid", 4026531836},
	{"pid_for_children", "pid", 4026531836},
	{"time", "time", 4026531834},
	{"time_for_children", "time", 4026531834},
	{"user", "user", 4026531837},
	{"uts", "uts", 4026531838},
}

// nsDir returns /proc/[pid]/ns.
func (fs *filesystem) nsDir(key string, v *view) *node {
	entries := make([]entry, len(namespaces))
	for i, ns := range namespaces {
		entries[i] = entry{ns.name, func(k string) *node {
			switch ns.kind {
			case "mnt":
				return fs.mountNSLink(k, v)
			case "uts", "ipc", "net", "pid":
				return fs.joinableNSLink(k, v, ns.name, ns.kind, ns.ino)
			case "cgroup", "time", "user":
				if src, ok := fs.src.(NamespaceSource); ok {
					return fs.sourceNSLink(k, v, src, ns.name, ns.kind)
				}
			}
			return fs.symlink(k, v.attr, func() (string, error) {
				return ns.kind + ":[" + strconv.FormatUint(ns.ino, 10) + "]", nil
			})
		}}
	}
	return fs.fixedDir(key, 0o511, v.attr, entries)
}

// joinableNSLink returns the ns/ link name of a kind setns(2) joins: a
// magic link to the namespace's file when the source names the namespace
// object (Process.NSObjects), a plain one (which cannot be opened)
// otherwise. initial is the number of the kind's initial namespace.
func (fs *filesystem) joinableNSLink(key string, v *view, name, kind string, initial uint64) *node {
	resolve := func() (uint64, any, error) {
		p, _, err := v.snapshot()
		if err != nil {
			return 0, nil, unix.ENOENT
		}
		var own uint64
		switch name {
		case "uts":
			own = p.UTSNamespace
		case "ipc":
			own = p.IPCNamespace
		case "net":
			own = p.NetNamespace
		case "pid":
			own = p.PIDNamespace
		case "pid_for_children":
			own = p.ChildPIDNamespace
		}
		if own == NoNamespace {
			return 0, nil, unix.ENOENT
		}
		if own == 0 {
			own = initial
		}
		return own, p.NSObjects[name], nil
	}
	n := fs.symlink(key, v.attr, func() (string, error) {
		id, _, err := resolve()
		if err != nil {
			return "", err
		}
		return kind + ":[" + strconv.FormatUint(id, 10) + "]", nil
	})
	n.magic = func() (*vfs.Dentry, error) {
		id, obj, err := resolve()
		if err != nil {
			return nil, err
		}
		if obj == nil {
			return nil, unix.ENOENT
		}
		return vfs.NewAnonymous(kind+":["+strconv.FormatUint(id, 10)+"]", &vfs.NamespaceInode{Namespace: obj, Ino: id}), nil
	}
	return n
}

// sourceNSLink returns the ns/ link name of a namespace the Source's
// NamespaceSource knows (cgroup, time, time_for_children): a magic link to
// the namespace's file, which setns(2) joins.
func (fs *filesystem) sourceNSLink(key string, v *view, src NamespaceSource, name, kind string) *node {
	resolve := func() (uint64, any, error) {
		if _, _, err := v.snapshot(); err != nil {
			return 0, nil, unix.ENOENT
		}
		id, obj, ok := src.Namespace(v.pid, name)
		if !ok {
			return 0, nil, unix.ENOENT
		}
		return id, obj, nil
	}
	n := fs.symlink(key, v.attr, func() (string, error) {
		id, _, err := resolve()
		if err != nil {
			return "", err
		}
		return kind + ":[" + strconv.FormatUint(id, 10) + "]", nil
	})
	n.magic = func() (*vfs.Dentry, error) {
		id, obj, err := resolve()
		if err != nil {
			return nil, err
		}
		return vfs.NewAnonymous(kind+":["+strconv.FormatUint(id, 10)+"]", &vfs.NamespaceInode{Namespace: obj, Ino: id}), nil
	}
	return n
}

// timensOffsets shows the offsets of the process's time namespace for
// children, as Linux's proc_timens_show_offsets does.
func (v *view) timensOffsets(src NamespaceSource) ([]byte, error) {
	if _, _, err := v.snapshot(); err != nil {
		return nil, err
	}
	offs, ok := src.TimensOffsets(v.pid)
	if !ok {
		return nil, unix.ESRCH
	}
	var b bytes.Buffer
	for _, o := range offs {
		clock := "monotonic"
		if o.Clock == unix.CLOCK_BOOTTIME {
			clock = "boottime"
		}
		fmt.Fprintf(&b, "%-10s %10d %9d\n", clock, o.Sec, o.Nsec)
	}
	return b.Bytes(), nil
}

// maxTimensOffsets is how many lines one write of timens_offsets takes
// (one per clock a time namespace offsets).
const maxTimensOffsets = 2

// setTimensOffsets parses a write to timens_offsets, lines of "<clock>
// <sec> <nsec>" with clock "monotonic", "boottime" or its number, as
// Linux's timens_offsets_write does: EINVAL for a line that does not
// parse; at most two lines are taken, and the bytes up to the end of the
// second are reported written.
func (v *view) setTimensOffsets(src NamespaceSource, p []byte) (int, error) {
	var offs []TimensOffset
	count := len(p)
	rest := string(p)
	if i := strings.IndexByte(rest, 0); i >= 0 {
		rest = rest[:i]
	}
	for pos := 0; ; {
		line, next, more := rest[pos:], 0, false
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], pos+i+1
			more = next < len(rest)
		}
		o, err := parseTimensOffset(line)
		if err != nil {
			return 0, err
		}
		offs = append(offs, o)
		if !more {
			break
		}
		if len(offs) == maxTimensOffsets {
			count = next
			break
		}
		pos = next
	}
	if err := src.SetTimensOffsets(v.pid, offs); err != nil {
		return 0, err
	}
	return count, nil
}

// parseTimensOffset parses one line of a timens_offsets write.
func parseTimensOffset(line string) (TimensOffset, error) {
	f := strings.Fields(line)
	if len(f) < 3 || len(f[0]) > 9 {
		return TimensOffset{}, unix.EINVAL
	}
	var o TimensOffset
	switch f[0] {
	case "monotonic", strconv.Itoa(unix.CLOCK_MONOTONIC):
		o.Clock = unix.CLOCK_MONOTONIC
	case "boottime", strconv.Itoa(unix.CLOCK_BOOTTIME):
		o.Clock = unix.CLOCK_BOOTTIME
	default:
		return TimensOffset{}, unix.EINVAL
	}
	sec, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return TimensOffset{}, unix.EINVAL
	}
	nsec, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || nsec < 0 || nsec >= 1e9 {
		return TimensOffset{}, unix.EINVAL
	}
	o.Sec, o.Nsec = sec, nsec
	return o, nil
}
