package podsandbox

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The state database holds one bucket of pod records and one of
// container records, each keyed by ID and holding JSON. The records embed
// api.go's types and add what only the daemon needs (process start
// times, where the rootfs is mounted) so that a restarted daemon can find
// and check everything again.
var (
	podsBucket       = []byte("pods")
	containersBucket = []byte("containers")
	// nodeBucket holds the node's settings kubelet gives once and does
	// not repeat after a daemon restart (podCIDRsKey).
	nodeBucket  = []byte("node")
	podCIDRsKey = "podCIDRs"
)

// podRecord is a pod as stored.
type podRecord struct {
	Pod Pod `json:"pod"`
	// SentryStart and GoferStart are the processes' start times (field
	// 22 of /proc/PID/stat, clock ticks since boot): a PID whose start
	// time differs is another process that reused the number.
	SentryStart uint64 `json:"sentryStart,omitempty"`
	GoferStart  uint64 `json:"goferStart,omitempty"`
	// CgroupParent and CgroupName locate the pod's cgroup ("" when the
	// pod has none).
	CgroupParent string `json:"cgroupParent,omitempty"`
	CgroupName   string `json:"cgroupName,omitempty"`
	// Starting marks a pod RunPod is still building. Its record is
	// saved before anything is made on the host (and again once its
	// processes exist), so that a daemon that dies in the middle leaves
	// a record naming what to tear down; RunPod never returned the pod,
	// so a restarted daemon removes it entirely (recoverStarting).
	Starting bool `json:"starting,omitempty"`
}

// containerRecord is a container as stored.
type containerRecord struct {
	Container Container `json:"container"`
	// Trees are the gofer trees added for the container (its root and
	// bind mounts), removed with it.
	Trees []string `json:"trees,omitempty"`
}

// store is the bbolt state database. bbolt serialises writers itself;
// store adds no locking of its own.
type store struct {
	db *bolt.DB
}

func openStore(path string) (*store, error) {
	// A second daemon on the same state directory would fight over the
	// pods; the file lock makes it fail instead (after a short wait).
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening state database %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{podsBucket, containersBucket, nodeBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising state database %s: %w", path, err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

func (s *store) put(bucket []byte, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Put([]byte(id), data)
	})
}

func (s *store) delete(bucket []byte, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Delete([]byte(id))
	})
}

func (s *store) putPod(r *podRecord) error {
	return s.put(podsBucket, r.Pod.Config.ID, r)
}

func (s *store) putContainer(r *containerRecord) error {
	return s.put(containersBucket, r.Container.Config.ID, r)
}

// load reads every record. A record that does not decode is skipped and
// reported: one corrupt entry must not keep the daemon from the others.
func (s *store) load() (pods []*podRecord, ctrs []*containerRecord, bad []error, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(podsBucket).ForEach(func(k, v []byte) error {
			var r podRecord
			if err := json.Unmarshal(v, &r); err != nil || r.Pod.Config.ID != string(k) {
				bad = append(bad, fmt.Errorf("pod record %q: undecodable (%v)", k, err))
				return nil
			}
			pods = append(pods, &r)
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(containersBucket).ForEach(func(k, v []byte) error {
			var r containerRecord
			if err := json.Unmarshal(v, &r); err != nil || r.Container.Config.ID != string(k) {
				bad = append(bad, fmt.Errorf("container record %q: undecodable (%v)", k, err))
				return nil
			}
			ctrs = append(ctrs, &r)
			return nil
		})
	})
	return pods, ctrs, bad, err
}

// getNode reads the node setting key into v; ok is false when it was
// never saved.
func (s *store) getNode(key string, v any) (ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(nodeBucket).Get([]byte(key))
		if data == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(data, v)
	})
	return ok, err
}
