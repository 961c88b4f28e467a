package cri

import (
	"context"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/image"
)

// ImageFsInfo reports the disk use of the image file system (blobs and
// snapshots) and the container file system (writable layers).
func (s *Server) ImageFsInfo(ctx context.Context, _ *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	images, containers, err := s.images.FsInfo(ctx)
	if err != nil {
		return nil, toStatus("ImageFsInfo", "", err)
	}
	now := time.Now()
	return &runtimeapi.ImageFsInfoResponse{
		ImageFilesystems:     toFsUsage(images, now),
		ContainerFilesystems: toFsUsage(containers, now),
	}, nil
}

func toFsUsage(in []image.FsUsage, now time.Time) []*runtimeapi.FilesystemUsage {
	out := make([]*runtimeapi.FilesystemUsage, 0, len(in))
	for _, u := range in {
		ts := u.Timestamp
		if ts.IsZero() {
			ts = now
		}
		out = append(out, &runtimeapi.FilesystemUsage{
			Timestamp:  ts.UnixNano(),
			FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: u.Mountpoint},
			UsedBytes:  &runtimeapi.UInt64Value{Value: u.UsedBytes},
			InodesUsed: &runtimeapi.UInt64Value{Value: u.InodesUsed},
		})
	}
	return out
}
