// Command hello is the service fixture of the deploy tests: a plain binary
// that prints its stamped version and, with -serve ADDR, answers /healthz.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
)

var version = "unset"

func main() {
	serve := flag.String("serve", "", "listen address")
	flag.Parse()
	if *serve == "" {
		fmt.Println("hello", version)
		return
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok", version) })
	if err := http.ListenAndServe(*serve, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
