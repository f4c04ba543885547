package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is the quiet period after the last change before the
// watcher acts (Config.Debounce).
const DefaultDebounce = 300 * time.Millisecond

// BuildFunc builds the entry from its sources and returns the path of the
// executable. It runs on its own goroutine, one at a time; ctx is canceled
// by Close. An error should carry the first lines of the compiler output.
type BuildFunc func(ctx context.Context) (path string, err error)

// Config says what to watch. The zero value watches nothing; fill it from
// the agent's config.Config:
//
//	watch.Config{
//		Entry:      cfg.Entry.Path,
//		SourceDir:  cfg.Entry.SourceDir,
//		Build:      build, // with SourceDir: rebuilds cfg.Entry.SourceDir
//		ConfigFile: cfg.TarsConfig,
//		Ignore:     []string{cfg.LogDir},
//	}
type Config struct {
	// Entry is the absolute path of the executable the workers run. When
	// SourceDir is "", it is watched: replacing it yields BinaryChanged.
	// With SourceDir, it is the current build, and a build that yields the
	// same path (the sources' content did not change) yields no event.
	Entry string
	// SourceDir is the absolute directory of the entry's Go main package,
	// or "" when the entry is a ready-made executable. Changes to the files
	// of its module (the directory of go.mod and everything below but
	// nested modules, testdata and hidden directories) call Build.
	SourceDir string
	// Build rebuilds the entry; required with SourceDir.
	Build BuildFunc
	// ConfigFile is the absolute path of the TARS config file, or "".
	ConfigFile string
	// Ignore are absolute paths (directories or files) whose changes never
	// trigger a build: put the log directory here when it lies inside the
	// module.
	Ignore []string
	// Debounce is the quiet period after the last change before the watcher
	// acts: a burst of writes and renames yields one event. A file written
	// in place must also stay unchanged for one more period before it is
	// reported. 0 means DefaultDebounce.
	Debounce time.Duration
}

// Watcher reports changes to the entry, its sources and the config file as
// Events. Create it with New, stop it with Close.
type Watcher struct {
	cfg    Config
	fs     *fsnotify.Watcher
	events chan Event
	quit   chan struct{}
	done   chan struct{}
	close  sync.Once

	// Owned by run's goroutine from New on.
	binary, config *fileTarget
	src            *sourceTree
	srcTimer       *time.Timer
	current        string // the latest build of the sources
	building       bool
	dirty          bool // sources changed during the build
	builds         chan buildResult
	buildStop      context.CancelFunc
	buildWG        sync.WaitGroup
	pending        []Event
	watched        map[string]bool
}

type buildResult struct {
	path string
	err  error
}

// New starts watching as cfg says. It fails when a file to watch does not
// exist or a directory cannot be watched (the inotify watch limit,
// fs.inotify.max_user_watches, for a very large module).
func New(cfg Config) (*Watcher, error) {
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.SourceDir != "" && cfg.Build == nil {
		return nil, errors.New("watch: SourceDir given without a Build function")
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{
		cfg: cfg, fs: fsw,
		events:   make(chan Event),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		srcTimer: stoppedTimer(),
		current:  cfg.Entry,
		builds:   make(chan buildResult, 1),
		watched:  map[string]bool{},
	}
	if err := w.setup(); err != nil {
		fsw.Close()
		return nil, err
	}
	go w.run()
	return w, nil
}

func (w *Watcher) setup() error {
	var err error
	if w.cfg.SourceDir != "" {
		w.src = newSourceTree(w.cfg.SourceDir, w.cfg.Ignore)
		if err := w.src.walk(w.src.root, w.add); err != nil {
			return fmt.Errorf("watch: sources of %s: %w", w.cfg.SourceDir, err)
		}
	} else if w.cfg.Entry != "" {
		if w.binary, err = newFileTarget(w.cfg.Entry); err != nil {
			return fmt.Errorf("watch: entry: %w", err)
		}
		if err := w.addDirs(w.binary); err != nil {
			return err
		}
	}
	if w.cfg.ConfigFile != "" {
		if w.config, err = newFileTarget(w.cfg.ConfigFile); err != nil {
			return fmt.Errorf("watch: config file: %w", err)
		}
		if err := w.addDirs(w.config); err != nil {
			return err
		}
	}
	return nil
}

// Events returns the channel of events. It is closed after Close. Receive
// from it promptly: the watcher keeps at most one event of each kind and
// value waiting.
func (w *Watcher) Events() <-chan Event { return w.events }

// Close stops watching, cancels a running build and waits for the
// watcher's goroutines. It is idempotent.
func (w *Watcher) Close() error {
	var err error
	w.close.Do(func() {
		close(w.quit)
		<-w.done
		err = w.fs.Close()
	})
	<-w.done
	return err
}

// add watches dir once.
func (w *Watcher) add(dir string) error {
	if w.watched[dir] {
		return nil
	}
	if err := w.fs.Add(dir); err != nil {
		return fmt.Errorf("watch: %s: %w", dir, err)
	}
	w.watched[dir] = true
	return nil
}

func (w *Watcher) addDirs(t *fileTarget) error {
	for _, d := range t.dirs() {
		if err := w.add(d); err != nil {
			return err
		}
	}
	return nil
}

// run is the watcher's goroutine: it owns every field marked so.
func (w *Watcher) run() {
	defer close(w.done)
	defer close(w.events)
	defer w.stopBuild()
	binC, cfgC := nilTimer(w.binary), nilTimer(w.config)
	for {
		var out chan Event
		var next Event
		if len(w.pending) > 0 {
			out, next = w.events, w.pending[0]
		}
		select {
		case <-w.quit:
			return
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			w.handle(ev)
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.handleError(err)
		case <-binC:
			w.settle(w.binary, BinaryChanged{Path: w.cfg.Entry})
		case <-cfgC:
			w.settle(w.config, ConfigChanged{Path: w.cfg.ConfigFile})
		case <-w.srcTimer.C:
			w.build()
		case r := <-w.builds:
			w.built(r)
		case out <- next:
			w.pending = w.pending[1:]
		}
	}
}

// nilTimer returns the channel of t's timer, or nil (never ready) for no
// target.
func nilTimer(t *fileTarget) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.timer.C
}

// handle routes one file-system event.
func (w *Watcher) handle(ev fsnotify.Event) {
	if ev.Op == fsnotify.Chmod {
		return // attributes only: nothing to run or read changed
	}
	path := filepath.Clean(ev.Name)
	write := ev.Has(fsnotify.Write)
	for _, t := range []*fileTarget{w.binary, w.config} {
		if t != nil && t.touched(path, write) {
			t.timer.Reset(w.cfg.Debounce)
		}
	}
	if w.src == nil || !w.src.relevant(path) {
		return
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
			// A new directory: watch it and what was created in it before
			// the watch existed.
			if err := w.src.walk(path, w.add); err != nil {
				w.push(Error{Err: err})
			}
		}
	}
	w.srcTimer.Reset(w.cfg.Debounce)
}

// handleError reports err; after an overflow, events may have been lost,
// so everything is checked again.
func (w *Watcher) handleError(err error) {
	w.push(Error{Err: fmt.Errorf("watch: %w", err)})
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		return
	}
	for _, t := range []*fileTarget{w.binary, w.config} {
		if t != nil {
			t.timer.Reset(w.cfg.Debounce)
		}
	}
	if w.src != nil {
		w.srcTimer.Reset(w.cfg.Debounce)
	}
}

// settle checks a quiet file target and reports ev when it changed.
func (w *Watcher) settle(t *fileTarget, ev Event) {
	changed, again := t.settle()
	if err := w.addDirs(t); err != nil { // the symlinks may lead elsewhere now
		w.push(Error{Err: err})
	}
	switch {
	case changed:
		w.push(ev)
	case again:
		t.timer.Reset(w.cfg.Debounce)
	}
}

// build starts a build of the sources, or notes that one is needed once the
// running one ends.
func (w *Watcher) build() {
	if w.building {
		w.dirty = true
		return
	}
	w.building, w.dirty = true, false
	ctx, cancel := context.WithCancel(context.Background())
	w.buildStop = cancel
	w.buildWG.Add(1)
	go func() {
		defer w.buildWG.Done()
		path, err := w.cfg.Build(ctx)
		w.builds <- buildResult{path, err} // buffered: one build at a time
	}()
}

// built reports a finished build and starts the next one if the sources
// changed meanwhile.
func (w *Watcher) built(r buildResult) {
	w.buildWG.Wait()
	w.building = false
	w.buildStop()
	switch {
	case r.err != nil:
		w.push(BuildFailed{Err: r.err})
	case r.path != w.current:
		w.current = r.path
		w.push(Rebuilt{Path: r.path})
	}
	if w.dirty {
		w.build()
	}
}

// stopBuild cancels a running build and waits for it.
func (w *Watcher) stopBuild() {
	if w.buildStop != nil {
		w.buildStop()
	}
	w.buildWG.Wait()
}

// push queues ev for the agent unless the same event already waits.
func (w *Watcher) push(ev Event) {
	for _, p := range w.pending {
		if sameEvent(p, ev) {
			return
		}
	}
	w.pending = append(w.pending, ev)
}

func sameEvent(a, b Event) bool {
	switch a := a.(type) {
	case BuildFailed:
		b, ok := b.(BuildFailed)
		return ok && a.Err.Error() == b.Err.Error()
	case Error:
		b, ok := b.(Error)
		return ok && a.Err.Error() == b.Err.Error()
	}
	return a == b // the other events hold strings only
}
