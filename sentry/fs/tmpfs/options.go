package tmpfs

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseOption applies one tmpfs mount option (size=, mode=, uid=, gid=,
// and the accepted no-ops nr_inodes=, huge=, mpol=, inode64, noswap) to
// o; known reports whether key names a tmpfs option at all.
func (o *Options) ParseOption(opt string) (known bool, err error) {
	key, val, _ := strings.Cut(opt, "=")
	switch key {
	case "size":
		n, err := parseSize(val)
		if err != nil {
			return true, fmt.Errorf("tmpfs option %q: %w", opt, err)
		}
		o.SizeLimit = n
	case "mode":
		n, err := strconv.ParseUint(val, 8, 32)
		if err != nil || n > 0o7777 {
			return true, fmt.Errorf("tmpfs option %q: bad mode", opt)
		}
		o.Mode = uint32(n)
	case "uid", "gid":
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return true, fmt.Errorf("tmpfs option %q: bad id", opt)
		}
		if key == "uid" {
			o.UID = uint32(n)
		} else {
			o.GID = uint32(n)
		}
	case "nr_inodes", "huge", "mpol", "inode64", "noswap":
		// Inodes are charged to the size limit; memory policy and huge
		// pages are the sentry's memory file's business.
	default:
		return false, nil
	}
	return true, nil
}

// parseSize parses size= (bytes with an optional k, m or g suffix).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "g"), strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size")
	}
	return n * mult, nil
}
