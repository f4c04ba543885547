package benchkit

import "sync"

var (
	cleanMu  sync.Mutex
	cleanups = map[int]func(){}
	cleanSeq int
)

// AtExit registers f to run at CleanupAll unless the returned func is
// called first (which runs f and unregisters it; later calls do nothing).
func AtExit(f func()) (run func()) {
	cleanMu.Lock()
	defer cleanMu.Unlock()
	cleanSeq++
	id := cleanSeq
	cleanups[id] = f
	var once sync.Once
	return func() {
		once.Do(func() {
			cleanMu.Lock()
			delete(cleanups, id)
			cleanMu.Unlock()
			f()
		})
	}
}

// CleanupAll runs every registered cleanup not run yet.
func CleanupAll() {
	cleanMu.Lock()
	fs := make([]func(), 0, len(cleanups))
	for _, f := range cleanups {
		fs = append(fs, f)
	}
	cleanups = map[int]func(){}
	cleanMu.Unlock()
	for _, f := range fs {
		f()
	}
}
