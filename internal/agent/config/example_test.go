package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nodeagent/node-agent/internal/agent/config"
)

// Options may follow ENTRY; arguments after -- go to the workers.
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "gateway"), []byte("#!/bin/sh\n"), 0o755)

	cfg, err := config.Load(
		[]string{"./gateway", "-i", "4", "--keepalive-time", "off", "--", "--port", "8080"},
		config.LoadOptions{Dir: dir},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Name, cfg.Instances, cfg.KeepaliveTime, cfg.WorkerArgs)

	_, err = config.Load([]string{"./gateway", "-i", "0"}, config.LoadOptions{Dir: dir})
	var usage *config.UsageError
	fmt.Println(errors.As(err, &usage), err)
	// Output:
	// gateway 4 0s [--port 8080]
	// true --instances: bad value "0": want a number from 1 to 4096, auto or max
}
