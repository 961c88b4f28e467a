package cri

import (
	"context"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/image"
)

// streamChunk is how many images one StreamImages response carries.
const streamChunk = 256

// ListImages lists the images, filtered by the request's image spec.
func (s *Server) ListImages(ctx context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	imgs, err := s.listImages(ctx, "ListImages", req.GetFilter())
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ListImagesResponse{Images: imgs}, nil
}

// StreamImages is ListImages in responses of at most streamChunk
// images each; no images means no responses.
func (s *Server) StreamImages(req *runtimeapi.StreamImagesRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamImagesResponse]) error {
	imgs, err := s.listImages(stream.Context(), "StreamImages", req.GetFilter())
	if err != nil {
		return err
	}
	for len(imgs) > 0 {
		n := min(len(imgs), streamChunk)
		if err := stream.Send(&runtimeapi.StreamImagesResponse{Images: imgs[:n]}); err != nil {
			return err
		}
		imgs = imgs[n:]
	}
	return nil
}

func (s *Server) listImages(ctx context.Context, rpc string, f *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error) {
	filter := image.Filter{Image: f.GetImage().GetImage()}
	list, err := s.images.List(ctx, filter)
	if err != nil {
		return nil, toStatus(rpc, filter.Image, err)
	}
	out := make([]*runtimeapi.Image, 0, len(list))
	for _, img := range list {
		if img != nil {
			out = append(out, toCRIImage(img))
		}
	}
	return out, nil
}

// toCRIImage converts a store image to its CRI form.
func toCRIImage(img *image.Image) *runtimeapi.Image {
	out := &runtimeapi.Image{
		Id:          img.ID,
		RepoTags:    img.RepoTags,
		RepoDigests: img.RepoDigests,
		Size:        img.Size,
		Username:    img.Username,
		Spec:        &runtimeapi.ImageSpec{Image: img.ID},
		Pinned:      img.Pinned,
	}
	if img.UID != nil {
		out.Uid = &runtimeapi.Int64Value{Value: *img.UID}
	}
	return out
}
