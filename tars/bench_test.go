package tars

import "testing"

func benchRequest() *RequestPacket {
	p := sampleRequest()
	p.Context = map[string]string{"node_name": "10.0.0.5"}
	p.Status = map[string]string{}
	return p
}

func BenchmarkEncodeRequestPacket(b *testing.B) {
	p := benchRequest()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFrame(buf[:0], p)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeRequestPacket(b *testing.B) {
	frame := Frame(benchRequest())
	var p RequestPacket
	r := NewReader(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		body, _, err := SplitFrame(frame, 0)
		if err != nil {
			b.Fatal(err)
		}
		r.Reset(body)
		if err := p.Decode(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeStatBatch100(b *testing.B) {
	args := sampleMicBatch(100)
	var w Buffer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		args.Encode(&w)
	}
	b.SetBytes(int64(w.Len()))
}

func BenchmarkDecodeStatBatch100(b *testing.B) {
	data := Marshal(sampleMicBatch(100))
	var args ReportMicMsgArgs
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := Unmarshal(data, &args); err != nil {
			b.Fatal(err)
		}
	}
}
