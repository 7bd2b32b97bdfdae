package broker

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

// TestTokenVectors runs testdata/token: <case>.token is a credential
// file's content, <case>.expect one line, "expect: ok <token>",
// "expect: ok len <n>" or "expect: error <substring>".
func TestTokenVectors(t *testing.T) {
	testkit.Vectors(t, "testdata/token", ".token", 20, func(t *testing.T, p, want string) {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		secret, err := CheckToken(raw)
		switch {
		case strings.HasPrefix(want, "ok len "):
			n, _ := strconv.Atoi(strings.TrimPrefix(want, "ok len "))
			if err != nil || secret.Len() != n {
				t.Fatalf("want a %d-byte token, got %d bytes, %v", n, secret.Len(), err)
			}
		case strings.HasPrefix(want, "ok "):
			if err != nil || secret.Reveal() != strings.TrimPrefix(want, "ok ") {
				t.Fatalf("want %q, got %q, %v", strings.TrimPrefix(want, "ok "), secret.Reveal(), err)
			}
		default:
			wantErr := strings.TrimPrefix(want, "error ")
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("want error %q, got %v", wantErr, err)
			}
			if !secret.IsZero() {
				t.Fatal("a rejected token was returned")
			}
			if stripped := strings.TrimSpace(string(raw)); len(stripped) > 2 && strings.Contains(err.Error(), stripped) && !strings.Contains(wantErr, stripped) {
				t.Fatalf("error shows the value: %v", err)
			}
		}
	})
}
