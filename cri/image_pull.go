package cri

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/image"
)

// PullImage pulls the image with the request's credentials and returns
// its ID as image_ref.
func (s *Server) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	ref, err := imageRef("PullImage", req.GetImage())
	if err != nil {
		return nil, err
	}
	// A reference the registry client cannot parse cannot be pulled:
	// say so as InvalidArgument whatever the store's error would be.
	if _, err := name.ParseReference(ref); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "PullImage %s: invalid image reference: %v", ref, err)
	}
	img, err := s.images.Pull(ctx, ref, toAuth(req.GetAuth()))
	if err != nil {
		return nil, toStatus("PullImage", ref, err)
	}
	s.log.Info("pulled image", "ref", ref, "id", img.ID)
	return &runtimeapi.PullImageResponse{ImageRef: img.ID}, nil
}

// toAuth converts CRI credentials; nil or empty ones are nil.
func toAuth(a *runtimeapi.AuthConfig) *image.Auth {
	if a == nil {
		return nil
	}
	auth := &image.Auth{
		Username:      a.Username,
		Password:      a.Password,
		Auth:          a.Auth,
		IdentityToken: a.IdentityToken,
		RegistryToken: a.RegistryToken,
		ServerAddress: a.ServerAddress,
	}
	if *auth == (image.Auth{}) {
		return nil
	}
	return auth
}
