package cni

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/fsnotify/fsnotify"
)

// confExtensions are the files a conf directory's networks are read
// from, as containerd reads them.
var confExtensions = []string{".conflist", ".conf", ".json"}

// Load reads the conf directory again: the lexically first
// configuration file becomes the network. On failure the previous
// network is dropped (pods must not be set up with a configuration the
// operator has since replaced with a broken one) and the error is kept
// for Status.
func (c *CNI) Load() error {
	list, file, err := loadConfDir(c.opts.ConfDir)
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := err == nil && (file != c.file || c.list == nil || string(list.Bytes) != string(c.list.Bytes))
	prevErr := c.loadErr
	c.list, c.file, c.loadErr = list, file, err
	if err != nil {
		if prevErr == nil || prevErr.Error() != err.Error() {
			c.log.Warn("cni: no usable network configuration; pods get no pod network", "conf_dir", c.opts.ConfDir, "err", err)
		}
		return err
	}
	if changed {
		c.log.Info("cni: network configuration loaded", "network", list.Name, "file", file, "plugins", len(list.Plugins))
	}
	return nil
}

// loadConfDir loads the lexically first configuration file of dir.
func loadConfDir(dir string) (*libcni.NetworkConfigList, string, error) {
	files, err := libcni.ConfFiles(dir, confExtensions)
	if err != nil {
		return nil, "", fmt.Errorf("reading CNI conf dir %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, "", fmt.Errorf("no network config found in %s", dir)
	}
	slices.Sort(files)
	file := files[0]
	list, err := loadConfFile(file)
	if err != nil {
		return nil, "", err
	}
	return list, file, nil
}

// loadConfFile loads a .conflist, or a single plugin's .conf/.json as a
// list of one.
func loadConfFile(file string) (*libcni.NetworkConfigList, error) {
	if filepath.Ext(file) == ".conflist" {
		list, err := libcni.NetworkConfFromFile(file)
		if err != nil {
			return nil, fmt.Errorf("loading CNI config list %s: %w", file, err)
		}
		return list, nil
	}
	//lint:ignore SA1019 single-plugin files are still what many installers write; containerd reads them too.
	conf, err := libcni.ConfFromFile(file)
	if err != nil {
		return nil, fmt.Errorf("loading CNI config %s: %w", file, err)
	}
	if conf.Network.Type == "" {
		return nil, fmt.Errorf("CNI config %s names no plugin type", file)
	}
	//lint:ignore SA1019 as above.
	list, err := libcni.ConfListFromConf(conf)
	if err != nil {
		return nil, fmt.Errorf("CNI config %s: %w", file, err)
	}
	return list, nil
}

// pollInterval is how often a conf directory that does not exist yet
// is looked for. fsnotify cannot watch a missing directory, and the
// daemon does not create one under /etc for the operator: the network
// add-on's installer does.
const pollInterval = 2 * time.Second

// watch reloads the configuration whenever the conf directory changes,
// until Close. While the directory is missing, or the watch cannot be
// set up, it polls instead.
func (c *CNI) watch() {
	defer close(c.done)
	for {
		w, err := c.watchDir()
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				c.log.Warn("cni: cannot watch the conf dir; polling it", "conf_dir", c.opts.ConfDir, "err", err)
			}
			select {
			case <-c.stop:
				return
			case <-time.After(pollInterval):
				_ = c.Load()
				continue
			}
		}
		gone := c.watchEvents(w)
		w.Close()
		if !gone {
			return
		}
	}
}

// watchDir starts watching the conf directory and reloads once, to
// catch changes made before the watch existed.
func (c *CNI) watchDir() (*fsnotify.Watcher, error) {
	if _, err := os.Stat(c.opts.ConfDir); err != nil {
		return nil, err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(c.opts.ConfDir); err != nil {
		w.Close()
		return nil, err
	}
	_ = c.Load()
	return w, nil
}

// watchEvents reloads on each change until Close (false) or until the
// directory itself goes away (true).
func (c *CNI) watchEvents(w *fsnotify.Watcher) (gone bool) {
	for {
		select {
		case <-c.stop:
			return false
		case ev, ok := <-w.Events:
			if !ok {
				return true
			}
			if ev.Has(fsnotify.Chmod) && !ev.Has(fsnotify.Write) {
				continue
			}
			_ = c.Load()
			if (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) && filepath.Clean(ev.Name) == filepath.Clean(c.opts.ConfDir) {
				return true
			}
			if _, err := os.Stat(c.opts.ConfDir); err != nil {
				return true
			}
		case err, ok := <-w.Errors:
			if !ok {
				return true
			}
			c.log.Warn("cni: watching the conf dir", "conf_dir", c.opts.ConfDir, "err", err)
		}
	}
}
