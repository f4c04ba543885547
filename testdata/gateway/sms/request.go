package sms

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// checkContentType requires a JSON body: 415 otherwise.
func checkContentType(r *http.Request) (int, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: send application/json", ct)
	}
	return 0, nil
}

// decodeSend reads exactly one JSON object with known fields, at most limit bytes.
func decodeSend(w http.ResponseWriter, r *http.Request, limit int64) (SendRequest, int, *FieldError) {
	var req SendRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errTrailing
			var mbe *http.MaxBytesError
			if errors.As(terr, &mbe) {
				err = terr
			}
		}
	}
	if err == nil {
		return req, 0, nil
	}
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return req, http.StatusRequestEntityTooLarge, fieldErr("", "request body exceeds %d bytes", limit)
	case errors.As(err, &te):
		return req, http.StatusBadRequest, fieldErr(te.Field, "must be %s, not a JSON %s", jsonKind(te.Field), te.Value)
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, errTrailing):
		return req, http.StatusBadRequest, fieldErr("", "malformed JSON: %v", err)
	case errors.Is(err, io.EOF):
		return req, http.StatusBadRequest, fieldErr("", "empty body: send a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return req, http.StatusBadRequest, fieldErr(name, "unknown field")
	default:
		return req, http.StatusBadRequest, fieldErr("", "invalid request: %v", err)
	}
}

var errTrailing = errors.New("data after the JSON object")

func jsonKind(field string) string {
	if field == "params" {
		return "an object of strings"
	}
	return "a string"
}
