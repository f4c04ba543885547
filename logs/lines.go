package logs

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxLine is the longest line Lines returns whole; longer ones are cut at
// MaxLine bytes and end with CutMark, and the rest of the line is dropped.
const MaxLine = 1 << 20

// CutMark ends a line that was cut at MaxLine.
const CutMark = "…[cut]"

// Lines reads r to its end and calls fn with each line, without its line
// ending ("\n" or "\r\n"). Empty lines are skipped. The slice passed to fn is
// only valid during the call. Lines returns nil at EOF and the read error
// otherwise.
func Lines(r io.Reader, fn func(line []byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line longer than the buffer, being collected
	cut := false
	for {
		chunk, err := br.ReadSlice('\n')
		complete := err == nil
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil
		}
		if long != nil || !complete {
			if !cut {
				if room := MaxLine - len(long); len(chunk) > room {
					long = append(long, chunk[:room]...)
					cut = true
				} else {
					long = append(long, chunk...)
				}
			}
			if complete || (err != nil && len(long) > 0) {
				emit(long, cut, fn)
				long, cut = nil, false
			}
		} else {
			emit(chunk, false, fn)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func emit(line []byte, cut bool, fn func([]byte)) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if cut {
		line = append(line, CutMark...)
	}
	if len(line) > 0 {
		fn(line)
	}
}
