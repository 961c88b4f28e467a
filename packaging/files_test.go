package packaging

import (
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/cocoonrt/cocoon/cri"
)

// The shipped /etc/cocoon/config.toml documents the defaults, so it must
// be the defaults: installing the package changes nothing compared with
// running the daemon without a file.
func TestShippedConfigIsTheDefaults(t *testing.T) {
	cfg, err := cri.LoadConfig("config.toml")
	if err != nil {
		t.Fatalf("the daemon's loader rejects the shipped config: %v", err)
	}
	if want := cri.DefaultConfig(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("shipped config.toml differs from cri.DefaultConfig():\n got %+v\nwant %+v", cfg, want)
	}
}

// Every key is written out, so the file is the reference for what can be
// set: a key added to cri.Config fails here until it is documented.
func TestShippedConfigSetsEveryKey(t *testing.T) {
	data, err := os.ReadFile("config.toml")
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := toml.Unmarshal(data, &keys); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, reflect.TypeFor[cri.Config](), keys, "")
}

// checkKeys reports each toml key of struct type typ missing from keys,
// descending into tables.
func checkKeys(t *testing.T, typ reflect.Type, keys map[string]any, prefix string) {
	t.Helper()
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		v, ok := keys[tag]
		if !ok {
			t.Errorf("config.toml does not set %q (cri.Config field %s); add it with its default and a comment", prefix+tag, f.Name)
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			sub, ok := v.(map[string]any)
			if !ok {
				t.Errorf("config.toml: %q is not a table", prefix+tag)
				continue
			}
			checkKeys(t, f.Type, sub, prefix+tag+".")
		}
	}
}

func TestPkgVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v1.2.3", "1.2.3"},
		{"v1.2.3-4-gabc1234", "1.2.3+git4.abc1234"},
		{"v1.2.0-rc1", "1.2.0~rc1"},
		{"v1.2.0-rc1-3-gdeadbee", "1.2.0~rc1+git3.deadbee"},
		{"3c30d0a", "0.0.0~git3c30d0a"},
		{"3c30d0a-dirty", "0.0.0~git3c30d0a.dirty"},
		{"v1.2.3-dirty", "1.2.3+dirty"},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3+git4.abc1234.dirty"},
		{"dev", "0.0.0~dev"},
		{"odd/name_x", "0.0.0~odd.name.x"},
	} {
		out, err := exec.Command("sh", "pkgversion.sh", tc.in).Output()
		if err != nil {
			t.Fatalf("pkgversion.sh %s: %v", tc.in, err)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("pkgversion.sh %s = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// Ordering is what the mapping is for: upgrades must go forward.
func TestPkgVersionOrder(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("no dpkg to compare versions")
	}
	order := []string{"dev", "3c30d0a", "v1.0.0-rc1", "v1.0.0-rc1-2-gabc1234", "v1.0.0", "v1.0.0-dirty", "v1.0.0-1-gabc1234", "v1.0.1"}
	var prev string
	for _, v := range order {
		out, err := exec.Command("sh", "pkgversion.sh", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		cur := strings.TrimSpace(string(out))
		if prev != "" {
			if err := exec.Command("dpkg", "--compare-versions", prev, "lt", cur).Run(); err != nil {
				t.Errorf("dpkg orders %s before %s, want after", cur, prev)
			}
		}
		prev = cur
	}
}

func TestScriptsParse(t *testing.T) {
	for _, s := range []string{"scripts/postinstall.sh", "scripts/preremove.sh", "scripts/postremove.sh", "pkgversion.sh"} {
		if out, err := exec.Command("sh", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", s, err, out)
		}
	}
}

// The unit settings the daemon's design depends on.
func TestUnit(t *testing.T) {
	data, err := os.ReadFile("cocoon.service")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{
		"Type=notify",                      // the daemon sends READY=1 (cri/sdnotify.go)
		"ExecStart=/usr/bin/cocoon daemon", // where the packages put it
		"Delegate=yes",                     // pods' cgroups below the unit's
		"KillMode=process",                 // pods survive a daemon restart
		"RuntimeDirectory=cocoon",          // /run/cocoon
		"RuntimeDirectoryPreserve=yes",     // ... kept while pods outlive the daemon
		"Restart=always",
		"LimitNOFILE=1048576",
		"WantedBy=multi-user.target",
	} {
		if !lines[want] {
			t.Errorf("cocoon.service lacks %q", want)
		}
	}
}

// The man page must format without warnings where man is installed.
func TestManPage(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("no man")
	}
	cmd := exec.Command("man", "--warnings", "-l", "cocoon.8")
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_STDERR=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l cocoon.8: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("man page warnings:\n%s", stderr.String())
	}
	for _, cmd := range []string{"daemon", "do", "image import", "syscalls", "version"} {
		if !strings.Contains(string(out), "cocoon "+cmd) {
			t.Errorf("man page does not show `cocoon %s`", cmd)
		}
	}
}
