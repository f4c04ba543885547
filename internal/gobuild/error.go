package gobuild

import (
	"fmt"
	"strings"
)

// maxLines is how many lines of the output Error() shows.
const maxLines = 10

// Error is a go command that failed.
type Error struct {
	Dir    string   // where it ran
	Args   []string // its arguments, from the subcommand on
	Err    error    // why: exit status, ctx's error, exec.ErrNotFound, a missing output
	Output string   // what it wrote to standard error: the compiler's diagnostics
}

// Error returns "go SUBCOMMAND in DIR: CAUSE" and the first lines of the
// output, noting how many more there are.
func (e *Error) Error() string {
	sub := ""
	if len(e.Args) > 0 {
		sub = " " + e.Args[0]
	}
	msg := fmt.Sprintf("go%s in %s: %v", sub, e.Dir, e.Err)
	if out := firstLines(e.Output, maxLines); out != "" {
		msg += "\n" + out
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// FirstDiagnostic returns the first line of a go command's output that is
// not a "# package" header, or "": for a build, the first compiler error.
func FirstDiagnostic(output string) string {
	for _, line := range strings.Split(strings.TrimSpace(output), "\n") {
		if line = strings.TrimSpace(line); line != "" && line[0] != '#' {
			return line
		}
	}
	return ""
}

// firstLines returns at most n lines of s, noting how many were left out.
func firstLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return strings.Join(lines[:n], "\n") + fmt.Sprintf("\n... (%d more lines)", len(lines)-n)
}
