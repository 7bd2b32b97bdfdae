package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

// TestConfigVectors runs every file in testdata/config: <case>.json is the
// config as the launcher reads it, <case>.expect its expected outcome,
// "expect: ok" or "expect: error <substring of the message>".
func TestConfigVectors(t *testing.T) {
	testkit.Vectors(t, "../testdata/config", ".json", 50, func(t *testing.T, p, want string) {
		if want != "ok" && !strings.HasPrefix(want, "error ") {
			t.Fatalf("outcome %q is neither ok nor error <text>", want)
		}
		cfg, err := Load(p)
		switch {
		case want == "ok" && err != nil:
			t.Fatalf("want ok, got error: %v", err)
		case want == "ok":
			if cfg.Name == "" || cfg.ReadyTimeout <= 0 || cfg.StopTimeout <= 0 || cfg.IMDSTimeout <= 0 {
				t.Fatalf("accepted config lacks defaults: %+v", cfg)
			}
		case err == nil:
			t.Fatalf("want error %q, got ok", want)
		default:
			msg := err.Error()
			if !strings.Contains(msg, strings.TrimPrefix(want, "error ")) {
				t.Fatalf("want error containing %q, got %q", strings.TrimPrefix(want, "error "), msg)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error is not one line: %q", msg)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is %T, want *Error", err)
			}
		}
	})
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Load("../testdata/config/good_minimal_token.json")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Credential != "archil-token" || cfg.ReadyTimeout != 30*time.Second ||
		cfg.StopTimeout != 60*time.Second || cfg.IMDSTimeout != time.Second {
		t.Fatalf("defaults wrong: %+v", cfg)
	}
	full, err := Load("../testdata/config/good_full.json")
	if err != nil {
		t.Fatal(err)
	}
	if !full.ReadOnly || !full.Shared || !full.EnableXattrs || !full.WritebackCache || full.MaxCacheMB != 4096 || full.TargetCacheMB != 3072 ||
		full.LogLevel != "debug" || full.Credential != "archil-data.token" || len(full.ExtraArgs) != 2 ||
		len(full.PassEnv) != 2 || full.ReadyTimeout != 45*time.Second || full.StopTimeout != 120*time.Second ||
		full.IMDSTimeout != 2*time.Second {
		t.Fatalf("fields not copied: %+v", full)
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.json"))
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadConfigTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(p, make([]byte, maxConfigBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("got %v", err)
	}
}

// A FIFO or directory where a config should be is refused at once: a
// FIFO without a writer must not hang the launcher or --check.
func TestLoadConfigNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, dir} {
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") || strings.Count(err.Error(), p) != 1 {
			t.Fatalf("%s: got %v", p, err)
		}
	}
}
