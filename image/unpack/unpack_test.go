package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ent is one tar entry; data is the content of regular files.
type ent struct {
	hdr  tar.Header
	data string
}

func reg(name, data string) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}, data: data}
}

func dir(name string) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}

func symlink(name, target string) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}

func hardlink(name, target string) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target, Mode: 0o644}}
}

func fifo(name string) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: tar.TypeFifo, Mode: 0o644}}
}

func dev(name string, typ byte, major, minor int64) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: typ, Mode: 0o600, Devmajor: major, Devminor: minor}}
}

func buildTar(t *testing.T, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := e.hdr
		if h.Format == tar.FormatUnknown {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("write header %q: %v", h.Name, err)
		}
		if e.data != "" {
			if _, err := tw.Write([]byte(e.data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Raw tar helpers, for streams archive/tar refuses to write.

func rawHeader(name string, typ byte, size int) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:108], "0000644\x00")
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], fmt.Sprintf("%011o\x00", 1600000000))
	copy(b[148:156], "        ")
	b[156] = typ
	copy(b[257:263], "ustar\x00")
	copy(b[263:265], "00")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func pad(data []byte) []byte {
	if r := len(data) % 512; r != 0 {
		data = append(data, make([]byte, 512-r)...)
	}
	return data
}

func paxRecord(k, v string) string {
	rest := " " + k + "=" + v + "\n"
	n := len(rest) + 1
	for len(fmt.Sprint(n))+len(rest) != n {
		n = len(fmt.Sprint(n)) + len(rest)
	}
	return fmt.Sprint(n) + rest
}

func rawTar(blocks ...[]byte) []byte {
	var out []byte
	for _, b := range blocks {
		out = append(out, pad(b)...)
	}
	return append(out, make([]byte, 1024)...)
}

// env is a scratch root holding the layer dir and a sentinel dir next to it.
type env struct {
	root, layer, outside string
}

func newEnv(t *testing.T) env {
	t.Helper()
	root := t.TempDir()
	e := env{root: root, layer: filepath.Join(root, "layer"), outside: filepath.Join(root, "outside")}
	for _, d := range []string{e.layer, e.outside, filepath.Join(e.outside, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.WriteFile(filepath.Join(e.outside, "passwd"), []byte("root:x:0:0\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(e.outside, "sub", "file"), []byte("keep"), 0o600))
	old := time.Unix(1000000000, 0)
	for _, p := range []string{filepath.Join(e.outside, "passwd"), filepath.Join(e.outside, "sub"), e.outside} {
		must(t, os.Chtimes(p, old, old))
	}
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot describes everything below root except the layer directory.
func (e env) snapshot(t *testing.T) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(e.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == e.layer {
			return filepath.SkipDir
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%o uid=%d gid=%d size=%d nlink=%d mtime=%d.%d ino=%d",
			st.Mode, st.Uid, st.Gid, st.Size, st.Nlink, st.Mtim.Sec, st.Mtim.Nsec, st.Ino)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" sha=%x", sha256.Sum256(b))
		case unix.S_IFLNK:
			l, _ := os.Readlink(p)
			desc += " link=" + l
		}
		buf := make([]byte, 4096)
		if n, err := unix.Llistxattr(p, buf); err == nil {
			desc += " xattrs=" + strings.ReplaceAll(string(buf[:n]), "\x00", ",")
		}
		snap[strings.TrimPrefix(p, e.root)] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func apply(t *testing.T, layer string, data []byte) (Stats, error) {
	t.Helper()
	return Apply(context.Background(), layer, bytes.NewReader(data))
}

func lstat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return st
}

func getxattr(p, name string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (lchown, trusted.* xattrs, whiteout device nodes)")
	}
}

var (
	t1 = time.Unix(1500000000, 111111111)
	t2 = time.Unix(1600000000, 222222222)
	t3 = time.Unix(1400000000, 333333333)
	t4 = time.Unix(1300000000, 444444444)
	t5 = time.Unix(1200000000, 555555555)
)

// A version 2 security.capability value granting cap_net_bind_service.
var fileCap = string([]byte{0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})

func TestApplyEntryTypesAndMetadata(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)

	rootEnt := dir("./")
	rootEnt.hdr.Mode = 0o751
	rootEnt.hdr.ModTime = t5

	etc := dir("etc/")
	etc.hdr.Uid, etc.hdr.Gid, etc.hdr.ModTime = 1, 2, t1
	etc.hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.user.dir":                 "d",
		"SCHILY.xattr.trusted.overlay.opaque":   "y",
		"SCHILY.xattr.trusted.overlay.redirect": "/elsewhere",
	}

	file := reg("etc/app.conf", "hello world\n")
	file.hdr.Mode, file.hdr.Uid, file.hdr.Gid = 0o640, 1000, 1001
	file.hdr.ModTime, file.hdr.AccessTime = t2, t3
	file.hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.user.a":              "va",
		"SCHILY.xattr.trusted.b":           "vb",
		"SCHILY.xattr.security.capability": fileCap,
		"SCHILY.xattr.user.overlay.origin": "x",
		"SCHILY.xattr.security.selinux":    "system_u:object_r:etc_t:s0",
	}

	suid := reg("bin/su", "#!su")
	suid.hdr.Mode, suid.hdr.Uid, suid.hdr.Gid = 0o4755, 0, 0
	sgid := reg("bin/wall", "#!wall")
	sgid.hdr.Mode, sgid.hdr.Uid, sgid.hdr.Gid = 0o2755, 0, 5
	tmp := dir("tmp/")
	tmp.hdr.Mode = 0o1777

	link := symlink("etc/localtime", "/usr/share/zoneinfo/UTC")
	link.hdr.Uid, link.hdr.Gid, link.hdr.ModTime = 5, 6, t4
	link.hdr.PAXRecords = map[string]string{"SCHILY.xattr.trusted.l": "lv", "SCHILY.xattr.user.l": "dropped"}

	hl := hardlink("etc/app.conf.link", "etc/app.conf")
	hlAbs := hardlink("etc/app.conf.link2", "/etc/app.conf")

	ff := fifo("run/initctl")
	ff.hdr.Mode, ff.hdr.Uid, ff.hdr.Gid, ff.hdr.ModTime = 0o620, 7, 8, t1

	sparse := ent{hdr: tar.Header{Name: "var/sparse", Typeflag: tar.TypeReg, Mode: 0o644, Size: 8 << 20},
		data: strings.Repeat("\x00", 8<<20-1) + "z"}

	implicit := reg("implicit/a/b/c", "c")

	stream := buildTar(t, rootEnt, etc, file, suid, sgid, tmp, link, hl, hlAbs, ff,
		dev("dev/null", tar.TypeChar, 1, 3), dev("dev/sda", tar.TypeBlock, 8, 0), sparse, implicit)
	before := e.snapshot(t)
	st, err := apply(t, e.layer, stream)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := e.snapshot(t); !mapsEqual(before, got) {
		t.Fatalf("outside changed:\nbefore %v\nafter  %v", before, got)
	}

	wantSize := int64(len("hello world\n") + len("#!su") + len("#!wall") + 8<<20 + 1)
	want := Stats{Size: wantSize, Entries: 12, SkippedDevices: 2, DroppedXattrs: 5}
	if st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}

	L := func(p string) string { return filepath.Join(e.layer, p) }

	// Layer root: mode and mtime from "./".
	if s := lstat(t, e.layer); s.Mode&0o7777 != 0o751 || s.Mtim.Nano() != t5.UnixNano() {
		t.Errorf("root: mode %o mtime %v", s.Mode&0o7777, s.Mtim.Nano())
	}

	// Directory, with its mtime set after its children were created.
	s := lstat(t, L("etc"))
	if s.Mode&unix.S_IFMT != unix.S_IFDIR || s.Mode&0o7777 != 0o755 || s.Uid != 1 || s.Gid != 2 {
		t.Errorf("etc: mode %o uid %d gid %d", s.Mode, s.Uid, s.Gid)
	}
	if s.Mtim.Nano() != t1.UnixNano() {
		t.Errorf("etc mtime %d, want %d", s.Mtim.Nano(), t1.UnixNano())
	}
	if v, err := getxattr(L("etc"), "user.dir"); err != nil || v != "d" {
		t.Errorf("etc user.dir = %q, %v", v, err)
	}
	for _, x := range []string{"trusted.overlay.opaque", "trusted.overlay.redirect"} {
		if _, err := getxattr(L("etc"), x); !errors.Is(err, unix.ENODATA) {
			t.Errorf("etc %s: forged overlay xattr applied (err %v)", x, err)
		}
	}

	// Regular file.
	s = lstat(t, L("etc/app.conf"))
	if s.Mode != unix.S_IFREG|0o640 || s.Uid != 1000 || s.Gid != 1001 || s.Size != 12 || s.Nlink != 3 {
		t.Errorf("app.conf: mode %o uid %d gid %d size %d nlink %d", s.Mode, s.Uid, s.Gid, s.Size, s.Nlink)
	}
	if s.Mtim.Nano() != t2.UnixNano() || s.Atim.Nano() != t3.UnixNano() {
		t.Errorf("app.conf times: atime %d mtime %d", s.Atim.Nano(), s.Mtim.Nano())
	}
	for k, v := range map[string]string{"user.a": "va", "trusted.b": "vb", "security.capability": fileCap} {
		if got, err := getxattr(L("etc/app.conf"), k); err != nil || got != v {
			t.Errorf("app.conf %s = %q, %v; want %q", k, got, err, v)
		}
	}
	for _, k := range []string{"user.overlay.origin", "security.selinux"} {
		if _, err := getxattr(L("etc/app.conf"), k); err == nil {
			t.Errorf("app.conf: %s should have been dropped", k)
		}
	}
	if b, _ := os.ReadFile(L("etc/app.conf")); string(b) != "hello world\n" {
		t.Errorf("app.conf content %q", b)
	}

	// Hard links share the inode.
	for _, p := range []string{"etc/app.conf.link", "etc/app.conf.link2"} {
		if l := lstat(t, L(p)); l.Ino != s.Ino || l.Nlink != 3 {
			t.Errorf("%s: ino %d nlink %d, want ino %d nlink 3", p, l.Ino, l.Nlink, s.Ino)
		}
	}

	// setuid, setgid, sticky survive chown.
	if m := lstat(t, L("bin/su")).Mode & 0o7777; m != 0o4755 {
		t.Errorf("su mode %o", m)
	}
	if s := lstat(t, L("bin/wall")); s.Mode&0o7777 != 0o2755 || s.Gid != 5 {
		t.Errorf("wall mode %o gid %d", s.Mode&0o7777, s.Gid)
	}
	if m := lstat(t, L("tmp")).Mode & 0o7777; m != 0o1777 {
		t.Errorf("tmp mode %o", m)
	}

	// Symlink: stored verbatim, owner and times on the link itself.
	if target, err := os.Readlink(L("etc/localtime")); err != nil || target != "/usr/share/zoneinfo/UTC" {
		t.Errorf("localtime -> %q, %v", target, err)
	}
	s = lstat(t, L("etc/localtime"))
	if s.Uid != 5 || s.Gid != 6 || s.Mtim.Nano() != t4.UnixNano() {
		t.Errorf("localtime: uid %d gid %d mtime %d", s.Uid, s.Gid, s.Mtim.Nano())
	}
	if v, err := getxattr(L("etc/localtime"), "trusted.l"); err != nil || v != "lv" {
		t.Errorf("localtime trusted.l = %q, %v", v, err)
	}

	// FIFO.
	s = lstat(t, L("run/initctl"))
	if s.Mode != unix.S_IFIFO|0o620 || s.Uid != 7 || s.Gid != 8 || s.Mtim.Nano() != t1.UnixNano() {
		t.Errorf("fifo: mode %o uid %d gid %d mtime %d", s.Mode, s.Uid, s.Gid, s.Mtim.Nano())
	}

	// Devices are skipped (the parent dir, implied by the entry name, may exist).
	for _, p := range []string{"dev/null", "dev/sda"} {
		if _, err := os.Lstat(L(p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: device created (err %v)", p, err)
		}
	}

	// Sparse file keeps its size and content and is stored with holes.
	s = lstat(t, L("var/sparse"))
	if s.Size != 8<<20 || s.Blocks*512 >= 1<<20 {
		t.Errorf("sparse: size %d, %d bytes allocated", s.Size, s.Blocks*512)
	}
	b, _ := os.ReadFile(L("var/sparse"))
	if len(b) != 8<<20 || b[len(b)-1] != 'z' || !isZero(b[:copyBufferSize]) {
		t.Errorf("sparse content wrong")
	}

	// Implicit parents.
	for _, p := range []string{"implicit", "implicit/a", "implicit/a/b"} {
		if s := lstat(t, L(p)); s.Mode != unix.S_IFDIR|0o755 {
			t.Errorf("%s: mode %o", p, s.Mode)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestApplyReplacesEarlierEntries(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	q := dir("q/")
	q.hdr.ModTime = t1
	qlink := symlink("q", "elsewhere")
	qlink.hdr.ModTime = t2
	m1 := dir("m/")
	m1.hdr.Mode = 0o700
	m2 := dir("m/")
	m2.hdr.Mode = 0o750
	stream := buildTar(t,
		reg("a", "file"), dir("a/"), reg("a/x", "x"), // file replaced by dir
		dir("d/"), reg("d/f", "f"), dir("d/sub/"), symlink("d/sub/l", e.outside), reg("d", "now a file"), // dir replaced by file
		symlink("s", e.outside+"/passwd"), reg("s", "regular"), // symlink replaced by file, not written through
		symlink("t", e.outside), dir("t/"), // symlink replaced by dir, not chmod'ed through
		reg("f", "1"), hardlink("g", "f"), reg("f", "2"), // replacing one link leaves the other
		m1, reg("m/keep", "k"), m2, // dir updated in place
		q, qlink, // deferred dir mtime must not land on the symlink
	)
	before := e.snapshot(t)
	if _, err := apply(t, e.layer, stream); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := e.snapshot(t); !mapsEqual(before, got) {
		t.Fatalf("outside changed:\nbefore %v\nafter  %v", before, got)
	}
	L := func(p string) string { return filepath.Join(e.layer, p) }
	read := func(p string) string {
		b, err := os.ReadFile(L(p))
		if err != nil {
			t.Errorf("read %s: %v", p, err)
		}
		return string(b)
	}
	if read("a/x") != "x" || read("d") != "now a file" || read("s") != "regular" || read("f") != "2" || read("g") != "1" || read("m/keep") != "k" {
		t.Errorf("contents wrong")
	}
	if s := lstat(t, L("t")); s.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("t not a dir: %o", s.Mode)
	}
	if s := lstat(t, L("m")); s.Mode != unix.S_IFDIR|0o750 {
		t.Errorf("m mode %o", s.Mode)
	}
	if s := lstat(t, L("q")); s.Mode&unix.S_IFMT != unix.S_IFLNK || s.Mtim.Nano() != t2.UnixNano() {
		t.Errorf("q: mode %o mtime %d", s.Mode, s.Mtim.Nano())
	}
}

func TestApplyWhiteouts(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	wh := ent{hdr: tar.Header{Name: "etc/.wh.gone", Typeflag: tar.TypeReg, Mode: 0o600}}
	stream := buildTar(t,
		dir("etc/"), wh,
		dir("d/"), ent{hdr: tar.Header{Name: "d/.wh..wh..opq", Typeflag: tar.TypeReg}}, reg("d/new", "n"),
		ent{hdr: tar.Header{Name: "implied/.wh..wh..opq", Typeflag: tar.TypeReg}},
		ent{hdr: tar.Header{Name: ".wh..wh..plnk", Typeflag: tar.TypeDir, Mode: 0o700}},
		ent{hdr: tar.Header{Name: "d/.wh..wh.aufs", Typeflag: tar.TypeReg}},
		dev("cw", tar.TypeChar, 0, 0),
		reg("replaced", "x"), ent{hdr: tar.Header{Name: ".wh.replaced", Typeflag: tar.TypeReg}},
	)
	st, err := apply(t, e.layer, stream)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := Stats{Size: 2, Entries: 9, Whiteouts: 3, Opaques: 2, Ignored: 2}
	if st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	for _, p := range []string{"etc/gone", "cw", "replaced"} {
		s := lstat(t, filepath.Join(e.layer, p))
		if s.Mode&unix.S_IFMT != unix.S_IFCHR || s.Rdev != 0 {
			t.Errorf("%s: mode %o rdev %d, want char 0/0", p, s.Mode, s.Rdev)
		}
	}
	for _, p := range []string{"d", "implied"} {
		if v, err := getxattr(filepath.Join(e.layer, p), "trusted.overlay.opaque"); err != nil || v != "y" {
			t.Errorf("%s opaque = %q, %v", p, v, err)
		}
	}
	for _, p := range []string{"etc/.wh.gone", "d/.wh..wh..opq", ".wh..wh..plnk", "d/.wh..wh.aufs"} {
		if _, err := os.Lstat(filepath.Join(e.layer, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists (err %v)", p, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(e.layer, "d/new")); err != nil {
		t.Errorf("d/new: %v", err)
	}

	for _, bad := range []string{".wh.", "x/.wh..", "x/.wh..."} {
		e := newEnv(t)
		_, err := apply(t, e.layer, buildTar(t, ent{hdr: tar.Header{Name: bad, Typeflag: tar.TypeReg}}))
		if err == nil {
			t.Errorf("whiteout %q accepted", bad)
		}
	}
}

func TestApplyRefusesEscapes(t *testing.T) { testEscapes(t) }

// TestApplyRefusesEscapesWithoutOpenat2 runs the same cases with the
// O_NOFOLLOW component walk used on kernels without openat2.
func TestApplyRefusesEscapesWithoutOpenat2(t *testing.T) {
	noOpenat2.Store(true)
	defer noOpenat2.Store(false)
	testEscapes(t)
}

func testEscapes(t *testing.T) {
	requireRoot(t)
	type tc struct {
		name    string
		ents    func(e env) []ent
		raw     func(e env) []byte
		wantErr string // substring; "" means success
		escape  bool   // errors.Is(err, ErrEscape)
		check   func(t *testing.T, e env)
	}
	long := strings.Repeat("a/", 2100) + "x"
	cases := []tc{
		{name: "dotdot", ents: func(env) []ent { return []ent{reg("../x", "pwn")} },
			wantErr: `layer entry "../x": escapes the layer`, escape: true},
		{name: "dotdot into sentinel", ents: func(env) []ent { return []ent{reg("../outside/passwd", "pwn")} },
			wantErr: `layer entry "../outside/passwd": escapes the layer`, escape: true},
		{name: "deep dotdot", ents: func(env) []ent { return []ent{reg("../../etc/passwd", "pwn")} },
			wantErr: `layer entry "../../etc/passwd": escapes the layer`, escape: true},
		{name: "a/../../x", ents: func(env) []ent { return []ent{reg("a/../../x", "pwn")} }, escape: true,
			wantErr: `layer entry "a/../../x"`},
		{name: "dotdot dir", ents: func(env) []ent { return []ent{dir("../")} }, escape: true, wantErr: "escapes"},
		{name: "absolute lands inside", ents: func(env) []ent { return []ent{reg("/abs", "in"), reg("/x/../y", "y")} },
			check: func(t *testing.T, e env) {
				for f, want := range map[string]string{"abs": "in", "y": "y"} {
					if b, err := os.ReadFile(filepath.Join(e.layer, f)); err != nil || string(b) != want {
						t.Errorf("%s = %q, %v", f, b, err)
					}
				}
			}},
		{name: "non-escaping dotdot", ents: func(env) []ent { return []ent{reg("a/b/../c", "c")} },
			check: func(t *testing.T, e env) {
				if _, err := os.Stat(filepath.Join(e.layer, "a/c")); err != nil {
					t.Error(err)
				}
			}},
		{name: "symlink to host path is stored", ents: func(e env) []ent { return []ent{symlink("etc", e.outside)} },
			check: func(t *testing.T, e env) {
				if l, err := os.Readlink(filepath.Join(e.layer, "etc")); err != nil || l != e.outside {
					t.Errorf("etc -> %q, %v", l, err)
				}
			}},
		{name: "symlink then write", ents: func(e env) []ent {
			return []ent{symlink("a", e.outside), reg("a/passwd", "pwn")}
		}, wantErr: `layer entry "a/passwd": escapes the layer: path goes through a symlink`, escape: true},
		{name: "relative symlink then write", ents: func(e env) []ent {
			return []ent{symlink("a", "../outside"), reg("a/new", "pwn")}
		}, escape: true, wantErr: "symlink"},
		{name: "symlink then deep write", ents: func(e env) []ent {
			return []ent{symlink("a", e.root), reg("a/outside/sub/file", "pwn")}
		}, escape: true, wantErr: "symlink"},
		{name: "symlink then mkdir", ents: func(e env) []ent {
			return []ent{symlink("a", e.outside), dir("a/new/")}
		}, escape: true, wantErr: "symlink"},
		{name: "symlink then dir update", ents: func(e env) []ent {
			d := dir("a/sub/")
			d.hdr.Mode = 0o700
			return []ent{symlink("a", e.outside), d}
		}, escape: true, wantErr: "symlink"},
		{name: "symlink then symlink", ents: func(e env) []ent {
			return []ent{symlink("a", e.outside), symlink("a/evil", "/")}
		}, escape: true, wantErr: "symlink"},
		{name: "symlink then fifo", ents: func(e env) []ent {
			return []ent{symlink("a", e.outside), fifo("a/fifo")}
		}, escape: true, wantErr: "symlink"},
		{name: "symlink then whiteout", ents: func(e env) []ent {
			return []ent{symlink("a", e.outside), ent{hdr: tar.Header{Name: "a/.wh.passwd", Typeflag: tar.TypeReg}}}
		}, escape: true, wantErr: "symlink"},
		{name: "symlink then opaque", ents: func(e env) []ent {
			return []ent{symlink("a", e.outside), ent{hdr: tar.Header{Name: "a/.wh..wh..opq", Typeflag: tar.TypeReg}}}
		}, escape: true, wantErr: "symlink"},
		{name: "symlink then char whiteout", ents: func(e env) []ent {
			return []ent{symlink("a", e.outside), dev("a/passwd", tar.TypeChar, 0, 0)}
		}, escape: true, wantErr: "symlink"},
		{name: "symlink then hardlink", ents: func(e env) []ent {
			return []ent{symlink("s", e.outside+"/passwd"), hardlink("h", "s")}
		}, check: func(t *testing.T, e env) {
			// The link is to the symlink itself, never to its target.
			if l, err := os.Readlink(filepath.Join(e.layer, "h")); err != nil || l != e.outside+"/passwd" {
				t.Errorf("h -> %q, %v", l, err)
			}
			if n := lstat(t, filepath.Join(e.layer, "h")).Nlink; n != 2 {
				t.Errorf("h nlink %d", n)
			}
		}},
		{name: "hardlink created through symlink", ents: func(e env) []ent {
			return []ent{reg("f", "x"), symlink("a", e.outside), hardlink("a/f2", "f")}
		}, escape: true, wantErr: "symlink"},
		{name: "hardlink to outside", ents: func(env) []ent { return []ent{hardlink("h", "../outside/passwd")} },
			escape: true, wantErr: `layer entry "h": hard link target "../outside/passwd": escapes the layer`},
		{name: "hardlink deep dotdot", ents: func(env) []ent { return []ent{hardlink("h", "a/../../outside/passwd")} },
			escape: true, wantErr: "escapes"},
		{name: "hardlink absolute is layer-relative", ents: func(e env) []ent {
			return []ent{hardlink("h", e.outside+"/passwd")}
		}, wantErr: "no such file"},
		{name: "hardlink through symlinked dir", ents: func(e env) []ent {
			return []ent{symlink("d", e.outside), hardlink("h", "d/passwd")}
		}, escape: true, wantErr: `hard link target "d/passwd": escapes the layer: path goes through a symlink`},
		{name: "hardlink through deep symlinked dir", ents: func(e env) []ent {
			return []ent{dir("x/"), symlink("x/d", e.outside), hardlink("x/h", "x/d/sub/file")}
		}, escape: true, wantErr: "symlink"},
		{name: "hardlink to directory", ents: func(env) []ent { return []ent{dir("d/"), hardlink("h", "d")} },
			wantErr: "hard link"},
		{name: "hardlink to root", ents: func(env) []ent { return []ent{hardlink("h", "./")} }, wantErr: "root"},
		{name: "dir replaced by symlink then write", ents: func(e env) []ent {
			return []ent{dir("d/"), reg("d/x", "x"), symlink("d", e.outside), reg("d/passwd", "pwn")}
		}, escape: true, wantErr: "symlink"},
		{name: "remove dir holding symlink", ents: func(e env) []ent {
			return []ent{dir("d/"), symlink("d/l", e.outside), symlink("d/m", e.outside+"/passwd"), reg("d", "file")}
		}, check: func(t *testing.T, e env) {
			if b, _ := os.ReadFile(filepath.Join(e.layer, "d")); string(b) != "file" {
				t.Errorf("d = %q", b)
			}
		}},
		{name: "file over symlink to host file", ents: func(e env) []ent {
			return []ent{symlink("s", e.outside+"/passwd"), reg("s", "pwn")}
		}},
		{name: "dir over symlink to host dir", ents: func(e env) []ent {
			d := dir("s/")
			d.hdr.Mode = 0o700
			return []ent{symlink("s", e.outside), d}
		}},
		{name: "root as file", ents: func(env) []ent { return []ent{reg(".", "x")} }, wantErr: "root"},
		{name: "empty name", ents: func(env) []ent { return []ent{reg("", "x")} }, wantErr: "empty name"},
		{name: "very long name", ents: func(env) []ent { return []ent{reg(long, "x")} }, wantErr: "over the limit"},
		{name: "very long link target", ents: func(env) []ent {
			return []ent{symlink("l", strings.Repeat("x", MaxNameLen+1))}
		}, wantErr: "over the limit"},
		{name: "long component", ents: func(env) []ent { return []ent{reg(strings.Repeat("n", 300), "x")} },
			wantErr: "file name too long"},
		{name: "NUL in PAX path", raw: func(env) []byte {
			rec := paxRecord("path", "a\x00/../../../outside/passwd")
			return rawTar(rawHeader("pax", tar.TypeXHeader, len(rec)), []byte(rec),
				rawHeader("placeholder", tar.TypeReg, 3), []byte("pwn"))
		}, wantErr: "read layer: archive/tar: invalid tar header"},
		{name: "NUL in GNU long name is cut", raw: func(env) []byte {
			name := "evil\x00/../../outside/passwd"
			return rawTar(rawHeader("././@LongLink", tar.TypeGNULongName, len(name)), []byte(name),
				rawHeader("placeholder", tar.TypeReg, 3), []byte("pwn"))
		}, check: func(t *testing.T, e env) {
			if b, err := os.ReadFile(filepath.Join(e.layer, "evil")); err != nil || string(b) != "pwn" {
				t.Errorf("evil = %q, %v", b, err)
			}
		}},
		{name: "huge PAX header", raw: func(env) []byte {
			rec := paxRecord("comment", strings.Repeat("c", MaxPAXHeader))
			return rawTar(rawHeader("pax", tar.TypeXHeader, len(rec)), []byte(rec),
				rawHeader("f", tar.TypeReg, 0))
		}, wantErr: "read layer: archive/tar: header field too long"},
		{name: "truncated file", raw: func(env) []byte {
			return append(rawHeader("f", tar.TypeReg, 1000), []byte("short")...)
		}, wantErr: "unexpected EOF"},
		{name: "unknown type", ents: func(env) []ent {
			return []ent{{hdr: tar.Header{Name: "v", Typeflag: 'V', Mode: 0o644}}}
		}, wantErr: "unsupported tar entry type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			var stream []byte
			if c.raw != nil {
				stream = c.raw(e)
			} else {
				stream = buildTar(t, c.ents(e)...)
			}
			before := e.snapshot(t)
			_, err := apply(t, e.layer, stream)
			after := e.snapshot(t)
			if !mapsEqual(before, after) {
				t.Errorf("outside the layer changed:\nbefore %v\nafter  %v", before, after)
			}
			names, _ := os.ReadDir(e.root)
			if len(names) != 2 {
				t.Errorf("scratch root holds %v", names)
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Apply: %v", err)
			case c.wantErr != "" && err == nil:
				t.Fatalf("Apply succeeded, want error %q", c.wantErr)
			case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
				t.Errorf("error %q, want it to contain %q", err, c.wantErr)
			}
			if c.escape && !errors.Is(err, ErrEscape) {
				t.Errorf("error %v is not ErrEscape", err)
			}
			if c.check != nil {
				c.check(t, e)
			}
		})
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"a": "a", "./a/": "a", "/a//b/./c": "a/b/c", "a/b/../c": "a/c", "/": "", ".": "", "./": "",
		"/../": "!", "..": "!", "a/../..": "!", "a\x00b": "!", "": "!", strings.Repeat("a", MaxNameLen+1): "!",
	} {
		got, err := cleanName(in)
		if err != nil {
			got = "!"
		}
		if got != want {
			t.Errorf("cleanName(%q) = %q (%v), want %q", in, got, err, want)
		}
	}
}

func TestApplyContextCanceled(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ApplyWith(ctx, e.layer, bytes.NewReader(buildTar(t, reg("f", "x"))), Options{NoSameOwner: true})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if names, _ := os.ReadDir(e.layer); len(names) != 0 {
		t.Errorf("layer holds %v", names)
	}
}

// cancelAfter cancels a context once n bytes were read.
type cancelAfter struct {
	r      *bytes.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	m, err := c.r.Read(p)
	if c.n -= m; c.n <= 0 {
		c.cancel()
	}
	return m, err
}

func TestApplyContextCanceledBetweenEntries(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := buildTar(t, reg("first", "1"), reg("second", "2"))
	st, err := ApplyWith(ctx, e.layer, &cancelAfter{r: bytes.NewReader(stream), n: 1, cancel: cancel}, Options{NoSameOwner: true})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if st.Entries > 1 {
		t.Errorf("%d entries applied after cancel", st.Entries)
	}
	if _, err := os.Lstat(filepath.Join(e.layer, "second")); err == nil {
		t.Error("second entry applied after cancel")
	}
}

func TestApplyNoSameOwner(t *testing.T) {
	e := newEnv(t)
	f := reg("f", "x")
	f.hdr.Uid, f.hdr.Gid = 4242, 4343
	if _, err := ApplyWith(context.Background(), e.layer, bytes.NewReader(buildTar(t, dir("d/"), f)), Options{NoSameOwner: true}); err != nil {
		t.Fatal(err)
	}
	if s := lstat(t, filepath.Join(e.layer, "f")); int(s.Uid) != os.Geteuid() {
		t.Errorf("uid %d", s.Uid)
	}
}

// TestOverlayMount stacks an applied layer over a parent layer with the
// kernel's overlayfs and checks that whiteouts and opaque directories
// take effect.
func TestOverlayMount(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	parent := filepath.Join(e.root, "parent")
	merged := filepath.Join(t.TempDir(), "merged")
	must(t, os.Mkdir(merged, 0o755))
	if _, err := Apply(context.Background(), parent, nil); err == nil {
		t.Fatal("Apply on a missing dir succeeded")
	}
	must(t, os.Mkdir(parent, 0o755))
	if _, err := apply(t, parent, buildTar(t,
		reg("a", "a"), reg("b", "b"), dir("d/"), reg("d/x", "x"), reg("d/y", "y"), dir("e/"), reg("e/z", "z"),
		dir("gone/"), reg("gone/inner", "i"))); err != nil {
		t.Fatal(err)
	}
	if _, err := apply(t, e.layer, buildTar(t,
		ent{hdr: tar.Header{Name: ".wh.a", Typeflag: tar.TypeReg}},
		ent{hdr: tar.Header{Name: ".wh.gone", Typeflag: tar.TypeReg}},
		dir("d/"), ent{hdr: tar.Header{Name: "d/.wh..wh..opq", Typeflag: tar.TypeReg}}, reg("d/new", "n"),
		dir("e/"), reg("e/w", "w"))); err != nil {
		t.Fatal(err)
	}

	type result struct {
		listing map[string][]string
		err     error
		skip    string
	}
	done := make(chan result, 1)
	go func() {
		// The thread enters a private mount namespace and is never
		// unlocked, so the runtime discards it when this goroutine ends.
		runtime.LockOSThread()
		var r result
		defer func() { done <- r }()
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			r.skip = fmt.Sprintf("unshare(CLONE_NEWNS): %v", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			r.err = fmt.Errorf("make / private: %w", err)
			return
		}
		opts := "lowerdir=" + e.layer + ":" + parent
		if err := unix.Mount("overlay", merged, "overlay", unix.MS_RDONLY, opts); err != nil {
			if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EPERM) {
				r.skip = fmt.Sprintf("mount overlay: %v", err)
			} else {
				r.err = fmt.Errorf("mount overlay %s: %w", opts, err)
			}
			return
		}
		defer unix.Unmount(merged, unix.MNT_DETACH)
		r.listing = map[string][]string{}
		for _, d := range []string{".", "d", "e"} {
			ents, err := os.ReadDir(filepath.Join(merged, d))
			if err != nil {
				r.err = err
				return
			}
			for _, de := range ents {
				r.listing[d] = append(r.listing[d], de.Name())
			}
		}
	}()
	r := <-done
	if r.skip != "" {
		t.Skip(r.skip)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := map[string][]string{".": {"b", "d", "e"}, "d": {"new"}, "e": {"w", "z"}}
	for d, names := range want {
		if !slices.Equal(r.listing[d], names) {
			t.Errorf("merged %s = %v, want %v", d, r.listing[d], names)
		}
	}
}
