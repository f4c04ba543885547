package logs

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// chunked returns the bytes of data in reads of the sizes in cuts, cycled.
type chunked struct {
	data []byte
	cuts []byte
	i    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.cuts) > 0 {
		n = min(n, int(c.cuts[c.i%len(c.cuts)])+1)
		c.i++
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// FuzzPump: whatever the input and however it is cut into reads, Pump
// writes exactly the non-empty lines of the input, each whole, in order.
func FuzzPump(f *testing.F) {
	f.Add([]byte("a\nb\r\n\nc"), []byte{0})
	f.Add([]byte("tail"), []byte{1, 2})
	f.Add([]byte("\r\r\n\n|x|y|\n"), []byte{3})
	f.Add([]byte(strings.Repeat("long line ", 10000)+"\nnext\n"), []byte{255, 7})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		var want []string
		for _, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSuffix(l, "\r"); l != "" {
				want = append(want, l)
			}
		}
		d := &memory{}
		if err := Pump(To(d), &chunked{data: bytes.Clone(data), cuts: cuts}, 1, LevelInfo); err != nil {
			t.Fatal(err)
		}
		// Records are "TIME|1|INFO|MSG\n": MSG may hold '|' and '\r', never '\n'.
		got := d.messages()
		if len(got) != len(want) {
			t.Fatalf("%d records for %d lines", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("record %d is %q, want %q", i, got[i], want[i])
			}
		}
	})
}
