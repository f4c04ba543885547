// Command gateway is node-agent's reference workload, a small SMS gateway.
// See doc.go.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/testdata/gateway/auth"
	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// DefaultAddr is where a standalone gateway listens when neither PORT nor
// -addr / GATEWAY_ADDR say otherwise.
const DefaultAddr = "127.0.0.1:8080"

// EnvAddr is the environment alternative to -addr.
const EnvAddr = "GATEWAY_ADDR"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sign" {
		os.Exit(runSign(os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stderr))
}

// EnvAuth turns authentication off: SMS_AUTH=off, refused unless the
// gateway listens on loopback only.
const EnvAuth = "SMS_AUTH"

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
	appsFile := fs.String("apps", os.Getenv(auth.EnvApps), "applications file: who may send, their secrets, templates and quotas (env "+auth.EnvApps+"); none means the default application, created at the first start")
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
	paths := tarsPathsFrom(os.Getenv)
	paths.storeAndData(&cfg)
	authOpts, err := authOptions(paths.inBase(*appsFile), os.Getenv(EnvAuth))
	if err != nil {
		fmt.Fprintln(stderr, "gateway:", err)
		return 2
	}
	sms.SilenceRedisLogs() // the store's errors are logged once, by the gateway
	// A plain file name is pulled from the TARS config center, through the
	// agent, once connected; any other file is read before.
	pull := *configFile != "" && filepath.Base(*configFile) == *configFile
	var ps *providers
	if *configFile != "" && !pull {
		*configFile = paths.inBase(*configFile)
		if ps, err = loadProviders(*configFile, os.Getenv); err != nil {
			fmt.Fprintln(stderr, "gateway:", err)
			return 2
		}
	}

	w, err := container.Open()
	if err != nil {
		fmt.Fprintln(stderr, "gateway:", err)
		return 1
	}
	defer w.Close()
	if pull {
		if *configFile, err = paths.pullConfig(w, *configFile, w.Logger()); err != nil {
			w.Logger().Error("gateway: " + err.Error())
			return 1
		}
		if ps, err = loadProviders(*configFile, os.Getenv); err != nil {
			fmt.Fprintln(stderr, "gateway:", err)
			return 2
		}
	}
	if ps != nil {
		cfg = ps.smsConfig(cfg)
	}
	hooks := processHooks()
	hooks.Auth = authOpts
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
	if hooks.Auth == nil {
		if !loopbackOnly(ln.Addr()) {
			log.Error("gateway: " + EnvAuth + "=off is refused: the gateway listens on " + ln.Addr().String() + ", not on loopback only")
			return 2
		}
		log.Warn("gateway: " + EnvAuth + "=off: requests are not authenticated; any local process can send")
	}
	w.Ready()
	if err := g.Serve(ln, w.Done()); err != nil {
		log.Error("gateway: " + err.Error())
		return 1
	}
	return 0
}

// authOptions returns the authentication of the gateway: nil when mode
// (SMS_AUTH) is "off", else the applications of appsFile, or none (the
// default application) without one.
func authOptions(appsFile, mode string) (*auth.Options, error) {
	switch mode {
	case "off":
		return nil, nil
	case "", "on":
	default:
		return nil, fmt.Errorf("%s=%q: want on or off", EnvAuth, mode)
	}
	if appsFile == "" {
		return &auth.Options{}, nil
	}
	apps, err := auth.LoadApps(appsFile, slices.Sorted(maps.Keys(sms.BuiltinTemplates())))
	if err != nil {
		return nil, err
	}
	return &auth.Options{Apps: apps}, nil
}

// loopbackOnly reports whether a listens on a loopback address (or a unix
// socket) only.
func loopbackOnly(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}
