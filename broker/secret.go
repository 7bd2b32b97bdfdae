package broker

import (
	"fmt"
	"log/slog"
)

// redacted is what a Secret prints in every format.
const redacted = "[redacted]"

// Secret holds a credential value. Every way Go has to print or encode it
// prints [redacted]; only Reveal gives the value, for the child's
// environment and nothing else.
//
// The value is held by a closure: paths of fmt that skip the methods
// below (%p, a Secret inside another struct's unexported field) print a
// func as its address, never the bytes it holds. (Behind a plain pointer,
// fmt would follow it and print the bytes.)
type Secret struct {
	value func() []byte
}

// NewSecret wraps b; the caller must not keep or reuse b.
func NewSecret(b []byte) Secret { return Secret{value: func() []byte { return b }} }

// Reveal returns the value. Its one caller puts it into the environment of
// the client process.
func (s Secret) Reveal() string { return string(s.bytes()) }

// Len is the value's length in bytes, the one fact --check may show.
func (s Secret) Len() int { return len(s.bytes()) }

// IsZero reports whether the secret holds nothing (IAM mounts).
func (s Secret) IsZero() bool { return len(s.bytes()) == 0 }

func (s Secret) bytes() []byte {
	if s.value == nil {
		return nil
	}
	return s.value()
}

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
