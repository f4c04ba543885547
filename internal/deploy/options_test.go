package deploy

import (
	"errors"
	"testing"

	"github.com/nodeagent/node-agent/internal/manifest"
)

// validOption is a value the agent accepts for each option a manifest may
// set; TestEveryAgentOptionIsAccepted fails for an option missing here, so
// a new agent option gets a sample with it.
var validOption = map[string]string{
	"config": "conf/Sms.Gateway.config.conf", "log": "logs", "instances": "2",
	"env": `{"K":"v"}`, "http-address": "127.0.0.1:8080", "script-args": "--mode prod",
	"node-args": "x", "run-as-user": "nobody", "run-as-group": "nogroup",
	"max-memory-restart": "512M", "graceful-shutdown": "8000", "exception-max": "2",
	"exception-time": "10000", "keepalive-time": "off", "applog-max-files": "10",
	"applog-max-size": "10M", "applog-level": "INFO", "tars-node": "tars.tarsnode.ServerObj@tcp -h 127.0.0.1 -p 19386",
	"tars-local": "tcp -h 127.0.0.1 -p 10000", "tars-monitor": "on", "tars-monitor-http-threshold": "400",
	"tars-monitor-http-seppath": "on", "metrics-address": "127.0.0.1:9100", "ready-timeout": "30000",
	"steering": "spread", "subreaper": "off", "watch": "off",
}

// TestEveryAgentOptionIsAccepted: deploy --set accepts every option the
// agent reads from a manifest with a value the agent accepts (subreaper and
// ready-timeout were refused while deploy kept its own list), refuses a
// value the agent would refuse, and refuses what is not an agent option.
func TestEveryAgentOptionIsAccepted(t *testing.T) {
	for _, k := range manifest.OptionNames {
		v, ok := validOption[k]
		if !ok {
			t.Errorf("no sample value for --%s in validOption", k)
			continue
		}
		if err := checkAgentOptions(map[string]string{k: v}); err != nil {
			t.Errorf("--set %s=%s: %v", k, v, err)
		}
	}
	for _, k := range []string{"instances", "max-memory-restart", "applog-level", "subreaper"} {
		if err := checkAgentOptions(map[string]string{k: "lots"}); err == nil {
			t.Errorf("--set %s=lots accepted", k)
		}
	}
	for _, k := range []string{"name", "main", "no-such-option", "files"} {
		if err := checkAgentOptions(map[string]string{k: "x"}); !errors.Is(err, ErrBadOption) {
			t.Errorf("--set %s=x: %v, want ErrBadOption", k, err)
		}
	}
}
