package tars

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Reader is a TARS decoder over an in-memory byte slice. It never panics and
// never allocates more than the remaining input can justify.
//
// Each Read method looks for its field by tag: it skips every field with a
// smaller tag (whatever its type, recursing through containers) and stops,
// without consuming, at the first head with a larger tag or at a StructEnd.
// So fields must be read in ascending tag order, and fields unknown to the
// reader are skipped.
//
// Read methods store into *dst only when the field is present and valid. An
// absent optional field leaves *dst unchanged (set the IDL default first);
// an absent required field is an ErrRequired error.
//
// Errors are sticky: the first error is remembered, every later call returns
// it without reading, and Err reports it. A Decode method can therefore make
// all its calls and return r.Err() at the end, or check each call.
type Reader struct {
	b     []byte
	off   int
	depth int // nesting of structs, lists and maps being read or skipped
	err   error
}

// NewReader returns a Reader over data. The Reader does not retain data
// beyond its own lifetime: strings and byte slices it returns are copies.
func NewReader(data []byte) *Reader { return &Reader{b: data} }

// Reset makes r read data from the start, clearing any error.
func (r *Reader) Reset(data []byte) { *r = Reader{b: data} }

// Err returns the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Offset returns how many bytes have been consumed.
func (r *Reader) Offset() int { return r.off }

// Remaining returns how many bytes are left.
func (r *Reader) Remaining() int { return len(r.b) - r.off }

// fail records the first error.
func (r *Reader) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return r.err
}

func (r *Reader) failf(sentinel error, format string, args ...any) error {
	return r.fail(fmt.Errorf("tars: offset %d: %s: %w", r.off, fmt.Sprintf(format, args...), sentinel))
}

// peekHead decodes the head at the current offset without consuming it and
// returns its tag, type and byte size. ok is false at end of input.
func (r *Reader) peekHead() (tag uint8, t Type, n int, ok bool) {
	if r.off >= len(r.b) {
		return 0, 0, 0, false
	}
	h := r.b[r.off]
	tag, t, n = h>>4, Type(h&0x0f), 1
	if tag == 15 {
		if r.off+1 >= len(r.b) {
			r.failf(ErrTruncated, "head with extended tag")
			return 0, 0, 0, false
		}
		tag, n = r.b[r.off+1], 2
	}
	return tag, t, n, true
}

// readHead consumes one head.
func (r *Reader) readHead() (tag uint8, t Type, err error) {
	tag, t, n, ok := r.peekHead()
	if !ok {
		if r.err != nil {
			return 0, 0, r.err
		}
		return 0, 0, r.failf(ErrTruncated, "head expected")
	}
	r.off += n
	return tag, t, nil
}

// find positions r just after the head of field tag and returns its type.
// found is false (with a nil error) when the field is absent: end of input,
// a StructEnd or a larger tag comes first. Smaller tags are skipped.
func (r *Reader) find(tag uint8, required bool) (t Type, found bool, err error) {
	if r.err != nil {
		return 0, false, r.err
	}
	for {
		htag, ht, n, ok := r.peekHead()
		if r.err != nil {
			return 0, false, r.err
		}
		if !ok || ht == TypeStructEnd || htag > tag {
			if required {
				return 0, false, r.failf(ErrRequired, "tag %d", tag)
			}
			return 0, false, nil
		}
		r.off += n
		if htag == tag {
			return ht, true, nil
		}
		if err := r.skipValue(ht); err != nil {
			return 0, false, err
		}
	}
}

func (r *Reader) take(n int) ([]byte, error) {
	if n > len(r.b)-r.off {
		return nil, r.failf(ErrTruncated, "%d bytes needed, %d left", n, len(r.b)-r.off)
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, nil
}

// intValue reads the payload of an integer of type t, sign-extended. widest is
// the widest wire type the declared Go type accepts.
func (r *Reader) intValue(tag uint8, t Type, widest Type) (int64, error) {
	if t != TypeZero && (t > widest) {
		return 0, r.failf(ErrTypeMismatch, "tag %d: %v where at most %v is accepted", tag, t, widest)
	}
	switch t {
	case TypeZero:
		return 0, nil
	case TypeInt8:
		p, err := r.take(1)
		if err != nil {
			return 0, err
		}
		return int64(int8(p[0])), nil
	case TypeInt16:
		p, err := r.take(2)
		if err != nil {
			return 0, err
		}
		return int64(int16(binary.BigEndian.Uint16(p))), nil
	case TypeInt32:
		p, err := r.take(4)
		if err != nil {
			return 0, err
		}
		return int64(int32(binary.BigEndian.Uint32(p))), nil
	default: // TypeInt64
		p, err := r.take(8)
		if err != nil {
			return 0, err
		}
		return int64(binary.BigEndian.Uint64(p)), nil
	}
}

func (r *Reader) readInt(tag uint8, required bool, widest Type) (v int64, found bool, err error) {
	t, found, err := r.find(tag, required)
	if !found {
		return 0, false, err
	}
	v, err = r.intValue(tag, t, widest)
	return v, err == nil, err
}

// ReadBool reads a bool (Int8 or Zero; any non-zero value is true).
func (r *Reader) ReadBool(dst *bool, tag uint8, required bool) error {
	v, ok, err := r.readInt(tag, required, TypeInt8)
	if ok {
		*dst = v != 0
	}
	return err
}

// ReadInt8 reads an IDL byte/char (Zero or Int8).
func (r *Reader) ReadInt8(dst *int8, tag uint8, required bool) error {
	v, ok, err := r.readInt(tag, required, TypeInt8)
	if ok {
		*dst = int8(v)
	}
	return err
}

// ReadInt16 reads an IDL short (Zero, Int8 or Int16).
func (r *Reader) ReadInt16(dst *int16, tag uint8, required bool) error {
	v, ok, err := r.readInt(tag, required, TypeInt16)
	if ok {
		*dst = int16(v)
	}
	return err
}

// ReadInt32 reads an IDL int or enum (Zero, Int8, Int16 or Int32).
func (r *Reader) ReadInt32(dst *int32, tag uint8, required bool) error {
	v, ok, err := r.readInt(tag, required, TypeInt32)
	if ok {
		*dst = int32(v)
	}
	return err
}

// ReadInt64 reads an IDL long (any integer encoding).
func (r *Reader) ReadInt64(dst *int64, tag uint8, required bool) error {
	v, ok, err := r.readInt(tag, required, TypeInt64)
	if ok {
		*dst = v
	}
	return err
}

func (r *Reader) readUint(tag uint8, required bool, widest Type, max uint64) (uint64, bool, error) {
	v, ok, err := r.readInt(tag, required, widest)
	if ok && (v < 0 || uint64(v) > max) {
		return 0, false, r.failf(ErrMalformed, "tag %d: %d out of range 0..%d", tag, v, max)
	}
	return uint64(v), ok, err
}

// ReadUint8 reads an IDL unsigned byte (encoded as a short).
func (r *Reader) ReadUint8(dst *uint8, tag uint8, required bool) error {
	v, ok, err := r.readUint(tag, required, TypeInt16, math.MaxUint8)
	if ok {
		*dst = uint8(v)
	}
	return err
}

// ReadUint16 reads an IDL unsigned short (encoded as an int).
func (r *Reader) ReadUint16(dst *uint16, tag uint8, required bool) error {
	v, ok, err := r.readUint(tag, required, TypeInt32, math.MaxUint16)
	if ok {
		*dst = uint16(v)
	}
	return err
}

// ReadUint32 reads an IDL unsigned int (encoded as a long).
func (r *Reader) ReadUint32(dst *uint32, tag uint8, required bool) error {
	v, ok, err := r.readUint(tag, required, TypeInt64, math.MaxUint32)
	if ok {
		*dst = uint32(v)
	}
	return err
}

// ReadFloat32 reads an IDL float (Zero or Float).
func (r *Reader) ReadFloat32(dst *float32, tag uint8, required bool) error {
	t, found, err := r.find(tag, required)
	if !found {
		return err
	}
	switch t {
	case TypeZero:
		*dst = 0
	case TypeFloat:
		p, err := r.take(4)
		if err != nil {
			return err
		}
		*dst = math.Float32frombits(binary.BigEndian.Uint32(p))
	default:
		return r.failf(ErrTypeMismatch, "tag %d: %v for a float", tag, t)
	}
	return nil
}

// ReadFloat64 reads an IDL double (Zero, Float or Double).
func (r *Reader) ReadFloat64(dst *float64, tag uint8, required bool) error {
	t, found, err := r.find(tag, required)
	if !found {
		return err
	}
	switch t {
	case TypeZero:
		*dst = 0
	case TypeFloat:
		p, err := r.take(4)
		if err != nil {
			return err
		}
		*dst = float64(math.Float32frombits(binary.BigEndian.Uint32(p)))
	case TypeDouble:
		p, err := r.take(8)
		if err != nil {
			return err
		}
		*dst = math.Float64frombits(binary.BigEndian.Uint64(p))
	default:
		return r.failf(ErrTypeMismatch, "tag %d: %v for a double", tag, t)
	}
	return nil
}

// stringBytes reads the length and bytes of a String1/String4 payload. The
// result aliases the input.
func (r *Reader) stringBytes(tag uint8, t Type) ([]byte, error) {
	var n int
	switch t {
	case TypeString1:
		p, err := r.take(1)
		if err != nil {
			return nil, err
		}
		n = int(p[0])
	case TypeString4:
		p, err := r.take(4)
		if err != nil {
			return nil, err
		}
		n64 := uint64(binary.BigEndian.Uint32(p))
		if n64 > uint64(r.Remaining()) {
			return nil, r.failf(ErrTooLarge, "tag %d: string length %d, %d bytes left", tag, n64, r.Remaining())
		}
		n = int(n64)
	default:
		return nil, r.failf(ErrTypeMismatch, "tag %d: %v for a string", tag, t)
	}
	return r.take(n)
}

// ReadString reads an IDL string (String1 or String4). The bytes are not
// validated as UTF-8.
func (r *Reader) ReadString(dst *string, tag uint8, required bool) error {
	t, found, err := r.find(tag, required)
	if !found {
		return err
	}
	p, err := r.stringBytes(tag, t)
	if err != nil {
		return err
	}
	*dst = string(p)
	return nil
}

// readSize reads a count or length (an integer field at tag 0) and checks
// 0 ≤ size and size × unit ≤ remaining input before anyone allocates for it.
func (r *Reader) readSize(unit int) (int, error) {
	tag, t, err := r.readHead()
	if err != nil {
		return 0, err
	}
	if tag != 0 {
		return 0, r.failf(ErrMalformed, "size at tag %d, want tag 0", tag)
	}
	v, err := r.intValue(tag, t, TypeInt32)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, r.failf(ErrMalformed, "negative size %d", v)
	}
	if v*int64(unit) > int64(r.Remaining()) {
		return 0, r.failf(ErrTooLarge, "size %d exceeds the %d bytes left", v, r.Remaining())
	}
	return int(v), nil
}

// ReadBytes reads an IDL vector<byte>: a SimpleList, or a List of Int8/Zero
// elements as some writers send. The result is a copy of the input bytes.
func (r *Reader) ReadBytes(dst *[]byte, tag uint8, required bool) error {
	t, found, err := r.find(tag, required)
	if !found {
		return err
	}
	switch t {
	case TypeSimpleList:
		_, it, err := r.readHead()
		if err != nil {
			return err
		}
		if it != TypeInt8 {
			return r.failf(ErrMalformed, "tag %d: SimpleList element head %v, want Int8", tag, it)
		}
		n, err := r.readSize(1)
		if err != nil {
			return err
		}
		p, err := r.take(n)
		if err != nil {
			return err
		}
		*dst = append(make([]byte, 0, n), p...)
		return nil
	case TypeList:
		n, err := r.readSize(1)
		if err != nil {
			return err
		}
		out := make([]byte, n)
		for i := range out {
			var c int8
			if err := r.ReadInt8(&c, 0, true); err != nil {
				return err
			}
			out[i] = byte(c)
		}
		*dst = out
		return nil
	default:
		return r.failf(ErrTypeMismatch, "tag %d: %v for a vector<byte>", tag, t)
	}
}

func (r *Reader) enter() error {
	if r.depth >= MaxDepth {
		return r.failf(ErrTooLarge, "nesting deeper than %d", MaxDepth)
	}
	r.depth++
	return nil
}

func (r *Reader) leave() { r.depth-- }

// ReadStruct reads a nested struct at tag into s: s.Decode reads the fields
// it knows, then the rest, up to and including the StructEnd, is skipped.
// An absent optional struct leaves s unchanged.
func (r *Reader) ReadStruct(s Struct, tag uint8, required bool) error {
	t, found, err := r.find(tag, required)
	if !found {
		return err
	}
	if t != TypeStructBegin {
		return r.failf(ErrTypeMismatch, "tag %d: %v for a struct", tag, t)
	}
	return r.structBody(s)
}

func (r *Reader) structBody(s Struct) error {
	if err := r.enter(); err != nil {
		return err
	}
	defer r.leave()
	if err := s.Decode(r); err != nil {
		return r.fail(err)
	}
	return r.skipToStructEnd()
}

// listHead finds a list at tag and returns its element count (checked
// against the remaining input). found is false when an optional list is absent.
func (r *Reader) listHead(tag uint8, required bool) (n int, found bool, err error) {
	t, found, err := r.find(tag, required)
	if !found {
		return 0, false, err
	}
	if t != TypeList {
		return 0, false, r.failf(ErrTypeMismatch, "tag %d: %v for a list", tag, t)
	}
	n, err = r.readSize(1)
	return n, err == nil, err
}

// mapHead is listHead for maps (each entry takes at least 2 bytes).
func (r *Reader) mapHead(tag uint8, required bool) (n int, found bool, err error) {
	t, found, err := r.find(tag, required)
	if !found {
		return 0, false, err
	}
	if t != TypeMap {
		return 0, false, r.failf(ErrTypeMismatch, "tag %d: %v for a map", tag, t)
	}
	n, err = r.readSize(2)
	return n, err == nil, err
}

// ReadStringMap reads a map<string,string>. An absent optional map leaves
// *dst unchanged; duplicate keys: the last one wins.
func (r *Reader) ReadStringMap(dst *map[string]string, tag uint8, required bool) error {
	n, found, err := r.mapHead(tag, required)
	if !found {
		return err
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.leave()
	m := make(map[string]string, min(n, 64))
	for range n {
		var k, v string
		r.ReadString(&k, 0, true)
		if err := r.ReadString(&v, 1, true); err != nil {
			return err
		}
		m[k] = v
	}
	*dst = m
	return nil
}

// capHint bounds a preallocation taken from wire counts.
func capHint(n int) int { return min(n, 1024) }

// ReadList reads a vector<T>; elem reads one element, e.g.
// (*Reader).ReadString or (*Reader).ReadInt32. An absent optional list leaves
// *dst unchanged.
func ReadList[T any](r *Reader, dst *[]T, tag uint8, required bool,
	elem func(r *Reader, dst *T, tag uint8, required bool) error) error {
	n, found, err := r.listHead(tag, required)
	if !found {
		return err
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.leave()
	out := make([]T, 0, capHint(n))
	for range n {
		var v T
		if err := elem(r, &v, 0, true); err != nil {
			return err
		}
		out = append(out, v)
	}
	*dst = out
	return nil
}

// ReadStructList reads a vector of structs; each element starts from the
// struct's IDL defaults (its Decode resets it).
func ReadStructList[T any, PT interface {
	*T
	Struct
}](r *Reader, dst *[]T, tag uint8, required bool) error {
	return ReadList(r, dst, tag, required, ReadStructValue[T, PT])
}

// ReadStructValue reads a struct into *dst; it has the element signature
// ReadList and ReadMap expect.
func ReadStructValue[T any, PT interface {
	*T
	Struct
}](r *Reader, dst *T, tag uint8, required bool) error {
	return r.ReadStruct(PT(dst), tag, required)
}

// ReadMap reads a map<K,V> with comparable keys. Duplicate keys: the last
// one wins. An absent optional map leaves *dst unchanged.
func ReadMap[K comparable, V any](r *Reader, dst *map[K]V, tag uint8, required bool,
	key func(r *Reader, dst *K, tag uint8, required bool) error,
	val func(r *Reader, dst *V, tag uint8, required bool) error) error {
	n, found, err := r.mapHead(tag, required)
	if !found {
		return err
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.leave()
	m := make(map[K]V, capHint(n))
	for range n {
		var k K
		var v V
		if err := key(r, &k, 0, true); err != nil {
			return err
		}
		if err := val(r, &v, 1, true); err != nil {
			return err
		}
		m[k] = v
	}
	*dst = m
	return nil
}

// ReadPairs reads a map into a slice of pairs, in wire order, keeping
// duplicates: the form for maps with struct keys.
func ReadPairs[K, V any](r *Reader, dst *[]Pair[K, V], tag uint8, required bool,
	key func(r *Reader, dst *K, tag uint8, required bool) error,
	val func(r *Reader, dst *V, tag uint8, required bool) error) error {
	n, found, err := r.mapHead(tag, required)
	if !found {
		return err
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.leave()
	out := make([]Pair[K, V], 0, capHint(n))
	for range n {
		var p Pair[K, V]
		if err := key(r, &p.Key, 0, true); err != nil {
			return err
		}
		if err := val(r, &p.Value, 1, true); err != nil {
			return err
		}
		out = append(out, p)
	}
	*dst = out
	return nil
}
