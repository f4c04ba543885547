// Package watch is the input of the agent's --watch option: it watches the
// entry executable, the Go sources it was built from and the TARS config
// file, and reports changes as typed events on a channel. It decides
// nothing: the agent's run loop turns BinaryChanged and Rebuilt into a
// rolling reload, logs BuildFailed (the running workers keep serving), and
// forwards ConfigChanged to the workers as `tars.loadconfig <file>`.
//
// It is a subpackage of agent, like agent/config, because it serves the
// agent alone: the supervisor's run loop is its only consumer, and the
// worker library (container) must not grow a file-watching dependency.
//
// # Use
//
//	w, err := watch.New(watch.Config{
//		Entry:      cfg.Entry.Path,
//		SourceDir:  cfg.Entry.SourceDir, // "" for a ready-made executable
//		Build:      build,               // rebuilds SourceDir, returns the executable
//		ConfigFile: cfg.TarsConfig,
//		Ignore:     []string{cfg.LogDir},
//	})
//	if err != nil {
//		return err
//	}
//	defer w.Close()
//	for {
//		select {
//		case ev := <-w.Events():
//			switch ev := ev.(type) {
//			case watch.BinaryChanged: // reload from ev.Path
//			case watch.Rebuilt:       // reload from ev.Path, the new build
//			case watch.BuildFailed:   // log ev.Err, keep the workers
//			case watch.ConfigChanged: // tars.loadconfig ev.Path
//			case watch.Error:         // log ev.Err
//			}
//		case ...: // the run loop's other inputs
//		}
//	}
//
// # What is watched, and how
//
// Directories, never files: a file watch follows the inode and misses an
// atomic replacement (a rename over the file, a symlink swap), which is how
// deployments and `go build` replace executables. The watcher resolves
// the entry (and the config file) one path component at a time and watches
// the directory of the path, of every symlink crossed and of the file
// reached, so a swap of any of them is seen, including a directory symlink
// such as /srv/app/current -> releases/v2 or a Kubernetes ConfigMap's
// ..data. After each change the chain is resolved again.
//
//   - Entry executable (Config.SourceDir == ""): after a change, the
//     watcher waits for Debounce (300 ms by default) of quiet, then compares
//     the file's identity (device, inode, size, modification time) with the
//     one last reported. A file that landed by rename or symlink swap is
//     complete: one BinaryChanged. A file written in place must in
//     addition stay the same for one more quiet period (its size and time
//     stable), so a slow copy is never reported half-written. A burst of
//     writes and renames is one event; a change back to an identical
//     identity, a chmod or a touch is none. A missing file (between a
//     remove and a create) is reported once it is back.
//   - Go sources (Config.SourceDir != ""): the whole module around the
//     package is watched (the directory of go.mod and below; nested
//     modules, testdata, hidden and _ directories and Config.Ignore are
//     left out; new directories are added as they appear). After Debounce
//     of quiet following a change to any file but editor leftovers (.swp,
//     .swx, .swo, ~ backups, vim's 4913, #autosave#), hidden files and
//     _test.go files, Build is called, once at a time; changes during a
//     build start another one after it. A failed build is BuildFailed with
//     the compiler's first lines; a build whose executable differs from
//     the current one is Rebuilt; a build that finds the same executable
//     (config.Builder keys its cache by the sources' content, so an edit
//     to a file the build does not use) is no event. Editors that save by
//     rename and those that write in place are both seen.
//   - Config file: as the entry executable, reported as ConfigChanged.
//
// # Events and Close
//
// Events is unbuffered; events wait in the watcher (one per kind and
// value: a second BinaryChanged while one waits is dropped) until the agent
// receives them. Close cancels a running build, stops every goroutine of
// the watcher before it returns, and closes the Events channel. A kernel
// event-queue overflow is reported as Error and every target is checked
// again, so no change is lost.
//
// Linux inotify has a per-user limit of watched directories
// (fs.inotify.max_user_watches); New fails with the directory it could not
// watch when a module exceeds it.
package watch
