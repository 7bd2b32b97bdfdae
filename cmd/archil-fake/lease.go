package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// The root write delegation of a disk, as archil-cli.md tells it: a mount
// that is neither --shared nor --read-only checks out the root; another
// such mount of the disk fails while a client holds it; a client killed
// without unmounting leaves it held until it expires. A clean exit
// releases it.
//
// The holder is named by its mount point: a new client at the same mount
// point is that client come back (the launcher's restart, or a mount over
// a stale one) and takes the delegation over, as --force does anywhere.
// Whether the real client does is not known: the delegation-strict knob
// plays one that does not, so only --force or the ttl frees it.
// The holder keeps LOCK_EX on its <nonce>.alive file, so a live holder is
// never taken for a dead one however late its renewals; it renews the
// lease every renewEvery, so a dead one's lease expires delegation-ttl
// after its last renewal.

// defaultDelegationTTL is how long a dead client's delegation stays held
// without the delegation-ttl knob: long enough to see, short enough not to
// stall a test suite.
const defaultDelegationTTL = 5 * time.Second

// renewEvery bounds how far before its death a holder last renewed.
const renewEvery = 200 * time.Millisecond

// lease is the file $STATE/disks/<disk>/lease.
type lease struct {
	Nonce      string    `json:"nonce"`
	PID        int       `json:"pid"`
	MountPoint string    `json:"mountPoint"`
	Renewed    time.Time `json:"renewed"`
}

// delegation is a lease this process holds.
type delegation struct {
	dir   string
	lease lease
	alive *os.File      // LOCK_EX for the process's life
	stop  chan struct{} // nil until renewing
	done  chan struct{}
}

// claimRules are the knobs a claim follows.
type claimRules struct {
	ttl    time.Duration // how long a dead holder's delegation stays held
	strict bool          // a client at the holder's mount point takes nothing over
}

func (s *state) claimRules() claimRules {
	r := claimRules{ttl: defaultDelegationTTL, strict: s.knobOn(knobDelegationStrict)}
	if d, ok := s.seconds(knobDelegationTTL); ok {
		r.ttl = d
	}
	return r
}

// claim takes the delegation of disk for a, or says who holds it. The
// disk's lock must be held.
func claim(dir, disk string, a *mountArgs, rules claimRules) (*delegation, error) {
	old, err := readLease(dir)
	if err != nil {
		return nil, err
	}
	if old != nil {
		alive := holderAlive(dir, old.Nonce)
		left := time.Until(old.Renewed.Add(rules.ttl))
		switch {
		case a.force || old.MountPoint == a.mountPoint && !rules.strict:
			logf("warn", "taking over the delegation of %s from pid %d at %s (alive %v)", disk, old.PID, old.MountPoint, alive)
		case alive:
			return nil, fmt.Errorf("mount failed: disk %s is checked out by another client (pid %d, mounted at %s); "+
				"a --shared or --read-only mount needs no delegation", disk, old.PID, old.MountPoint)
		case left > 0:
			return nil, fmt.Errorf("mount failed: disk %s is checked out by a client that went away without unmounting "+
				"(pid %d, mounted at %s); its delegation expires in %.1fs", disk, old.PID, old.MountPoint, left.Seconds())
		}
		os.Remove(alivePath(dir, old.Nonce))
	}
	return take(dir, a.mountPoint)
}

func take(dir, mountPoint string) (*delegation, error) {
	b := make([]byte, 8)
	rand.Read(b)
	d := &delegation{
		dir:   dir,
		lease: lease{Nonce: hex.EncodeToString(b), PID: os.Getpid(), MountPoint: mountPoint, Renewed: time.Now()},
	}
	f, err := os.OpenFile(alivePath(dir, d.lease.Nonce), os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to create delegation: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("failed to lock delegation: %w", err)
	}
	d.alive = f
	if err := writeLease(dir, &d.lease); err != nil {
		d.drop()
		return nil, err
	}
	return d, nil
}

// startRenew refreshes the lease from now until stopRenew. Both are called
// without the disk's lock, which each renewal takes.
func (d *delegation) startRenew() {
	d.stop, d.done = make(chan struct{}), make(chan struct{})
	go d.renew()
}

func (d *delegation) stopRenew() {
	if d.stop != nil {
		close(d.stop)
		<-d.done
		d.stop = nil
	}
}

// renew refreshes the lease until stopped, unless another client has
// taken it over meanwhile.
func (d *delegation) renew() {
	defer close(d.done)
	tick := time.NewTicker(renewEvery)
	defer tick.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-tick.C:
		}
		if err := d.renewOnce(); err != nil {
			logf("error", "renewing the delegation: %v", err)
		}
	}
}

func (d *delegation) renewOnce() error {
	unlock, err := lockFile(filepath.Join(d.dir, "lock"))
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := readLease(d.dir)
	if err != nil || cur == nil || cur.Nonce != d.lease.Nonce {
		return err // released or taken over: nothing to renew
	}
	d.lease.Renewed = time.Now()
	return writeLease(d.dir, &d.lease)
}

// releaseLocked gives the delegation back, unless another client has
// taken it over. The disk's lock must be held, and renewals stopped.
func (d *delegation) releaseLocked() {
	if cur, err := readLease(d.dir); err == nil && cur != nil && cur.Nonce == d.lease.Nonce {
		os.Remove(filepath.Join(d.dir, "lease"))
	}
	d.drop()
}

func (d *delegation) drop() {
	os.Remove(alivePath(d.dir, d.lease.Nonce))
	d.alive.Close()
}

// holderAlive reports whether the process that took the lease with nonce
// still runs: it holds a lock on its alive file until it exits.
func holderAlive(dir, nonce string) bool {
	f, err := os.Open(alivePath(dir, nonce))
	if err != nil {
		return false
	}
	defer f.Close()
	free, err := tryFlock(f, syscall.LOCK_EX)
	return err == nil && !free
}

func alivePath(dir, nonce string) string {
	return filepath.Join(dir, nonce+".alive")
}

// readLease returns the lease of the disk, nil if none.
func readLease(dir string) (*lease, error) {
	b, err := os.ReadFile(filepath.Join(dir, "lease"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read delegation lease: %w", err)
	}
	var l lease
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("failed to decode delegation lease: %w", err)
	}
	return &l, nil
}

// writeLease replaces the lease atomically.
func writeLease(dir string, l *lease) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("failed to encode delegation lease: %w", err)
	}
	tmp := filepath.Join(dir, "lease.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("failed to write delegation lease: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "lease")); err != nil {
		return fmt.Errorf("failed to write delegation lease: %w", err)
	}
	return nil
}
