// Package gobuild is the one way node-agent runs the go command: the agent
// building a Go source entry (package agent/config, its reloads and --watch)
// and deploy building the service it packages.
//
//	tool := gobuild.Tool{Env: env}
//	err := tool.Build(ctx, gobuild.Options{
//		Dir:          dir,         // the main package; built as "."
//		Output:       out,         // the executable to write
//		Reproducible: true,        // -trimpath, no VCS stamp, no build ID, no symbols
//		LDFlags:      []string{"-X main.version=" + version},
//		Env:          []string{"GOOS=linux", "GOARCH=arm64"},
//	})
//	var be *gobuild.Error
//	if errors.As(err, &be) {
//		fmt.Print(be.Output) // every diagnostic of the compiler
//	}
//
// Tool.Run runs other go subcommands (go env, go list) the same way and
// returns their standard output.
//
// Errors. A go command that cannot be found is exec.ErrNotFound (wrapped in
// *Error when a command was to run). A go command that fails — exit status,
// killed, or ctx done — is *Error, carrying the directory, the arguments,
// the cause and everything the command wrote to its standard error (for a
// build, the compiler's diagnostics). Error() is one line, the command and
// its cause, followed by the first lines of the output.
//
// Processes. By default a command is started with exec.CommandContext
// (killed when ctx ends, its pipes abandoned WaitDelay after) and waited
// for. Tool.Exec replaces that, for a caller that must wait for its
// children itself (the agent's reaper).
package gobuild
