package bounded

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDoReturnsResult(t *testing.T) {
	v, err := Do(time.Second, func() (int, error) { return 7, nil }, nil)
	if v != 7 || err != nil {
		t.Fatalf("Do = %d, %v", v, err)
	}
	want := errors.New("boom")
	if _, err := Do(time.Second, func() (int, error) { return 0, want }, nil); err != want {
		t.Fatalf("Do error = %v, want %v", err, want)
	}
}

// A call that does not return in time gives ErrTimeout at once, and its
// late result is released, not lost.
func TestDoTimesOutAndReleasesLateResult(t *testing.T) {
	unblock := make(chan struct{})
	released := make(chan int, 1)
	_, err := Do(10*time.Millisecond, func() (int, error) {
		<-unblock
		return 42, nil
	}, func(v int) { released <- v })
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	close(unblock)
	select {
	case v := <-released:
		if v != 42 {
			t.Fatalf("released %d, want 42", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("late result never released")
	}
}

// A panic in f reaches the caller, not the process's top.
func TestDoRaisesPanicInCaller(t *testing.T) {
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want boom", r)
		}
	}()
	_, _ = Do(time.Second, func() (int, error) { panic("boom") }, nil)
	t.Fatal("Do returned after a panic")
}

// A done context ends the wait with its error, before the deadline.
func TestDoContextGivesUpWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	unblock := make(chan struct{})
	defer close(unblock)
	go cancel()
	_, err := DoContext(ctx, time.Hour, func() (int, error) {
		<-unblock
		return 0, nil
	}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
