package watch

// Event is what the watcher reports: one of BinaryChanged, Rebuilt,
// BuildFailed, ConfigChanged and Error. The agent decides what to do.
type Event interface{ isEvent() }

// BinaryChanged reports that the entry executable was replaced — written in
// place, renamed over, or a symlink on its way swapped — and the new file
// is complete. Path is Config.Entry as given: the agent starts replacements
// from it (a rolling reload).
type BinaryChanged struct{ Path string }

// Rebuilt reports that the Go sources of the entry changed and the build
// produced a new executable at Path. Workers started from Path run the new
// code (a rolling reload).
type Rebuilt struct{ Path string }

// BuildFailed reports that the Go sources changed but the build failed; Err
// holds the first lines of the compiler's output. The workers running keep
// serving; the next change builds again.
type BuildFailed struct{ Err error }

// ConfigChanged reports that the TARS config file (-c) changed: written, or
// replaced by rename or symlink swap. Path is Config.ConfigFile as given
// (the agent forwards `tars.loadconfig <file>` to every worker).
type ConfigChanged struct{ Path string }

// Error reports a problem of the watcher itself: the kernel's event queue
// overflowed (every watched file is then checked again, so a change is not
// missed), or a new directory could not be watched. The watcher goes on.
type Error struct{ Err error }

func (BinaryChanged) isEvent() {}
func (Rebuilt) isEvent()       {}
func (BuildFailed) isEvent()   {}
func (ConfigChanged) isEvent() {}
func (Error) isEvent()         {}
