package image

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPullWithTokens pulls from a registry that wants a bearer token, with
// CRI's registry token (used as is) and identity token (an OAuth2 refresh
// token exchanged at the realm for an access token).
func TestPullWithTokens(t *testing.T) {
	ctx := context.Background()
	const access, refresh = "access-123", "refresh-456"
	var realm string
	reg := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				if r.Method == http.MethodPost && r.ParseForm() == nil &&
					r.Form.Get("grant_type") == "refresh_token" && r.Form.Get("refresh_token") == refresh {
					json.NewEncoder(w).Encode(map[string]string{"access_token": access})
					return
				}
				http.Error(w, "no token", http.StatusUnauthorized)
				return
			}
			if r.Header.Get("Authorization") != "Bearer "+access {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`",service="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	realm = "http://" + reg.host + "/token"
	img := imageOf(t, "", layerOf(t, map[string]string{"tok": "x"}))
	reg.push(t, "private/tok:1", img, remote.WithAuth(authn.FromConfig(authn.AuthConfig{RegistryToken: access})))
	id, _ := digestOf(t, img)
	ref := reg.host + "/private/tok:1"

	s := newTestStore(t, t.TempDir(), nil)
	if _, err := s.Pull(ctx, ref, nil); err == nil {
		t.Fatal("anonymous pull succeeded")
	}
	if _, err := s.Pull(ctx, ref, &Auth{RegistryToken: "wrong"}); err == nil {
		t.Fatal("pull with a wrong registry token succeeded")
	}
	got, err := s.Pull(ctx, ref, &Auth{RegistryToken: access})
	if err != nil || got.ID != id {
		t.Fatalf("pull with a registry token: %v, %v", got, err)
	}
	if err := s.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	got, err = s.Pull(ctx, ref, &Auth{IdentityToken: refresh})
	if err != nil || got.ID != id {
		t.Fatalf("pull with an identity token: %v, %v", got, err)
	}
	if err := s.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(ctx, ref, &Auth{IdentityToken: "stale"}); err == nil || !strings.Contains(strings.ToLower(err.Error()), "unauthorized") && !strings.Contains(err.Error(), "401") {
		t.Errorf("pull with a bad identity token: %v, want a 401", err)
	}
}
