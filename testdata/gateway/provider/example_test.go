package provider_test

import (
	"context"
	"fmt"
	"os"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

// A gateway loads its config once, builds the router, and sends each
// message with bounded, backed-off attempts.
func Example() {
	cfg, err := provider.LoadConfig("testdata/simulated.toml")
	if err != nil {
		fmt.Println(err) // FILE:LINE: KEY: problem
		return
	}
	router, receipts, err := provider.Build(cfg, provider.BuildOptions{Getenv: os.Getenv})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("providers:", router.Describe(), "receipt endpoints:", len(receipts))

	m := cfg.Message("msg-1", "+8613800138000", "verify_code", map[string]string{"code": "4711"}, "Your code is 4711")
	res, attempts, err := provider.Deliver(context.Background(), router, cfg.Retry, m, nil, nil)
	fmt.Println(res.Provider, attempts > 0, err == nil || provider.IsRetryable(err))
	// Output:
	// providers: sim(simulated) receipt endpoints: 0
	// sim true true
}
