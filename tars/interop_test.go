package tars

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/testtool"
)

// The interop tests run the real @tars/stream and @tars/rpc from npm
// (versions pinned in testdata/interop/package.json and its lock file)
// through testdata/interop/peer.js. Install them with
//
//	npm ci --prefix tars/testdata/interop
//
// ./test.sh does it. Without node_modules (or node) the tests that need a
// live peer fail under CI=true and skip elsewhere (package
// internal/testtool); the golden vectors are still checked from the
// committed vectors.json.

var interopDir = filepath.Join("testdata", "interop")

func nodePeer(t *testing.T, stdin []byte, args ...string) []byte {
	return nodeRun(t, stdin, "peer.js", args...)
}

// nodeRun runs a script of testdata/interop with node and returns its stdout.
func nodeRun(t *testing.T, stdin []byte, script string, args ...string) []byte {
	t.Helper()
	if _, err := os.Stat(filepath.Join(interopDir, "node_modules", "@tars", "stream")); err != nil {
		testtool.Missing(t, "the TARS interop peers @tars/stream and @tars/rpc", "npm ci --prefix tars/testdata/interop")
	}
	node := testtool.Require(t, "node", "apt-get install nodejs")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = interopDir
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s %v: %v\n%s", script, args, err, stderr.String())
	}
	return out
}

// vectorsFile holds what `node peer.js encode` printed, committed so that
// the golden vectors are checked even where the npm packages are absent.
var vectorsFile = filepath.Join(interopDir, "vectors.json")

// nodeVectors returns the @tars/stream encodings: live from node when the
// peers are installed (and then they must equal the committed file), else
// from the committed file.
func nodeVectors(t *testing.T) map[string]string {
	t.Helper()
	var committed map[string]string
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &committed); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(interopDir, "node_modules", "@tars", "stream")); err != nil {
		t.Logf("using the committed %s (npm peers not installed)", vectorsFile)
		return committed
	}
	var live map[string]string
	if err := json.Unmarshal(nodePeer(t, nil, "encode"), &live); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(live, committed) {
		t.Fatalf("%s is stale: regenerate it with `cd tars/testdata/interop && node peer.js encode > vectors.json`", vectorsFile)
	}
	return live
}

// TestInteropDecodeNodeEncodings decodes what @tars/stream and @tars/rpc
// encode, checks the values, and checks that our encoder produces the very
// same bytes.
func TestInteropDecodeNodeEncodings(t *testing.T) {
	cases := nodeVectors(t)
	type check struct {
		decode func(t *testing.T, b []byte)
		encode func() []byte // our encoding of the same values; nil: re-encode what decode saw
	}
	ints := []int32{0, 1, -1, 127, -128, 128, -129, 32767, -32768, 32768, -32769, math.MaxInt32, math.MinInt32}
	int64s := []int64{2147483648, -2147483649, 1<<53 - 1, -(1<<53 - 1)}
	strs := []string{"", "abc", strings.Repeat("a", 255), strings.Repeat("a", 256), strings.Repeat("é", 200), strings.Repeat("x", 3000)}
	must := func(t *testing.T, r *Reader) {
		t.Helper()
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		if r.Remaining() != 0 {
			t.Fatalf("%d bytes left", r.Remaining())
		}
	}
	checks := map[string]check{
		"int32s": {func(t *testing.T, b []byte) {
			r := NewReader(b)
			for i, want := range ints {
				var v int32
				if r.ReadInt32(&v, uint8(i), true); v != want {
					t.Fatalf("tag %d: %d, want %d", i, v, want)
				}
			}
			must(t, r)
		}, func() []byte {
			return encode(func(w *Buffer) {
				for i, v := range ints {
					w.WriteInt32(uint8(i), v)
				}
			})
		}},
		"int64s": {func(t *testing.T, b []byte) {
			r := NewReader(b)
			for i, want := range int64s {
				var v int64
				if r.ReadInt64(&v, uint8(i), true); v != want {
					t.Fatalf("tag %d: %d, want %d", i, v, want)
				}
			}
			must(t, r)
		}, func() []byte {
			return encode(func(w *Buffer) {
				for i, v := range int64s {
					w.WriteInt64(uint8(i), v)
				}
			})
		}},
		"int8_16": {func(t *testing.T, b []byte) {
			r := NewReader(b)
			var a, c int8
			var d, e int16
			var u8 uint8
			var u16 uint16
			var u32 uint32
			r.ReadInt8(&a, 0, true)
			r.ReadInt8(&c, 1, true)
			r.ReadInt16(&d, 2, true)
			r.ReadInt16(&e, 3, true)
			r.ReadUint8(&u8, 4, true)
			r.ReadUint16(&u16, 5, true)
			r.ReadUint32(&u32, 6, true)
			must(t, r)
			if a != -128 || c != 127 || d != -32768 || e != 32767 || u8 != 255 || u16 != 65535 || u32 != math.MaxUint32 {
				t.Fatal(a, c, d, e, u8, u16, u32)
			}
		}, func() []byte {
			return encode(func(w *Buffer) {
				w.WriteInt8(0, -128)
				w.WriteInt8(1, 127)
				w.WriteInt16(2, -32768)
				w.WriteInt16(3, 32767)
				w.WriteUint8(4, 255)
				w.WriteUint16(5, 65535)
				w.WriteUint32(6, math.MaxUint32)
			})
		}},
		"bools": {func(t *testing.T, b []byte) {
			r := NewReader(b)
			x, y := false, true
			r.ReadBool(&x, 3, true)
			r.ReadBool(&y, 4, true)
			must(t, r)
			if !x || y {
				t.Fatal(x, y)
			}
		}, func() []byte { return encode(func(w *Buffer) { w.WriteBool(3, true); w.WriteBool(4, false) }) }},
		"floats": {func(t *testing.T, b []byte) {
			r := NewReader(b)
			var f0, f1 float32
			var d2, d3, d4 float64
			r.ReadFloat32(&f0, 0, true)
			r.ReadFloat32(&f1, 1, true)
			r.ReadFloat64(&d2, 2, true)
			r.ReadFloat64(&d3, 3, true)
			r.ReadFloat64(&d4, 4, true)
			must(t, r)
			if f0 != 1.5 || f1 != 0 || d2 != -2.25 || d3 != 0 || d4 != 1e300 {
				t.Fatal(f0, f1, d2, d3, d4)
			}
		}, func() []byte {
			return encode(func(w *Buffer) {
				w.WriteFloat32(0, 1.5)
				w.WriteFloat32(1, 0)
				w.WriteFloat64(2, -2.25)
				w.WriteFloat64(3, 0)
				w.WriteFloat64(4, 1e300)
			})
		}},
		"tags": {func(t *testing.T, b []byte) {
			r := NewReader(b)
			var a, c, d int32
			var s string
			r.ReadInt32(&a, 14, true)
			r.ReadInt32(&c, 15, true)
			r.ReadInt32(&d, 200, true)
			r.ReadString(&s, 255, true)
			must(t, r)
			if a != 5 || c != 5 || d != 5 || s != "max" {
				t.Fatal(a, c, d, s)
			}
		}, func() []byte {
			return encode(func(w *Buffer) {
				w.WriteInt32(14, 5)
				w.WriteInt32(15, 5)
				w.WriteInt32(200, 5)
				w.WriteString(255, "max")
			})
		}},
		"strings": {func(t *testing.T, b []byte) {
			r := NewReader(b)
			for i, want := range strs {
				var s string
				if r.ReadString(&s, uint8(i), true); s != want {
					t.Fatalf("tag %d: len %d, want %d", i, len(s), len(want))
				}
			}
			must(t, r)
		}, func() []byte {
			return encode(func(w *Buffer) {
				for i, s := range strs {
					w.WriteString(uint8(i), s)
				}
			})
		}},
		"containers": {func(t *testing.T, b []byte) {
			r := NewReader(b)
			var li []int32
			var ls []string
			var raw []byte
			var sm map[string]string
			var mm map[string][]ServerInfo
			ReadList(r, &li, 0, true, (*Reader).ReadInt32)
			ReadList(r, &ls, 1, true, (*Reader).ReadString)
			r.ReadBytes(&raw, 2, true)
			r.ReadStringMap(&sm, 3, true)
			ReadMap(r, &mm, 4, true, (*Reader).ReadString, ReadStructList[ServerInfo])
			must(t, r)
			if !reflect.DeepEqual(li, []int32{1, 300, -70000}) || len(ls) != 0 || !bytes.Equal(raw, []byte{1, 2, 3}) ||
				!maps.Equal(sm, map[string]string{"a": "1", "b": ""}) || len(mm["empty"]) != 0 ||
				!reflect.DeepEqual(mm["k"], []ServerInfo{{"A", "B", 1, "x"}, {}}) {
				t.Fatalf("%v %v %x %v %v", li, ls, raw, sm, mm)
			}
		}, func() []byte {
			return encode(func(w *Buffer) {
				WriteList(w, 0, []int32{1, 300, -70000}, (*Buffer).WriteInt32)
				WriteList(w, 1, []string{}, (*Buffer).WriteString)
				w.WriteBytes(2, []byte{1, 2, 3})
				w.WriteStringMap(3, map[string]string{"a": "1", "b": ""})
				WriteMap(w, 4, map[string][]ServerInfo{"k": {{"A", "B", 1, "x"}, {}}, "empty": {}}, (*Buffer).WriteString,
					func(w *Buffer, tag uint8, v []ServerInfo) { WriteStructList(w, tag, v) })
			})
		}},
		"ServerInfo": {func(t *testing.T, b []byte) {
			var s ServerInfo
			r := NewReader(b)
			r.ReadStruct(&s, 1, true)
			must(t, r)
			if s != (ServerInfo{"App", "Srv", 1234, ""}) {
				t.Fatal(s)
			}
		}, func() []byte {
			return encode(func(w *Buffer) { w.WriteStruct(1, &ServerInfo{"App", "Srv", 1234, ""}) })
		}},
		"ReportMicMsgArgs": {func(t *testing.T, b []byte) {
			var a ReportMicMsgArgs
			if err := Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
			m := a.Msg[2]
			if len(a.Msg) != 3 || !a.FromClient || m.Key.InterfaceName != "/api/2" || m.Key.ReturnValue != -2 ||
				m.Value.IntervalCount[3000] != 16 || m.Value.TotalRspTime != 1<<42 || m.Value.MaxRspTime != 3000 {
				t.Fatalf("%+v", a)
			}
		}, nil},
		"ReportPropMsgArgs": {func(t *testing.T, b []byte) {
			var a ReportPropMsgArgs
			if err := Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
			if len(a.StatMsg) != 1 || a.StatMsg[0].Key.IPropertyVer != 2 || a.StatMsg[0].Value.VInfo[1] != (StatPropInfo{"Avg", "1.5"}) {
				t.Fatalf("%+v", a)
			}
		}, nil},
		"ReportNotifyInfoArgs": {func(t *testing.T, b []byte) {
			var a ReportNotifyInfoArgs
			if err := Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
			if a.Info != (ReportInfo{Type: ReportTypeReport, App: "Test", Server: "Toy", Message: "[alarm] worker exit unexpected",
				ThreadID: "4242", Level: NotifyError}) {
				t.Fatalf("%+v", a)
			}
		}, nil},
		"FindObjectsResult": {func(t *testing.T, b []byte) {
			var a FindObjectsResult
			if err := Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
			if len(a.ActiveEp) != 1 || len(a.InactiveEp) != 0 || a.ActiveEp[0] != (EndpointF{Host: "10.0.0.1", Port: 17890,
				Timeout: 60000, IsTCP: EndpointTCP, Weight: 100, NodeName: "n1"}) {
				t.Fatalf("%+v", a)
			}
		}, nil},
	}
	reencode := map[string]Struct{
		"ReportMicMsgArgs": &ReportMicMsgArgs{}, "ReportPropMsgArgs": &ReportPropMsgArgs{},
		"ReportNotifyInfoArgs": &ReportNotifyInfoArgs{}, "FindObjectsResult": &FindObjectsResult{},
	}
	for name, c := range checks {
		t.Run(name, func(t *testing.T) {
			b, err := hex.DecodeString(cases[name])
			if err != nil || len(b) == 0 {
				t.Fatalf("no node encoding for %s: %v", name, err)
			}
			c.decode(t, b)
			var ours []byte
			if c.encode != nil {
				ours = c.encode()
			} else {
				s := reencode[name]
				if err := Unmarshal(b, s); err != nil {
					t.Fatal(err)
				}
				ours = Marshal(s)
			}
			if !bytes.Equal(ours, b) {
				t.Fatalf("our encoding differs from @tars/stream's\n ours %x\n node %x", ours, b)
			}
		})
	}

	packet := func(t *testing.T, name string) (*RequestPacket, []byte) {
		t.Helper()
		frame, _ := hex.DecodeString(cases[name])
		body, err := ReadPacket(bytes.NewReader(frame), 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := DecodeRequestPacket(body)
		if err != nil {
			t.Fatal(err)
		}
		if again := Frame(p); !bytes.Equal(again, frame) {
			t.Fatalf("re-framed differs\n ours %x\n node %x", again, frame)
		}
		return p, frame
	}
	t.Run("rpcRequest", func(t *testing.T) {
		p, _ := packet(t, "rpcRequest")
		var args KeepAliveArgs
		if err := Unmarshal(p.SBuffer, &args); err != nil {
			t.Fatal(err)
		}
		if p.SFuncName != FuncKeepAlive || p.ITimeout != 3000 || p.Context["node_name"] != "10.0.0.5" || args.ServerInfo.Pid != 1234 {
			t.Fatalf("%+v %+v", p, args)
		}
	})
	t.Run("rpcOneway", func(t *testing.T) {
		p, _ := packet(t, "rpcOneway")
		var args ReportMicMsgArgs
		if err := Unmarshal(p.SBuffer, &args); err != nil || p.CPacketType != PacketOneway || len(args.Msg) != 3 {
			t.Fatalf("%+v %v", p, err)
		}
	})
	for _, name := range []string{"tupV3Notify", "tupV2Notify"} {
		t.Run(name, func(t *testing.T) {
			p, frame := packet(t, name)
			cmd, err := NotifyCommand(p)
			if err != nil || cmd != "tars.viewstatus" {
				t.Fatalf("%q %v", cmd, err)
			}
			// And our TUP encoder builds the same request.
			mine := tupRequest(p.IVersion, "tars.viewstatus")
			mine.IRequestID = 7
			if got := Frame(mine); !bytes.Equal(got, frame) {
				t.Fatalf("our TUP request differs\n ours %x\n node %x", got, frame)
			}
		})
	}
	for _, name := range []string{"rpcResponse", "rpcErrorResponse"} {
		t.Run(name, func(t *testing.T) {
			frame, _ := hex.DecodeString(cases[name])
			body, err := ReadPacket(bytes.NewReader(frame), 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := DecodeResponsePacket(body)
			if err != nil {
				t.Fatal(err)
			}
			if again := Frame(p); !bytes.Equal(again, frame) {
				t.Fatalf("re-framed differs\n ours %x\n node %x", again, frame)
			}
			if name == "rpcResponse" {
				var res StringResult
				if err := Unmarshal(p.SBuffer, &res); err != nil || res.Ret != "ok" || p.IRequestID != 9 {
					t.Fatalf("%+v %v", p, err)
				}
			} else if p.IRet != ServerNoFuncErr || p.SResultDesc != "no such function" || len(p.SBuffer) != 0 {
				t.Fatalf("%+v", p)
			}
		})
	}
}

// TestInteropNodeDecodesGo sends our encodings to @tars/stream, which
// decodes and re-encodes them: the bytes must come back unchanged. Framed
// packets go through @tars/rpc's own client and server parsers.
func TestInteropNodeDecodesGo(t *testing.T) {
	type item struct {
		Schema string `json:"schema"`
		Hex    string `json:"hex"`
	}
	type result struct {
		Hex   string          `json:"hex"`
		Value json.RawMessage `json:"value"`
		Error string          `json:"error"`
	}
	ep := EndpointF{Host: "10.0.0.1", Port: 17890, Timeout: 60000, IsTCP: EndpointTCP, Grid: 1, GroupWorkID: 2,
		GroupRealID: 3, SetID: "s.a.1", Qos: 4, BakFlag: 5, Weight: 100, WeightType: 1, AuthType: 1, NodeName: "node"}
	structs := []struct {
		schema string
		v      Struct
		want   string // a fragment of node's JSON view of the value
	}{
		{"ServerInfo", &ServerInfo{"App", "Server", 4242, "AdminAdapter"}, `"pid":4242`},
		{"KeepAliveArgs", &KeepAliveArgs{ServerInfo{"App", "Server", -1, ""}}, `"pid":-1`},
		{"ReportVersionArgs", &ReportVersionArgs{"App", "Server", "2.2.2"}, `"version":"2.2.2"`},
		{"NotifyArgs", &NotifyArgs{Command: "tars.setloglevel " + strings.Repeat("é", 200)}, `"command":"tars.setloglevel é`},
		{"StringResult", &StringResult{Ret: ""}, `"ret":""`},
		{"ReportMicMsgArgs", sampleMicBatch(3), `"interfaceName":"/api/xx"`},
		{"ReportPropMsgArgs", &ReportPropMsgArgs{StatMsg: []StatPropMsg{
			{Key: StatPropMsgHead{ModuleName: "App.Server", IP: "10.0.0.5", PropertyName: "App.Server.rss", IPropertyVer: 2},
				Value: StatPropMsgBody{VInfo: []StatPropInfo{{PolicyMax, "100"}, {PolicyDistr, "0|1,10|2"}}}},
			{Key: NewStatPropMsgHead(), Value: StatPropMsgBody{VInfo: []StatPropInfo{}}},
		}}, `"value":"0|1,10|2"`},
		{"ReportNotifyInfoArgs", &ReportNotifyInfoArgs{ReportInfo{Type: ReportTypeNotify, App: "App", Server: "Server",
			Message: "restart", ThreadID: "123", Level: NotifyWarn, NodeName: "n"}}, `"sMessage":"restart"`},
		{"FindObjectsResult", &FindObjectsResult{Ret: 0, ActiveEp: []EndpointF{ep, {Host: "h"}}, InactiveEp: []EndpointF{}}, `"setId":"s.a.1"`},
		{"EndpointF", &ep, `"authType":1`},
		{"RequestPacket", benchRequest(), `"sFuncName":"keepAlive"`},
		{"ResponsePacket", &ResponsePacket{IVersion: 1, IRequestID: 3, IRet: -3, SBuffer: []byte{1}, Status: map[string]string{"a": "b"},
			SResultDesc: "no such function", Context: map[string]string{}}, `"iRet":-3`},
	}
	var items []item
	for _, s := range structs {
		items = append(items, item{s.schema, hex.EncodeToString(Marshal(s.v))})
	}
	// Framed packets through @tars/rpc's parsers: two requests in one read…
	oneway := &RequestPacket{IVersion: 1, CPacketType: PacketOneway, IRequestID: 2, SServantName: ServantStat,
		SFuncName: FuncReportMicMsg, SBuffer: Marshal(sampleMicBatch(2))}
	items = append(items, item{"frame:request", hex.EncodeToString(append(Frame(benchRequest()), Frame(oneway)...))})
	// …and replies of each kind.
	req := sampleRequest()
	req.IRequestID = 11
	okResp := NewResponse(req, ServerSuccess, Marshal(&StringResult{Ret: "ok"}))
	errResp := NewResponse(req, ServerNoFuncErr, nil)
	errResp.SResultDesc = "no such function"
	items = append(items, item{"frame:response", hex.EncodeToString(Frame(okResp))})
	items = append(items, item{"frame:response", hex.EncodeToString(Frame(errResp))})
	for _, v := range []int16{VersionTUPSimple, VersionTUPComplex} {
		attrs := NewTUP(v)
		attrs.PutString("", "reply")
		attrs.PutString("tars_ret", "reply")
		tr := NewTUPResponse(tupRequest(v, "x"), ServerSuccess, "", attrs)
		schema := "frame:tup3"
		if v == VersionTUPComplex {
			schema = "frame:tup2"
		}
		items = append(items, item{schema, hex.EncodeToString(Frame(tr))})
	}

	in, _ := json.Marshal(items)
	var results []result
	if err := json.Unmarshal(nodePeer(t, in, "roundtrip"), &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != len(items) {
		t.Fatalf("%d results for %d items", len(results), len(items))
	}
	for i, s := range structs {
		r := results[i]
		if r.Error != "" {
			t.Errorf("%s: @tars/stream failed: %s", s.schema, r.Error)
			continue
		}
		if r.Hex != items[i].Hex {
			t.Errorf("%s: @tars/stream re-encoded differently\n ours %s\n node %s", s.schema, items[i].Hex, r.Hex)
		}
		if !strings.Contains(string(r.Value), s.want) {
			t.Errorf("%s: node's view %s lacks %s", s.schema, r.Value, s.want)
		}
	}
	wantFrames := []string{
		`[{"sFuncName":"keepAlive","iRequestId":1,"cPacketType":0,"iTimeout":3000,"context":{"node_name":"10.0.0.5"},"sBuffer":"` +
			hex.EncodeToString(benchRequest().SBuffer) + `"},{"sFuncName":"reportMicMsg","iRequestId":2,"cPacketType":1,"iTimeout":0,"context":{},"sBuffer":"` +
			hex.EncodeToString(oneway.SBuffer) + `"}]`,
		`{"iRequestId":11,"iResultCode":0,"sResultDesc":"","sBuffer":"` + hex.EncodeToString(okResp.SBuffer) + `"}`,
		`{"iRequestId":11,"iResultCode":-3,"sResultDesc":"no such function","sBuffer":""}`,
		`{"iRequestId":9,"iResultCode":0,"sResultDesc":"","ret":"reply"}`,
		`{"iRequestId":9,"iResultCode":0,"sResultDesc":"","ret":"reply"}`,
	}
	for i, want := range wantFrames {
		r := results[len(structs)+i]
		if r.Error != "" || string(r.Value) != want {
			t.Errorf("%s: @tars/rpc parsed\n got %s %s\nwant %s", items[len(structs)+i].Schema, r.Value, r.Error, want)
		}
	}
}
