// Package cri is Cocoon's CRI server: the gRPC ImageService and
// RuntimeService of k8s.io/cri-api runtime/v1 that kubelet and crictl
// talk to, translated onto the daemon's internal services, and the
// wiring of `cocoon daemon` (configuration, state directory, socket,
// signals).
package cri

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming"

	"github.com/cocoonrt/cocoon/image"
	"github.com/cocoonrt/cocoon/image/unpack"
	"github.com/cocoonrt/cocoon/podsandbox"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// RuntimeName is what Version reports as the runtime's name.
const RuntimeName = "cocoon"

// Server implements runtimeapi.ImageServiceServer over an image.Service
// and runtimeapi.RuntimeServiceServer over a podsandbox.Manager.
type Server struct {
	runtimeapi.UnimplementedImageServiceServer
	runtimeapi.UnimplementedRuntimeServiceServer

	images image.Service
	// rootfs is images when the store can make containers' root file
	// systems (nil otherwise: CreateContainer then fails).
	rootfs image.Rootfs
	// layers journals the writable layers rootfs made (layers.go); nil
	// keeps no journal (servers that Serve did not make). Set before
	// serving.
	layers *layerJournal
	// pods is the pod and container runtime; nil makes every pod and
	// container RPC fail with Unavailable.
	pods    podsandbox.Manager
	version string
	log     *slog.Logger
	cfg     Config
	// platforms is the daemon's platform measurement (WithPlatforms);
	// nil when the server was given none. Set once by NewServer.
	platforms *probe.Report

	// locks serialises requests that must not race with each other
	// (two RunPodSandbox for one pod, two CreateContainer for one
	// name) without serialising unrelated ones.
	locks keyedMutex

	// stream is the streaming server (Exec, Attach, PortForward
	// URLs); nil until ServeStreaming runs.
	streamMu sync.Mutex
	stream   streaming.Server

	// fsID is the mount point reported as the writable layers' file
	// system, looked up once from the image service.
	fsIDMu sync.Mutex
	fsID   string

	// done is closed by Shutdown: long-lived streams (container
	// events) end so that a graceful stop does not wait for clients.
	done     chan struct{}
	doneOnce sync.Once
}

// Shutdown ends the server's long-lived streams (GetContainerEvents
// returns Unavailable); unary RPCs are unaffected. Call it before
// stopping the gRPC server gracefully.
func (s *Server) Shutdown() {
	s.doneOnce.Do(func() { close(s.done) })
}

// Option configures a Server.
type Option func(*Server)

// WithConfig gives the server the daemon's configuration (cgroup
// driver, default pod memory, streaming settings).
func WithConfig(cfg Config) Option {
	return func(s *Server) { s.cfg = cfg }
}

// NewServer returns a server over images and pods. version is the
// runtime's version as Version reports it; log may be nil. pods may be
// nil for a server that only serves images.
func NewServer(images image.Service, pods podsandbox.Manager, version string, log *slog.Logger, opts ...Option) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if version == "" {
		version = "dev"
	}
	s := &Server{images: images, pods: pods, version: version, log: log, cfg: DefaultConfig(), done: make(chan struct{})}
	if r, ok := images.(image.Rootfs); ok {
		s.rootfs = r
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register registers both CRI services on g.
func (s *Server) Register(g *grpc.Server) {
	runtimeapi.RegisterImageServiceServer(g, s)
	runtimeapi.RegisterRuntimeServiceServer(g, s)
}

// NewGRPCServer returns a gRPC server with the interceptors the daemon
// uses (panic recovery, request logging) and s registered on it.
func (s *Server) NewGRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	opts = append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
	}, opts...)
	g := grpc.NewServer(opts...)
	s.Register(g)
	return g
}

// unaryInterceptor turns a panic into codes.Internal (a bad request
// must not take the daemon down) and logs each call.
func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in CRI handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
			resp, err = nil, status.Errorf(codes.Internal, "%s: internal error: %v", shortMethod(info.FullMethod), r)
		}
		s.logCall(info.FullMethod, start, err)
	}()
	return handler(ctx, req)
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in CRI handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
			err = status.Errorf(codes.Internal, "%s: internal error: %v", shortMethod(info.FullMethod), r)
		}
		s.logCall(info.FullMethod, start, err)
	}()
	return handler(srv, ss)
}

func (s *Server) logCall(method string, start time.Time, err error) {
	method = shortMethod(method)
	d := time.Since(start)
	if err == nil {
		s.log.Debug("CRI call", "method", method, "duration", d)
		return
	}
	code := status.Code(err)
	switch code {
	case codes.Unknown, codes.Internal, codes.DataLoss:
		s.log.Error("CRI call failed", "method", method, "code", code.String(), "duration", d, "err", err)
	case codes.Unimplemented:
		s.log.Debug("CRI call unimplemented", "method", method)
	default:
		s.log.Info("CRI call failed", "method", method, "code", code.String(), "duration", d, "err", err)
	}
}

func shortMethod(full string) string {
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[i+1:]
	}
	return full
}

// toStatus maps an error of the image service to a gRPC status error
// whose message starts with rpc and what it acted on. Errors that
// already carry a gRPC status keep their code.
func toStatus(rpc, what string, err error) error {
	if err == nil {
		return nil
	}
	prefix := rpc
	if what != "" {
		prefix = fmt.Sprintf("%s %s", rpc, what)
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return status.Errorf(st.Code(), "%s: %s", prefix, st.Message())
	}
	return status.Errorf(errorCode(err), "%s: %v", prefix, err)
}

// errorCode classifies err: context errors, bad references, and
// registry responses (go-containerregistry's transport.Error).
func errorCode(err error) codes.Code {
	switch {
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	}
	var bad *name.ErrBadName
	if errors.As(err, &bad) {
		return codes.InvalidArgument
	}
	if errors.Is(err, unpack.ErrEscape) {
		// The image is hostile or broken: no retry will make it pull.
		return codes.FailedPrecondition
	}
	if errors.Is(err, image.ErrDigestMismatch) {
		return codes.DataLoss
	}
	if errors.Is(err, image.ErrNoPlatform) {
		return codes.NotFound
	}
	var te *transport.Error
	if errors.As(err, &te) {
		for _, d := range te.Errors {
			switch d.Code {
			case transport.UnauthorizedErrorCode:
				return codes.Unauthenticated
			case transport.DeniedErrorCode:
				return codes.PermissionDenied
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
				return codes.NotFound
			case transport.NameInvalidErrorCode, transport.TagInvalidErrorCode, transport.DigestInvalidErrorCode:
				return codes.InvalidArgument
			case transport.TooManyRequestsErrorCode:
				return codes.ResourceExhausted
			case transport.UnavailableErrorCode:
				return codes.Unavailable
			}
		}
		switch te.StatusCode {
		case http.StatusUnauthorized:
			return codes.Unauthenticated
		case http.StatusForbidden:
			return codes.PermissionDenied
		case http.StatusNotFound:
			return codes.NotFound
		case http.StatusTooManyRequests:
			return codes.ResourceExhausted
		case http.StatusBadRequest:
			return codes.InvalidArgument
		case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
			return codes.Unavailable
		}
		return codes.Unknown
	}
	return codes.Unknown
}

// imageRef is the reference a request's ImageSpec names, or an
// InvalidArgument error when there is none.
func imageRef(rpc string, spec *runtimeapi.ImageSpec) (string, error) {
	if spec == nil || strings.TrimSpace(spec.Image) == "" {
		return "", status.Errorf(codes.InvalidArgument, "%s: no image given (ImageSpec.image is empty)", rpc)
	}
	return spec.Image, nil
}
