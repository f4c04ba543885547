package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// runSign is `gateway sign`: it prints the Authorization header of one
// request, for curl:
//
//	gateway sign [-app ID] [-secret-file FILE] [-d BODY | -body-file FILE] METHOD PATH
//
// PATH is the request target ("/api/sms/send") or a whole URL. Without
// -secret-file the default application's file in $SMS_DATA_DIR is used.
// It returns the exit code: 2 for a usage error, 1 for an unreadable
// secret.
func runSign(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gateway sign [-app ID] [-secret-file FILE] [-d BODY | -body-file FILE] METHOD PATH")
		fs.PrintDefaults()
	}
	dataDir := getenv(sms.EnvDataDir)
	if dataDir == "" {
		dataDir = sms.DefaultDataDir()
	}
	app := fs.String("app", auth.DefaultAppID, "application id")
	secretFile := fs.String("secret-file", auth.DefaultSecretFile(dataDir), "file holding the application's secret (mode 0600)")
	body := fs.String("d", "", "the request body, exactly as sent")
	bodyFile := fs.String("body-file", "", "file holding the request body (- for standard input)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 || (*body != "" && *bodyFile != "") {
		fs.Usage()
		return 2
	}
	target, err := requestTarget(fs.Arg(1))
	if err != nil {
		fmt.Fprintln(stderr, "gateway sign:", err)
		return 2
	}
	data := []byte(*body)
	if *bodyFile != "" {
		if data, err = readBody(*bodyFile); err != nil {
			fmt.Fprintln(stderr, "gateway sign:", err)
			return 1
		}
	}
	secret, err := provider.ReadPrivateFile(*secretFile)
	if err != nil {
		fmt.Fprintln(stderr, "gateway sign:", err)
		return 1
	}
	req := auth.Request{Method: strings.ToUpper(fs.Arg(0)), Target: target, Body: data}
	fmt.Fprintln(stdout, auth.HeaderAuthorization+": "+auth.Authorization(*app, bytes.TrimSpace(secret), time.Now(), auth.NewNonce(), req))
	return 0
}

// requestTarget returns the escaped path and query of raw, a path or a URL.
func requestTarget(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !strings.HasPrefix(u.EscapedPath(), "/") {
		return "", fmt.Errorf("%q: want a path such as /api/sms/send, or a URL", raw)
	}
	target := u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	return target, nil
}

func readBody(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}
