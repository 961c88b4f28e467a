package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RemoveImage removes the image; removing a missing image succeeds.
func (s *Server) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	ref, err := imageRef("RemoveImage", req.GetImage())
	if err != nil {
		return nil, err
	}
	if err := s.images.Remove(ctx, ref); err != nil {
		return nil, toStatus("RemoveImage", ref, err)
	}
	s.log.Info("removed image", "ref", ref)
	return &runtimeapi.RemoveImageResponse{}, nil
}
