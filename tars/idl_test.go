package tars

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func roundTrip[T any, PT interface {
	*T
	Struct
}](t *testing.T, in T) {
	t.Helper()
	b := Marshal(PT(&in))
	var out T
	if err := Unmarshal(b, PT(&out)); err != nil {
		t.Fatalf("%T: %v", in, err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("%T round trip:\n in %+v\nout %+v", in, in, out)
	}
	// Deterministic encoding.
	if b2 := Marshal(PT(&out)); !bytes.Equal(b, b2) {
		t.Fatalf("%T: re-encoding differs", in)
	}
	// Every strict prefix fails or decodes without panicking.
	for n := range len(b) {
		var x T
		_ = Unmarshal(b[:n], PT(&x))
	}
}

func sampleHead(i int) StatMicMsgHead {
	return StatMicMsgHead{MasterName: "http_client", SlaveName: "App.Server", InterfaceName: "/api/" + strings.Repeat("x", i),
		MasterIP: "10.0.0.5", SlaveIP: "10.0.0.6", SlavePort: 8080, ReturnValue: int32(-i),
		SlaveSetName: "s", SlaveSetArea: "a", SlaveSetID: "1", TarsVersion: "1.0"}
}

func sampleBody(i int) StatMicMsgBody {
	ic := map[int32]int32{}
	for j, p := range StatIntervals {
		ic[p] = int32(i * j)
	}
	return StatMicMsgBody{Count: int32(i), TimeoutCount: 1, ExecCount: 2, IntervalCount: ic,
		TotalRspTime: 1 << 40, MaxRspTime: 3000, MinRspTime: 1}
}

func sampleMicBatch(n int) *ReportMicMsgArgs {
	a := &ReportMicMsgArgs{FromClient: true}
	for i := range n {
		a.Msg = append(a.Msg, StatMicMsg{Key: sampleHead(i), Value: sampleBody(i)})
	}
	return a
}

func TestIDLRoundTrips(t *testing.T) {
	roundTrip(t, ServerInfo{Application: "App", ServerName: "Server", Pid: 4242, Adapter: "AdminAdapter"})
	roundTrip(t, KeepAliveArgs{ServerInfo{Application: "App", ServerName: "Server", Pid: 1}})
	roundTrip(t, ReportVersionArgs{App: "App", ServerName: "Server", Version: "2.2.2"})
	roundTrip(t, IntResult{Ret: -1})
	roundTrip(t, LongResult{Ret: 1 << 40})
	roundTrip(t, StringResult{Ret: strings.Repeat("r", 1000)})
	roundTrip(t, NotifyArgs{Command: "tars.setloglevel INFO"})
	roundTrip(t, NoArgs{})
	roundTrip(t, *sampleMicBatch(3))
	roundTrip(t, ReportMicMsgArgs{Msg: []StatMicMsg{}})
	roundTrip(t, ReportPropMsgArgs{StatMsg: []StatPropMsg{
		{Key: StatPropMsgHead{ModuleName: "App.Server", IP: "10.0.0.5", PropertyName: "App.Server.rss", IPropertyVer: 2},
			Value: StatPropMsgBody{VInfo: []StatPropInfo{{PolicyMax, "100"}, {PolicyMin, "1"}, {PolicyDistr, "0|1,10|2"}}}},
		{Key: NewStatPropMsgHead(), Value: StatPropMsgBody{VInfo: []StatPropInfo{}}},
	}})
	roundTrip(t, ReportNotifyInfoArgs{ReportInfo{Type: ReportTypeNotify, App: "App", Server: "Server",
		Message: "[alarm] worker exit unexpected", ThreadID: "123", Level: NotifyError, NodeName: "n"}})
	ep := EndpointF{Host: "10.0.0.1", Port: 17890, Timeout: 60000, IsTCP: EndpointTCP, Grid: 1, GroupWorkID: 2,
		GroupRealID: 3, SetID: "s.a.1", Qos: 4, BakFlag: 5, Weight: 100, WeightType: 1, AuthType: 1, NodeName: "node"}
	roundTrip(t, ep)
	roundTrip(t, FindObjectByIDArgs{ID: ServantNotify})
	roundTrip(t, LoadConfigByInfoArgs{ConfigInfo{AppName: "Sms", ServerName: "Gateway", FileName: "gateway.conf", SetDivision: "sms.sz.1", Host: "10.0.0.5"}})
	roundTrip(t, LoadConfigByInfoResult{Ret: 0, Config: "a=1\n"})
	roundTrip(t, FindObjectByIDInSameSetArgs{ID: ServantNotify, SetID: "s.a.1"})
	roundTrip(t, FindObjectByIDResult{Ret: []EndpointF{ep, {Host: "h"}}})
	roundTrip(t, FindObjectsResult{Ret: 0, ActiveEp: []EndpointF{ep}, InactiveEp: []EndpointF{}})
	// findObjectByIdInSameSet has two in parameters: the outs start at tag 3,
	// and the decoder must be told so.
	in := FindObjectsResult{Ret: 1, ActiveEp: []EndpointF{}, InactiveEp: []EndpointF{ep}, OutTag: 3}
	out := FindObjectsResult{OutTag: 3}
	if err := Unmarshal(Marshal(&in), &out); err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("OutTag 3: %+v %v", out, err)
	}
	if err := Unmarshal(Marshal(&in), &FindObjectsResult{}); err == nil {
		t.Fatal("OutTag 3 read at tag 2 succeeded")
	}
}

func TestFindObjectsResultTags(t *testing.T) {
	// findObjectById4Any(id, out active, out inactive): active at tag 2.
	b := Marshal(&FindObjectsResult{ActiveEp: []EndpointF{{Host: "h"}}, InactiveEp: []EndpointF{}})
	var w Buffer
	w.WriteInt32(0, 0)
	WriteStructList(&w, 2, []EndpointF{{Host: "h"}})
	WriteStructList(&w, 3, []EndpointF{})
	if !bytes.Equal(b, w.Bytes()) {
		t.Fatalf("%x != %x", b, w.Bytes())
	}
}

// TestCppOmittedOptionals: a C++ writer leaves out optional fields equal to
// their defaults; they decode to the IDL defaults.
func TestCppOmittedOptionals(t *testing.T) {
	var w Buffer
	w.WriteInt32(1, 0)
	for tag := uint8(2); tag <= 6; tag++ {
		w.WriteString(tag, "v")
	}
	var ri ReportInfo
	if err := Unmarshal(w.Bytes(), &ri); err != nil || ri.Level != NotifyNormal || ri.ThreadID != "" || ri.Message != "v" {
		t.Fatalf("%+v %v", ri, err)
	}
	w.Reset()
	w.WriteString(0, "h")
	for tag := uint8(1); tag <= 4; tag++ {
		w.WriteInt32(tag, 1)
	}
	var ep EndpointF
	if err := Unmarshal(w.Bytes(), &ep); err != nil || ep.Host != "h" || ep.Grid != 1 || ep.Weight != 0 {
		t.Fatalf("%+v %v", ep, err)
	}
}
