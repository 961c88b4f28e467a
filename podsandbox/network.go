package podsandbox

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cocoonrt/cocoon/cni"
	"github.com/cocoonrt/cocoon/podsandbox/netns"
)

// A pod's network: unless it uses the host's network, each pod gets a
// network namespace of its own, <RunDir>/netns/<id>, made before its
// processes and attached to the pod network by CNI ADD; the sentry
// starts inside it (the gofer gets a fresh empty one of its own).
// Stopping the pod runs CNI DEL and removes the namespace, after the
// processes are gone. The namespace's path and the pod's IPs are in the
// pod record until then, so a restarted daemon can still tear the
// network down; namespaces with no record (a crash while a pod was
// being made) are torn down when the daemon starts.

// Network is the pod network pods are attached to; *cni.CNI implements
// it.
type Network interface {
	// Setup attaches the network namespace netns to the network (CNI
	// ADD) and returns the pod's addresses.
	Setup(ctx context.Context, id, netns string, args cni.PodArgs) (*cni.Result, error)
	// Teardown detaches pod id (CNI DEL); idempotent, and fine when
	// netns is gone.
	Teardown(ctx context.Context, id, netns string, args cni.PodArgs) error
	// Status is nil when a network configuration is loaded.
	Status() error
	// SetPodCIDRs sets the node's pod CIDRs (capability ipRanges);
	// PodCIDRs returns them as set (normalised).
	SetPodCIDRs(cidrs []string) error
	PodCIDRs() []string
}

var _ Network = (*cni.CNI)(nil)

// errNoNetwork is NetworkStatus's answer when the runtime has no
// Network at all.
var errNoNetwork = errors.New("no pod network (CNI) is configured in this runtime")

// networkTimeout bounds a teardown that runs on a fresh context (undoing
// a failed RunPod, recovery), so a hung plugin cannot hold a pod's lock
// forever.
const networkTimeout = 2 * time.Minute

// Annotations kubelet sets for the bandwidth plugin.
const (
	annIngressBandwidth = "kubernetes.io/ingress-bandwidth"
	annEgressBandwidth  = "kubernetes.io/egress-bandwidth"
)

// NetworkStatus implements PodNetwork.NetworkStatus.
func (r *Runtime) NetworkStatus() error {
	if r.opts.Network == nil {
		return errNoNetwork
	}
	return r.opts.Network.Status()
}

// UpdatePodCIDRs implements PodNetwork.UpdatePodCIDRs.
func (r *Runtime) UpdatePodCIDRs(cidrs []string) error {
	if r.opts.Network == nil {
		return nil
	}
	if err := r.opts.Network.SetPodCIDRs(cidrs); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	// kubelet sends the CIDRs when they change, not to a restarted
	// daemon: they are kept for the next one (restorePodCIDRs).
	if err := r.st.put(nodeBucket, podCIDRsKey, r.opts.Network.PodCIDRs()); err != nil {
		return fmt.Errorf("saving the pod CIDRs: %w", err)
	}
	return nil
}

// restorePodCIDRs gives the pod network the CIDRs an earlier daemon
// saved.
func (r *Runtime) restorePodCIDRs() {
	if r.opts.Network == nil {
		return
	}
	var cidrs []string
	ok, err := r.st.getNode(podCIDRsKey, &cidrs)
	if err == nil && ok {
		err = r.opts.Network.SetPodCIDRs(cidrs)
	}
	if err != nil {
		r.log.Warn("restoring the saved pod CIDRs", "err", err)
	}
}

func (r *Runtime) netnsDir() string           { return filepath.Join(r.opts.RunDir, "netns") }
func (r *Runtime) netnsPath(id string) string { return filepath.Join(r.netnsDir(), id) }

// setupNetwork makes the pod's network namespace and attaches it to the
// pod network, recording both in ps.rec; what it made is undone by u.
// A host-network pod gets neither. ps.op is held; ps is not visible yet,
// so ps.rec is the caller's alone.
func (r *Runtime) setupNetwork(ctx context.Context, ps *podState, u *undo) error {
	cfg := &ps.rec.Pod.Config
	id := cfg.ID
	if cfg.HostNetwork {
		return nil
	}
	args, err := podNetworkArgs(cfg)
	if err != nil {
		return fmt.Errorf("pod %s: %w: %w", id, err, ErrInvalid)
	}
	path := r.netnsPath(id)
	if _, err := os.Lstat(path); err == nil {
		// Left by a pod whose record is gone: finish tearing it down.
		if err := r.teardownNetwork(ctx, id, path, args); err != nil {
			return fmt.Errorf("pod %s: removing a stale network namespace: %w", id, err)
		}
	}
	if err := netns.New(path); err != nil {
		return fmt.Errorf("pod %s: %w", id, err)
	}
	ps.rec.Pod.NetNS = path
	u.add(func() {
		// A fresh context: the request's may be what ended RunPod.
		tctx, cancel := context.WithTimeout(context.Background(), networkTimeout)
		defer cancel()
		if r.opts.Network != nil {
			if err := r.opts.Network.Teardown(tctx, id, path, args); err != nil {
				// The namespace stays: the pod's record is kept and
				// the DEL retried from it (runPod's last undo step).
				r.log.Error("CNI DEL of a pod that failed to start", "pod", id, "err", err)
				return
			}
		}
		if err := netns.Remove(path); err != nil {
			r.log.Error("removing the network namespace of a pod that failed to start", "pod", id, "err", err)
		}
	})
	if r.opts.Network == nil {
		return nil
	}
	if err := r.opts.Network.Status(); err != nil {
		// As kubelet does not start pods while NetworkReady is false,
		// only direct CRI clients (crictl) get here: the pod runs,
		// isolated in a namespace with no interface but loopback,
		// rather than fail.
		r.log.Warn("no pod network configuration is loaded; the pod gets an empty network namespace", "pod", id, "err", err)
		return nil
	}
	res, err := r.opts.Network.Setup(ctx, id, path, args)
	if err != nil {
		return fmt.Errorf("pod %s: setting up the pod network: %w", id, err)
	}
	ps.rec.Pod.IPs = res.IPs
	r.log.Info("pod network set up", "pod", id, "netns", path, "ips", res.IPs)
	return nil
}

// stopNetwork tears down the pod's network, if it has one left, and
// clears it from the record (the caller saves it). ps.op is held.
func (r *Runtime) stopNetwork(ctx context.Context, ps *podState) error {
	r.mu.Lock()
	path, cfg := ps.rec.Pod.NetNS, ps.rec.Pod.Config
	r.mu.Unlock()
	if path == "" {
		return nil
	}
	// A record always holds a configuration that passed validation;
	// should it not convert now, DEL goes without the arguments (libcni
	// keeps those of the ADD).
	args, _ := podNetworkArgs(&cfg)
	if err := r.teardownNetwork(ctx, cfg.ID, path, args); err != nil {
		return err
	}
	r.mu.Lock()
	ps.rec.Pod.NetNS, ps.rec.Pod.IPs = "", nil
	r.mu.Unlock()
	return nil
}

// teardownNetwork runs CNI DEL for pod id and removes its namespace at
// path. Both steps are idempotent; the namespace is removed only once
// DEL has succeeded, so that a failed DEL can be retried in it.
func (r *Runtime) teardownNetwork(ctx context.Context, id, path string, args cni.PodArgs) error {
	if r.opts.Network != nil {
		if err := r.opts.Network.Teardown(ctx, id, path, args); err != nil {
			return fmt.Errorf("tearing down the pod network: %w", err)
		}
	}
	if err := netns.Remove(path); err != nil {
		return err
	}
	return nil
}

// removeOrphanNetworks tears down the network namespaces of pods that
// have no record: the daemon stopped while it was making them. Those of
// half-started pods that recovery could not remove yet (keep) are left to
// its retries, which tear them down with the pod's own CNI arguments (its
// port mappings, for portmap's DEL).
func (r *Runtime) removeOrphanNetworks(keep []*podRecord) {
	ents, err := os.ReadDir(r.netnsDir())
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			r.log.Error("listing pod network namespaces", "err", err)
		}
		return
	}
	for _, ent := range ents {
		id := ent.Name()
		if r.pods[id] != nil || slices.ContainsFunc(keep, func(rec *podRecord) bool { return rec.Pod.Config.ID == id }) {
			continue
		}
		r.log.Warn("tearing down the network of an unknown pod", "pod", id)
		ctx, cancel := context.WithTimeout(r.ctx, networkTimeout)
		err := r.teardownNetwork(ctx, id, r.netnsPath(id), cni.PodArgs{})
		cancel()
		if err != nil {
			r.log.Error("tearing down the network of an unknown pod", "pod", id, "err", err)
		}
	}
}

// podNetworkArgs converts a pod's configuration to what the CNI plugins
// are told, checking the parts a request could get wrong.
func podNetworkArgs(cfg *PodConfig) (cni.PodArgs, error) {
	a := cni.PodArgs{
		Name:        cfg.Name,
		Namespace:   cfg.Namespace,
		UID:         cfg.UID,
		CgroupPath:  cfg.CgroupParent,
		Annotations: cfg.Annotations,
	}
	for _, pm := range cfg.PortMappings {
		a.PortMappings = append(a.PortMappings, cni.PortMapping{
			HostPort:      pm.HostPort,
			ContainerPort: pm.ContainerPort,
			Protocol:      pm.Protocol,
			HostIP:        pm.HostIP,
		})
	}
	if cfg.DNS != nil {
		a.DNS = &cni.DNS{Servers: cfg.DNS.Servers, Searches: cfg.DNS.Searches, Options: cfg.DNS.Options}
	}
	bw, err := podBandwidth(cfg.Annotations)
	if err != nil {
		return a, err
	}
	a.Bandwidth = bw
	return a, nil
}

// podBandwidth reads kubelet's bandwidth annotations as the bandwidth
// plugin wants them (containerd's toCNIBandWidth): rates in bits per
// second and a burst the plugin treats as unlimited.
func podBandwidth(ann map[string]string) (*cni.Bandwidth, error) {
	in, inOK := ann[annIngressBandwidth]
	out, outOK := ann[annEgressBandwidth]
	if !inOK && !outOK {
		return nil, nil
	}
	var bw cni.Bandwidth
	if inOK {
		v, err := parseBandwidth(in)
		if err != nil {
			return nil, fmt.Errorf("annotation %s: %w", annIngressBandwidth, err)
		}
		bw.IngressRate, bw.IngressBurst = v, math.MaxUint32
	}
	if outOK {
		v, err := parseBandwidth(out)
		if err != nil {
			return nil, fmt.Errorf("annotation %s: %w", annEgressBandwidth, err)
		}
		bw.EgressRate, bw.EgressBurst = v, math.MaxUint32
	}
	return &bw, nil
}

// Bounds kubelet's own check applies (bandwidth.validateBandwidthIsReasonable).
const (
	minBandwidth = 1000                  // 1 kbit/s
	maxBandwidth = 1_000_000_000_000_000 // 1 Pbit/s
)

// parseBandwidth parses a Kubernetes quantity of bits per second ("10M",
// "1Gi", "500k", "2e6"): a decimal number with an optional SI (k, M, G,
// T, P, E) or binary (Ki ... Ei) suffix.
func parseBandwidth(s string) (uint64, error) {
	num, mult := s, int64(1)
	suffixes := []struct {
		s string
		m int64
	}{
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50}, {"Ei", 1 << 60},
		{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
	}
	for _, sf := range suffixes {
		if strings.HasSuffix(s, sf.s) {
			num, mult = strings.TrimSuffix(s, sf.s), sf.m
			break
		}
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok || num == "" || strings.ContainsAny(num, "/ ") {
		return 0, fmt.Errorf("%q is not a quantity (like 10M or 1Gi)", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	v := new(big.Int).Quo(r.Num(), r.Denom())
	switch {
	case v.Cmp(big.NewInt(minBandwidth)) < 0:
		return 0, fmt.Errorf("%q is unreasonably small (< 1kbit)", s)
	case v.Cmp(big.NewInt(maxBandwidth)) > 0:
		return 0, fmt.Errorf("%q is unreasonably large (> 1Pbit)", s)
	}
	return v.Uint64(), nil
}
