package authsrc

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// The probe's cost against each kind of endpoint, next to the SDK's
// defaults (retries, IMDSv1 fallback, 5 s operation timeout) in the same
// run. Run with: go test ./authsrc -run '^$' -bench Probe -benchtime 3x
func BenchmarkProbe(b *testing.B) {
	endpoints := []struct {
		name  string
		setup func(testing.TB) string
	}{
		{"blackhole", blackhole},
		{"closed-port", closedPort},
		{"metadata-mock", func(t testing.TB) string { startMetadataMock(t); return IMDSEndpoint() }},
	}
	for _, ep := range endpoints {
		b.Run(ep.name+"/tuned", func(b *testing.B) {
			b.Setenv(envIMDSEndpoint, ep.setup(b))
			for i := 0; i < b.N; i++ {
				_, err := ProbeIAMRole(context.Background(), time.Second)
				if ep.name == "metadata-mock" && err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(ep.name+"/sdk-defaults", func(b *testing.B) {
			endpoint := ep.setup(b)
			for i := 0; i < b.N; i++ {
				client := imds.New(imds.Options{Endpoint: endpoint})
				out, err := client.GetMetadata(context.Background(), &imds.GetMetadataInput{Path: "iam/security-credentials/"})
				if err == nil {
					out.Content.Close()
				}
			}
		})
	}
}
