package authsrc

import "context"

// File is one named credential file, as a unit's LoadCredential= or
// LoadCredentialEncrypted= names it. --check uses it to look where systemd
// will look when it starts the unit.
type File struct {
	Path      string
	Encrypted bool // made by systemd-creds encrypt
}

func (f File) Name() string {
	if f.Encrypted {
		return "unit LoadCredentialEncrypted"
	}
	return "unit LoadCredential"
}

func (f File) Places(string) []string { return []string{f.Path} }

func (f File) Lookup(ctx context.Context, id string) (*Found, error) {
	if f.Encrypted {
		return EncryptedCredstore{Dirs: nil}.decryptFile(ctx, id, f.Path)
	}
	b, _, err := readSecretFile(f.Path)
	if err != nil {
		return nil, err
	}
	return &Found{Value: b, Location: f.Path}, nil
}
