package broker

import (
	"bytes"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxTokenBytes is the longest token accepted, after the trailing newline
// is stripped.
const MaxTokenBytes = 4096

// CheckToken applies the token rules to a credential file's content and
// returns the token. Errors describe the problem, never the value.
//
// Exactly one trailing "\n" or "\r\n" is stripped: editors and `echo` add
// one, and systemd-creds keeps what it was given.
func CheckToken(raw []byte) (Secret, error) {
	b := raw
	if bytes.HasSuffix(b, []byte("\r\n")) {
		b = b[:len(b)-2]
	} else if bytes.HasSuffix(b, []byte("\n")) {
		b = b[:len(b)-1]
	}
	switch {
	case len(b) == 0:
		return Secret{}, errors.New("token is empty")
	case len(b) > MaxTokenBytes:
		return Secret{}, fmt.Errorf("token is longer than %d bytes", MaxTokenBytes)
	case bytes.HasPrefix(b, []byte("/nix/store")):
		return Secret{}, errors.New("token looks like a /nix/store path, not a token: the file holds a path instead of the token itself")
	case !utf8.Valid(b):
		// In Latin-1, 0x85 and 0xA0 are whitespace: no byte may slip
		// past the whitespace rule by not being UTF-8.
		return Secret{}, errors.New("token is not valid UTF-8")
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Secret{}, errors.New("token contains whitespace or a control character (only one trailing newline is allowed)")
		}
		i += size
	}
	return NewSecret(bytes.Clone(b)), nil
}
