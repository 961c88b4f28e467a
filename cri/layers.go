package cri

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// layerJournal remembers the containers whose writable layer the server
// asked the image store for: a marker file per container ID, made
// before PrepareRootfs and removed once RemoveRootfs succeeded. The pod
// runtime only learns of a container after its layer exists, and
// forgets it before the layer is removed, so a daemon that dies in
// between (in CreateContainer, RemoveContainer or RemovePodSandbox)
// leaves a layer nobody knows of: no client has the ID of a container
// whose CreateContainer never returned. A restarted daemon removes the
// layers of journalled containers the pod runtime does not know
// (removeOrphanLayers).
type layerJournal struct {
	dir string
}

// add records that id's layer is about to be made.
func (j *layerJournal) add(id string) error {
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(j.dir, id), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// done forgets id once its layer is gone.
func (j *layerJournal) done(id string) error {
	if err := os.Remove(filepath.Join(j.dir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// ids lists the journalled containers.
func (j *layerJournal) ids() ([]string, error) {
	ents, err := os.ReadDir(j.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if isFullID(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// journalLayer records id in the journal, when the server keeps one.
func (s *Server) journalLayer(id string) error {
	if s.layers == nil {
		return nil
	}
	return s.layers.add(id)
}

// removeOrphanLayers removes the writable layers of journalled
// containers that the pod runtime does not know. The daemon runs it
// once, after the pod runtime recovered and before serving.
func (s *Server) removeOrphanLayers(ctx context.Context) error {
	if s.layers == nil || s.rootfs == nil || s.pods == nil {
		return nil
	}
	ids, err := s.layers.ids()
	if err != nil || len(ids) == 0 {
		return err
	}
	ctrs, err := s.pods.Containers(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, c := range ctrs {
		known[c.Config.ID] = true
	}
	var errs []error
	for _, id := range ids {
		if known[id] {
			continue
		}
		s.log.Warn("removing the writable layer of a container the daemon stopped while making or removing it", "container", id)
		if err := s.rootfs.RemoveRootfs(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", id, err))
			continue
		}
		if err := s.layers.done(id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
