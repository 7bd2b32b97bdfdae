// Package bounded runs a filesystem call that can block for good (a FUSE
// server that does not answer, on the path or under it) with a deadline.
// The call runs in its own goroutine; when the deadline passes first, the
// caller gets ErrTimeout at once and the goroutine is left to finish (it
// does once the server answers or its connection is aborted), its result
// released then.
package bounded

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// ErrTimeout is returned when the call did not return in time.
var ErrTimeout = errors.New("no answer in time")

// Do runs f and waits at most d for it. When it gave up, release (if not
// nil) gets f's result once f returns, so that descriptors it opened are
// closed. A panic in f is raised again in the caller's goroutine, where
// the caller's own recovery (the launcher's stop sequence) can see it.
func Do[T any](d time.Duration, f func() (T, error), release func(T)) (T, error) {
	return DoContext(context.Background(), d, f, release)
}

// DoContext is Do that also gives up, with ctx.Err(), once ctx is done.
func DoContext[T any](ctx context.Context, d time.Duration, f func() (T, error), release func(T)) (T, error) {
	done := make(chan result[T], 1)
	go func() {
		var r result[T]
		defer func() {
			r.panicked = recover()
			done <- r
		}()
		r.v, r.err = f()
	}()
	// Most calls answer within microseconds: let f run, and look, before
	// arming a timer. A timer stopped in time stays in the runtime's heap
	// until its deadline and wakes the idle process then, more than once;
	// an idle launcher is to sleep.
	for range quickLooks {
		runtime.Gosched()
		select {
		case r := <-done:
			return r.result()
		default:
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	err := ErrTimeout
	select {
	case r := <-done:
		return r.result()
	case <-t.C:
	case <-ctx.Done():
		err = ctx.Err()
	}
	go func() {
		if r := <-done; r.err == nil && r.panicked == nil && release != nil {
			release(r.v)
		}
	}()
	var zero T
	return zero, err
}

// quickLooks is how many times Do yields to f before it arms its timer.
const quickLooks = 3

type result[T any] struct {
	v        T
	err      error
	panicked any
}

// result returns f's result, or raises its panic.
func (r result[T]) result() (T, error) {
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.v, r.err
}
