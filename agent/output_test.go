package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/agent/config"
	"github.com/nodeagent/node-agent/logs"
)

// TestOpenOutputLayout checks the log file layout of SPEC §9.
func TestOpenOutputLayout(t *testing.T) {
	cases := []struct{ name, app, agent string }{
		{"Sms.Gateway", "Sms/Gateway/Sms.Gateway.log", "Sms/Gateway/Sms.Gateway_agent.log"},
		{"gateway", "gateway/gateway.log", "gateway/gateway_agent.log"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out, err := OpenOutput(&config.Config{Name: c.name, LogDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			out.App.Write(logs.Record{Time: time.Now(), PID: 7, Level: "INFO", Message: "from a worker"})
			out.Agent.Write(logs.Record{Time: time.Now(), PID: 8, Level: "INFO", Message: "from the agent"})
			out.Close()
			for file, want := range map[string]string{c.app: "|7|INFO|from a worker\n", c.agent: "|8|INFO|from the agent\n"} {
				b, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(string(b), want) || strings.Count(string(b), "\n") != 1 {
					t.Fatalf("%s holds %q, want one line ending %q", file, b, want)
				}
			}
		})
	}
}

func TestOpenOutputUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	os.WriteFile(file, nil, 0o644)
	if _, err := OpenOutput(&config.Config{Name: "A.S", LogDir: file}); err == nil {
		t.Fatal("a log root that is a file was accepted")
	}
}
