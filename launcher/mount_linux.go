package launcher

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/archil-nix/archil-launch/broker"
	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// Mount is one running `archil mount` client and the mount it makes.
// Start it, WaitReady, Supervise; it ends with Stop (a stop request) or
// Abort (a failure), whichever comes first: both run one finaliser.
type Mount struct {
	cfg   *config.Config
	log   *logline.Logger
	child *proc
	watch *watch
	ident *identity // the client's mount, once WaitReady saw it

	finish   sync.Once
	stopErr  error
	finished atomic.Bool // the stop sequence ran to its end (not cut short by a panic)
}

// Start execs the client for cfg with the token, if any, in its
// environment. ctx only wakes the waits of WaitReady and Supervise; it does
// not kill the client.
func Start(ctx context.Context, cfg *config.Config, token broker.Secret, log *logline.Logger) (*Mount, error) {
	// Open mountinfo before the client runs so that no change is missed.
	w, err := newWatch(ctx)
	if err != nil {
		return nil, err
	}
	secret := ""
	if cfg.AuthMethod == config.AuthToken {
		secret = token.Reveal()
	}
	env := childEnv(os.Environ(), cfg.AuthMethod, cfg.PassEnv, secret)
	args := mountArgs(cfg)
	p, err := startProc(cfg.Archil, args, env)
	if err != nil {
		w.close()
		return nil, err
	}
	w.pidfd = p.pidfd
	// The arguments hold no secret (DESIGN.md: the token is never one).
	log.Info("started archil", "pid", p.Pid(), "args", strings.Join(args, " "))
	return &Mount{cfg: cfg, log: log, child: p, watch: w}, nil
}
