package authsrc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const fixtureToken = "tok-Fixture-9f8e7d6c5b4a"

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialsDirectory(t *testing.T) {
	ctx := context.Background()
	if _, err := (CredentialsDirectory{}).Lookup(ctx, "archil-token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unset directory: want ErrNotFound, got %v", err)
	}
	if p := (CredentialsDirectory{}).Places("x"); len(p) != 1 || !strings.Contains(p[0], "not set") {
		t.Fatalf("places of an unset directory: %q", p)
	}
	dir := t.TempDir()
	src := CredentialsDirectory{Dir: dir}
	if _, err := src.Lookup(ctx, "archil-token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing file: want ErrNotFound, got %v", err)
	}
	writeFile(t, filepath.Join(dir, "archil-token"), fixtureToken+"\n", 0o400)
	found, err := src.Lookup(ctx, "archil-token")
	if err != nil || string(found.Value) != fixtureToken+"\n" || found.Location != filepath.Join(dir, "archil-token") {
		t.Fatalf("got %+v, %v", found, err)
	}
	if len(found.Warnings) != 0 {
		t.Fatalf("0400 credential got warnings: %v", found.Warnings)
	}
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Lookup(ctx, "subdir"); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory as credential: got %v", err)
	}
}

func TestCredstoreOrderAndModes(t *testing.T) {
	ctx := context.Background()
	run, etc := t.TempDir(), t.TempDir()
	src := Credstore{Dirs: []string{run, etc}}
	if _, err := src.Lookup(ctx, "archil-token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	writeFile(t, filepath.Join(etc, "archil-token"), "from-etc", 0o600)
	found, err := src.Lookup(ctx, "archil-token")
	if err != nil || string(found.Value) != "from-etc" || len(found.Warnings) != 0 {
		t.Fatalf("got %+v, %v", found, err)
	}
	writeFile(t, filepath.Join(run, "archil-token"), "from-run", 0o644)
	found, err = src.Lookup(ctx, "archil-token")
	if err != nil || string(found.Value) != "from-run" {
		t.Fatalf("first directory must win: %+v, %v", found, err)
	}
	if len(found.Warnings) != 1 || !strings.Contains(found.Warnings[0], "readable by group or others (mode 0644)") {
		t.Fatalf("want a mode warning, got %v", found.Warnings)
	}
	if strings.Contains(strings.Join(found.Warnings, ""), "from-run") {
		t.Fatal("warning shows the value")
	}
}

func TestReadSecretFileTooLarge(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "big"), strings.Repeat("a", maxSecretBytes+1), 0o600)
	_, err := (Credstore{Dirs: []string{dir}}).Lookup(context.Background(), "big")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("got %v", err)
	}
}

// systemdCreds returns systemd-creds with a host key of its own in a
// temporary directory ($SYSTEMD_CREDENTIAL_SECRET), so the test neither
// needs nor touches /var/lib/systemd/credential.secret.
func systemdCreds(t *testing.T) string {
	t.Helper()
	tool, err := exec.LookPath("systemd-creds")
	if err != nil {
		t.Fatal("systemd-creds not found: install Debian's systemd package (.ci/run does)")
	}
	t.Setenv("SYSTEMD_CREDENTIAL_SECRET", filepath.Join(t.TempDir(), "credential.secret"))
	if out, err := exec.Command(tool, "setup").CombinedOutput(); err != nil {
		t.Fatalf("systemd-creds setup: %v: %s", err, out)
	}
	return tool
}

func encrypt(t *testing.T, tool, name, plaintext, out string) {
	t.Helper()
	cmd := exec.Command(tool, "encrypt", "--with-key=host", "--name="+name, "-", out)
	cmd.Stdin = strings.NewReader(plaintext)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-creds encrypt: %v: %s", err, b)
	}
}

func TestEncryptedCredstore(t *testing.T) {
	tool := systemdCreds(t)
	ctx := context.Background()
	run, etc := t.TempDir(), t.TempDir()
	src := EncryptedCredstore{Dirs: []string{run, etc}}
	if _, err := src.Lookup(ctx, "archil-token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	encrypt(t, tool, "archil-token", fixtureToken+"\n", filepath.Join(etc, "archil-token"))
	found, err := src.Lookup(ctx, "archil-token")
	if err != nil || string(found.Value) != fixtureToken+"\n" || found.Location != filepath.Join(etc, "archil-token") {
		t.Fatalf("got %+v, %v", found, err)
	}

	// A credential encrypted for another name must not decrypt as this one.
	encrypt(t, tool, "other", fixtureToken, filepath.Join(run, "archil-token"))
	_, err = src.Lookup(ctx, "archil-token")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "failed to decrypt") {
		t.Fatalf("name mismatch: got %v", err)
	}
	if strings.Contains(err.Error(), fixtureToken) {
		t.Fatal("error shows the secret")
	}

	writeFile(t, filepath.Join(run, "archil-token"), "not an encrypted credential", 0o600)
	if _, err := src.Lookup(ctx, "archil-token"); err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("garbage: want a one-line error, got %v", err)
	}
}

func TestFileSource(t *testing.T) {
	tool := systemdCreds(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	writeFile(t, plain, fixtureToken, 0o400)
	found, err := File{Path: plain}.Lookup(context.Background(), "archil-token")
	if err != nil || string(found.Value) != fixtureToken {
		t.Fatalf("plain: %+v, %v", found, err)
	}
	enc := filepath.Join(dir, "enc")
	encrypt(t, tool, "archil-token", fixtureToken, enc)
	found, err = File{Path: enc, Encrypted: true}.Lookup(context.Background(), "archil-token")
	if err != nil || string(found.Value) != fixtureToken {
		t.Fatalf("encrypted: %+v, %v", found, err)
	}
	if _, err := (File{Path: filepath.Join(dir, "absent")}).Lookup(context.Background(), "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}
}

// A FIFO where a credential file should be is refused, not waited on.
func TestFIFOIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "archil-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := (Credstore{Dirs: []string{dir}}).Lookup(context.Background(), "archil-token")
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("got %v", err)
	}
}
