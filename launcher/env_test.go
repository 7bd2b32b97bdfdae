package launcher

import (
	"slices"
	"strings"
	"testing"

	"github.com/archil-nix/archil-launch/launcher/config"
)

func TestChildEnv(t *testing.T) {
	environ := []string{
		"PATH=/bin", "HOME=/root", "LANG=C.UTF-8", "LC_ALL=C", "TZ=UTC",
		"USER=root", "LOGNAME=root", "SSL_CERT_FILE=/etc/ssl/ca.pem",
		"SSL_CERT_DIR=/etc/ssl/certs", "HTTPS_PROXY=http://p:3128",
		"https_proxy=http://p:3128", "NO_PROXY=localhost", "http_proxy=x",
		"NOTIFY_SOCKET=/run/systemd/notify", "CREDENTIALS_DIRECTORY=/run/credentials/x",
		"LISTEN_FDS=1", "LISTEN_PID=1", "WATCHDOG_USEC=1000", "WATCHDOG_PID=1",
		"ARCHIL_MOUNT_TOKEN=inherited", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1", "INVOCATION_ID=abc",
		"MY_PROXY=p", "SECRET=s", "NOEQUALS",
	}
	passEnv := []string{"MY_PROXY", "NOTIFY_SOCKET", "ARCHIL_MOUNT_TOKEN", "WATCHDOG_USEC"}
	base := []string{
		"PATH=/bin", "HOME=/root", "LANG=C.UTF-8", "LC_ALL=C", "TZ=UTC",
		"USER=root", "LOGNAME=root", "SSL_CERT_FILE=/etc/ssl/ca.pem",
		"SSL_CERT_DIR=/etc/ssl/certs", "HTTPS_PROXY=http://p:3128",
		"https_proxy=http://p:3128", "NO_PROXY=localhost", "http_proxy=x",
	}

	got := childEnv(environ, config.AuthToken, passEnv, "tok")
	want := append(slices.Clone(base), "MY_PROXY=p", "ARCHIL_MOUNT_TOKEN=tok")
	if !slices.Equal(got, want) {
		t.Errorf("token mount:\n got %q\nwant %q", got, want)
	}

	got = childEnv(environ, config.AuthIAM, passEnv, "")
	want = slices.Clone(base)
	want = slices.Insert(want, len(want), "AWS_REGION=us-east-1", "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1", "MY_PROXY=p")
	if !slices.Equal(got, want) {
		t.Errorf("iam mount:\n got %q\nwant %q", got, want)
	}
}

// The client's other commands get the mount's environment without the
// token, even when the launcher itself has one in its environment.
func TestClientEnvWithoutToken(t *testing.T) {
	t.Setenv("ARCHIL_MOUNT_TOKEN", "tok-Fixture-9f8e7d6c5b4a")
	t.Setenv("CREDENTIALS_DIRECTORY", "/run/credentials/x")
	t.Setenv("MY_PROXY", "p")
	t.Setenv("LANG", "C.UTF-8")
	env := ClientEnvWithoutToken(&config.Config{AuthMethod: config.AuthToken, PassEnv: []string{"MY_PROXY"}})
	for _, kv := range env {
		if strings.HasPrefix(kv, "ARCHIL_MOUNT_TOKEN=") || strings.HasPrefix(kv, "CREDENTIALS_DIRECTORY=") {
			t.Errorf("passed %q", kv)
		}
	}
	if !slices.Contains(env, "MY_PROXY=p") || !slices.Contains(env, "LANG=C.UTF-8") {
		t.Errorf("allow-list or passEnv missing: %q", env)
	}
}
