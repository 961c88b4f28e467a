package kernel

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// /proc/PID/uid_map, gid_map and setgroups: the files that set up a user
// namespace (Linux's proc_uid_map_write, map_write, new_idmap_permitted
// and proc_setgroups_write in kernel/user_namespace.c).
//
// Linux checks some of the rules against the credentials of the file's
// opener and some against the writer's: OpenIDMap and OpenSetgroups take
// the opener's when the file is opened; WriteIDMap and WriteSetgroups
// serve a /proc that does not tell opens apart, with the writer standing
// for the opener.

// processUserNS returns the user namespace of process pid of ns; ESRCH
// once it exited.
func (k *Kernel) processUserNS(ns *PIDNamespace, pid int32) (*UserNamespace, error) {
	rep := k.liveTaskOf(ns, pid)
	if rep == nil {
		return nil, unix.ESRCH
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return rep.creds.UserNamespace(), nil
}

// callerCreds returns a copy of the credentials of the task whose system
// call runs on the calling thread, false when there is none.
func (k *Kernel) callerCreds() (Credentials, bool) {
	t := callerTask()
	if t == nil {
		return Credentials{}, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return t.creds, true
}

// ReadIDMap returns the contents of /proc/PID/uid_map (gid false) or
// gid_map of process pid of ns, for the calling task (uid_m_show): each
// extent's lower IDs as the reader's namespace sees them, or as the
// parent namespace does when the reader is in the namespace shown;
// (u32)-1 for an ID without a mapping there.
func (k *Kernel) ReadIDMap(ns *PIDNamespace, pid int32, gid bool) ([]byte, error) {
	target, err := k.processUserNS(ns, pid)
	if err != nil {
		return nil, err
	}
	reader := initialUserNS
	if c, ok := k.callerCreds(); ok {
		reader = c.UserNamespace()
	}
	if reader == target && target.parent != nil {
		reader = target.parent
	}
	m := target.mapping(gid)
	if len(m) > 5 {
		// Linux shows a map of more extents than fit its inline
		// array in the sorted order it keeps them in.
		m = slices.Clone(m)
		slices.SortFunc(m, func(a, b IDExtent) int { return int(int64(a.First) - int64(b.First)) })
	}
	var b bytes.Buffer
	for _, e := range m {
		lower, ok := fromKernel(reader.mapping(gid), e.Lower)
		if !ok {
			lower = ^uint32(0)
		}
		fmt.Fprintf(&b, "%10d %10d %10d\n", e.First, lower, e.Count)
	}
	return b.Bytes(), nil
}

// parseIDMap parses the lines of a map write (map_write): "first lower
// count", fields separated by white space; EINVAL for anything else, a
// first or lower ID of (u32)-1, an empty or wrapping range, ranges that
// overlap on either side, or more than maxIDMapExtents lines.
func parseIDMap(data []byte) ([]IDExtent, error) {
	s := string(data)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	var out []IDExtent
	for pos := 0; pos < len(s) || len(out) == 0; {
		ln := s[pos:]
		next := len(s)
		if i := strings.IndexByte(ln, '\n'); i >= 0 {
			ln, next = ln[:i], pos+i+1
		}
		pos = next
		var v [3]uint32
		rest := ln
		for i := range v {
			rest = strings.TrimLeft(rest, " \t\n\v\f\r")
			end := 0
			for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
				end++
			}
			n, err := strconv.ParseUint(rest[:end], 10, 64)
			if end == 0 {
				n, err = 0, nil
			}
			if err != nil || n > 1<<32-1 {
				// simple_strtoul truncates to 32 bits; a value
				// that large cannot describe a valid range.
				return nil, unix.EINVAL
			}
			v[i] = uint32(n)
			rest = rest[end:]
			if i < 2 && (rest == "" || !isSpace(rest[0])) {
				return nil, unix.EINVAL
			}
		}
		if strings.TrimLeft(rest, " \t\n\v\f\r") != "" {
			return nil, unix.EINVAL
		}
		e := IDExtent{First: v[0], Lower: v[1], Count: v[2]}
		if e.First == ^uint32(0) || e.Lower == ^uint32(0) {
			return nil, unix.EINVAL
		}
		if e.First+e.Count <= e.First || e.Lower+e.Count <= e.Lower {
			return nil, unix.EINVAL
		}
		for _, o := range out {
			if rangesOverlap(o.First, o.Count, e.First, e.Count) || rangesOverlap(o.Lower, o.Count, e.Lower, e.Count) {
				return nil, unix.EINVAL
			}
		}
		if len(out) == maxIDMapExtents {
			return nil, unix.EINVAL
		}
		out = append(out, e)
	}
	return out, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// rangesOverlap reports whether [a, a+n) and [b, b+m) share an ID.
func rangesOverlap(a, n, b, m uint32) bool {
	return uint64(a) < uint64(b)+uint64(m) && uint64(b) < uint64(a)+uint64(n)
}

// WriteIDMap implements a write of /proc/PID/uid_map (gid false) or
// gid_map of process pid of ns by the calling task, which stands for the
// file's opener too (OpenIDMap is the exact form).
func (k *Kernel) WriteIDMap(ns *PIDNamespace, pid int32, gid bool, data []byte) (int, error) {
	w, err := k.OpenIDMap(ns, pid, gid)
	if err != nil {
		return 0, err
	}
	return w(data)
}

// OpenIDMap opens /proc/PID/uid_map (gid false) or gid_map of process
// pid of ns for writing by the calling task, and returns what writes the
// open file. The map of the initial namespace, or of a namespace that is
// neither the opener's nor its child, cannot be written (EPERM); each map
// is written once (EPERM after), by an opener with CAP_SYS_ADMIN in the
// namespace (EPERM). Mapping any IDs but the opener's own effective one
// (and for gid_map, only once setgroups is denied) asks for CAP_SETUID
// (CAP_SETGID) in the parent namespace of both the opener and the writer,
// so that a privileged program cannot be made to write a map on another's
// behalf; every lower range must be mapped in the parent (EPERM).
func (k *Kernel) OpenIDMap(ns *PIDNamespace, pid int32, gid bool) (func([]byte) (int, error), error) {
	target, err := k.processUserNS(ns, pid)
	if err != nil {
		return nil, err
	}
	opener, ok := k.callerCreds()
	if !ok {
		return nil, unix.EPERM
	}
	return func(data []byte) (int, error) {
		writer, ok := k.callerCreds()
		if !ok {
			return 0, unix.EPERM
		}
		return target.writeIDMap(&opener, &writer, gid, data)
	}, nil
}

// writeIDMap is map_write for the file's opener and the writer.
func (target *UserNamespace) writeIDMap(opener, writer *Credentials, gid bool, data []byte) (int, error) {
	if target.parent == nil {
		return 0, unix.EPERM
	}
	if own := opener.UserNamespace(); own != target && own != target.parent {
		return 0, unix.EPERM
	}
	if len(data) >= 4096 {
		return 0, unix.EINVAL
	}
	capSetID, dst := CapSetuid, &target.uidMap
	if gid {
		capSetID, dst = CapSetgid, &target.gidMap
	}
	target.mu.Lock()
	defer target.mu.Unlock()
	if dst.Load() != nil || !opener.HasCapIn(target, CapSysAdmin) {
		return 0, unix.EPERM
	}
	m, err := parseIDMap(data)
	if err != nil {
		return 0, err
	}
	if !target.idMapPermitted(opener, gid, m) &&
		!(writer.HasCapIn(target.parent, capSetID) && opener.HasCapIn(target.parent, capSetID)) {
		return 0, unix.EPERM
	}
	parentMap := target.parent.mapping(gid)
	for i := range m {
		lower, ok := toKernel(parentMap, m[i].Lower, m[i].Count)
		if !ok {
			return 0, unix.EPERM
		}
		m[i].Lower = lower
	}
	dst.Store(&m)
	return len(data), nil
}

// idMapPermitted reports whether map m is one that needs no privilege
// (new_idmap_permitted): one ID, the opener's own effective one, when the
// opener created the namespace (for gid_map, once setgroups is denied).
func (ns *UserNamespace) idMapPermitted(c *Credentials, gid bool, m []IDExtent) bool {
	if len(m) != 1 || m[0].Count != 1 || ns.owner != c.EUID {
		return false
	}
	if gid {
		k, ok := ns.parent.KGID(m[0].Lower)
		return ok && k == c.EGID && ns.setgroupsDenied.Load()
	}
	k, ok := ns.parent.KUID(m[0].Lower)
	return ok && k == c.EUID
}

// ReadSetgroups returns /proc/PID/setgroups of process pid of ns.
func (k *Kernel) ReadSetgroups(ns *PIDNamespace, pid int32) ([]byte, error) {
	target, err := k.processUserNS(ns, pid)
	if err != nil {
		return nil, err
	}
	if target.SetgroupsAllowed() {
		return []byte("allow\n"), nil
	}
	return []byte("deny\n"), nil
}

// WriteSetgroups implements a write of /proc/PID/setgroups of process pid
// of ns by the calling task, which stands for the file's opener too
// (OpenSetgroups is the exact form).
func (k *Kernel) WriteSetgroups(ns *PIDNamespace, pid int32, data []byte) (int, error) {
	w, err := k.OpenSetgroups(ns, pid)
	if err != nil {
		return 0, err
	}
	return w(data)
}

// OpenSetgroups opens /proc/PID/setgroups of process pid of ns for writing
// by the calling task (proc_setgroups_open: CAP_SYS_ADMIN in the
// namespace, EACCES) and returns what writes the open file
// (proc_setgroups_write): "allow" or "deny", maybe followed by white
// space (EINVAL otherwise). "deny" is refused once gid_map is written,
// and "allow" once setgroups is denied (EPERM): a namespace whose gid_map
// was written without privilege never lets setgroups drop a group.
func (k *Kernel) OpenSetgroups(ns *PIDNamespace, pid int32) (func([]byte) (int, error), error) {
	target, err := k.processUserNS(ns, pid)
	if err != nil {
		return nil, err
	}
	c, ok := k.callerCreds()
	if !ok || !c.HasCapIn(target, CapSysAdmin) {
		return nil, unix.EACCES
	}
	return target.writeSetgroups, nil
}

func (target *UserNamespace) writeSetgroups(data []byte) (int, error) {
	if len(data) >= 8 {
		return 0, unix.EINVAL
	}
	s := string(data)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	var allow bool
	switch {
	case strings.HasPrefix(s, "allow"):
		allow, s = true, s[5:]
	case strings.HasPrefix(s, "deny"):
		s = s[4:]
	default:
		return 0, unix.EINVAL
	}
	if strings.TrimLeft(s, " \t\n\v\f\r") != "" {
		return 0, unix.EINVAL
	}
	target.mu.Lock()
	defer target.mu.Unlock()
	if allow {
		if target.setgroupsDenied.Load() {
			return 0, unix.EPERM
		}
	} else {
		if target.gidMap.Load() != nil {
			return 0, unix.EPERM
		}
		target.setgroupsDenied.Store(true)
	}
	return len(data), nil
}
