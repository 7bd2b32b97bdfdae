package broker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/authsrc"
)

// places is three token sources in DESIGN.md's order, each in its own
// temporary directory.
type places struct {
	credsDir, run, etc string
}

func newPlaces(t *testing.T) (places, *Resolver) {
	p := places{credsDir: t.TempDir(), run: t.TempDir(), etc: t.TempDir()}
	return p, &Resolver{
		TokenSources: []authsrc.Source{
			authsrc.CredentialsDirectory{Dir: p.credsDir},
			authsrc.Credstore{Dirs: []string{p.run, p.etc}},
		},
		ProbeIAMRole: authsrc.ProbeIAMRole,
	}
}

func put(t *testing.T, dir, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, "archil-token")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func tokenRequest() Request { return Request{Method: MethodToken, Credential: "archil-token"} }

func TestResolveOrder(t *testing.T) {
	p, r := newPlaces(t)
	ctx := context.Background()
	put(t, p.etc, "from-etc\n", 0o600)
	res, err := r.Resolve(ctx, tokenRequest())
	if err != nil || res.Token.Reveal() != "from-etc" || res.Source != "credstore" || res.Location != filepath.Join(p.etc, "archil-token") {
		t.Fatalf("got %+v, %v", res, err)
	}
	put(t, p.run, "from-run\n", 0o600)
	if res, _ = r.Resolve(ctx, tokenRequest()); res.Token.Reveal() != "from-run" {
		t.Fatal("/run/credstore must win over /etc/credstore")
	}
	loc := put(t, p.credsDir, "from-unit\n", 0o400)
	res, err = r.Resolve(ctx, tokenRequest())
	if err != nil || res.Token.Reveal() != "from-unit" || res.Source != "credentials-directory" || res.Location != loc {
		t.Fatalf("credentials directory must win: %+v, %v", res, err)
	}
	if res.Method != MethodToken || len(res.Warnings) != 0 {
		t.Fatalf("got %+v", res)
	}
}

func TestResolveMissListsEveryPlace(t *testing.T) {
	p, r := newPlaces(t)
	_, err := r.Resolve(context.Background(), tokenRequest())
	var miss *NotFoundError
	if !errors.As(err, &miss) || !errors.Is(err, authsrc.ErrNotFound) {
		t.Fatalf("want *NotFoundError, got %v", err)
	}
	for _, dir := range []string{p.credsDir, p.run, p.etc} {
		if !strings.Contains(err.Error(), filepath.Join(dir, "archil-token")) {
			t.Fatalf("miss does not name %s: %v", dir, err)
		}
	}
	if len(miss.Places) != 3 {
		t.Fatalf("places: %q", miss.Places)
	}
}

// A token that breaks a rule stops the search with an error that names the
// file, not the value; it does not fall through to the next source.
func TestResolveBadTokenStops(t *testing.T) {
	p, r := newPlaces(t)
	loc := put(t, p.credsDir, "tok with-space-XYZ\n", 0o400)
	put(t, p.etc, "good\n", 0o600)
	_, err := r.Resolve(context.Background(), tokenRequest())
	if err == nil || !strings.Contains(err.Error(), loc) || !strings.Contains(err.Error(), "whitespace") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "with-space-XYZ") {
		t.Fatalf("error shows the value: %v", err)
	}
}

func TestResolveUnreadableSourceStops(t *testing.T) {
	p, r := newPlaces(t)
	if err := os.Mkdir(filepath.Join(p.credsDir, "archil-token"), 0o700); err != nil {
		t.Fatal(err)
	}
	put(t, p.etc, "good\n", 0o600)
	_, err := r.Resolve(context.Background(), tokenRequest())
	if err == nil || !strings.Contains(err.Error(), "credentials-directory") || errors.Is(err, authsrc.ErrNotFound) {
		t.Fatalf("got %v", err)
	}
}

func TestResolveLooseCredstoreWarns(t *testing.T) {
	p, r := newPlaces(t)
	put(t, p.etc, "good\n", 0o644)
	res, err := r.Resolve(context.Background(), tokenRequest())
	if err != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "readable by group or others") {
		t.Fatalf("got %+v, %v", res, err)
	}
}

func TestResolveIAM(t *testing.T) {
	_, r := newPlaces(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPut {
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "60")
			fmt.Fprint(w, "session")
			return
		}
		fmt.Fprint(w, "disk-reader")
	}))
	defer srv.Close()
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.URL)
	res, err := r.Resolve(context.Background(), Request{Method: MethodIAM, IMDSTimeout: time.Second})
	if err != nil || res.Role != "disk-reader" || res.Source != "imds" || res.Location != srv.URL || !res.Token.IsZero() {
		t.Fatalf("got %+v, %v", res, err)
	}
	srv.Close()
	if _, err := r.Resolve(context.Background(), Request{Method: MethodIAM, IMDSTimeout: time.Second}); err == nil {
		t.Fatal("IAM with no metadata service succeeded")
	}
}

func TestResolveUnknownMethod(t *testing.T) {
	_, r := newPlaces(t)
	if _, err := r.Resolve(context.Background(), Request{Method: "password"}); err == nil {
		t.Fatal("unknown method accepted")
	}
}

func TestDefaultOrder(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "/run/credentials/x.service")
	var got []string
	for _, s := range Default().TokenSources {
		got = append(got, s.Places("id")...)
	}
	want := []string{"/run/credentials/x.service/id", "/run/credstore/id", "/etc/credstore/id", "/run/credstore.encrypted/id", "/etc/credstore.encrypted/id"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("order:\n got %q\nwant %q", got, want)
	}
}
