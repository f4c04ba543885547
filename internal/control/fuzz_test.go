package control

import (
	"bytes"
	"testing"
)

// FuzzReadFrame: any bytes give a request or an error, never a panic or
// an allocation beyond MaxFrame; a request read back writes the same.
func FuzzReadFrame(f *testing.F) {
	var b bytes.Buffer
	writeFrame(&b, Request{Op: OpCommand, Command: "agent.scale 4"})
	f.Add(b.Bytes())
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		var req Request
		if err := readFrame(bytes.NewReader(data), &req); err != nil {
			return
		}
		var out bytes.Buffer
		if err := writeFrame(&out, req); err != nil {
			t.Fatal(err)
		}
		var again Request
		if err := readFrame(&out, &again); err != nil || again != req {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, req)
		}
	})
}
