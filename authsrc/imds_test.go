package authsrc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeIMDS is an IMDSv2 endpoint whose behaviour each test sets.
type fakeIMDS struct {
	tokenStatus int           // status of PUT /latest/api/token; 0: 200
	roleBody    string        // body of the role list; "" with roleStatus 0: 404
	roleStatus  int           // status of the role list
	delay       time.Duration // before every answer
	unauthOnce  atomic.Bool   // answer the first role request with 401
	tokens      atomic.Int32
}

func (f *fakeIMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(f.delay)
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
		if f.tokenStatus != 0 {
			w.WriteHeader(f.tokenStatus)
			return
		}
		if r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n := f.tokens.Add(1)
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
		fmt.Fprintf(w, "session-%d", n)
	case r.Method == http.MethodGet && r.URL.Path == "/latest/meta-data/iam/security-credentials/":
		if !strings.HasPrefix(r.Header.Get("X-Aws-Ec2-Metadata-Token"), "session-") {
			w.WriteHeader(http.StatusUnauthorized) // IMDSv2 only: no v1 answers
			return
		}
		if f.unauthOnce.CompareAndSwap(true, false) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case f.roleStatus != 0:
			w.WriteHeader(f.roleStatus)
		case f.roleBody == "":
			w.WriteHeader(http.StatusNotFound)
		default:
			fmt.Fprint(w, f.roleBody)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func serve(t *testing.T, f *fakeIMDS) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Setenv(envIMDSEndpoint, srv.URL)
}

func TestProbeIAMRoleEdgeCases(t *testing.T) {
	cases := []struct {
		name     string
		imds     *fakeIMDS
		budget   time.Duration
		wantRole string
		wantErr  string
	}{
		{name: "role", imds: &fakeIMDS{roleBody: "disk-reader\n"}, wantRole: "disk-reader"},
		{name: "first of several roles", imds: &fakeIMDS{roleBody: "a\nb\n"}, wantRole: "a"},
		{name: "no role attached", imds: &fakeIMDS{}, wantErr: "no IAM role attached"},
		{name: "empty role list", imds: &fakeIMDS{roleBody: "\n"}, wantErr: "no IAM role attached"},
		{name: "token PUT refused", imds: &fakeIMDS{tokenStatus: http.StatusForbidden, roleBody: "r"}, wantErr: "refused an IMDSv2 session token (HTTP 403)"},
		{name: "token PUT not allowed", imds: &fakeIMDS{tokenStatus: http.StatusMethodNotAllowed, roleBody: "r"}, wantErr: "HTTP 405"},
		{name: "server error", imds: &fakeIMDS{roleStatus: http.StatusInternalServerError}, wantErr: "answered HTTP 500"},
		{name: "slow answer", imds: &fakeIMDS{roleBody: "r", delay: time.Second}, budget: 200 * time.Millisecond, wantErr: "no answer within 200ms"},
		{name: "401 always", imds: &fakeIMDS{roleStatus: http.StatusUnauthorized}, wantErr: "rejected its own session token (HTTP 401)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			serve(t, c.imds)
			budget := c.budget
			if budget == 0 {
				budget = 5 * time.Second
			}
			role, err := ProbeIAMRole(context.Background(), budget)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("want error containing %q, got %v (role %+v)", c.wantErr, err, role)
				}
				if strings.Contains(err.Error(), "session-") {
					t.Fatalf("error shows the IMDS session token: %v", err)
				}
				return
			}
			if err != nil || role.Name != c.wantRole {
				t.Fatalf("want role %q, got %+v, %v", c.wantRole, role, err)
			}
		})
	}
}

// After a 401 (session token expired between PUT and GET) the probe takes
// a fresh token once.
func TestProbeIAMRoleRetriesOnceAfter401(t *testing.T) {
	f := &fakeIMDS{roleBody: "disk-reader"}
	f.unauthOnce.Store(true)
	serve(t, f)
	role, err := ProbeIAMRole(context.Background(), 5*time.Second)
	if err != nil || role.Name != "disk-reader" {
		t.Fatalf("got %+v, %v", role, err)
	}
	if n := f.tokens.Load(); n != 2 {
		t.Fatalf("want 2 session tokens (one renewal), got %d", n)
	}
}

func TestProbeIAMRoleDisabled(t *testing.T) {
	f := &fakeIMDS{roleBody: "r"}
	serve(t, f)
	t.Setenv(envIMDSDisabled, "TRUE")
	_, err := ProbeIAMRole(context.Background(), time.Second)
	if err == nil || !strings.Contains(err.Error(), "disabled by AWS_EC2_METADATA_DISABLED") {
		t.Fatalf("got %v", err)
	}
	if f.tokens.Load() != 0 {
		t.Fatal("a disabled metadata service was asked anyway")
	}
}

// The metadata service is link-local: a proxy from the environment must
// not see the session token.
func TestProbeIAMRoleIgnoresProxy(t *testing.T) {
	serve(t, &fakeIMDS{roleBody: "r"})
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("http_proxy", "http://127.0.0.1:1")
	if _, err := ProbeIAMRole(context.Background(), 2*time.Second); err != nil {
		t.Fatalf("probe went through the proxy: %v", err)
	}
}

func TestProbeIAMRoleEndpointMode(t *testing.T) {
	t.Setenv(envIMDSEndpoint, "")
	t.Setenv(envIMDSEndpointMode, "IPv6")
	if got := IMDSEndpoint(); got != defaultIMDSv6 {
		t.Fatalf("got %s", got)
	}
	t.Setenv(envIMDSEndpointMode, "")
	if got := IMDSEndpoint(); got != defaultIMDSEndpoint {
		t.Fatalf("got %s", got)
	}
}

// blackhole accepts TCP connections and never answers, like a firewall
// that drops replies.
func blackhole(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// closedPort returns an address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestProbeIAMRoleUnreachable(t *testing.T) {
	t.Run("blackhole", func(t *testing.T) {
		t.Setenv(envIMDSEndpoint, blackhole(t))
		_, err := ProbeIAMRole(context.Background(), 300*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("closed port", func(t *testing.T) {
		t.Setenv(envIMDSEndpoint, closedPort(t))
		_, err := ProbeIAMRole(context.Background(), time.Second)
		if err == nil || !strings.HasSuffix(err.Error(), "no metadata service: connection refused (not on EC2?)") {
			t.Fatalf("got %v", err)
		}
	})
}

// startMetadataMock runs amazon-ec2-metadata-mock in IMDSv2-only mode on a
// free loopback port and points the probe at it.
func startMetadataMock(t testing.TB) {
	t.Helper()
	bin := metadataMockBinary(t)
	port := strings.TrimPrefix(closedPort(t), "http://127.0.0.1:")
	cmd := exec.Command(bin, "--hostname", "127.0.0.1", "--port", port, "--imdsv2")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("failed to start %s: %v", bin, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	endpoint := "http://127.0.0.1:" + port
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			break
		}
		if i == 200 {
			t.Fatalf("metadata mock did not listen on %s", endpoint)
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Setenv(envIMDSEndpoint, endpoint)
}

// metadataMockBinary finds ec2-metadata-mock; .ci/run installs it. A
// missing mock is a failure, never a skip.
func metadataMockBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("ec2-metadata-mock"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "ec2-metadata-mock")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("ec2-metadata-mock not found: go install github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock@v1.13.0")
	return ""
}

func TestProbeIAMRoleMetadataMock(t *testing.T) {
	startMetadataMock(t)
	role, err := ProbeIAMRole(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if role.Name != "baskinc-role" || role.Took <= 0 || !strings.HasPrefix(role.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("got %+v", role)
	}
}
