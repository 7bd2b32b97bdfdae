// Package broker turns a mount's authentication settings into a
// credential: it tries the sources of package authsrc in DESIGN.md's order,
// applies the token rules, and says where the answer came from without ever
// showing the value. It knows nothing about processes or mounts.
package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/archil-nix/archil-launch/authsrc"
)

// Methods.
const (
	MethodToken = "token"
	MethodIAM   = "iam"
)

// Request says what to resolve.
type Request struct {
	Method      string        // MethodToken or MethodIAM
	Credential  string        // credential id for token mounts
	IMDSTimeout time.Duration // total budget of the IAM probe
}

// Result is a resolved credential and where it came from.
type Result struct {
	Method   string
	Token    Secret        // zero for IAM
	Source   string        // authsrc source name, or "imds"
	Location string        // file read, or the metadata endpoint asked
	Role     string        // IAM role name
	Took     time.Duration // time the lookup took
	Warnings []string      // e.g. a credstore file readable by others
}

// Resolver holds the places to look. Tests point it at temporary
// directories; Default is what the launcher uses.
type Resolver struct {
	TokenSources []authsrc.Source
	ProbeIAMRole func(ctx context.Context, budget time.Duration) (*authsrc.Role, error)
}

// Default searches, in order, $CREDENTIALS_DIRECTORY, the plain credstore
// and the encrypted credstore, and probes the real metadata service.
func Default() *Resolver {
	return &Resolver{
		TokenSources: []authsrc.Source{
			authsrc.CredentialsDirectory{Dir: os.Getenv("CREDENTIALS_DIRECTORY")},
			authsrc.Credstore{Dirs: authsrc.DefaultCredstoreDirs},
			authsrc.EncryptedCredstore{Dirs: authsrc.DefaultEncryptedCredstoreDirs},
		},
		ProbeIAMRole: authsrc.ProbeIAMRole,
	}
}

// Resolve finds the credential for req with the default places.
func Resolve(ctx context.Context, req Request) (*Result, error) {
	return Default().Resolve(ctx, req)
}

// Resolve finds the credential for req.
func (r *Resolver) Resolve(ctx context.Context, req Request) (*Result, error) {
	switch req.Method {
	case MethodToken:
		return r.resolveToken(ctx, req.Credential)
	case MethodIAM:
		role, err := r.ProbeIAMRole(ctx, req.IMDSTimeout)
		if err != nil {
			return nil, err
		}
		return &Result{Method: MethodIAM, Source: "imds", Location: role.Endpoint, Role: role.Name, Took: role.Took}, nil
	default:
		return nil, fmt.Errorf("unknown authentication method %q", req.Method)
	}
}

func (r *Resolver) resolveToken(ctx context.Context, id string) (*Result, error) {
	start := time.Now()
	var places []string
	for _, src := range r.TokenSources {
		found, err := src.Lookup(ctx, id)
		if errors.Is(err, authsrc.ErrNotFound) {
			places = append(places, src.Places(id)...)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("credential %q: %s: %w", id, src.Name(), err)
		}
		token, err := CheckToken(found.Value)
		if err != nil {
			return nil, fmt.Errorf("credential %q from %s: %w", id, found.Location, err)
		}
		return &Result{
			Method:   MethodToken,
			Token:    token,
			Source:   src.Name(),
			Location: found.Location,
			Took:     time.Since(start),
			Warnings: found.Warnings,
		}, nil
	}
	return nil, &NotFoundError{Credential: id, Places: places}
}

// NotFoundError is a miss in every source; it lists each place looked at.
type NotFoundError struct {
	Credential string
	Places     []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("credential %q not found; looked in: %s", e.Credential, strings.Join(e.Places, ", "))
}

func (e *NotFoundError) Unwrap() error { return authsrc.ErrNotFound }
