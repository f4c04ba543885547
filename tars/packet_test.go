package tars

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"
	"testing/iotest"
)

// keepAliveFrame is a framed keepAlive request exactly as @tars/rpc sends
// it (research §1.5).
const keepAliveFrame = "0000004a 1001 2c 3c 4001 5617" + "746172732e746172736e6f64652e5365727665724f626a" +
	"6609" + "6b656570416c697665" + "7d000011 1a060341707016035372762104d236000b" + "810bb8 980c a80c"

// keepAliveResponseFrame is @tars/rpc's framed reply to it.
const keepAliveResponseFrame = "00000016 1001 2c 3001 4c 5c 6d0000010c 780c 8600 980c"

func sampleRequest() *RequestPacket {
	return &RequestPacket{
		IVersion:     VersionTARS,
		IRequestID:   1,
		SServantName: ServantNode,
		SFuncName:    FuncKeepAlive,
		SBuffer:      Marshal(&KeepAliveArgs{ServerInfo{Application: "App", ServerName: "Srv", Pid: 1234}}),
		ITimeout:     3000,
	}
}

func TestRequestPacketGolden(t *testing.T) {
	got := Frame(sampleRequest())
	want := unhex(t, keepAliveFrame)
	if !bytes.Equal(got, want) {
		t.Fatalf("frame\n got %x\nwant %x", got, want)
	}
	body, err := ReadPacket(bytes.NewReader(want), 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodeRequestPacket(body)
	if err != nil {
		t.Fatal(err)
	}
	var args KeepAliveArgs
	if err := Unmarshal(p.SBuffer, &args); err != nil {
		t.Fatal(err)
	}
	if p.SFuncName != FuncKeepAlive || p.ITimeout != 3000 || p.IRequestID != 1 || args.ServerInfo.Pid != 1234 {
		t.Fatalf("decoded %+v %+v", p, args)
	}
}

func TestResponsePacketGolden(t *testing.T) {
	resp := NewResponse(sampleRequest(), ServerSuccess, Marshal(&IntResult{Ret: 0}))
	got := Frame(resp)
	if want := unhex(t, keepAliveResponseFrame); !bytes.Equal(got, want) {
		t.Fatalf("frame\n got %x\nwant %x", got, want)
	}
	p, err := DecodeResponsePacket(got[4:])
	if err != nil || p.IRequestID != 1 || !bytes.Equal(p.SBuffer, []byte{0x0c}) {
		t.Fatalf("%+v %v", p, err)
	}
}

// TestPacketsWriteEveryRequiredField: even with nil maps and buffers, all
// ten (seven) required fields are on the wire.
func TestPacketsWriteEveryRequiredField(t *testing.T) {
	tags := func(b []byte) []uint8 {
		var out []uint8
		r := NewReader(b)
		for r.Remaining() > 0 {
			tag, _, _, _ := r.peekHead()
			out = append(out, tag)
			if err := r.Skip(); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	if got := tags(Marshal(&RequestPacket{})); len(got) != 10 || got[9] != 10 {
		t.Fatalf("request tags %v", got)
	}
	if got := tags(Marshal(&ResponsePacket{})); len(got) != 9 || got[6] != 7 {
		t.Fatalf("response tags %v", got)
	}
}

func TestPacketRoundTrip(t *testing.T) {
	req := sampleRequest()
	req.CPacketType = PacketOneway
	req.IMessageType = MessageTypeDyed | MessageTypeTrace
	req.Context = map[string]string{"node_name": "10.0.0.5", "b": ""}
	req.Status = map[string]string{"STATUS_DYED_KEY": "k"}
	req.SBuffer = bytes.Repeat([]byte{7}, 70000)
	body, err := ReadPacket(bytes.NewReader(Frame(req)), 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRequestPacket(body)
	if err != nil {
		t.Fatal(err)
	}
	if got.CPacketType != req.CPacketType || got.IMessageType != req.IMessageType || !bytes.Equal(got.SBuffer, req.SBuffer) ||
		!maps.Equal(got.Context, req.Context) || !maps.Equal(got.Status, req.Status) {
		t.Fatalf("round trip mismatch: %+v", got)
	}

	resp := &ResponsePacket{IVersion: 1, IRequestID: -5, IRet: ServerNoFuncErr, SResultDesc: "no such function",
		Status: map[string]string{"a": "b"}, Context: map[string]string{"c": "d"}}
	gr, err := DecodeResponsePacket(Marshal(resp))
	if err != nil || gr.IRet != resp.IRet || gr.SResultDesc != resp.SResultDesc || gr.Context["c"] != "d" || gr.Status["a"] != "b" {
		t.Fatalf("%+v %v", gr, err)
	}
}

func TestDecodeRequestPacketErrors(t *testing.T) {
	full := Marshal(sampleRequest())
	for n := 0; n < len(full); n++ {
		if _, err := DecodeRequestPacket(full[:n]); err == nil {
			// Cutting after sBuffer leaves only optional-tolerated fields.
			r := NewReader(full)
			for range 7 {
				r.Skip()
			}
			if n < r.Offset() {
				t.Fatalf("truncated to %d bytes: no error", n)
			}
		}
	}
	_, err := DecodeRequestPacket([]byte("garbage bytes!"))
	if err == nil {
		t.Fatal("garbage decoded")
	}
}

func TestReadPacketFraming(t *testing.T) {
	one := Frame(sampleRequest())
	// Several packets in one stream, delivered one byte at a time.
	stream := bytes.Repeat(one, 3)
	r := iotest.OneByteReader(bytes.NewReader(stream))
	for i := range 3 {
		body, err := ReadPacket(r, 0)
		if err != nil || !bytes.Equal(body, one[4:]) {
			t.Fatalf("packet %d: %v", i, err)
		}
	}
	if _, err := ReadPacket(r, 0); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}

	tests := []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"2 GiB prefix", []byte{0x80, 0, 0, 0, 1, 2}, 0, ErrTooLarge},
		{"over max", one, len(one) - 1, ErrTooLarge},
		{"length 3", []byte{0, 0, 0, 3}, 0, ErrMalformed},
		{"length 0", []byte{0, 0, 0, 0}, 0, ErrMalformed},
		{"short header", []byte{0, 0}, 0, ErrTruncated},
		{"short body", one[:len(one)-1], 0, ErrTruncated},
		{"short big body", append([]byte{0, 2, 0, 0}, make([]byte, 100000)...), 0, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadPacket(bytes.NewReader(tt.in), tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := ReadPacket(bytes.NewReader(one[:10]), 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short body should wrap io.ErrUnexpectedEOF: %v", err)
	}
	// A frame of exactly max bytes is accepted; a big one streams in.
	big := &RequestPacket{SBuffer: make([]byte, 1<<20)}
	fb := Frame(big)
	if body, err := ReadPacket(bytes.NewReader(fb), len(fb)); err != nil || len(body) != len(fb)-4 {
		t.Fatalf("max-sized frame: %d %v", len(body), err)
	}
}

func TestSplitFrame(t *testing.T) {
	one := Frame(sampleRequest())
	buf := append(bytes.Repeat(one, 2), one[:7]...)
	var bodies int
	for {
		body, rest, err := SplitFrame(buf, 0)
		if err != nil {
			t.Fatal(err)
		}
		if body == nil {
			if !bytes.Equal(rest, one[:7]) {
				t.Fatalf("rest %x", rest)
			}
			break
		}
		bodies++
		buf = rest
	}
	if bodies != 2 {
		t.Fatalf("%d bodies", bodies)
	}
	if _, _, err := SplitFrame([]byte{0xff, 0xff, 0xff, 0xff}, 0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	if _, _, err := SplitFrame([]byte{0, 0, 0, 1}, 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v", err)
	}
}

func TestWriteFrame(t *testing.T) {
	var out bytes.Buffer
	if err := WriteFrame(&out, sampleRequest()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), unhex(t, keepAliveFrame)) {
		t.Fatalf("%x", out.Bytes())
	}
	// AppendFrame appends after existing bytes and reuses capacity.
	dst := AppendFrame([]byte("xy"), sampleRequest())
	if !strings.HasPrefix(string(dst), "xy") || !bytes.Equal(dst[2:], out.Bytes()) {
		t.Fatalf("%x", dst)
	}
}
