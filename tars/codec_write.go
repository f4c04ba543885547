package tars

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
)

// Buffer is a TARS encoder: every Write method appends one field to an
// in-memory byte slice. Writes cannot fail. The zero value is ready to use;
// reuse a Buffer with Reset to avoid allocations.
//
// Integers are written in the narrowest form that holds the value (0 as
// TypeZero, then Int8, Int16, Int32, Int64), whatever the declared type, as
// every TARS implementation does. Callers must write fields in ascending tag
// order, since readers rely on it.
type Buffer struct {
	b []byte
}

// Bytes returns the encoded bytes. The slice aliases the Buffer until the
// next write or Reset.
func (w *Buffer) Bytes() []byte { return w.b }

// Len returns the number of encoded bytes.
func (w *Buffer) Len() int { return len(w.b) }

// Reset empties the Buffer, keeping its capacity.
func (w *Buffer) Reset() { w.b = w.b[:0] }

// WriteHead writes a raw head. Only needed for hand-made encodings; the typed
// Write methods write their own heads.
func (w *Buffer) WriteHead(tag uint8, t Type) {
	if tag < 15 {
		w.b = append(w.b, tag<<4|byte(t))
		return
	}
	w.b = append(w.b, 0xf0|byte(t), tag)
}

// WriteBool writes b as Int8 1 or Zero.
func (w *Buffer) WriteBool(tag uint8, b bool) {
	if b {
		w.WriteInt64(tag, 1)
	} else {
		w.WriteHead(tag, TypeZero)
	}
}

// WriteInt8 writes v (IDL byte/char).
func (w *Buffer) WriteInt8(tag uint8, v int8) { w.WriteInt64(tag, int64(v)) }

// WriteInt16 writes v (IDL short).
func (w *Buffer) WriteInt16(tag uint8, v int16) { w.WriteInt64(tag, int64(v)) }

// WriteInt32 writes v (IDL int and enums).
func (w *Buffer) WriteInt32(tag uint8, v int32) { w.WriteInt64(tag, int64(v)) }

// WriteUint8 writes v (IDL unsigned byte, encoded as a short).
func (w *Buffer) WriteUint8(tag uint8, v uint8) { w.WriteInt64(tag, int64(v)) }

// WriteUint16 writes v (IDL unsigned short, encoded as an int).
func (w *Buffer) WriteUint16(tag uint8, v uint16) { w.WriteInt64(tag, int64(v)) }

// WriteUint32 writes v (IDL unsigned int, encoded as a long).
func (w *Buffer) WriteUint32(tag uint8, v uint32) { w.WriteInt64(tag, int64(v)) }

// WriteInt64 writes v (IDL long) in its narrowest encoding.
func (w *Buffer) WriteInt64(tag uint8, v int64) {
	switch {
	case v == 0:
		w.WriteHead(tag, TypeZero)
	case v >= math.MinInt8 && v <= math.MaxInt8:
		w.WriteHead(tag, TypeInt8)
		w.b = append(w.b, byte(v))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		w.WriteHead(tag, TypeInt16)
		w.b = binary.BigEndian.AppendUint16(w.b, uint16(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		w.WriteHead(tag, TypeInt32)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(v))
	default:
		w.WriteHead(tag, TypeInt64)
		w.b = binary.BigEndian.AppendUint64(w.b, uint64(v))
	}
}

// WriteFloat32 writes v; 0 is written as Zero, as @tars/stream does.
func (w *Buffer) WriteFloat32(tag uint8, v float32) {
	if v == 0 && !math.Signbit(float64(v)) {
		w.WriteHead(tag, TypeZero)
		return
	}
	w.WriteHead(tag, TypeFloat)
	w.b = binary.BigEndian.AppendUint32(w.b, math.Float32bits(v))
}

// WriteFloat64 writes v; 0 is written as Zero, as @tars/stream does.
func (w *Buffer) WriteFloat64(tag uint8, v float64) {
	if v == 0 && !math.Signbit(v) {
		w.WriteHead(tag, TypeZero)
		return
	}
	w.WriteHead(tag, TypeDouble)
	w.b = binary.BigEndian.AppendUint64(w.b, math.Float64bits(v))
}

// WriteString writes s as String1 when its byte length is ≤ 255, else as
// String4. The bytes are written as they are (no UTF-8 validation).
func (w *Buffer) WriteString(tag uint8, s string) {
	if len(s) <= math.MaxUint8 {
		w.WriteHead(tag, TypeString1)
		w.b = append(w.b, byte(len(s)))
	} else {
		w.WriteHead(tag, TypeString4)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(s)))
	}
	w.b = append(w.b, s...)
}

// WriteBytes writes b as a SimpleList (IDL vector<byte>).
func (w *Buffer) WriteBytes(tag uint8, b []byte) {
	w.WriteHead(tag, TypeSimpleList)
	w.WriteHead(0, TypeInt8)
	w.WriteInt64(0, int64(len(b)))
	w.b = append(w.b, b...)
}

// WriteListHead starts a list of n elements; the caller then writes n
// values at tag 0.
func (w *Buffer) WriteListHead(tag uint8, n int) {
	w.WriteHead(tag, TypeList)
	w.WriteInt64(0, int64(n))
}

// WriteMapHead starts a map of n entries; the caller then writes n keys at
// tag 0, each followed by its value at tag 1.
func (w *Buffer) WriteMapHead(tag uint8, n int) {
	w.WriteHead(tag, TypeMap)
	w.WriteInt64(0, int64(n))
}

// WriteStructBegin starts a nested struct at tag.
func (w *Buffer) WriteStructBegin(tag uint8) { w.WriteHead(tag, TypeStructBegin) }

// WriteStructEnd closes a nested struct (head 0x0b: StructEnd is always tag 0).
func (w *Buffer) WriteStructEnd() { w.b = append(w.b, byte(TypeStructEnd)) }

// WriteStruct writes s as a nested struct at tag.
func (w *Buffer) WriteStruct(tag uint8, s Struct) {
	w.WriteStructBegin(tag)
	s.Encode(w)
	w.WriteStructEnd()
}

// WriteStringMap writes a map<string,string> with its keys sorted, so the
// output is deterministic.
func (w *Buffer) WriteStringMap(tag uint8, m map[string]string) {
	w.WriteMapHead(tag, len(m))
	switch len(m) {
	case 0:
		return
	case 1:
		for k, v := range m {
			w.WriteString(0, k)
			w.WriteString(1, v)
		}
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.WriteString(0, k)
		w.WriteString(1, m[k])
	}
}

// WriteList writes vs as a list; elem writes one element, e.g.
// (*Buffer).WriteString or (*Buffer).WriteInt32.
func WriteList[T any](w *Buffer, tag uint8, vs []T, elem func(w *Buffer, tag uint8, v T)) {
	w.WriteListHead(tag, len(vs))
	for _, v := range vs {
		elem(w, 0, v)
	}
}

// WriteStructList writes a vector of structs.
func WriteStructList[T any, PT interface {
	*T
	Struct
}](w *Buffer, tag uint8, vs []T) {
	w.WriteListHead(tag, len(vs))
	for i := range vs {
		w.WriteStruct(0, PT(&vs[i]))
	}
}

// WriteMap writes m with its keys in ascending order (deterministic output).
func WriteMap[K cmp.Ordered, V any](w *Buffer, tag uint8, m map[K]V,
	key func(w *Buffer, tag uint8, k K), val func(w *Buffer, tag uint8, v V)) {
	w.WriteMapHead(tag, len(m))
	var small [16]K // histograms and the like: sort on the stack
	keys := small[:0]
	if len(m) > len(small) {
		keys = make([]K, 0, len(m))
	}
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		key(w, 0, k)
		val(w, 1, m[k])
	}
}

// WriteStructPairs writes a map whose keys and values are structs, in the
// order of ps.
func WriteStructPairs[K, V any, PK interface {
	*K
	Struct
}, PV interface {
	*V
	Struct
}](w *Buffer, tag uint8, ps []Pair[K, V]) {
	w.WriteMapHead(tag, len(ps))
	for i := range ps {
		w.WriteStruct(0, PK(&ps[i].Key))
		w.WriteStruct(1, PV(&ps[i].Value))
	}
}
