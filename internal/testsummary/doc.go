// Command testsummary reads the event stream of `go test -json` on standard
// input and writes what a person wants to read on standard output: go
// test's usual output while the run goes, then the list of every skipped
// test with its reason, every failed test, and one closing line
//
//	testsummary: 812 passed, 0 failed, 3 skipped
//
// ./test.sh pipes the whole suite through it:
//
//	go test -json -race ./... | go run ./internal/testsummary [-v]
//
// Without -v it prints what go test prints without -v: build errors, the
// output of failing tests (and of tests still running when their package
// ended, which count as failed), and each package's ok/FAIL line. With -v
// it prints every line as it comes, like go test -v.
//
// Counts include subtests. A skip's reason is the last line the test wrote
// before it skipped (t.Skip's message), so a skip for a missing tool reads
// "missing tool: redis-server (install: …)" (package internal/testtool).
//
// The exit status is 0 whatever the tests did (the caller keeps go test's
// own status), 1 when the input cannot be read, 2 on a bad flag.
package main
