// Command upgradebad is a broken new agent binary for the upgrade-in-place
// tests, its failure stamped at build time with -ldflags "-X main.mode=M":
//
//   - exit: exits with code 3 at start, whatever it is asked;
//   - hang: never answers anything;
//   - hang-check: answers --version like node-agent, then hangs in the
//     hand-over check;
//   - vanish: passes both checks, then removes itself, so that the
//     agent's exec fails (the hand-over's last refusal).
package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

var mode = "exit"

func main() {
	switch {
	case mode == "hang":
		hang()
	case mode == "hang-check" && len(os.Args) > 1 && os.Args[1] == "--version":
		fmt.Println("node-agent 9.9.9-hangs")
		return
	case mode == "hang-check":
		hang()
	case mode == "vanish" && len(os.Args) > 1 && os.Args[1] == "--version":
		fmt.Println("node-agent 9.9.9-vanish")
		return
	case mode == "vanish":
		io.Copy(io.Discard, os.Stdin)
		os.Remove(os.Args[0])
		fmt.Println("ok 9.9.9-vanish")
		return
	}
	fmt.Fprintln(os.Stderr, "upgradebad: failing at start")
	os.Exit(3)
}

// hang never returns (select{} alone would be a detected deadlock).
func hang() {
	for {
		time.Sleep(time.Hour)
	}
}
