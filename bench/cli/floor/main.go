// Command floor is the least a Go launcher can do: start its argv as a
// child and wait. It links the same AWS SDK client as archil-launch (a
// call the linker cannot drop, never taken at run time) so that its
// binary, and so its start-up, is comparable.
package main

import (
	"context"
	"os"
	"os/exec"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

func main() {
	if len(os.Args) < 2 {
		_, _ = imds.New(imds.Options{}).GetMetadata(context.Background(), &imds.GetMetadataInput{})
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		os.Exit(1)
	}
}
