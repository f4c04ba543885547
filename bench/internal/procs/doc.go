// Package procs is the process plumbing shared by the benchmark drivers
// (bench/cmd/nabench, bench/reload): a registry of clean-ups that run at
// exit so that no supervisor or worker outlives a run, /proc walks
// (Children, PPID, Alive), and PM2's command line and daemon (PM2).
//
// It is internal to bench/: the drivers are mains without tests, and this
// is no API of node-agent.
package procs
