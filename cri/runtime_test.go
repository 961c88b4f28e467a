package cri

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestVersion(t *testing.T) {
	c := startServer(t, newFake())
	resp, err := c.rt.Version(ctxT(t), &runtimeapi.VersionRequest{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.RuntimeName != "cocoon" || resp.RuntimeVersion != "v-test" || resp.RuntimeApiVersion != "v1" || resp.Version != "0.1.0" {
		t.Errorf("Version = %v", resp)
	}
}

func TestStatus(t *testing.T) {
	c := startServer(t, newFake())
	resp, err := c.rt.Status(ctxT(t), &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	conds := map[string]*runtimeapi.RuntimeCondition{}
	for _, c := range resp.Status.GetConditions() {
		conds[c.Type] = c
	}
	if c := conds[runtimeapi.RuntimeReady]; c == nil || !c.Status {
		t.Errorf("RuntimeReady = %v", c)
	}
	if c := conds[runtimeapi.NetworkReady]; c == nil || c.Status || c.Reason != "NetworkPluginNotReady" || c.Message == "" {
		t.Errorf("NetworkReady = %v", c)
	}
}

// Every RuntimeService RPC other than Version, Status and
// UpdateRuntimeConfig is
// Unimplemented with a message that names it: none falls through to
// the generic message of UnimplementedRuntimeServiceServer.
func TestRuntimeUnimplemented(t *testing.T) {
	s := NewServer(newFake(), "v-test", nil)
	iface := reflect.TypeFor[runtimeapi.RuntimeServiceServer]()
	sv := reflect.ValueOf(s)
	n := 0
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		if !m.IsExported() || m.Name == "Version" || m.Name == "Status" || m.Name == "UpdateRuntimeConfig" {
			continue
		}
		n++
		t.Run(m.Name, func(t *testing.T) {
			fn := sv.MethodByName(m.Name)
			var args []reflect.Value
			for j := range fn.Type().NumIn() {
				in := fn.Type().In(j)
				if in == reflect.TypeFor[context.Context]() {
					args = append(args, reflect.ValueOf(context.Background()))
				} else {
					args = append(args, reflect.Zero(in))
				}
			}
			out := fn.Call(args)
			err, _ := out[len(out)-1].Interface().(error)
			wantCode(t, err, codes.Unimplemented, m.Name+":")
			if strings.Contains(status.Convert(err).Message(), "method "+m.Name+" not implemented") {
				t.Errorf("generic message: %v", err)
			}
		})
	}
	if n < 30 {
		t.Errorf("checked only %d RPCs", n)
	}
}

// Over the wire too, unary and streaming.
func TestRuntimeUnimplementedGRPC(t *testing.T) {
	c := startServer(t, newFake())
	ctx := ctxT(t)
	_, err := c.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{})
	wantCode(t, err, codes.Unimplemented, "RunPodSandbox:", "CRI runtime service")
	_, err = c.rt.CheckpointContainer(ctx, &runtimeapi.CheckpointContainerRequest{})
	wantCode(t, err, codes.Unimplemented, "CheckpointContainer:", "checkpoint")
	stream, err := c.rt.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	wantCode(t, err, codes.Unimplemented, "GetContainerEvents:")
}

// UpdateRuntimeConfig, which kubelet calls at start-up, succeeds.
func TestUpdateRuntimeConfigAccepted(t *testing.T) {
	s := NewServer(newFake(), "v-test", nil)
	if _, err := s.UpdateRuntimeConfig(context.Background(), &runtimeapi.UpdateRuntimeConfigRequest{}); err != nil {
		t.Fatal(err)
	}
}
