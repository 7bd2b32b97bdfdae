package broker

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
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
	case isStorePath(string(b)):
		return Secret{}, errors.New("token looks like a /nix/store path, not a token: the file holds a path instead of the token itself")
	case !utf8.Valid(b):
		// In Latin-1, 0x85 and 0xA0 are whitespace: no byte may slip
		// past the whitespace rule by not being UTF-8.
		return Secret{}, errors.New("token is not valid UTF-8")
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		// IsPrint also refuses format characters (a byte-order mark from
		// an editor, zero-width spaces): invisible, and never in a token.
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return Secret{}, errors.New("token contains whitespace, a control or an invisible character (only one trailing newline is allowed)")
		}
		i += size
	}
	return NewSecret(bytes.Clone(b)), nil
}

// isStorePath reports whether v names /nix/store or a path in it, however
// spelled (//nix/store, /nix/./store/x): a token file that holds the path
// of the real token file in the store.
func isStorePath(v string) bool {
	if !strings.HasPrefix(v, "/") {
		return false
	}
	clean := path.Clean(v)
	return clean == "/nix/store" || strings.HasPrefix(clean, "/nix/store/")
}
