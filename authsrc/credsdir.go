package authsrc

import (
	"context"
	"path/filepath"
)

// CredentialsDirectory is $CREDENTIALS_DIRECTORY, where systemd puts what
// LoadCredential=, LoadCredentialEncrypted=, ImportCredential= and
// SetCredential= give the unit. systemd makes the files 0400/0440 and
// owned by the service, so their mode needs no check.
type CredentialsDirectory struct {
	Dir string // value of $CREDENTIALS_DIRECTORY; empty outside a unit
}

func (CredentialsDirectory) Name() string { return "credentials-directory" }

func (c CredentialsDirectory) Places(id string) []string {
	if c.Dir == "" {
		return []string{"$CREDENTIALS_DIRECTORY/" + id + " (CREDENTIALS_DIRECTORY not set)"}
	}
	return []string{filepath.Join(c.Dir, id)}
}

func (c CredentialsDirectory) Lookup(_ context.Context, id string) (*Found, error) {
	if c.Dir == "" {
		return nil, ErrNotFound
	}
	path := filepath.Join(c.Dir, id)
	b, _, err := readSecretFile(path)
	if err != nil {
		return nil, err
	}
	return &Found{Value: b, Location: path}, nil
}
