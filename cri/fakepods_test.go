package cri

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// fakePods is an in-memory podsandbox.Manager with the contract's
// semantics (idempotent stop and remove, state checks, name conflicts,
// events). err* fields, when set, are returned instead.
type fakePods struct {
	mu   sync.Mutex
	pods map[string]*podsandbox.Pod
	ctrs map[string]*podsandbox.Container
	subs map[chan podsandbox.Event]struct{}

	runErr, createErr, startErr error
	// exec, when set, runs ExecSync and Exec; attach runs Attach.
	exec   func(ctx context.Context, cfg podsandbox.ExecConfig) (int32, error)
	attach func(ctx context.Context, cfg podsandbox.AttachConfig) error

	lastRun      podsandbox.PodConfig
	lastCreate   podsandbox.ContainerConfig
	lastTimeout  time.Duration
	lastExec     podsandbox.ExecConfig
	resources    map[string]podsandbox.Resources
	reopened     []string
	stopPodCalls int
	closed       int
}

func newFakePods() *fakePods {
	return &fakePods{
		pods:      map[string]*podsandbox.Pod{},
		ctrs:      map[string]*podsandbox.Container{},
		subs:      map[chan podsandbox.Event]struct{}{},
		resources: map[string]podsandbox.Resources{},
	}
}

func (f *fakePods) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// emit sends an event to every subscriber; f.mu is held.
func (f *fakePods) emit(t podsandbox.EventType, ctr, pod string) {
	ev := podsandbox.Event{Type: t, ContainerID: ctr, PodID: pod, Time: time.Now()}
	for ch := range f.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

func (f *fakePods) RunPod(_ context.Context, cfg podsandbox.PodConfig) (*podsandbox.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastRun = cfg
	if f.runErr != nil {
		return nil, f.runErr
	}
	if p, ok := f.pods[cfg.ID]; ok {
		cp := *p
		return &cp, nil
	}
	p := &podsandbox.Pod{Config: cfg, State: podsandbox.PodReady, CreatedAt: time.Now(), SentryPID: 4242, GoferPID: 4243}
	f.pods[cfg.ID] = p
	f.emit(podsandbox.EventCreated, cfg.ID, cfg.ID)
	f.emit(podsandbox.EventStarted, cfg.ID, cfg.ID)
	cp := *p
	return &cp, nil
}

func (f *fakePods) StopPod(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopPodCalls++
	p, ok := f.pods[id]
	if !ok {
		return nil
	}
	for _, c := range f.ctrs {
		if c.Config.PodID == id && c.State != podsandbox.ContainerExited {
			c.State, c.ExitCode, c.FinishedAt, c.Reason = podsandbox.ContainerExited, 137, time.Now(), "Error"
			f.emit(podsandbox.EventStopped, c.Config.ID, id)
		}
	}
	if p.State == podsandbox.PodReady {
		p.State, p.SentryPID, p.GoferPID = podsandbox.PodNotReady, 0, 0
		f.emit(podsandbox.EventStopped, id, id)
	}
	return nil
}

func (f *fakePods) RemovePod(ctx context.Context, id string) error {
	if err := f.StopPod(ctx, id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.pods[id]; !ok {
		return nil
	}
	for cid, c := range f.ctrs {
		if c.Config.PodID == id {
			delete(f.ctrs, cid)
			f.emit(podsandbox.EventDeleted, cid, id)
		}
	}
	delete(f.pods, id)
	f.emit(podsandbox.EventDeleted, id, id)
	return nil
}

func (f *fakePods) Pod(_ context.Context, id string) (*podsandbox.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pods[id]
	if !ok {
		return nil, fmt.Errorf("pod %s: %w", id, podsandbox.ErrNotFound)
	}
	cp := *p
	return &cp, nil
}

func (f *fakePods) Pods(context.Context) ([]*podsandbox.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*podsandbox.Pod
	for _, id := range slices.Sorted(maps.Keys(f.pods)) {
		cp := *f.pods[id]
		out = append(out, &cp)
	}
	return out, nil
}

func (f *fakePods) CreateContainer(_ context.Context, cfg podsandbox.ContainerConfig) (*podsandbox.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastCreate = cfg
	if f.createErr != nil {
		return nil, f.createErr
	}
	p, ok := f.pods[cfg.PodID]
	if !ok {
		return nil, fmt.Errorf("pod %s: %w", cfg.PodID, podsandbox.ErrNotFound)
	}
	if p.State != podsandbox.PodReady {
		return nil, fmt.Errorf("pod %s is not ready: %w", cfg.PodID, podsandbox.ErrState)
	}
	for _, c := range f.ctrs {
		if c.Config.PodID == cfg.PodID && c.Config.Name == cfg.Name && c.Config.Attempt == cfg.Attempt {
			return nil, fmt.Errorf("container %s: %w", cfg.Name, podsandbox.ErrExists)
		}
	}
	c := &podsandbox.Container{Config: cfg, State: podsandbox.ContainerCreated, CreatedAt: time.Now()}
	f.ctrs[cfg.ID] = c
	f.emit(podsandbox.EventCreated, cfg.ID, cfg.PodID)
	cp := *c
	return &cp, nil
}

func (f *fakePods) ctr(id string) (*podsandbox.Container, error) {
	c, ok := f.ctrs[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, podsandbox.ErrNotFound)
	}
	return c, nil
}

func (f *fakePods) StartContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return f.startErr
	}
	c, err := f.ctr(id)
	if err != nil {
		return err
	}
	if c.State != podsandbox.ContainerCreated {
		return fmt.Errorf("container %s is %s: %w", id, c.State, podsandbox.ErrState)
	}
	c.State, c.StartedAt, c.PID = podsandbox.ContainerRunning, time.Now(), 1
	f.emit(podsandbox.EventStarted, id, c.Config.PodID)
	return nil
}

func (f *fakePods) StopContainer(_ context.Context, id string, timeout time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastTimeout = timeout
	c, err := f.ctr(id)
	if err != nil {
		return err
	}
	if c.State == podsandbox.ContainerRunning || c.State == podsandbox.ContainerCreated {
		c.State, c.FinishedAt, c.ExitCode = podsandbox.ContainerExited, time.Now(), 143
		f.emit(podsandbox.EventStopped, id, c.Config.PodID)
	}
	return nil
}

func (f *fakePods) RemoveContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.ctrs[id]
	if !ok {
		return nil
	}
	delete(f.ctrs, id)
	f.emit(podsandbox.EventDeleted, id, c.Config.PodID)
	return nil
}

func (f *fakePods) Container(_ context.Context, id string) (*podsandbox.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ctr(id)
	if err != nil {
		return nil, err
	}
	cp := *c
	return &cp, nil
}

func (f *fakePods) Containers(context.Context) ([]*podsandbox.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*podsandbox.Container
	for _, id := range slices.Sorted(maps.Keys(f.ctrs)) {
		cp := *f.ctrs[id]
		out = append(out, &cp)
	}
	return out, nil
}

func (f *fakePods) UpdatePodResources(_ context.Context, id string, r podsandbox.Resources) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pods[id]
	if !ok {
		return fmt.Errorf("pod %s: %w", id, podsandbox.ErrNotFound)
	}
	p.Config.Resources = r
	return nil
}

func (f *fakePods) UpdateContainerResources(_ context.Context, id string, r podsandbox.Resources) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.ctr(id); err != nil {
		return err
	}
	f.resources[id] = r
	return nil
}

func (f *fakePods) ReopenContainerLog(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.ctr(id); err != nil {
		return err
	}
	f.reopened = append(f.reopened, id)
	return nil
}

func (f *fakePods) Exec(ctx context.Context, cfg podsandbox.ExecConfig) (int32, error) {
	f.mu.Lock()
	f.lastExec = cfg
	fn := f.exec
	c, err := f.ctr(cfg.ContainerID)
	running := err == nil && c.State == podsandbox.ContainerRunning
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if !running {
		return 0, fmt.Errorf("container %s is not running: %w", cfg.ContainerID, podsandbox.ErrState)
	}
	if fn != nil {
		return fn(ctx, cfg)
	}
	if cfg.Stdout != nil {
		fmt.Fprintf(cfg.Stdout, "ran %v", cfg.Process.Args)
	}
	return 0, nil
}

func (f *fakePods) Attach(ctx context.Context, cfg podsandbox.AttachConfig) error {
	f.mu.Lock()
	fn := f.attach
	f.mu.Unlock()
	if fn != nil {
		return fn(ctx, cfg)
	}
	if cfg.Stdout != nil {
		io.WriteString(cfg.Stdout, "attached")
	}
	return nil
}

// PortForward echoes what the stream sends, after the port number.
func (f *fakePods) PortForward(_ context.Context, podID string, port int32, stream io.ReadWriteCloser) error {
	f.mu.Lock()
	_, ok := f.pods[podID]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("pod %s: %w", podID, podsandbox.ErrNotFound)
	}
	fmt.Fprintf(stream, "%d:", port)
	_, err := io.Copy(stream, stream)
	return err
}

func (f *fakePods) ContainerStats(_ context.Context, id string) (*podsandbox.ContainerStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.ctr(id)
	if err != nil {
		return nil, err
	}
	if c.State != podsandbox.ContainerRunning {
		return nil, fmt.Errorf("container %s: %w", id, podsandbox.ErrState)
	}
	return &podsandbox.ContainerStats{Timestamp: time.Unix(1700000000, 0), CPUNanos: 1234, MemoryWorkingSetBytes: 4096, WritableLayerBytes: 512, WritableLayerInodes: 3, Processes: 2}, nil
}

func (f *fakePods) PodStats(_ context.Context, id string) (*podsandbox.PodStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.pods[id]; !ok {
		return nil, fmt.Errorf("pod %s: %w", id, podsandbox.ErrNotFound)
	}
	st := &podsandbox.PodStats{Timestamp: time.Unix(1700000000, 0), CPUNanos: 99999, MemoryBytes: 1 << 20, Processes: 5, Containers: map[string]podsandbox.ContainerStats{}}
	for _, c := range f.ctrs {
		if c.Config.PodID == id && c.State == podsandbox.ContainerRunning {
			st.Containers[c.Config.ID] = podsandbox.ContainerStats{Timestamp: st.Timestamp, CPUNanos: 1234, MemoryWorkingSetBytes: 4096, Processes: 2}
		}
	}
	return st, nil
}

func (f *fakePods) Subscribe(ctx context.Context) <-chan podsandbox.Event {
	ch := make(chan podsandbox.Event, 64)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
		close(ch)
	}()
	return ch
}

func (f *fakePods) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func (f *fakePods) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

var _ podsandbox.Manager = (*fakePods)(nil)
