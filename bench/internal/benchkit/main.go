package benchkit

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Main runs a benchmark driver's body and exits with its code: run gets a
// context that ends at the deadline or on SIGINT, SIGTERM or SIGHUP, and
// everything registered with AtExit is cleaned up before the exit, however
// run ended. Call it last in main, after the flags are parsed.
func Main(deadline time.Duration, run func(ctx context.Context) int) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithTimeout(ctx, deadline)
	code := run(ctx)
	cancel()
	stop()
	CleanupAll()
	os.Exit(code)
}
