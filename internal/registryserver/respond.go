package registryserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// handlerFunc is a route handler. It writes its success reply itself and
// returns an error for anything else; serveAPI turns that error into the JSON
// error reply, so every handler fails the same way.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// apiError is an error with its HTTP status and machine code (protocol.ErrorBody).
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

// errorf builds an apiError.
func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, protocol.CodeBadRequest, format, args...)
}

func invalidJSON(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, protocol.CodeInvalidJSON, format, args...)
}

// serveAPI adapts a handlerFunc to http.Handler.
func (s *Server) serveAPI(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.replyError(w, r, err)
		}
	})
}

// replyError maps err (an apiError or a store error) to its reply. Anything
// unexpected is logged and answered 500 internal_error.
func (s *Server) replyError(w http.ResponseWriter, r *http.Request, err error) {
	var apiErr *apiError
	switch {
	case errors.As(err, &apiErr):
	case errors.Is(err, errNotFound):
		apiErr = errorf(http.StatusNotFound, protocol.CodeNotFound, "%s was not found", resourceName(r))
	case errors.Is(err, errServerDisabled):
		apiErr = errorf(http.StatusForbidden, protocol.CodeServerDisabled, "server %s is disabled; enable it (POST /v1/sdk/servers/{id}/enable) before requesting badges", r.PathValue("id"))
	case errors.Is(err, errIdempotencyReused):
		apiErr = errorf(http.StatusConflict, protocol.CodeConflict, "the %s header value was already used with a different request body; use a new key for a new request", protocol.HeaderIdempotencyKey)
	case errors.Is(err, errIdempotencyGone):
		apiErr = errorf(http.StatusConflict, protocol.CodeConflict, "the %s header value created a server that has since been deleted; use a new key", protocol.HeaderIdempotencyKey)
	default:
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		apiErr = errorf(http.StatusInternalServerError, protocol.CodeInternal, "internal error; see the registry log")
	}
	writeError(w, apiErr.status, apiErr.code, apiErr.message)
}

// resourceName names what a request addressed, for not-found messages.
func resourceName(r *http.Request) string {
	if id := r.PathValue("id"); id != "" {
		return fmt.Sprintf("server %q", id)
	}
	if jti := r.PathValue("jti"); jti != "" {
		return fmt.Sprintf("badge %q", jti)
	}
	return fmt.Sprintf("%s %s", r.Method, r.URL.Path)
}

// writeError writes the one JSON error shape of the registry:
// {"success":false,"error":<code>,"message":<text>}. Every error reply goes
// through here.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, protocol.ErrorBody{Success: false, Error: code, Message: message})
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONAs(w, status, "application/json", v)
}

func writeJSONAs(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only values built by this package are encoded; they always marshal.
		status, body = http.StatusInternalServerError, []byte(`{"success":false,"error":"internal_error","message":"encoding the reply failed"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// ok writes a success envelope.
func ok[T any](w http.ResponseWriter, status int, data T) error {
	writeJSON(w, status, protocol.Envelope[T]{Success: true, Data: data})
	return nil
}

// decodeBody reads a JSON object of at most protocol.MaxBodyBytes into v.
// Unknown fields are ignored (future SDKs may send more); a field of the wrong
// type, malformed JSON or trailing data is 400 invalid_json, an oversized body
// 413. With allowEmpty an empty body leaves v at its zero value.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	if r.ContentLength > protocol.MaxBodyBytes {
		return tooLarge()
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, protocol.MaxBodyBytes))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return tooLarge()
	}
	if err != nil {
		return invalidJSON("reading the request body failed: %v", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if allowEmpty {
			return nil
		}
		return invalidJSON("the request body is empty; send a JSON object")
	}
	return unmarshalObject(raw, v)
}

func unmarshalObject(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidJSON("the request body has data after its JSON object")
	}
	return nil
}

func describeJSONError(err error) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return invalidJSON("the request body is not valid JSON (at byte %d): %v", syntaxErr.Offset, syntaxErr)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return invalidJSON("the request body must be a JSON object, not %s", typeErr.Value)
	case errors.As(err, &typeErr):
		return invalidJSON("field %q must be a %s, not %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidJSON("the request body is truncated JSON")
	default:
		return invalidJSON("the request body is not valid JSON: %v", err)
	}
}

func tooLarge() *apiError {
	return errorf(http.StatusRequestEntityTooLarge, protocol.CodeBodyTooLarge, "the request body is larger than %d bytes", protocol.MaxBodyBytes)
}
