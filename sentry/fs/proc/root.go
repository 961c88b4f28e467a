package proc

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// pidPos is the getdents cookie of the first process entry of /proc:
// process entries follow the fixed ones, ordered by PID.
const pidPos = 1 << 32

// root returns the /proc directory.
func (fs *filesystem) root() *node {
	fixed := fs.rootEntries()
	n := fs.dir("/", 0o555, nil, func() ([]dirent, error) {
		var out []dirent
		for i, e := range fixed {
			c := e.make(e.name)
			out = append(out, dirent{pos: uint64(2 + i), name: e.name, ino: c.ino, typ: direntType(c.mode)})
		}
		for _, pid := range fs.src.PIDs() {
			name := strconv.Itoa(int(pid))
			out = append(out, dirent{pos: pidPos + uint64(pid), name: name, ino: ino(pidKey(pid, pid)), typ: unix.DT_DIR})
		}
		return out, nil
	}, func(name string) (vfs.Inode, error) {
		for _, e := range fixed {
			if e.name == name {
				return e.make(name), nil
			}
		}
		id, ok := parseID(name)
		if !ok {
			return nil, unix.ENOENT
		}
		if _, ok := fs.src.Process(id); ok {
			return fs.processDir(id, id, pidKey(id, id), false), nil
		}
		// A thread's ID works too, though readdir does not list it.
		if pid, ok := fs.src.ThreadGroupOf(id); ok {
			return fs.processDir(pid, id, pidKey(pid, id), false), nil
		}
		return nil, unix.ENOENT
	})
	n.ino = rootIno
	return n
}

// parseID parses a decimal process or thread ID as Linux's name_to_int
// does: digits only, no leading zero.
func parseID(name string) (int32, bool) {
	if name == "" || (name[0] == '0' && len(name) > 1) {
		return 0, false
	}
	v, err := strconv.ParseUint(name, 10, 31)
	if err != nil || v == 0 {
		return 0, false
	}
	return int32(v), true
}

// pidKey is the inode key of a process directory.
func pidKey(pid, tid int32) string {
	if pid == tid {
		return "/" + strconv.Itoa(int(pid))
	}
	return "/" + strconv.Itoa(int(pid)) + "/t/" + strconv.Itoa(int(tid))
}

// direntType converts a mode to a DT_* value.
func direntType(mode uint32) uint8 {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return unix.DT_DIR
	case unix.S_IFLNK:
		return unix.DT_LNK
	}
	return unix.DT_REG
}

// generated is a read-only file of content from gen.
func (fs *filesystem) generated(gen func() []byte) func(string) *node {
	return func(key string) *node {
		return fs.file(key, 0o444, nil, func() ([]byte, error) { return gen(), nil })
	}
}

// rootEntries are /proc's fixed entries.
func (fs *filesystem) rootEntries() []entry {
	return []entry{
		{"self", func(key string) *node {
			return fs.symlink(key, nil, func() (string, error) {
				pid, _, ok := fs.src.Caller()
				if !ok {
					return "", unix.ENOENT
				}
				return strconv.Itoa(int(pid)), nil
			})
		}},
		{"thread-self", func(key string) *node {
			return fs.symlink(key, nil, func() (string, error) {
				pid, tid, ok := fs.src.Caller()
				if !ok {
					return "", unix.ENOENT
				}
				return fmt.Sprintf("%d/task/%d", pid, tid), nil
			})
		}},
		{"mounts", func(key string) *node {
			return fs.symlink(key, nil, func() (string, error) { return "self/mounts", nil })
		}},
		{"net", func(key string) *node {
			return fs.symlink(key, nil, func() (string, error) { return "self/net", nil })
		}},
		{"meminfo", fs.generated(func() []byte { return formatMeminfo(fs.src.MemInfo()) })},
		{"vmstat", fs.generated(func() []byte { return formatVmstat(fs.src.MemInfo()) })},
		{"stat", fs.generated(func() []byte {
			return formatStatFile(fs.src.System(), fs.cfg.Now(), fs.cfg.NumCPU)
		})},
		{"uptime", fs.generated(func() []byte {
			return formatUptime(fs.src.System(), fs.cfg.Now(), fs.cfg.NumCPU)
		})},
		{"loadavg", fs.generated(func() []byte { return formatLoadavg(fs.src.System()) })},
		{"cpuinfo", fs.generated(func() []byte { return formatCPUInfo(fs.cfg.NumCPU) })},
		{"version", fs.generated(func() []byte {
			return formatVersion(fs.cfg.Release, fs.cfg.Version, runtime.Version())
		})},
		{"filesystems", fs.generated(func() []byte { return formatFilesystems(fs.mounts()) })},
		{"sys", func(key string) *node { return fs.sysDir(key) }},
		{"sysvipc", func(key string) *node {
			return fs.fixedDir(key, 0o555, nil, []entry{
				{"shm", fs.generated(func() []byte {
					var segs []ShmSegment
					if l, ok := fs.src.(ShmLister); ok {
						segs = l.ShmSegments()
					}
					return formatSysvipcShm(segs)
				})},
				{"sem", fs.generated(func() []byte {
					var sets []SemSet
					if l, ok := fs.src.(SysvipcLister); ok {
						sets = l.SemSets()
					}
					return formatSysvipcSem(sets)
				})},
				{"msg", fs.generated(func() []byte {
					var qs []MsgQueue
					if l, ok := fs.src.(SysvipcLister); ok {
						qs = l.MsgQueues()
					}
					return formatSysvipcMsg(qs)
				})},
			})
		}},
	}
}

// ShmSegment is one System V shared memory segment as /proc/sysvipc/shm
// lists it; process IDs are in this /proc's namespace.
type ShmSegment struct {
	Key, ID              int32
	Mode                 uint32
	Size                 uint64
	Cpid, Lpid           int32
	Nattch               uint64
	UID, GID, CUID, CGID uint32
	Atime, Dtime, Ctime  int64
	ResidentBytes        uint64
}

// ShmLister is implemented by a Source that has System V shared memory.
type ShmLister interface {
	ShmSegments() []ShmSegment
}

// formatSysvipcShm renders /proc/sysvipc/shm (ipc/shm.c
// sysvipc_shm_proc_show, 64-bit layout).
func formatSysvipcShm(segs []ShmSegment) []byte {
	var b bytes.Buffer
	b.WriteString("       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n")
	for _, s := range segs {
		fmt.Fprintf(&b, "%10d %10d  %4o %21d %5d %5d  %5d %5d %5d %5d %5d %10d %10d %10d %21d %21d\n",
			s.Key, s.ID, s.Mode, s.Size, s.Cpid, s.Lpid, s.Nattch, s.UID, s.GID, s.CUID, s.CGID,
			s.Atime, s.Dtime, s.Ctime, s.ResidentBytes, 0)
	}
	return b.Bytes()
}

// SemSet is one System V semaphore set as /proc/sysvipc/sem lists it.
type SemSet struct {
	Key, ID              int32
	Mode                 uint32
	Nsems                uint64
	UID, GID, CUID, CGID uint32
	Otime, Ctime         int64
}

// MsgQueue is one System V message queue as /proc/sysvipc/msg lists it;
// process IDs are in this /proc's namespace.
type MsgQueue struct {
	Key, ID              int32
	Mode                 uint32
	Cbytes, Qnum         uint64
	Lspid, Lrpid         int32
	UID, GID, CUID, CGID uint32
	Stime, Rtime, Ctime  int64
}

// SysvipcLister is implemented by a Source that has System V semaphores
// and message queues.
type SysvipcLister interface {
	SemSets() []SemSet
	MsgQueues() []MsgQueue
}

// formatSysvipcSem renders /proc/sysvipc/sem (ipc/sem.c
// sysvipc_sem_proc_show).
func formatSysvipcSem(sets []SemSet) []byte {
	var b bytes.Buffer
	b.WriteString("       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n")
	for _, s := range sets {
		fmt.Fprintf(&b, "%10d %10d  %4o %10d %5d %5d %5d %5d %10d %10d\n",
			s.Key, s.ID, s.Mode, s.Nsems, s.UID, s.GID, s.CUID, s.CGID, s.Otime, s.Ctime)
	}
	return b.Bytes()
}

// formatSysvipcMsg renders /proc/sysvipc/msg (ipc/msg.c
// sysvipc_msg_proc_show).
func formatSysvipcMsg(qs []MsgQueue) []byte {
	var b bytes.Buffer
	b.WriteString("       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n")
	for _, q := range qs {
		fmt.Fprintf(&b, "%10d %10d  %4o  %10d %10d %5d %5d %5d %5d %5d %5d %10d %10d %10d\n",
			q.Key, q.ID, q.Mode, q.Cbytes, q.Qnum, q.Lspid, q.Lrpid, q.UID, q.GID, q.CUID, q.CGID,
			q.Stime, q.Rtime, q.Ctime)
	}
	return b.Bytes()
}

// line returns s with a newline.
func line(s string) []byte { return []byte(s + "\n") }

// sysDir returns /proc/sys: the settings programs read. The sandbox's are
// fixed, so every file is read-only, but for the IPC namespace's
// fs/mqueue limits (sys_mqueue.go) and the network namespace's net
// sysctls (sysctl_net.go).
func (fs *filesystem) sysDir(key string) *node {
	value := func(s func() string) func(string) *node {
		return fs.generated(func() []byte { return line(s()) })
	}
	constant := func(s string) func(string) *node { return value(func() string { return s }) }
	sysctl := func(name string) func(string) *node { return value(func() string { return fs.src.Sysctl(name) }) }
	random := fs.fixedDir(key+"/kernel/random", 0o555, nil, []entry{
		{"boot_id", constant(fs.bootID)},
		{"uuid", value(newUUID)},
	})
	kern := fs.fixedDir(key+"/kernel", 0o555, nil, []entry{
		{"cap_last_cap", constant(strconv.Itoa(kernel.CapLast))},
		{"hostname", value(func() string { return fs.src.System().Hostname })},
		{"domainname", value(func() string { return fs.src.System().Domainname })},
		// The kernel log is the pod's own: anyone may read it
		// (sentry/kernel/klog.go).
		{"dmesg_restrict", constant("0")},
		{"ngroups_max", constant("65536")},
		{"osrelease", constant(fs.cfg.Release)},
		{"ostype", constant("Linux")},
		{"pid_max", constant(strconv.Itoa(kernel.PIDMax))},
		{"random", func(string) *node { return random }},
		{"version", constant(fs.cfg.Version)},
		// System V IPC limits: Linux's defaults unless the pod set
		// them (read-only here, as /proc/sys is in a container).
		{"shmmax", sysctl("kernel.shmmax")},
		{"shmall", sysctl("kernel.shmall")},
		{"shmmni", sysctl("kernel.shmmni")},
		{"shm_rmid_forced", sysctl("kernel.shm_rmid_forced")},
		{"msgmax", sysctl("kernel.msgmax")},
		{"msgmnb", sysctl("kernel.msgmnb")},
		{"msgmni", sysctl("kernel.msgmni")},
		{"sem", sysctl("kernel.sem")},
	})
	vm := fs.fixedDir(key+"/vm", 0o555, nil, []entry{
		// mm's mmap applies Linux's heuristic overcommit (mode 0).
		{"overcommit_memory", constant("0")},
	})
	// The network namespace's sysctls (sysctl_net.go).
	netDir := fs.fixedDir(key+"/net", 0o555, nil, []entry{
		{"core", func(k string) *node { return fs.netSysctlDir(k, "core") }},
		{"ipv4", func(k string) *node { return fs.netSysctlDir(k, "ipv4") }},
		{"ipv6", func(k string) *node { return fs.netSysctlDir(k, "ipv6") }},
		{"unix", func(k string) *node { return fs.netSysctlDir(k, "unix") }},
	})
	fsDir := fs.fixedDir(key+"/fs", 0o555, nil, []entry{
		// No system-wide limit on open files: only RLIMIT_NOFILE.
		{"file-max", constant("9223372036854775807")},
		{"mqueue", func(k string) *node { return fs.mqueueSysDir(k) }},
	})
	return fs.fixedDir(key, 0o555, nil, []entry{
		{"fs", func(string) *node { return fsDir }},
		{"kernel", func(string) *node { return kern }},
		{"net", func(string) *node { return netDir }},
		{"user", func(k string) *node { return fs.sysUserDir(k) }},
		{"vm", func(string) *node { return vm }},
	})
}
