package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/internal/agent"
	"github.com/nodeagent/node-agent/tars"
)

// Exit codes of `ctl`: 1 when the agent cannot be reached or answers an
// error (preheatCheck: anything but "success"), 2 when the invocation must
// change.
const (
	ctlExitFailure = 1
	ctlExitUsage   = 2
)

const ctlUsage = `usage: node-agent ctl [--local ENDPOINT | -c CONF] [--timeout D] COMMAND [ARGS...]

Sends an admin command to a running agent over TARS AdminF and prints the reply.
"shutdown" calls AdminF.shutdown; anything else is AdminF.notify("COMMAND ARGS...").

  --local ENDPOINT   the agent's --tars-local endpoint, e.g. "tcp -h 127.0.0.1 -p 10000 -t 3000"
  -c, --config CONF  take the endpoint from the TARS config (<tars><application><server>local)
  --timeout D        how long to wait for the reply (default: the endpoint's -t, else 3s);
                     raise it for slow commands such as agent.reload

Commands: tars.viewversion, tars.viewstatus, tars.setloglevel LEVEL, tars.loadconfig FILE,
tars.connection, preheatCheck, agent.status, agent.reload, agent.scale N, shutdown, or any
custom command the workers handle. A command forwarded to the workers gathers their answers
until shortly before --timeout, so a slow worker yields a partial reply.

Exit status: 0 when the agent answered; 1 when it answered an error (a failed reload, a bad
argument, a worker that failed or did not answer in time; preheatCheck: not ready; a command
nobody handles, "COMMAND not support now!", which AdminF answers with return 0 as TarsGo does)
or could not be reached; 2 on usage errors.
`

// ctlUsageError is an invocation error (exit 2).
type ctlUsageError struct{ msg string }

func (e *ctlUsageError) Error() string { return e.msg }

func ctlUsagef(format string, args ...any) error {
	return &ctlUsageError{fmt.Sprintf(format, args...)}
}

// ctlRequest is a parsed `ctl` invocation.
type ctlRequest struct {
	endpoint tars.Endpoint
	timeout  time.Duration
	command  string // "shutdown", or the notify command with its data
}

// runCtl runs `node-agent ctl ARGS`; args follow "ctl". It prints the
// reply on stdout, or one line on stderr, and returns the exit code.
func runCtl(args []string, stdout, stderr io.Writer) int {
	req, err := parseCtl(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, ctlUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "node-agent ctl: %v (see node-agent ctl --help)\n", err)
		return ctlExitUsage
	}
	reply, err := req.send()
	if err == nil && notSupported(req.command, reply) {
		err = errors.New(reply)
	}
	if err != nil {
		fmt.Fprintf(stderr, "node-agent ctl: %v\n", err)
		return ctlExitFailure
	}
	if reply != "" {
		fmt.Fprint(stdout, reply)
		if !strings.HasSuffix(reply, "\n") {
			fmt.Fprintln(stdout)
		}
	}
	// The agent answers preheatCheck "success" or "not ready" as a
	// successful reply, as the TARS platform expects; ctl turns "not
	// ready" into exit 1 so scripts can loop on the exit status.
	if req.command == agent.CmdPreheat && reply != "success" {
		return ctlExitFailure
	}
	return 0
}

// notSupportedSuffix ends the reply of a TarsGo server, and of the agent
// over AdminF, to a command nobody handles.
const notSupportedSuffix = " not support now!"

// notSupported reports whether reply is the answer to an unknown command:
// "COMMAND not support now!", one line. Over AdminF that answer has return
// 0, as TarsGo sends it (the admin registry counts non-zero as a failed
// task), so ctl recognises it by its words, which are the same from a
// TarsGo server and from the agent; ctl reports it as an error. (The
// control socket answers the same command with a typed error.)
func notSupported(command, reply string) bool {
	name, _, _ := strings.Cut(strings.TrimSpace(command), " ")
	return !strings.Contains(reply, "\n") && strings.HasPrefix(reply, name) && strings.HasSuffix(reply, notSupportedSuffix)
}

func parseCtl(args []string) (*ctlRequest, error) {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var local, conf string
	var timeout time.Duration
	fs.StringVar(&local, "local", "", "")
	fs.StringVar(&conf, "c", "", "")
	fs.StringVar(&conf, "config", "", "")
	fs.DurationVar(&timeout, "timeout", 0, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &ctlUsageError{err.Error()}
	}
	words := fs.Args()
	switch {
	case len(words) == 0:
		return nil, ctlUsagef("no command given")
	case local != "" && conf != "":
		return nil, ctlUsagef("give --local or -c, not both")
	case local == "" && conf == "":
		return nil, ctlUsagef("give the agent's endpoint with --local ENDPOINT or -c CONF")
	case timeout < 0:
		return nil, ctlUsagef("--timeout %v is negative", timeout)
	case words[0] == tars.FuncShutdown && len(words) > 1:
		return nil, ctlUsagef("shutdown takes no arguments")
	}
	where := "--local"
	if conf != "" {
		c, err := tars.LoadConfig(conf)
		if err != nil {
			return nil, ctlUsagef("-c: %v", err)
		}
		var ok bool
		if local, ok = c.Get("/tars/application/server", "local"); !ok || strings.TrimSpace(local) == "" {
			return nil, ctlUsagef("-c %s: no <tars><application><server>local endpoint: the agent serves no admin port", conf)
		}
		where = "-c " + conf + ": local"
	}
	ep, err := parseCtlEndpoint(local)
	if err != nil {
		return nil, ctlUsagef("%s: %v", where, err)
	}
	if timeout == 0 {
		timeout = ep.TimeoutOrDefault()
	}
	return &ctlRequest{endpoint: ep, timeout: timeout, command: strings.Join(words, " ")}, nil
}

// parseCtlEndpoint accepts an endpoint ("tcp -h H -p P") or a proxy with one
// ("AdminObj@tcp -h H -p P"), tcp only.
func parseCtlEndpoint(s string) (tars.Endpoint, error) {
	var ep tars.Endpoint
	if strings.Contains(s, "@") {
		p, err := tars.ParseProxy(s)
		if err != nil {
			return ep, err
		}
		ep = p.Endpoints[0]
	} else {
		var err error
		if ep, err = tars.ParseEndpoint(s); err != nil {
			return ep, err
		}
	}
	if ep.Protocol != "tcp" {
		return ep, fmt.Errorf("endpoint %q: the admin port is served over tcp only", s)
	}
	return ep, nil
}

// send makes the call and turns its errors into one-line messages.
func (r *ctlRequest) send() (string, error) {
	client, err := tars.NewClient(tars.ServantAdmin+"@"+r.endpoint.String(), tars.ClientOptions{Timeout: r.timeout})
	if err != nil {
		return "", err
	}
	defer client.Close()
	fn := tars.FuncNotify
	var res tars.StringResult
	if r.command == tars.FuncShutdown {
		fn = tars.FuncShutdown
		err = client.Invoke(context.Background(), fn, &tars.NoArgs{}, nil)
	} else {
		err = client.Invoke(context.Background(), fn, &tars.NotifyArgs{Command: r.command}, &res)
	}
	at := r.endpoint.String()
	if err == nil && fn == tars.FuncShutdown {
		return "shutdown requested: the agent at " + at + " stops its workers gracefully, then exits", nil
	}
	if err == nil {
		return res.Ret, nil
	}
	var remote *tars.RemoteError
	var op *net.OpError
	switch {
	case errors.As(err, &remote) && (remote.Code == tars.InvokeTimeout || remote.Code == tars.ServerQueueTimeout):
		return "", fmt.Errorf("no answer from the agent at %s within %v (raise --timeout for slow commands)", at, r.timeout)
	case errors.As(err, &remote):
		desc := remote.Desc
		if desc == "" {
			desc = "no description"
		}
		return "", fmt.Errorf("the agent at %s answered %s with error %d: %s", at, fn, remote.Code, desc)
	case errors.Is(err, context.DeadlineExceeded):
		return "", fmt.Errorf("no answer from the agent at %s within %v (raise --timeout for slow commands)", at, r.timeout)
	case errors.Is(err, tars.ErrUnavailable) && errors.As(err, &op):
		return "", fmt.Errorf("cannot reach the agent at %s: %v", at, op)
	case errors.Is(err, tars.ErrUnavailable):
		return "", fmt.Errorf("cannot reach the agent at %s: %v", at, err)
	case errors.Is(err, tars.ErrConnLost):
		return "", fmt.Errorf("the connection to the agent at %s broke before it answered %s: %v", at, fn, err)
	}
	return "", err
}
