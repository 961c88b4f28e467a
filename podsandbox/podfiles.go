package podsandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The pod's own files, served to every container of the pod as the
// gofer tree podFilesTree and mounted at these paths unless the
// container mounts the path itself (kubelet passes its own /etc/hosts).
// They sit in a directory of their own, not next to the sockets, so the
// tree holds nothing else.
const (
	podFilesTree = "pod"
	podFilesDir  = "files"
)

var podFiles = []string{"hostname", "hosts", "resolv.conf"}

// hostResolvConf is copied when the pod has no DNS configuration of its
// own, as containerd does; a variable for tests.
var hostResolvConf = "/etc/resolv.conf"

// EffectiveHostname is the pod's host name: the one its configuration
// names, else (kubelet always names one) the node's, as containerd gives
// it. The pod's /etc/hostname, its UTS namespace and its containers'
// $HOSTNAME all use it.
func (cfg *PodConfig) EffectiveHostname() string {
	if cfg.Hostname != "" {
		return cfg.Hostname
	}
	// kubelet always names one; for other clients do as containerd
	// does and give the pod the node's name.
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// writePodFiles writes hostname, hosts and resolv.conf into dir.
func writePodFiles(dir string, cfg *PodConfig) error {
	host := cfg.EffectiveHostname()
	// The pod has no address of its own yet (no pod network), so the
	// host name resolves to a loopback address, as Debian does with
	// 127.0.1.1, and the usual localhost entries come first.
	hosts := "127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"fe00::0\tip6-mcastprefix\n" +
		"fe00::1\tip6-allnodes\n" +
		"fe00::2\tip6-allrouters\n" +
		"127.0.1.1\t" + host + "\n"
	resolv, err := resolvConf(cfg.DNS)
	if err != nil {
		return err
	}
	for name, data := range map[string]string{
		"hostname":    host + "\n",
		"hosts":       hosts,
		"resolv.conf": resolv,
	} {
		// World-readable: programs in the container run as any user.
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return fmt.Errorf("writing pod file: %w", err)
		}
	}
	return nil
}

// resolvConf renders the pod's resolv.conf: the pod's DNS settings, or a
// copy of the host's when it has none.
func resolvConf(dns *DNS) (string, error) {
	if dns == nil || len(dns.Servers)+len(dns.Searches)+len(dns.Options) == 0 {
		data, err := os.ReadFile(hostResolvConf)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("reading the host's resolv.conf: %w", err)
		}
		return string(data), nil
	}
	var b strings.Builder
	for _, s := range dns.Servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(dns.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(dns.Searches, " "))
	}
	if len(dns.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(dns.Options, " "))
	}
	return b.String(), nil
}
