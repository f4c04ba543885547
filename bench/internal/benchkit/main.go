package benchkit

import (
	"context"
	"os/signal"
	"syscall"
	"time"
)

// Run runs a benchmark driver's body and returns its exit code: run gets a
// context that ends at the deadline or on SIGINT, SIGTERM or SIGHUP, and
// everything registered with AtExit(ctx, …) is cleaned up before Run returns,
// however run ended. Call it last in main, after the flags are parsed:
// os.Exit(benchkit.Run(...)).
func Run(deadline time.Duration, run func(ctx context.Context) int) int {
	c := &cleanups{fs: map[int]func(){}}
	ctx, stop := signal.NotifyContext(context.WithValue(context.Background(), cleanupsKey{}, c), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithTimeout(ctx, deadline)
	code := run(ctx)
	cancel()
	stop()
	c.runAll()
	return code
}
