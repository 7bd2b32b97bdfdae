package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"
)

// imdsClient talks to the metadata service directly, never through a proxy.
var imdsClient = &http.Client{Transport: &http.Transport{Proxy: nil}}

// imdsBudget bounds the whole IMDSv2 probe.
const imdsBudget = 2 * time.Second

// authenticate checks the disk token, or in IAM mode (no token in the
// environment) that the instance metadata service names a role.
func (s *state) authenticate() error {
	token, ok := os.LookupEnv(tokenEnv)
	if ok {
		return s.checkToken(token)
	}
	if s.knobOn(knobIAMSkip) {
		logf("debug", "IAM mode, probe skipped (knob %s)", knobIAMSkip)
		return nil
	}
	role, err := probeIAMRole()
	if err != nil {
		return fmt.Errorf("no IAM role: %w", err)
	}
	logf("info", "IAM mode, role %s", role)
	return nil
}

// checkToken compares token with $STATE/expect-token, byte for byte. Without
// that file any non-empty token is accepted; an empty one never is. The
// token is never printed.
func (s *state) checkToken(token string) error {
	if token == "" {
		return errors.New("authentication failed")
	}
	want, err := os.ReadFile(s.path("expect-token"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("failed to read expected token: %w", err)
	case !bytes.Equal(want, []byte(token)):
		return errors.New("authentication failed")
	}
	return nil
}

// probeIAMRole asks IMDSv2 for the instance profile's role name.
func probeIAMRole() (string, error) {
	if strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		return "", errors.New("metadata service disabled by AWS_EC2_METADATA_DISABLED")
	}
	endpoint := os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")
	if endpoint == "" {
		endpoint = "http://169.254.169.254"
	}
	endpoint = strings.TrimRight(endpoint, "/")
	ctx, cancel := context.WithTimeout(context.Background(), imdsBudget)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPut, endpoint+"/latest/api/token", nil)
	if err != nil {
		return "", fmt.Errorf("bad metadata endpoint: %w", err)
	}
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "21600")
	imdsToken, err := fetch(req)
	if err != nil {
		return "", fmt.Errorf("failed to get IMDSv2 token: %w", err)
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/latest/meta-data/iam/security-credentials/", nil)
	if err != nil {
		return "", fmt.Errorf("bad metadata endpoint: %w", err)
	}
	req.Header.Set("X-aws-ec2-metadata-token", imdsToken)
	body, err := fetch(req)
	if err != nil {
		return "", fmt.Errorf("failed to list IAM roles: %w", err)
	}
	role, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
	if role == "" {
		return "", errors.New("no role attached to the instance")
	}
	return role, nil
}

// fetch runs req and returns the body of a 200 answer.
func fetch(req *http.Request) (string, error) {
	resp, err := imdsClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("failed to read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %s", resp.Status)
	}
	return string(body), nil
}
