package authsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Environment variables the AWS SDKs define for the metadata service.
const (
	envIMDSDisabled     = "AWS_EC2_METADATA_DISABLED"
	envIMDSEndpoint     = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
	envIMDSEndpointMode = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"
	defaultIMDSEndpoint = "http://169.254.169.254"
	defaultIMDSv6       = "http://[fd00:ec2::254]"
)

// Role is the answer of an IAM role probe.
type Role struct {
	Name     string
	Endpoint string
	Took     time.Duration
}

// ProbeIAMRole asks the metadata service, IMDSv2 only, which IAM role the
// instance has. It is a precheck: the client does its own IAM work. The
// whole probe, token included, gets budget; the SDK's retries and its
// IMDSv1 fallback are off so a machine that is not on EC2 is told so
// within the budget, not after the SDK's ~5 s of retries.
func ProbeIAMRole(ctx context.Context, budget time.Duration) (*Role, error) {
	start := time.Now()
	endpoint := IMDSEndpoint()
	if v := os.Getenv(envIMDSDisabled); strings.EqualFold(v, "true") {
		return nil, fmt.Errorf("metadata service disabled by %s=%s", envIMDSDisabled, v)
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	rec := &statusRecorder{client: directHTTPClient()}
	opts := imds.Options{
		Endpoint:          endpoint,
		Retryer:           aws.NopRetryer{},
		EnableFallback:    aws.FalseTernary,
		ClientEnableState: imds.ClientEnabled,
		HTTPClient:        rec,
	}
	name, err := listRole(ctx, imds.New(opts))
	if err != nil && rec.roleStatus == http.StatusUnauthorized {
		// The session token expired or was revoked between the PUT and the
		// GET: one more try with a fresh token, inside the same budget.
		rec.tokenStatus, rec.roleStatus = 0, 0
		name, err = listRole(ctx, imds.New(opts))
	}
	took := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("IAM role probe at %s failed after %s: %w", endpoint, took.Round(time.Millisecond), rec.explain(ctx, err, budget))
	}
	return &Role{Name: name, Endpoint: endpoint, Took: took}, nil
}

// IMDSEndpoint is where ProbeIAMRole asks: the SDK's endpoint variable,
// else the IPv4 or IPv6 address the endpoint-mode variable picks.
func IMDSEndpoint() string {
	if v := os.Getenv(envIMDSEndpoint); v != "" {
		return v
	}
	if strings.EqualFold(os.Getenv(envIMDSEndpointMode), "IPv6") {
		return defaultIMDSv6
	}
	return defaultIMDSEndpoint
}

func listRole(ctx context.Context, client *imds.Client) (string, error) {
	out, err := client.GetMetadata(ctx, &imds.GetMetadataInput{Path: "iam/security-credentials/"})
	if err != nil {
		return "", err
	}
	defer out.Content.Close()
	body, err := io.ReadAll(io.LimitReader(out.Content, 4096))
	if err != nil {
		return "", fmt.Errorf("failed to read the role list: %w", err)
	}
	name, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if name = strings.TrimSpace(name); name == "" {
		return "", errNoRole
	}
	return name, nil
}

var errNoRole = errors.New("no IAM role attached to this instance (attach an instance profile whose role may use the disk)")

// statusRecorder remembers the HTTP status of the token and role requests:
// the SDK wraps some errors in a type that hides the status from errors.As,
// and the status is what tells the operator what is wrong.
type statusRecorder struct {
	client      *http.Client
	tokenStatus int
	roleStatus  int
	sendErr     error // the transport's own error, unwrapped by the SDK's
}

func (s *statusRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		s.sendErr = err
	} else {
		if req.Method == http.MethodPut {
			s.tokenStatus = resp.StatusCode
		} else {
			s.roleStatus = resp.StatusCode
		}
	}
	return resp, err
}

// directHTTPClient never uses HTTP_PROXY: the metadata service is link-local
// and a proxy would see the session token.
func directHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:             nil,
		DialContext:       (&net.Dialer{}).DialContext,
		DisableKeepAlives: true,
	}}
}

// explain turns an SDK error into the reason an operator can act on.
func (s *statusRecorder) explain(ctx context.Context, err error, budget time.Duration) error {
	switch {
	case errors.Is(err, errNoRole):
		return err
	case s.tokenStatus != 0 && s.tokenStatus != http.StatusOK:
		return fmt.Errorf("the metadata service refused an IMDSv2 session token (HTTP %d): IMDSv2 disabled or blocked", s.tokenStatus)
	case s.roleStatus == http.StatusNotFound:
		return fmt.Errorf("%w (HTTP 404)", errNoRole)
	case s.roleStatus == http.StatusUnauthorized:
		return errors.New("the metadata service rejected its own session token (HTTP 401)")
	case s.roleStatus != 0 && s.roleStatus != http.StatusOK:
		return fmt.Errorf("the metadata service answered HTTP %d", s.roleStatus)
	case errors.Is(s.sendErr, syscall.ECONNREFUSED):
		return errors.New("no metadata service: connection refused (not on EC2?)")
	case errors.Is(s.sendErr, syscall.ENETUNREACH), errors.Is(s.sendErr, syscall.EHOSTUNREACH):
		return errors.New("no metadata service: network unreachable (not on EC2?)")
	case errors.Is(ctx.Err(), context.Canceled):
		return errors.New("probe cancelled")
	case ctx.Err() != nil:
		return fmt.Errorf("no answer within %s (not on EC2, or the IMDSv2 token answer cannot reach this host: a hop limit of 1 blocks containers)", budget)
	default:
		return fmt.Errorf("metadata service unusable: %w", err)
	}
}
