package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Decoding replies. The local registry sends exactly the wire types' JSON.
// The hosted registry is closed source and public sources disagree on its
// shapes, so every reply type decodes tolerantly, by its own JSON tags
// (decodeTolerant), accepting:
//
//   - a member in snake_case for a camelCase tag (created_at for createdAt),
//     or under a name its alias tag lists (alias:"server_id,serverId"); the
//     tag's own name wins, then snake_case, then the aliases in order;
//   - a number for a string member tagged decode:"number" (a trust level 1
//     for "1", a numeric id); other string members must be strings;
//   - for times, RFC 3339 strings, or unix seconds (milliseconds when the
//     number is too large to be seconds), as numbers or digit strings;
//   - null for anything (the zero value);
//   - unknown members (ignored).
//
// What the protocol requires is still required: a server object without an
// id or a did is an error, never a silent fallback. Error messages name the
// member at fault and never quote its value (it could be a badge).

// ErrInvalidReply means a 2xx reply could not be understood: not JSON, too
// large, of another shape, or missing a member the protocol requires.
var ErrInvalidReply = errors.New("invalid registry reply")

// InvalidReply builds an ErrInvalidReply with a reason. The reason must never
// carry reply values that may be secret (badges).
func InvalidReply(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidReply, fmt.Sprintf(format, args...))
}

// ReportedFailure is a 2xx reply that says "success": false. Its message is
// the reply's, whole: callers redact it and cut it for display.
type ReportedFailure struct{ Message string }

func (e *ReportedFailure) Error() string { return "the registry reported a failure: " + e.Message }

// Unwrap makes a reported failure an ErrInvalidReply.
func (e *ReportedFailure) Unwrap() error { return ErrInvalidReply }

// DecodeReply decodes the payload of a reply into v: the data member of an
// envelope, or the reply itself when it is a bare object (the unwrapped
// status, key set and DID documents; replies of registries that do not
// wrap). A reply that says "success": false is a *ReportedFailure.
func DecodeReply(body []byte, v any) error {
	top, ok := objectOf(body)
	if !ok {
		return InvalidReply("the reply is not a JSON object")
	}
	if raw, ok := top["success"]; ok && string(bytes.TrimSpace(raw)) == "false" {
		msg, _ := textOf(top["message"])
		if msg == "" {
			msg, _ = textOf(top["error"])
		}
		return &ReportedFailure{Message: msg}
	}
	payload := body
	if raw, ok := top["data"]; ok {
		if _, isObj := objectOf(raw); !isObj {
			return InvalidReply("the reply's data is not an object")
		}
		payload = raw
	}
	return json.Unmarshal(payload, v)
}

// DecodeServerPage decodes one page of GET /v1/sdk/servers: data as an array
// (this project's shape), data.servers or data.items, top-level servers or
// items, or a bare array; nextCursor (or next_cursor) inside data when data
// is an object, else at the top level. A missing or null list is an empty page.
func DecodeServerPage(body []byte) (servers []Server, nextCursor string, err error) {
	trimmed := bytes.TrimSpace(body)
	var list json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' {
		list = trimmed
	} else {
		top, ok := objectOf(trimmed)
		if !ok {
			return nil, "", InvalidReply("the reply is not a JSON object or array")
		}
		if raw, ok := top["success"]; ok && string(bytes.TrimSpace(raw)) == "false" {
			msg, _ := textOf(top["message"])
			return nil, "", &ReportedFailure{Message: msg}
		}
		container := top
		if data, ok := objectOf(top["data"]); ok {
			container = data
			if list = firstOf(data, "servers", "items"); list == nil {
				return nil, "", InvalidReply("the reply's data holds no list of servers")
			}
		} else if list = nonNull(top["data"]); list == nil {
			list = firstOf(top, "servers", "items")
		}
		if nextCursor, err = cursorOf(container, top); err != nil {
			return nil, "", err
		}
	}
	if nonNull(list) == nil {
		return []Server{}, nextCursor, nil
	}
	if err := json.Unmarshal(list, &servers); err != nil {
		return nil, "", listError(err)
	}
	return servers, nextCursor, nil
}

func cursorOf(objs ...map[string]json.RawMessage) (string, error) {
	for _, o := range objs {
		raw := firstOf(o, "nextCursor", "next_cursor")
		if raw == nil {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", InvalidReply("the reply's nextCursor is not a string")
		}
		return s, nil
	}
	return "", nil
}

func listError(err error) error {
	if errors.Is(err, ErrInvalidReply) {
		return err
	}
	return InvalidReply("the list of servers is not an array of server objects")
}

// UnmarshalJSON decodes a server object tolerantly and requires its id and
// its did: the registry's DID is authoritative, never replaced by a guess.
func (s *Server) UnmarshalJSON(b []byte) error {
	type plain Server
	var p plain
	if err := decodeTolerant(b, &p, "the server object"); err != nil {
		return err
	}
	if p.ID == "" {
		return InvalidReply("the server object has no id")
	}
	if p.DID == "" {
		return InvalidReply("the server object %q has no data.did (the registry must assign the server's DID)", clip(p.ID, 64))
	}
	if !strings.HasPrefix(p.DID, "did:") {
		return InvalidReply("the server object %q has a did that is not a DID", clip(p.ID, 64))
	}
	*s = Server(p)
	return nil
}

// UnmarshalJSON decodes a badge reply tolerantly; a reply with only token
// (the agent routes' shape) gives Badge too.
func (b *Badge) UnmarshalJSON(raw []byte) error {
	type plain Badge
	var p plain
	if err := decodeTolerant(raw, &p, "the badge reply"); err != nil {
		return err
	}
	if p.Badge == "" {
		p.Badge = p.Token
	}
	*b = Badge(p)
	return nil
}

// UnmarshalJSON decodes a badge status document tolerantly; revoked is
// required (a status that does not say is no answer).
func (s *BadgeStatus) UnmarshalJSON(b []byte) error {
	type plain BadgeStatus
	var p plain
	if err := decodeTolerant(b, &p, "the badge status"); err != nil {
		return err
	}
	if o, _ := objectOf(b); nonNull(o["revoked"]) == nil {
		return InvalidReply("the badge status has no revoked member")
	}
	*s = BadgeStatus(p)
	return nil
}

// UnmarshalJSON decodes a server status document tolerantly.
func (s *ServerStatus) UnmarshalJSON(b []byte) error {
	type plain ServerStatus
	return decodeTolerant(b, (*plain)(s), "the server status")
}

// UnmarshalJSON decodes a revocation tolerantly.
func (r *Revocation) UnmarshalJSON(b []byte) error {
	type plain Revocation
	return decodeTolerant(b, (*plain)(r), "the revocation")
}

// UnmarshalJSON decodes a revocation list tolerantly.
func (l *RevocationList) UnmarshalJSON(b []byte) error {
	type plain RevocationList
	return decodeTolerant(b, (*plain)(l), "the revocation list")
}

// UnmarshalJSON decodes a revoke reply tolerantly.
func (r *RevokeReply) UnmarshalJSON(b []byte) error {
	type plain RevokeReply
	return decodeTolerant(b, (*plain)(r), "the revoke reply")
}

// UnmarshalJSON decodes a DID document tolerantly and requires its id.
func (d *DIDDocument) UnmarshalJSON(b []byte) error {
	type plain DIDDocument
	var p plain
	if err := decodeTolerant(b, &p, "the DID document"); err != nil {
		return err
	}
	if p.ID == "" {
		return InvalidReply("the DID document has no id")
	}
	*d = DIDDocument(p)
	return nil
}

// StringList is a list of strings that also accepts a single string, and
// entries that are objects with an id (a DID document's authentication may
// embed its methods); it encodes as an array.
type StringList []string

// UnmarshalJSON decodes a string or an array of strings or objects with an id.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = StringList{one}
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return InvalidReply("a list member is neither a string nor an array")
	}
	out := make(StringList, 0, len(items))
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			out = append(out, s)
			continue
		}
		var withID struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(it, &withID) != nil {
			return InvalidReply("a list entry is neither a string nor an object")
		}
		if withID.ID != "" {
			out = append(out, withID.ID)
		}
	}
	*l = out
	return nil
}

// ---- the tolerant decoder ----

var timeType = reflect.TypeFor[time.Time]()

// decodeTolerant decodes the JSON object raw into the struct v points to,
// by the struct's json tags, with the tolerance described at the top of this
// file. what names the object in errors.
func decodeTolerant(raw []byte, v any, what string) error {
	obj, ok := objectOf(raw)
	if !ok {
		return InvalidReply("%s is not a JSON object", what)
	}
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		names := []string{name, snakeCase(name)}
		if alias := f.Tag.Get("alias"); alias != "" {
			names = append(names, strings.Split(alias, ",")...)
		}
		member := nonNull(firstOf(obj, names...))
		if member == nil {
			continue
		}
		if err := decodeMember(member, rv.Field(i), f.Tag.Get("decode") == "number"); err != nil {
			return InvalidReply("%s's member %q %s", what, name, err.Error())
		}
	}
	return nil
}

// decodeMember decodes one member into field, accepting the time forms for
// times, and numbers for strings when numberOK.
func decodeMember(raw json.RawMessage, field reflect.Value, numberOK bool) error {
	switch {
	case field.Type() == timeType:
		t, err := timeOf(raw)
		if err == nil {
			field.Set(reflect.ValueOf(t))
		}
		return err
	case field.Kind() == reflect.Pointer && field.Type().Elem() == timeType:
		t, err := timeOf(raw)
		if err == nil && !t.IsZero() {
			field.Set(reflect.ValueOf(&t))
		}
		return err
	case field.Kind() == reflect.String && !numberOK:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return errors.New("is not a string")
		}
		field.SetString(s)
		return nil
	case field.Kind() == reflect.String:
		s, err := textOf(raw)
		if err == nil {
			field.SetString(s)
		}
		return err
	case field.Kind() == reflect.Bool:
		b, err := boolOf(raw)
		if err == nil {
			field.SetBool(b)
		}
		return err
	}
	if err := json.Unmarshal(raw, field.Addr().Interface()); err != nil {
		if errors.Is(err, ErrInvalidReply) {
			return err
		}
		return errors.New("has the wrong type")
	}
	return nil
}

// textOf reads a string, or a number as its shortest decimal text (integral
// numbers without a fraction: 1, not 1.0).
func textOf(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return "", errors.New("is neither a string nor a number")
	}
	if i, err := n.Int64(); err == nil {
		return strconv.FormatInt(i, 10), nil
	}
	if f, err := n.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10), nil
	}
	return n.String(), nil
}

// boolOf reads a boolean, or "true"/"false" as a string.
func boolOf(raw json.RawMessage) (bool, error) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if v, err := strconv.ParseBool(s); err == nil {
			return v, nil
		}
	}
	return false, errors.New("is not a boolean")
}

// timeOf reads an RFC 3339 string, a string of digits or a number of unix
// seconds (or milliseconds, see unixTime). An empty string is the zero time.
func timeOf(raw json.RawMessage) (time.Time, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		s = strings.TrimSpace(s)
		if s == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			if t, ok := unixTime(f); ok {
				return t, nil
			}
		}
		return time.Time{}, errors.New("is not an RFC 3339 time")
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		if t, ok := unixTime(f); ok {
			return t, nil
		}
	}
	return time.Time{}, errors.New("is neither an RFC 3339 time nor unix seconds")
}

// unixTime converts unix seconds to a UTC time. Values of 1e11 and above
// (later than the year 5000 as seconds) are taken as milliseconds, which some
// JSON APIs send. Negative, NaN and absurd values are refused.
func unixTime(f float64) (time.Time, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f >= 1e14 {
		return time.Time{}, false
	}
	if f >= 1e11 {
		f /= 1000
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// snakeCase is the snake_case spelling of a camelCase member name.
func snakeCase(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// objectOf decodes raw as a JSON object; ok is false for anything else
// (arrays, strings, null, invalid JSON).
func objectOf(raw []byte) (map[string]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var o map[string]json.RawMessage
	if json.Unmarshal(raw, &o) != nil {
		return nil, false
	}
	return o, true
}

// firstOf returns the first member of o among names that is there and not null.
func firstOf(o map[string]json.RawMessage, names ...string) json.RawMessage {
	for _, n := range names {
		if v := nonNull(o[n]); v != nil {
			return v
		}
	}
	return nil
}

func nonNull(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
