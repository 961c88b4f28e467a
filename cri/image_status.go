package cri

import (
	"context"
	"encoding/json"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/image"
)

// ImageStatus returns the image, or a nil image when there is none.
// Verbose adds info["info"]: JSON with the image config ("imageSpec"),
// as containerd reports it, and the layers' chain IDs.
func (s *Server) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	ref, err := imageRef("ImageStatus", req.GetImage())
	if err != nil {
		return nil, err
	}
	img, err := s.images.Status(ctx, ref)
	if err != nil {
		return nil, toStatus("ImageStatus", ref, err)
	}
	if img == nil {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	resp := &runtimeapi.ImageStatusResponse{Image: toCRIImage(img)}
	if req.Verbose {
		info, err := verboseInfo(img)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "ImageStatus %s: verbose info: %v", ref, err)
		}
		resp.Info = map[string]string{"info": info}
	}
	return resp, nil
}

// verboseInfo is the JSON of ImageStatus's verbose info.
func verboseInfo(img *image.Image) (string, error) {
	v := struct {
		ID        string          `json:"id"`
		ImageSpec json.RawMessage `json:"imageSpec,omitempty"`
		ChainIDs  []string        `json:"chainIDs,omitempty"`
		Created   string          `json:"created,omitempty"`
	}{ID: img.ID, ChainIDs: img.ChainIDs}
	if len(img.Config) > 0 && json.Valid(img.Config) {
		v.ImageSpec = img.Config
	}
	if !img.Created.IsZero() {
		v.Created = img.Created.UTC().Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(v)
	return string(b), err
}
