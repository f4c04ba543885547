// Package testtool is how a test says that it needs something from outside
// Go: a program on PATH (redis-server, node, promtool…) or a prepared
// directory (the npm interop peers).
//
// The README's test command (./test.sh) installs all of them, so a missing
// one is a broken machine, not a reason to pass quietly: under CI=true the
// test fails with one line naming the tool and the command that installs it.
// Outside CI the test is skipped with the same line, which starts with
// SkipPrefix so that the run's summary can list every skip and its reason.
package testtool
