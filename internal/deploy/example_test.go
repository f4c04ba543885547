package deploy_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nodeagent/node-agent/internal/deploy"
)

// Build a package for linux/arm64 from ./cmd/gateway with a matching agent,
// then check it as tarsnode's operator would before uploading.
func ExampleBuild() {
	res, err := deploy.Build(context.Background(), deploy.Options{
		Name:         "GatewayServer",
		Dir:          "./cmd/gateway",
		GOOS:         "linux",
		GOARCH:       "arm64",
		Agent:        "./dist/node-agent-linux-arm64",
		Include:      []string{"conf"},
		AgentOptions: map[string]string{"instances": "4"},
	})
	if err != nil {
		log.Fatal(err) // one line, e.g. "include: conf: no such file or directory …"
	}
	m, err := deploy.VerifyFile(res.Path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Path, res.SHA256, m.Version, len(m.Files))
}
