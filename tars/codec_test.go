package tars

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encode(f func(w *Buffer)) []byte {
	var w Buffer
	f(&w)
	return w.Bytes()
}

// TestGoldenVectors checks our encoder against bytes produced by the real
// @tars/stream 2.0.3 (research §1.3), and decodes them back.
func TestGoldenVectors(t *testing.T) {
	long := strings.Repeat("a", 256)
	tests := []struct {
		name string
		enc  func(w *Buffer)
		want string
		dec  func(r *Reader) (any, error)
		val  any
	}{
		{"int32 0", func(w *Buffer) { w.WriteInt32(0, 0) }, "0c", readI32(0), int32(0)},
		{"int32 1", func(w *Buffer) { w.WriteInt32(1, 1) }, "1001", readI32(1), int32(1)},
		{"int32 -1", func(w *Buffer) { w.WriteInt32(1, -1) }, "10ff", readI32(1), int32(-1)},
		{"int32 127", func(w *Buffer) { w.WriteInt32(1, 127) }, "107f", readI32(1), int32(127)},
		{"int32 -128", func(w *Buffer) { w.WriteInt32(1, -128) }, "1080", readI32(1), int32(-128)},
		{"int32 128", func(w *Buffer) { w.WriteInt32(1, 128) }, "110080", readI32(1), int32(128)},
		{"int32 -129", func(w *Buffer) { w.WriteInt32(1, -129) }, "11ff7f", readI32(1), int32(-129)},
		{"int32 32767", func(w *Buffer) { w.WriteInt32(1, 32767) }, "117fff", readI32(1), int32(32767)},
		{"int32 32768", func(w *Buffer) { w.WriteInt32(1, 32768) }, "1200008000", readI32(1), int32(32768)},
		{"int32 -32769", func(w *Buffer) { w.WriteInt32(1, -32769) }, "12ffff7fff", readI32(1), int32(-32769)},
		{"int64 2^31", func(w *Buffer) { w.WriteInt64(2, 2147483648) }, "230000000080000000", readI64(2), int64(2147483648)},
		{"int64 -2^31-1", func(w *Buffer) { w.WriteInt64(2, -2147483649) }, "23ffffffff7fffffff", readI64(2), int64(-2147483649)},
		{"bool true", func(w *Buffer) { w.WriteBool(3, true) }, "3001", readBool(3), true},
		{"bool false", func(w *Buffer) { w.WriteBool(3, false) }, "3c", readBool(3), false},
		{"tag 14", func(w *Buffer) { w.WriteInt32(14, 5) }, "e005", readI32(14), int32(5)},
		{"tag 15", func(w *Buffer) { w.WriteInt32(15, 5) }, "f00f05", readI32(15), int32(5)},
		{"tag 200", func(w *Buffer) { w.WriteInt32(200, 5) }, "f0c805", readI32(200), int32(5)},
		{"float 1.5", func(w *Buffer) { w.WriteFloat32(0, 1.5) }, "043fc00000", readF32(0), float32(1.5)},
		{"double 1.5", func(w *Buffer) { w.WriteFloat64(0, 1.5) }, "053ff8000000000000", readF64(0), 1.5},
		{"string empty", func(w *Buffer) { w.WriteString(1, "") }, "1600", readStr(1), ""},
		{"string abc", func(w *Buffer) { w.WriteString(1, "abc") }, "1603616263", readStr(1), "abc"},
		{"string 256", func(w *Buffer) { w.WriteString(1, long) }, "1700000100" + hex.EncodeToString([]byte(long)), readStr(1), long},
		{"vector<int>", func(w *Buffer) { WriteList(w, 2, []int32{1, 300}, (*Buffer).WriteInt32) }, "290002000101012c",
			func(r *Reader) (any, error) {
				var v []int32
				err := ReadList(r, &v, 2, true, (*Reader).ReadInt32)
				return v, err
			}, []int32{1, 300}},
		{"vector<string> empty", func(w *Buffer) { WriteList(w, 0, []string{}, (*Buffer).WriteString) }, "090c",
			func(r *Reader) (any, error) {
				var v []string
				err := ReadList(r, &v, 0, true, (*Reader).ReadString)
				return len(v), err
			}, 0},
		{"vector<byte>", func(w *Buffer) { w.WriteBytes(7, []byte{1, 2, 3}) }, "7d000003010203",
			func(r *Reader) (any, error) {
				var v []byte
				err := r.ReadBytes(&v, 7, true)
				return string(v), err
			}, "\x01\x02\x03"},
		{"map<string,string>", func(w *Buffer) { w.WriteStringMap(9, map[string]string{"k": "v"}) }, "98000106016b160176",
			func(r *Reader) (any, error) {
				var m map[string]string
				err := r.ReadStringMap(&m, 9, true)
				return m["k"], err
			}, "v"},
		{"map<int,int>", func(w *Buffer) {
			WriteMap(w, 3, map[int32]int32{10: 2, 5: 0}, (*Buffer).WriteInt32, (*Buffer).WriteInt32)
		}, "38000200051c000a1002",
			func(r *Reader) (any, error) {
				var m map[int32]int32
				err := ReadMap(r, &m, 3, true, (*Reader).ReadInt32, (*Reader).ReadInt32)
				return [2]int32{m[5], m[10]}, err
			}, [2]int32{0, 2}},
		{"struct ServerInfo", func(w *Buffer) {
			w.WriteStruct(1, &ServerInfo{Application: "App", ServerName: "Srv", Pid: 1234})
		}, "1a060341707016035372762104d236000b",
			func(r *Reader) (any, error) {
				var s ServerInfo
				err := r.ReadStruct(&s, 1, true)
				return s, err
			}, ServerInfo{Application: "App", ServerName: "Srv", Pid: 1234}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := encode(tt.enc)
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("encode = %x, want %x", got, want)
			}
			r := NewReader(got)
			v, err := tt.dec(r)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !equalAny(v, tt.val) {
				t.Fatalf("decode = %#v, want %#v", v, tt.val)
			}
			if r.Remaining() != 0 {
				t.Fatalf("%d bytes left", r.Remaining())
			}
		})
	}
}

func equalAny(a, b any) bool {
	if as, ok := a.([]int32); ok {
		bs, ok := b.([]int32)
		if !ok || len(as) != len(bs) {
			return false
		}
		for i := range as {
			if as[i] != bs[i] {
				return false
			}
		}
		return true
	}
	return a == b
}

func readI32(tag uint8) func(*Reader) (any, error) {
	return func(r *Reader) (any, error) { var v int32; err := r.ReadInt32(&v, tag, true); return v, err }
}
func readI64(tag uint8) func(*Reader) (any, error) {
	return func(r *Reader) (any, error) { var v int64; err := r.ReadInt64(&v, tag, true); return v, err }
}
func readBool(tag uint8) func(*Reader) (any, error) {
	return func(r *Reader) (any, error) { var v bool; err := r.ReadBool(&v, tag, true); return v, err }
}
func readF32(tag uint8) func(*Reader) (any, error) {
	return func(r *Reader) (any, error) { var v float32; err := r.ReadFloat32(&v, tag, true); return v, err }
}
func readF64(tag uint8) func(*Reader) (any, error) {
	return func(r *Reader) (any, error) { var v float64; err := r.ReadFloat64(&v, tag, true); return v, err }
}
func readStr(tag uint8) func(*Reader) (any, error) {
	return func(r *Reader) (any, error) { var v string; err := r.ReadString(&v, tag, true); return v, err }
}

// TestIntBoundaries round-trips the limits of every width through every
// reader that accepts them and checks the chosen encoding width.
func TestIntBoundaries(t *testing.T) {
	tests := []struct {
		v    int64
		typ  Type
		size int // payload bytes
	}{
		{0, TypeZero, 0},
		{1, TypeInt8, 1}, {-1, TypeInt8, 1},
		{math.MaxInt8, TypeInt8, 1}, {math.MinInt8, TypeInt8, 1},
		{math.MaxInt8 + 1, TypeInt16, 2}, {math.MinInt8 - 1, TypeInt16, 2},
		{math.MaxInt16, TypeInt16, 2}, {math.MinInt16, TypeInt16, 2},
		{math.MaxInt16 + 1, TypeInt32, 4}, {math.MinInt16 - 1, TypeInt32, 4},
		{math.MaxInt32, TypeInt32, 4}, {math.MinInt32, TypeInt32, 4},
		{math.MaxInt32 + 1, TypeInt64, 8}, {math.MinInt32 - 1, TypeInt64, 8},
		{math.MaxInt64, TypeInt64, 8}, {math.MinInt64, TypeInt64, 8},
	}
	for _, tt := range tests {
		for _, tag := range []uint8{0, 14, 15, 255} {
			b := encode(func(w *Buffer) { w.WriteInt64(tag, tt.v) })
			headLen := 1
			if tag >= 15 {
				headLen = 2
			}
			if Type(b[0]&0x0f) != tt.typ || len(b) != headLen+tt.size {
				t.Fatalf("%d at tag %d: encoded %x, want type %v with %d bytes", tt.v, tag, b, tt.typ, tt.size)
			}
			var v64 int64
			if err := NewReader(b).ReadInt64(&v64, tag, true); err != nil || v64 != tt.v {
				t.Fatalf("ReadInt64(%x) = %d, %v; want %d", b, v64, err, tt.v)
			}
			var v32 int32
			err := NewReader(b).ReadInt32(&v32, tag, true)
			if fits := tt.v >= math.MinInt32 && tt.v <= math.MaxInt32; fits != (err == nil) || (fits && int64(v32) != tt.v) {
				t.Fatalf("ReadInt32(%x) = %d, %v", b, v32, err)
			} else if !fits && !errors.Is(err, ErrTypeMismatch) {
				t.Fatalf("ReadInt32(%x) error %v, want ErrTypeMismatch", b, err)
			}
			var v16 int16
			err = NewReader(b).ReadInt16(&v16, tag, true)
			if fits := tt.v >= math.MinInt16 && tt.v <= math.MaxInt16; fits != (err == nil) || (fits && int64(v16) != tt.v) {
				t.Fatalf("ReadInt16(%x) = %d, %v", b, v16, err)
			}
			var v8 int8
			err = NewReader(b).ReadInt8(&v8, tag, true)
			if fits := tt.v >= math.MinInt8 && tt.v <= math.MaxInt8; fits != (err == nil) || (fits && int64(v8) != tt.v) {
				t.Fatalf("ReadInt8(%x) = %d, %v", b, v8, err)
			}
		}
	}
}

func TestUnsigned(t *testing.T) {
	var w Buffer
	w.WriteUint8(0, math.MaxUint8)
	w.WriteUint16(1, math.MaxUint16)
	w.WriteUint32(2, math.MaxUint32)
	w.WriteInt32(3, -1)
	b := w.Bytes()
	if want := unhex(t, "01 00ff 12 0000ffff 23 00000000ffffffff 30ff"); !bytes.Equal(b, want) {
		t.Fatalf("encode = %x, want %x", b, want)
	}
	r := NewReader(b)
	var u8 uint8
	var u16 uint16
	var u32 uint32
	r.ReadUint8(&u8, 0, true)
	r.ReadUint16(&u16, 1, true)
	r.ReadUint32(&u32, 2, true)
	if err := r.Err(); err != nil || u8 != math.MaxUint8 || u16 != math.MaxUint16 || u32 != math.MaxUint32 {
		t.Fatalf("got %d %d %d, %v", u8, u16, u32, err)
	}
	if err := r.ReadUint32(&u32, 3, true); !errors.Is(err, ErrMalformed) {
		t.Fatalf("negative uint32: %v, want ErrMalformed", err)
	}
}

func TestFloats(t *testing.T) {
	for _, v := range []float64{0, 1.5, -2.25, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1)} {
		b := encode(func(w *Buffer) { w.WriteFloat64(4, v) })
		var got float64
		if err := NewReader(b).ReadFloat64(&got, 4, true); err != nil || got != v {
			t.Fatalf("double %v: got %v, %v (%x)", v, got, err, b)
		}
	}
	nan := encode(func(w *Buffer) { w.WriteFloat64(0, math.NaN()) })
	var got float64
	if err := NewReader(nan).ReadFloat64(&got, 0, true); err != nil || !math.IsNaN(got) {
		t.Fatalf("NaN: %v %v", got, err)
	}
	for _, v := range []float32{0, 1.5, -3, math.MaxFloat32} {
		b := encode(func(w *Buffer) { w.WriteFloat32(4, v) })
		var f32 float32
		if err := NewReader(b).ReadFloat32(&f32, 4, true); err != nil || f32 != v {
			t.Fatalf("float %v: got %v, %v", v, f32, err)
		}
		// A double field accepts a Float encoding.
		var f64 float64
		if err := NewReader(b).ReadFloat64(&f64, 4, true); err != nil || f64 != float64(v) {
			t.Fatalf("float %v as double: got %v, %v", v, f64, err)
		}
	}
	// A float field does not accept a Double.
	var f32 float32
	if err := NewReader(unhex(t, "053ff8000000000000")).ReadFloat32(&f32, 0, true); !errors.Is(err, ErrTypeMismatch) {
		t.Fatalf("double as float: %v", err)
	}
	// Negative zero keeps its sign.
	nz := encode(func(w *Buffer) { w.WriteFloat64(0, math.Copysign(0, -1)) })
	if err := NewReader(nz).ReadFloat64(&got, 0, true); err != nil || !math.Signbit(got) {
		t.Fatalf("-0: %v %v", got, err)
	}
}

func TestStrings(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 70000} {
		s := strings.Repeat("é", n/2) + strings.Repeat("x", n%2) // byte length n
		b := encode(func(w *Buffer) { w.WriteString(20, s) })
		wantType := TypeString1
		if n > 255 {
			wantType = TypeString4
		}
		if Type(b[0]&0x0f) != wantType {
			t.Fatalf("len %d: type %v, want %v", n, Type(b[0]&0x0f), wantType)
		}
		var got string
		if err := NewReader(b).ReadString(&got, 20, true); err != nil || got != s {
			t.Fatalf("len %d: got len %d, %v", n, len(got), err)
		}
	}
	// Bytes are not validated as UTF-8.
	b := encode(func(w *Buffer) { w.WriteString(0, "\xff\xfe") })
	var got string
	if err := NewReader(b).ReadString(&got, 0, true); err != nil || got != "\xff\xfe" {
		t.Fatalf("invalid UTF-8: %q %v", got, err)
	}
}

func TestBytesAcceptsListOfChar(t *testing.T) {
	// vector<byte> written as a List of Int8 (TarsGo issue #31).
	var w Buffer
	w.WriteListHead(7, 3)
	w.WriteInt8(0, 1)
	w.WriteInt8(0, 0)
	w.WriteInt8(0, -1)
	var got []byte
	if err := NewReader(w.Bytes()).ReadBytes(&got, 7, true); err != nil || !bytes.Equal(got, []byte{1, 0, 0xff}) {
		t.Fatalf("got %x, %v", got, err)
	}
}

// nested is a struct with every kind of field, for round trips and skipping.
type nested struct {
	B    bool
	I8   int8
	I16  int16
	I32  int32
	I64  int64
	F    float32
	D    float64
	S    string
	Raw  []byte
	L    []string
	M    map[string][]ServerInfo // map of lists of structs
	Big  string                  // tag 200
	Opt  int32                   // tag 201, optional, default 42
	Info ServerInfo              // tag 202
}

func (s *nested) Encode(w *Buffer) {
	w.WriteBool(0, s.B)
	w.WriteInt8(1, s.I8)
	w.WriteInt16(2, s.I16)
	w.WriteInt32(3, s.I32)
	w.WriteInt64(4, s.I64)
	w.WriteFloat32(5, s.F)
	w.WriteFloat64(6, s.D)
	w.WriteString(7, s.S)
	w.WriteBytes(8, s.Raw)
	WriteList(w, 9, s.L, (*Buffer).WriteString)
	WriteMap(w, 14, s.M, (*Buffer).WriteString, func(w *Buffer, tag uint8, v []ServerInfo) { WriteStructList(w, tag, v) })
	w.WriteString(200, s.Big)
	w.WriteInt32(201, s.Opt)
	w.WriteStruct(202, &s.Info)
}

func (s *nested) Decode(r *Reader) error {
	*s = nested{Opt: 42}
	r.ReadBool(&s.B, 0, true)
	r.ReadInt8(&s.I8, 1, true)
	r.ReadInt16(&s.I16, 2, true)
	r.ReadInt32(&s.I32, 3, true)
	r.ReadInt64(&s.I64, 4, true)
	r.ReadFloat32(&s.F, 5, true)
	r.ReadFloat64(&s.D, 6, true)
	r.ReadString(&s.S, 7, true)
	r.ReadBytes(&s.Raw, 8, true)
	ReadList(r, &s.L, 9, false, (*Reader).ReadString)
	ReadMap(r, &s.M, 14, false, (*Reader).ReadString, ReadStructList[ServerInfo])
	r.ReadString(&s.Big, 200, false)
	r.ReadInt32(&s.Opt, 201, false)
	r.ReadStruct(&s.Info, 202, false)
	return r.Err()
}

func sampleNested() nested {
	return nested{
		B: true, I8: -128, I16: math.MinInt16, I32: math.MaxInt32, I64: math.MinInt64,
		F: -1.25, D: 1e300, S: strings.Repeat("s", 300), Raw: []byte{0, 1, 2},
		L: []string{"a", "", "c"},
		M: map[string][]ServerInfo{
			"x": {{Application: "A", ServerName: "B", Pid: 1, Adapter: "ad"}, {Pid: -5}},
			"y": {},
		},
		Big: "big", Opt: 7, Info: ServerInfo{Application: "i", Pid: 99},
	}
}

func nestedEqual(a, b nested) bool {
	if a.B != b.B || a.I8 != b.I8 || a.I16 != b.I16 || a.I32 != b.I32 || a.I64 != b.I64 || a.F != b.F ||
		a.D != b.D || a.S != b.S || !bytes.Equal(a.Raw, b.Raw) || a.Big != b.Big || a.Opt != b.Opt || a.Info != b.Info ||
		len(a.L) != len(b.L) || len(a.M) != len(b.M) {
		return false
	}
	for i := range a.L {
		if a.L[i] != b.L[i] {
			return false
		}
	}
	for k, av := range a.M {
		bv := b.M[k]
		if len(av) != len(bv) {
			return false
		}
		for i := range av {
			if av[i] != bv[i] {
				return false
			}
		}
	}
	return true
}

func TestNestedRoundTrip(t *testing.T) {
	in := sampleNested()
	b := Marshal(&in)
	var out nested
	if err := Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !nestedEqual(in, out) {
		t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
	}
	// As a nested struct, too.
	var w Buffer
	w.WriteStruct(3, &in)
	w.WriteInt32(4, 77)
	r := NewReader(w.Bytes())
	out = nested{}
	var after int32
	r.ReadStruct(&out, 3, true)
	r.ReadInt32(&after, 4, true)
	if r.Err() != nil || !nestedEqual(in, out) || after != 77 {
		t.Fatalf("nested: %v %d", r.Err(), after)
	}
}

func TestOptionalDefaults(t *testing.T) {
	in := sampleNested()
	var w Buffer
	// Only the required fields 0..8: optional ones absent.
	full := Marshal(&in)
	r := NewReader(full)
	for range 9 {
		if err := r.Skip(); err != nil {
			t.Fatal(err)
		}
	}
	w.b = append(w.b, full[:r.Offset()]...)
	var out nested
	if err := Unmarshal(w.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Opt != 42 || out.L != nil || out.M != nil || out.Big != "" || out.Info != (ServerInfo{}) {
		t.Fatalf("defaults: %+v", out)
	}
	// StatPropMsgHead.iPropertyVer absent means 1.
	var h StatPropMsgHead
	hb := encode(func(w *Buffer) {
		w.WriteString(0, "App.Server")
		w.WriteString(1, "1.2.3.4")
		w.WriteString(2, "rss")
	})
	if err := Unmarshal(hb, &h); err != nil || h.IPropertyVer != 1 {
		t.Fatalf("iPropertyVer default: %d %v", h.IPropertyVer, err)
	}
}

// TestSkipUnknown: a newer peer's fields, of every type and nested through
// containers, are skipped, both at top level and inside a nested struct.
func TestSkipUnknown(t *testing.T) {
	in := sampleNested()
	unknown := func(w *Buffer, base uint8) {
		w.WriteInt64(base, math.MaxInt64)
		w.WriteFloat64(base+1, 2.5)
		w.WriteString(base+2, strings.Repeat("u", 1000))
		w.WriteBytes(base+3, []byte("raw"))
		w.WriteStruct(base+4, &in) // a struct containing maps of lists of structs
		WriteMap(w, base+5, map[string][]ServerInfo{"k": {{Pid: 1}}}, (*Buffer).WriteString,
			func(w *Buffer, tag uint8, v []ServerInfo) { WriteStructList(w, tag, v) })
		WriteList(w, base+6, [][]byte{{1}, {2, 3}}, (*Buffer).WriteBytes)
		w.WriteBool(base+7, false)
	}
	// ServerInfo with unknown fields after its own (a newer IDL), then
	// unknown top-level fields around a known one.
	var w Buffer
	w.WriteStructBegin(1)
	w.WriteString(0, "App")
	w.WriteString(1, "Srv")
	w.WriteInt32(2, 1234)
	w.WriteString(3, "adapter")
	unknown(&w, 4)
	unknown(&w, 100)
	w.WriteStructEnd()
	unknown(&w, 3) // top-level unknown fields between 1 and 20
	w.WriteInt32(20, 5)
	unknown(&w, 30)

	r := NewReader(w.Bytes())
	var si ServerInfo
	var after int32
	r.ReadStruct(&si, 1, true)
	r.ReadInt32(&after, 20, true)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if si != (ServerInfo{"App", "Srv", 1234, "adapter"}) || after != 5 {
		t.Fatalf("got %+v %d", si, after)
	}
	// And skipping everything field by field consumes the whole input.
	r = NewReader(w.Bytes())
	for r.Remaining() > 0 {
		if err := r.Skip(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStructEndStopsLookup(t *testing.T) {
	// Inside the struct at tag 1 only tag 0 is present; the reader must not
	// find tag 2 in the parent (which follows the StructEnd).
	var w Buffer
	w.WriteStructBegin(1)
	w.WriteString(0, "App")
	w.WriteStructEnd()
	w.WriteInt32(2, 7)
	var si ServerInfo
	err := NewReader(w.Bytes()).ReadStruct(&si, 1, true)
	if !errors.Is(err, ErrRequired) {
		t.Fatalf("got %v, want ErrRequired (tag 1 inside the struct)", err)
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
		read func(r *Reader) error
		want error
	}{
		{"empty required", "", func(r *Reader) error { var v int32; return r.ReadInt32(&v, 0, true) }, ErrRequired},
		{"truncated int32", "0200", func(r *Reader) error { var v int32; return r.ReadInt32(&v, 0, true) }, ErrTruncated},
		{"truncated int64", "03000000", func(r *Reader) error { var v int64; return r.ReadInt64(&v, 0, true) }, ErrTruncated},
		{"truncated double", "0500", func(r *Reader) error { var v float64; return r.ReadFloat64(&v, 0, true) }, ErrTruncated},
		{"truncated tag", "f0", func(r *Reader) error { var v int32; return r.ReadInt32(&v, 20, true) }, ErrTruncated},
		{"string1 short", "0605616263", func(r *Reader) error { var v string; return r.ReadString(&v, 0, true) }, ErrTruncated},
		{"string4 huge", "07ffffffff00", func(r *Reader) error { var v string; return r.ReadString(&v, 0, true) }, ErrTooLarge},
		{"string4 truncated len", "070000", func(r *Reader) error { var v string; return r.ReadString(&v, 0, true) }, ErrTruncated},
		{"int64 for int32", "030000000100000000", func(r *Reader) error { var v int32; return r.ReadInt32(&v, 0, true) }, ErrTypeMismatch},
		{"string for int", "0600", func(r *Reader) error { var v int32; return r.ReadInt32(&v, 0, true) }, ErrTypeMismatch},
		{"int for string", "0001", func(r *Reader) error { var v string; return r.ReadString(&v, 0, true) }, ErrTypeMismatch},
		{"list huge count", "0902 7fffffff", func(r *Reader) error {
			var v []int32
			return ReadList(r, &v, 0, true, (*Reader).ReadInt32)
		}, ErrTooLarge},
		{"list negative count", "0900ff", func(r *Reader) error {
			var v []int32
			return ReadList(r, &v, 0, true, (*Reader).ReadInt32)
		}, ErrMalformed},
		{"map huge count", "0801 7fff", func(r *Reader) error {
			var v map[string]string
			return r.ReadStringMap(&v, 0, true)
		}, ErrTooLarge},
		{"map count as int64", "0803 0000000000000001", func(r *Reader) error {
			var v map[string]string
			return r.ReadStringMap(&v, 0, true)
		}, ErrTypeMismatch},
		{"simplelist huge", "0d00 02 7fffffff", func(r *Reader) error { var v []byte; return r.ReadBytes(&v, 0, true) }, ErrTooLarge},
		{"simplelist bad inner head", "0d01 0001", func(r *Reader) error { var v []byte; return r.ReadBytes(&v, 0, true) }, ErrMalformed},
		{"size at wrong tag", "0d00 1001 00", func(r *Reader) error { var v []byte; return r.ReadBytes(&v, 0, true) }, ErrMalformed},
		{"unknown type skipped", "0e 1001", func(r *Reader) error { var v int32; return r.ReadInt32(&v, 1, true) }, ErrMalformed},
		{"unknown type 15", "0f", func(r *Reader) error { return r.Skip() }, ErrMalformed},
		{"struct field missing", "0a 0603414141 0b", func(r *Reader) error { var s ServerInfo; return r.ReadStruct(&s, 0, true) }, ErrRequired},
		{"struct never ends", "0a 0600 1600 2c", func(r *Reader) error { var s ServerInfo; return r.ReadStruct(&s, 0, true) }, ErrTruncated},
		{"skip struct never ends", "0a 0001 1001", func(r *Reader) error { var v int32; return r.ReadInt32(&v, 1, true) }, ErrTruncated},
		{"list elem at wrong tag", "0900 01 1001", func(r *Reader) error {
			var v []int32
			return ReadList(r, &v, 0, true, (*Reader).ReadInt32)
		}, ErrRequired},
		{"bool from string", "0600", func(r *Reader) error { var v bool; return r.ReadBool(&v, 0, true) }, ErrTypeMismatch},
		{"deep nesting", strings.Repeat("0a", 100) + strings.Repeat("0b", 100) + "1001", func(r *Reader) error {
			var v int32
			return r.ReadInt32(&v, 1, true)
		}, ErrTooLarge},
		{"deep lists", strings.Repeat("090001", 100), func(r *Reader) error { return r.Skip() }, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(unhex(t, tt.in))
			err := tt.read(r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if r.Err() == nil {
				t.Fatal("error not sticky")
			}
			// Sticky: later calls fail with the same error and do not read.
			var v int32
			off := r.Offset()
			if err2 := r.ReadInt32(&v, 0, false); err2 != r.Err() || r.Offset() != off {
				t.Fatalf("after error: %v, offset %d→%d", err2, off, r.Offset())
			}
		})
	}
}

func TestAbsentOptionalLeavesValue(t *testing.T) {
	r := NewReader(unhex(t, "1001"))
	v := int32(9)
	if err := r.ReadInt32(&v, 0, false); err != nil || v != 9 {
		t.Fatalf("absent tag 0: %d %v", v, err)
	}
	if err := r.ReadInt32(&v, 1, false); err != nil || v != 1 {
		t.Fatalf("tag 1: %d %v", v, err)
	}
	if err := r.ReadInt32(&v, 2, false); err != nil || v != 1 {
		t.Fatalf("absent tag 2 at end: %d %v", v, err)
	}
}

func TestTypeString(t *testing.T) {
	if TypeSimpleList.String() != "SimpleList" || Type(14).String() != "Type(14)" {
		t.Fatal(TypeSimpleList.String(), Type(14).String())
	}
}
