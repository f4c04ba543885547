// Command gateway is node-agent's reference workload, a small SMS gateway.
// See doc.go.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// DefaultAddr is where a standalone gateway listens when neither PORT nor
// -addr / GATEWAY_ADDR say otherwise.
const DefaultAddr = "127.0.0.1:8080"

// EnvAddr is the environment alternative to -addr.
const EnvAddr = "GATEWAY_ADDR"

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is the whole program; it returns the exit code.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := DefaultAddr
	if v := os.Getenv(EnvAddr); v != "" {
		def = v
	}
	addr := fs.String("addr", def, "listen address when the agent gives none and PORT is unset (env "+EnvAddr+")")
	store := fs.String("store", os.Getenv(sms.EnvStore), "message store: sqlite (default, in $"+sms.EnvDataDir+"), sqlite:PATH or redis://HOST:PORT/DB (env "+sms.EnvStore+")")
	configFile := fs.String("config", os.Getenv(provider.EnvConfig), "provider config file: providers, templates, retry policy, rate limit (env "+provider.EnvConfig+"); none means the simulated provider")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := sms.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "gateway:", err)
		return 2
	}
	cfg.Store = *store
	sms.SilenceRedisLogs() // the store's errors are logged once, by the gateway
	var ps *providers
	if *configFile != "" {
		if ps, err = loadProviders(*configFile, os.Getenv); err != nil {
			fmt.Fprintln(stderr, "gateway:", err)
			return 2
		}
		cfg = ps.smsConfig(cfg)
	}

	w, err := container.Open()
	if err != nil {
		fmt.Fprintln(stderr, "gateway:", err)
		return 1
	}
	defer w.Close()
	hooks := processHooks()
	if ps != nil {
		if err := ps.reportTo(w); err != nil {
			fmt.Fprintln(stderr, "gateway:", err)
			return 1
		}
		hooks.Provider = ps
		if len(ps.receipts) > 0 {
			hooks.Receipts = ps
		}
		w.Handle("sms.providers", func(string) string {
			b, _ := json.Marshal(ps.adminStats())
			return string(b)
		})
	}
	return serve(w, cfg, *addr, hooks, *configFile)
}

// describeProviders is the start log line's provider list: the configured
// failover order, else the built-in default.
func describeProviders(ps *providers, cfg sms.Config) string {
	switch {
	case ps != nil:
		return ps.router.Describe()
	case cfg.ProviderURL != "":
		return "simulated (provider service at " + cfg.ProviderURL + ")"
	}
	return "simulated (in-process; no -config file)"
}

// processHooks are the process actions of the fault switches.
func processHooks() sms.Hooks {
	return sms.Hooks{
		Exit:          os.Exit,
		Stop:          func() { syscall.Kill(os.Getpid(), syscall.SIGSTOP) },
		IgnoreSignals: func() { signal.Ignore(syscall.SIGTERM) },
	}
}

// serve runs the gateway as worker w until w.Done closes and the gateway has
// drained, and returns the exit code. addr is the listen address used when w
// has none (standalone without PORT).
func serve(w *container.Worker, cfg sms.Config, addr string, hooks sms.Hooks, configFile string) int {
	log := w.Logger()
	cfg.WorkerID = w.WorkerID()
	hooks.Middleware = w.MonitorHTTP // request stats for the agent, when it asks for them
	hooks.Metrics = newProperties(w)
	g, err := sms.New(cfg, log, hooks)
	if err != nil {
		log.Error("gateway: " + err.Error())
		return 1
	}
	ps, _ := hooks.Provider.(*providers)
	if ps != nil {
		if err := ps.attach(g, log); err != nil {
			log.Error("gateway: " + err.Error())
			return 1
		}
	}
	log.Info("gateway: providers: " + describeProviders(ps, cfg))
	if configFile != "" {
		reloadConfigOn(w, configFile, g, log)
	}
	w.Handle("sms.stats", func(string) string {
		b, _ := json.Marshal(g.Stats())
		return string(b)
	})

	// The agent's --http-address, else PORT standalone, else addr: through
	// w.Listen, so that under an agent without --http-address the agent
	// binds addr once and every worker shares it.
	ln, err := w.Listen("tcp", "")
	if errors.Is(err, container.ErrNoAddress) {
		ln, err = w.Listen("tcp", addr)
	}
	if err != nil {
		log.Error("gateway: listen: " + err.Error())
		return 1
	}
	w.Ready()
	if err := g.Serve(ln, w.Done()); err != nil {
		log.Error("gateway: " + err.Error())
		return 1
	}
	return 0
}
