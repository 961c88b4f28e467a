package cri

// What the RuntimeService RPCs share: error mapping, request limits,
// IDs, resolving (possibly abbreviated) IDs, filters and per-key locks.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// Limits on request fields. They keep a malformed or hostile request
// from making the daemon store or copy unbounded data; real kubelet
// requests are far below them.
const (
	// maxFieldLen bounds names, namespaces, UIDs, hostnames, paths,
	// IDs and single arguments.
	maxFieldLen = 4096
	// maxMapBytes bounds the keys and values of one labels or
	// annotations map, and of a container's environment.
	maxMapBytes = 1 << 20
	// maxListLen bounds the number of entries in a list field
	// (arguments, mounts, DNS servers, ...).
	maxListLen = 4096
)

// handlerCocoon is the runtime handler cocoon serves besides the
// default "" (kubelet's RuntimeClass handler name); "cocoon-<platform>"
// handlers force one platform (platforms.go).
const handlerCocoon = "cocoon"

// trunc shortens s for an error message (the request may carry
// megabytes).
func trunc(s string) string {
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}

// newID returns a pod or container ID: 64 random hex digits, as
// containerd makes them (and as image.Store accepts for a rootfs).
func newID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on Linux (getrandom); if it
		// ever does, there is no safe ID to return.
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// manager returns the pod runtime, or Unavailable when the server has
// none (an image-only server).
func (s *Server) manager(rpc string) (podsandbox.Manager, error) {
	if s.pods == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: this server has no pod runtime", rpc)
	}
	return s.pods, nil
}

// podError maps an error of the pod runtime to a gRPC status error
// whose message names rpc and the object (a pod or container ID).
func podError(rpc, id string, err error) error {
	if err == nil {
		return nil
	}
	prefix := rpc
	if id != "" {
		prefix = fmt.Sprintf("%s %s", rpc, id)
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return status.Errorf(st.Code(), "%s: %s", prefix, st.Message())
	}
	code := codes.Unknown
	switch {
	case errors.Is(err, podsandbox.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, podsandbox.ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, podsandbox.ErrState):
		code = codes.FailedPrecondition
	case errors.Is(err, podsandbox.ErrExists):
		code = codes.AlreadyExists
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Errorf(code, "%s: %v", prefix, err)
}

// invalid is an InvalidArgument error naming rpc.
func invalid(rpc, format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, "%s: %s", rpc, fmt.Sprintf(format, args...))
}

// checkID checks an ID field of a request.
func checkID(rpc, field, id string) error {
	if id == "" {
		return invalid(rpc, "%s is empty", field)
	}
	if len(id) > maxFieldLen {
		return invalid(rpc, "%s is %d bytes long (at most %d)", field, len(id), maxFieldLen)
	}
	return nil
}

// checkField checks a string field's length.
func checkField(rpc, field, v string) error {
	if len(v) > maxFieldLen {
		return invalid(rpc, "%s is %d bytes long (at most %d)", field, len(v), maxFieldLen)
	}
	return nil
}

// checkList checks a list field's length and the length of each entry.
func checkList(rpc, field string, l []string) error {
	if len(l) > maxListLen {
		return invalid(rpc, "%s has %d entries (at most %d)", field, len(l), maxListLen)
	}
	n := 0
	for _, v := range l {
		n += len(v)
	}
	if n > maxMapBytes {
		return invalid(rpc, "%s is %d bytes long (at most %d)", field, n, maxMapBytes)
	}
	return nil
}

// checkMap checks a labels or annotations map: its total size and its
// keys (non-empty).
func checkMap(rpc, field string, m map[string]string) error {
	n := 0
	for k, v := range m {
		if k == "" {
			return invalid(rpc, "%s has an empty key", field)
		}
		n += len(k) + len(v)
	}
	if n > maxMapBytes {
		return invalid(rpc, "%s are %d bytes long (at most %d)", field, n, maxMapBytes)
	}
	return nil
}

// resolvePod finds the pod id names: the full ID or a unique prefix
// of one (as crictl users type them).
func (s *Server) resolvePod(ctx context.Context, m podsandbox.Manager, id string) (*podsandbox.Pod, error) {
	p, err := m.Pod(ctx, id)
	if err == nil || !errors.Is(err, podsandbox.ErrNotFound) || len(id) >= 64 {
		return p, err
	}
	pods, lerr := m.Pods(ctx)
	if lerr != nil {
		return nil, lerr
	}
	var found *podsandbox.Pod
	for _, p := range pods {
		if strings.HasPrefix(p.Config.ID, id) {
			if found != nil {
				return nil, fmt.Errorf("ID prefix %q names more than one pod: %w", id, podsandbox.ErrNotFound)
			}
			found = p
		}
	}
	if found == nil {
		return nil, err
	}
	return found, nil
}

// resolveContainer finds the container id names: the full ID or a
// unique prefix.
func (s *Server) resolveContainer(ctx context.Context, m podsandbox.Manager, id string) (*podsandbox.Container, error) {
	c, err := m.Container(ctx, id)
	if err == nil || !errors.Is(err, podsandbox.ErrNotFound) || len(id) >= 64 {
		return c, err
	}
	all, lerr := m.Containers(ctx)
	if lerr != nil {
		return nil, lerr
	}
	var found *podsandbox.Container
	for _, c := range all {
		if strings.HasPrefix(c.Config.ID, id) {
			if found != nil {
				return nil, fmt.Errorf("ID prefix %q names more than one container: %w", id, podsandbox.ErrNotFound)
			}
			found = c
		}
	}
	if found == nil {
		return nil, err
	}
	return found, nil
}

// matchLabels reports whether labels has every key of selector with
// the same value (CRI's label_selector).
func matchLabels(labels, selector map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// matchIDPrefix returns the IDs of ids that the filter prefix names:
// all when prefix is "", the one ID when it is a full ID or unique
// prefix, none when it names several (an ambiguous prefix selects
// nothing rather than a surprise).
func matchIDPrefix(prefix string, ids []string) map[string]bool {
	out := map[string]bool{}
	for _, id := range ids {
		if prefix == "" || strings.HasPrefix(id, prefix) {
			out[id] = true
		}
	}
	if prefix != "" && len(out) > 1 {
		if out[prefix] {
			return map[string]bool{prefix: true}
		}
		return map[string]bool{}
	}
	return out
}

// keyedMutex is a set of mutexes by key, created on use and dropped
// when nobody holds or waits for them.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns its unlock function.
func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// copyMap returns a copy of m (nil for an empty map), so that records
// handed out never share maps with the request.
func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// lookupPod is the preamble of the RPCs that act on one pod: the pod
// runtime, a valid pod_sandbox_id, and the pod it names (resolvePod). Its
// errors are gRPC statuses; a missing pod is NotFound (isNotFound).
func (s *Server) lookupPod(ctx context.Context, rpc, id string) (podsandbox.Manager, *podsandbox.Pod, error) {
	m, err := s.manager(rpc)
	if err != nil {
		return nil, nil, err
	}
	if err := checkID(rpc, "pod_sandbox_id", id); err != nil {
		return nil, nil, err
	}
	p, err := s.resolvePod(ctx, m, id)
	if err != nil {
		return nil, nil, podError(rpc, id, err)
	}
	return m, p, nil
}

// lookupContainer is lookupPod for the RPCs that act on one container
// (container_id, resolveContainer).
func (s *Server) lookupContainer(ctx context.Context, rpc, id string) (podsandbox.Manager, *podsandbox.Container, error) {
	m, err := s.manager(rpc)
	if err != nil {
		return nil, nil, err
	}
	if err := checkID(rpc, "container_id", id); err != nil {
		return nil, nil, err
	}
	c, err := s.resolveContainer(ctx, m, id)
	if err != nil {
		return nil, nil, podError(rpc, id, err)
	}
	return m, c, nil
}

// isNotFound reports whether a lookup error says the object does not
// exist, which the idempotent RPCs (stop, remove) answer with success.
func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }
