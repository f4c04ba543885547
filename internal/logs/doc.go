// Package logs turns what workers write into TARS log records and writes
// them, one writer per destination, without ever losing, splitting,
// merging or interleaving a line (SPEC §9).
//
// # Records
//
// A record has the TARS format
//
//	YYYY-MM-DD HH:MM:SS|PID|LEVEL|FILE:LINE|MESSAGE
//
// in local time to the second, where PID is the process that produced it
// and FILE:LINE is omitted when unknown. Worker stdout lines are INFO,
// stderr lines ERROR, and records of the worker library's Logger keep
// their level, call site and attributes (key=value, on the same line). A
// multi-line message, such as a stack trace sent through the Logger, is
// written verbatim as one record. A record is at most MaxRecord (1 MiB)
// long: a longer message is cut at a character boundary and ends with
// CutMark ("…[cut]").
//
// # Levels
//
// DEBUG < INFO < WARN < ERROR < NONE. A Sink writes the records at or
// above its level (Sink.SetLevel, at any time); at NONE it writes nothing.
// The agent's service log starts at --applog-level and follows
// tars.setloglevel; the agent log is never filtered. Workers filter their
// Logger at the source, so a disabled DEBUG costs them nothing.
//
// # Framing and batching (Pump)
//
// Pump reads a worker's stdout or stderr pipe. Lines end with "\n" or
// "\r\n"; empty lines are skipped. A line that spans many reads, even
// longer than the pipe buffer, is kept until its end; one longer than a
// record is cut and the rest of it dropped; the unterminated tail of a
// stream (a worker that exits mid-line) is still a line. Every complete
// line of one read is formatted into one buffer, with the time stamp
// formatted once per second, and handed to the destination in one
// WriteRecords call: the cost is one write per read, not one per line.
// Read buffers come from a pool and are taken only when the pipe is
// readable, so idle workers hold no buffer memory.
//
// # Destinations
//
//   - File (OpenFile): a log file rotated by size, with lumberjack. The
//     file is rotated before a write that would take it past MaxSize, so
//     a batch is never split across two files; NAME.log becomes
//     NAME-YYYY-MM-DDTHH-MM-SS.mmm.log (UTC) and MaxFiles files are kept in
//     all, the current one included (old backups are removed shortly after
//     the rotation, by lumberjack's goroutine). MaxSize is in bytes and at
//     least MinFileSize (1 MiB, one whole record); smaller values are
//     raised, and the agent notes it once in its log. Writes are
//     synchronous: a slow disk blocks the producing pump, hence the
//     worker writing to its pipe, and nothing is dropped. Reopen (SIGUSR1,
//     for an external logrotate) closes the file; the next write opens it
//     by name, creating it if it was moved away. Each File keeps one
//     lumberjack.Logger for its whole life: lumberjack starts a goroutine
//     per Logger that never ends.
//   - Console (NewConsole): the agent's stdout without a log dir. A regular
//     file is written synchronously like a File (without rotation). A
//     terminal or a pipe gets a bounded buffer (1 MiB) drained by one
//     goroutine, so a slow reader never blocks a worker: when the buffer
//     is full, whole batches are dropped and counted (Stats.Dropped), and
//     as soon as the output moves again a record says so:
//     "…|WARN|node-agent: dropped N records (M bytes) while stdout was slow".
//   - NewWriter: any io.Writer, synchronously (tests, stdout as a file).
//
// Several sinks may share one destination and keep their own levels; a
// destination takes whole records under its lock, so records of
// concurrent producers never interleave.
//
// # Write errors
//
// A failed write (disk full, I/O error, closed stdout) never stops the
// agent. Its records are lost and counted (Stats.Lost, Stats.Errors), and
// a write that failed part-way is cut off the file again (truncated), so
// no torn record stays. The first failure of an episode prints one line
// on stderr; the first write that works again ends the episode with a
// second stderr line and a WARN record in the log itself, "node-agent: N
// records (M bytes) lost here while writing failed: CAUSE". Every record
// given to a destination is written, lost or dropped:
// Written + Lost + Dropped.
package logs
