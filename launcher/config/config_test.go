package config

import (
	"bytes"
	"encoding/json"
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

// The package's JSON parser agrees with encoding/json on what is JSON, and
// on the strings a config holds. The seeds (every config vector) run in
// every test; `go test -fuzz FuzzJSONAgrees ./launcher/config` searches
// further.
func FuzzJSONAgrees(f *testing.F) {
	vectors, _ := filepath.Glob("../testdata/config/*.json")
	for _, v := range vectors {
		b, err := os.ReadFile(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, ` `, `{}`, `[]`, `"x"`, `1e5`, `-0`, `01`, `{"a":}`, `{"a":1,}`, `[1,]`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, "\"\xff\"", `tru`, `nul`, `{"name":"a"}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Count(data, []byte("["))+bytes.Count(data, []byte("{")) > maxDepth {
			return // deeper than this parser takes (encoding/json allows 10000)
		}
		p := &parser{data: data}
		_, err := p.value(0)
		p.skipSpace()
		ours := err == nil && p.i == len(data)
		if theirs := json.Valid(data); ours != theirs {
			t.Fatalf("%q: this parser says valid=%v, encoding/json %v (%v)", data, ours, theirs, err)
		}
		raw, err := decodeStrict(data)
		if err != nil {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%q: accepted here, refused by encoding/json: %v", data, err)
		}
		for key, dst := range raw.fields() {
			if s, ok := dst.(**string); ok && *s != nil && m[key] != **s {
				t.Fatalf("%q: %s is %q here, %q for encoding/json", data, key, **s, m[key])
			}
		}
	})
}
