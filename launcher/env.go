package launcher

import (
	"os"
	"slices"
	"strings"

	"github.com/archil-nix/archil-launch/launcher/config"
)

// tokenEnv is where the client reads a disk token.
const tokenEnv = "ARCHIL_MOUNT_TOKEN"

// allowedEnv are the variables every child inherits when the launcher has
// them: locale, identity, TLS roots and proxies. Nothing else leaks through.
var allowedEnv = []string{
	"PATH", "HOME", "LANG", "TZ", "USER", "LOGNAME",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
	"http_proxy", "https_proxy", "no_proxy",
}

// forbiddenEnv are never passed, not even when passEnv names them: they
// belong to systemd's protocol with the launcher, or hold the token.
func forbiddenEnv(name string) bool {
	switch {
	case name == "NOTIFY_SOCKET", name == "CREDENTIALS_DIRECTORY", name == tokenEnv:
		return true
	case strings.HasPrefix(name, "LISTEN_"), strings.HasPrefix(name, "WATCHDOG_"):
		return true
	}
	return false
}

// allowedName reports whether the variable name may reach the child.
func allowedName(name, authMethod string, passEnv []string) bool {
	switch {
	case forbiddenEnv(name):
		return false
	case slices.Contains(allowedEnv, name), strings.HasPrefix(name, "LC_"):
		return true
	case authMethod == config.AuthIAM && strings.HasPrefix(name, "AWS_"):
		// The client does its own IAM work; it may need the endpoint or
		// region overrides. A token mount has no use for them.
		return true
	}
	return slices.Contains(passEnv, name)
}

// childEnv builds the client's environment from the launcher's: the
// allow-list, the names in passEnv, and the token when there is one.
func childEnv(environ []string, authMethod string, passEnv []string, token string) []string {
	env := []string{} // never nil: os/exec reads nil as "inherit everything"
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if ok && allowedName(name, authMethod, passEnv) {
			env = append(env, kv)
		}
	}
	if token != "" {
		env = append(env, tokenEnv+"="+token)
	}
	return env
}

// ClientEnvWithoutToken is the environment of the client's commands that
// talk to a running client or only describe the binary (`archil unmount`,
// `version`, `status`): the allow-list and passEnv as for a mount, never
// the token, which they have no use for.
func ClientEnvWithoutToken(cfg *config.Config) []string {
	return childEnv(os.Environ(), cfg.AuthMethod, cfg.PassEnv, "")
}
