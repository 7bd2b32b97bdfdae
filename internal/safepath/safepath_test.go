package safepath

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

// TestPathVectors builds each testdata/paths/<case>.tree under a temporary
// directory (root's, so the real ancestors pass), walks to its target and
// creates what is missing. ok: the target is a directory, each directory
// made is root's 0755 (under umask 077), nothing that existed changed.
// error: the message holds the expected text ($ROOT is the temporary
// directory), is one line, and nothing on disk changed.
func TestPathVectors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the path vectors need root (they chown to other users)")
	}
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	testkit.Vectors(t, "testdata/paths", ".tree", 25, func(t *testing.T, p, want string) {
		root := t.TempDir()
		target := buildTree(t, root, p)
		before := snapshot(t, root)
		made, err := walkAndCreate(target)
		after := snapshot(t, root)
		if want != "ok" {
			wantText := strings.ReplaceAll(strings.TrimPrefix(want, "error "), "$ROOT", root)
			if err == nil {
				t.Fatalf("want error %q, got ok (made %q)", wantText, made)
			}
			if !strings.Contains(err.Error(), wantText) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("want one-line error containing %q, got %q", wantText, err)
			}
			if d := diff(before, after); d != "" {
				t.Fatalf("refused, yet the tree changed: %s", d)
			}
			return
		}
		if err != nil {
			t.Fatalf("want ok, got %v", err)
		}
		fi, err := os.Lstat(target)
		if err != nil || !fi.IsDir() {
			t.Fatalf("target after Create: %v, %v", fi, err)
		}
		for _, m := range made {
			if e := after[m]; e != (entry{kind: "dir", mode: 0o755, uid: 0}) {
				t.Errorf("made %s: %+v, want root's 0755 directory", m, e)
			}
			delete(after, m)
		}
		if d := diff(before, after); d != "" {
			t.Fatalf("existing entries changed, or more made than reported: %s", d)
		}
	})
}

func walkAndCreate(target string) ([]string, error) {
	c, err := Walk(target)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Create()
}

// buildTree makes the entries of a .tree file under root and returns the
// absolute target. Lines: dir PATH MODE UID | file PATH MODE UID |
// symlink PATH TARGET | fifo PATH | target PATH.
func buildTree(t *testing.T, root, treeFile string) string {
	t.Helper()
	f, err := os.Open(treeFile)
	testkit.Must(t, err)
	defer f.Close()
	target := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) == 0 || strings.HasPrefix(w[0], "#") {
			continue
		}
		p := filepath.Join(root, w[1])
		switch w[0] {
		case "dir", "file":
			mode, uid := parseModeOwner(t, w)
			if w[0] == "dir" {
				testkit.Must(t, os.Mkdir(p, 0o700))
			} else {
				testkit.Must(t, os.WriteFile(p, nil, 0o600))
			}
			testkit.Must(t, os.Chown(p, uid, uid))
			testkit.Must(t, os.Chmod(p, fs.FileMode(mode&0o777)|modeBits(mode)))
		case "symlink":
			testkit.Must(t, os.Symlink(strings.ReplaceAll(w[2], "$ROOT", root), p))
		case "fifo":
			testkit.Must(t, unix.Mkfifo(p, 0o600))
		case "target":
			target = p
		default:
			t.Fatalf("%s: unknown line %q", treeFile, sc.Text())
		}
	}
	if target == "" {
		t.Fatalf("%s: no target line", treeFile)
	}
	return target
}

func parseModeOwner(t *testing.T, w []string) (uint64, int) {
	t.Helper()
	if len(w) != 4 {
		t.Fatalf("want %s PATH MODE UID, got %q", w[0], w)
	}
	mode, err := strconv.ParseUint(w[2], 8, 32)
	testkit.Must(t, err)
	uid, err := strconv.Atoi(w[3])
	testkit.Must(t, err)
	return mode, uid
}

// modeBits turns the setuid/setgid/sticky bits of an octal mode into Go's.
func modeBits(mode uint64) fs.FileMode {
	var m fs.FileMode
	if mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

type entry struct {
	kind string
	mode uint32
	uid  uint32
	link string
}

// snapshot records every entry under root: kind, permission bits, owner
// and link target.
func snapshot(t *testing.T, root string) map[string]entry {
	t.Helper()
	m := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		e := entry{mode: st.Mode & 0o7777, uid: st.Uid}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			e.kind = "dir"
		case syscall.S_IFLNK:
			e.kind = "symlink"
			e.link, _ = os.Readlink(p)
		case syscall.S_IFIFO:
			e.kind = "fifo"
		default:
			e.kind = "file"
		}
		m[p] = e
		return nil
	})
	testkit.Must(t, err)
	return m
}

func diff(before, after map[string]entry) string {
	var d []string
	for p, b := range before {
		if a, ok := after[p]; !ok {
			d = append(d, "gone: "+p)
		} else if a != b {
			d = append(d, "changed: "+p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			d = append(d, "new: "+p)
		}
	}
	return strings.Join(d, "; ")
}
