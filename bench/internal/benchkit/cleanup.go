package benchkit

import (
	"context"
	"sync"
)

// cleanups are the cleanups registered in one Run, not run yet.
type cleanups struct {
	mu  sync.Mutex
	fs  map[int]func()
	seq int
}

// cleanupsKey is the context key of the Run's cleanups.
type cleanupsKey struct{}

// AtExit registers f to run when the Run that made ctx (or its parent)
// ends, unless the returned func is called first (which runs f and
// unregisters it; later calls do nothing). It panics when ctx does not
// come from Run: a cleanup nobody would run is a bug of the driver.
func AtExit(ctx context.Context, f func()) (run func()) {
	c, ok := ctx.Value(cleanupsKey{}).(*cleanups)
	if !ok {
		panic("benchkit.AtExit: the context does not come from benchkit.Run")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	id := c.seq
	c.fs[id] = f
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			delete(c.fs, id)
			c.mu.Unlock()
			f()
		})
	}
}

// runAll runs every registered cleanup not run yet.
func (c *cleanups) runAll() {
	c.mu.Lock()
	fs := make([]func(), 0, len(c.fs))
	for _, f := range c.fs {
		fs = append(fs, f)
	}
	c.fs = map[int]func(){}
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
}
