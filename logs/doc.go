// Package logs turns what workers write into TARS log lines and writes them
// through one writer per destination.
//
// A line has the TARS format
//
//	YYYY-MM-DD HH:MM:SS|PID|LEVEL|FILE:LINE|MESSAGE
//
// in local time, where PID is the process that produced the line and
// FILE:LINE is omitted when unknown. Worker stdout lines are INFO, stderr
// lines ERROR, and records of the worker library keep their level.
//
// Framing (Lines) never splits or merges lines: a line longer than MaxLine
// is cut and marked, and the tail of a stream that ends without a newline
// is still a line. Sink serialises whole records, so lines of concurrent
// workers never interleave.
package logs
