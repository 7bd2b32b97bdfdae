package config

import (
	"regexp"
	"strings"
	"testing"
)

// The hand-written matchers must accept exactly what the rules' regular
// expressions (as DESIGN.md states them) accept. The seeds run in every
// test; `go test -fuzz FuzzMatchers ./launcher/config` searches further.
func FuzzMatchers(f *testing.F) {
	for _, s := range []string{
		"", "a", "aws-us-east-1", "gcp-us-central1", "aws--1", "aws-1", "a-b1", "AWS-US-EAST-1",
		"data", "Data_set-01", "a.b", strings.Repeat("a", 64), strings.Repeat("a", 65),
		"archil-token", ".hidden", "a/b", "HTTPS_PROXY", "_x", "1x", "A=B", "a-b",
		"dsk-0123456789abcdef", "dsk-0123456789ABCDEF", "dsk-0123", "myorg", "-rf", "user@example.com",
		"u@", "@d", "a@b@c", "x.y_z-w", "aws-us-east-1-", "a1-2-3", "é-1",
	} {
		f.Add(s)
	}
	rules := []struct {
		name string
		re   *regexp.Regexp
		fn   func(string) bool
		also func(string) bool
	}{
		{"name", regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`), validName, nil},
		{"credential", regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`), validCredential, func(s string) bool { return !strings.HasPrefix(s, ".") }},
		{"env", regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`), validEnvName, nil},
		{"disk id", regexp.MustCompile(`^dsk-[0-9a-f]{16}$`), validDiskID, nil},
		{"disk part", regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`), validDiskPart, func(s string) bool { return len(s) <= maxDiskNameBytes }},
		{"email", regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9][A-Za-z0-9.-]*$`), validEmailOwner, func(s string) bool { return len(s) <= maxDiskNameBytes }},
		{"region", regexp.MustCompile(`^[a-z][a-z0-9]*-[a-z0-9-]+[0-9]$`), validRegion, func(s string) bool { return len(s) <= 64 && !strings.Contains(s, "--") }},
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range rules {
			want := r.re.MatchString(s) && (r.also == nil || r.also(s))
			if got := r.fn(s); got != want {
				t.Fatalf("%s(%q) = %v, regexp says %v", r.name, s, got, want)
			}
		}
	})
}
