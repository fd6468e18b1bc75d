// Package did holds the did:web rules of the project: where a did:web document
// is served, and the shape of the server DIDs the CapiscIO registry assigns
// (docs/design/protocol.md). It is pure string logic: it never resolves a
// DID, and it never imports terraform-plugin-framework.
//
// Errors say what is wrong and what to do. They may quote the DID, which is
// public.
package did

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Method prefixes and the fixed parts of the documents' locations.
const (
	// WebPrefix starts every did:web.
	WebPrefix = "did:web:"
	// ServersSegment is the path segment of a registry-assigned server DID:
	// did:web:<host>:servers:<server-id>.
	ServersSegment = "servers"
	// DocumentName is the file a did:web with a path is served as.
	DocumentName = "did.json"
	// WellKnownDocument is the path of a did:web with no path (did:web spec §3.2).
	WellKnownDocument = "/.well-known/did.json"
)

// Sentinel errors, for errors.Is. The returned errors wrap one of them and
// carry the full message.
var (
	// ErrNotDIDWeb: not a DID, or a DID of another method.
	ErrNotDIDWeb = errors.New("the value is not a did:web")
	// ErrSyntax: characters a DID cannot hold, an empty segment, a path,
	// query or fragment, or surrounding whitespace.
	ErrSyntax = errors.New("the did:web is malformed")
	// ErrHost: the host part is empty, badly percent-encoded or not a host.
	ErrHost = errors.New("the did:web host is invalid")
	// ErrNotServerDID: a valid did:web that is not did:web:<host>:servers:<uuid>.
	ErrNotServerDID = errors.New("the did:web is not a CapiscIO server DID")
)

// loopbackHosts are the hosts whose documents are fetched over plain http, as
// CORE's DID.DocumentURL does. Only these two names: ::1
// and other loopback addresses get https like any other host.
var loopbackHosts = map[string]bool{"localhost": true, "127.0.0.1": true}

// Web is a parsed did:web.
type Web struct {
	// Host is the percent-decoded host, with ":port" when the DID has one.
	Host string
	// Path holds the path segments after the host, as written in the DID.
	Path []string
}

// ParseWeb parses a did:web: "did:web:" + host (a port's colon written %3A)
// + optional ":"-separated path segments. It accepts exactly the DID syntax
// (W3C DID Core §3.1): no whitespace, no "/", "?" or "#", no empty segment.
func ParseWeb(s string) (Web, error) {
	msi, err := methodSpecificID(s)
	if err != nil {
		return Web{}, err
	}
	parts := strings.Split(msi, ":")
	for i, p := range parts {
		if p == "" {
			what := "path segment"
			if i == 0 {
				what = "host"
			}
			return Web{}, fail(ErrSyntax, "%q has an empty %s (two colons in a row, or a colon at the end); give it as did:web:<host>[:<path>...]", clip(s), what)
		}
		if err := checkIDChars(s, p); err != nil {
			return Web{}, err
		}
	}
	host, err := decodeHost(s, parts[0])
	if err != nil {
		return Web{}, err
	}
	return Web{Host: host, Path: parts[1:]}, nil
}

// DocumentURL returns where the document of a did:web is served (did:web
// spec §3.2, CORE DID.DocumentURL): the percent-decoded host, then the path
// segments joined with "/" and "/did.json", or "/.well-known/did.json" when
// the DID has no path. The scheme is http for localhost and 127.0.0.1 (with
// any port) and https for every other host.
//
//	did:web:registry.capisc.io:servers:abc  -> https://registry.capisc.io/servers/abc/did.json
//	did:web:localhost%3A8080:servers:abc    -> http://localhost:8080/servers/abc/did.json
//	did:web:example.com                     -> https://example.com/.well-known/did.json
func DocumentURL(s string) (string, error) {
	w, err := ParseWeb(s)
	if err != nil {
		return "", err
	}
	return w.DocumentURL(), nil
}

// DocumentURL is the package-level DocumentURL of an already parsed DID.
func (w Web) DocumentURL() string {
	scheme := "https"
	if loopbackHosts[hostname(w.Host)] {
		scheme = "http"
	}
	p := WellKnownDocument
	if len(w.Path) > 0 {
		p = "/" + strings.Join(w.Path, "/") + "/" + DocumentName
	}
	return scheme + "://" + w.Host + p
}

// ParseServerDID checks that s is a server DID as the CapiscIO registry
// assigns it, did:web:<host>:servers:<server-id>, and returns the decoded
// host (with ":port" when there is one) and the server id (a UUID).
func ParseServerDID(s string) (host, serverID string, err error) {
	w, err := ParseWeb(s)
	if err != nil {
		return "", "", err
	}
	const shape = "did:web:<registry-host>:servers:<server-id>, such as did:web:registry.capisc.io:servers:550e8400-e29b-41d4-a716-446655440000"
	if len(w.Path) != 2 || w.Path[0] != ServersSegment {
		return "", "", fail(ErrNotServerDID, "%q is not a server DID: a CapiscIO server DID has the form %s", clip(s), shape)
	}
	id := w.Path[1]
	if err := protocol.CheckServerID(id); err != nil {
		return "", "", fail(ErrNotServerDID, "%q does not end in a server id: the last segment must be a lowercase UUID, as in %s", clip(s), shape)
	}
	return w.Host, id, nil
}

// ServerDID is the DID a registry reached at host assigns to server record
// serverID: did:web:<host>:servers:<server-id>, the host percent-encoded as
// did:web requires (a port's colon as %3A, IPv6 brackets as %5B and %5D).
// ParseServerDID reads it back to the same host and id.
func ServerDID(host, serverID string) string {
	var b strings.Builder
	b.WriteString(WebPrefix)
	for i := 0; i < len(host); i++ {
		c := host[i]
		if isIDChar(c) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	b.WriteString(":" + ServersSegment + ":" + serverID)
	return b.String()
}

// methodSpecificID returns what follows "did:web:".
func methodSpecificID(s string) (string, error) {
	switch {
	case s == "":
		return "", fail(ErrNotDIDWeb, "the DID is empty; give a did:web such as did:web:registry.capisc.io:servers:<server-id>")
	case strings.TrimSpace(s) != s:
		return "", fail(ErrSyntax, "%q has leading or trailing whitespace; remove it (trimspace() helps with values read from files)", clip(s))
	case s == strings.TrimSuffix(WebPrefix, ":"):
		return "", fail(ErrHost, "%q has no host; give it as did:web:<host>[:<path>...]", clip(s))
	case strings.HasPrefix(s, WebPrefix):
		msi := s[len(WebPrefix):]
		if msi == "" {
			return "", fail(ErrHost, "%q has no host; give it as did:web:<host>[:<path>...]", clip(s))
		}
		return msi, nil
	case strings.EqualFold(s[:min(len(s), len(WebPrefix))], WebPrefix):
		return "", fail(ErrNotDIDWeb, "%q must start with did:web: in lower case", clip(s))
	case strings.HasPrefix(s, "did:"):
		method, _, _ := strings.Cut(s[len("did:"):], ":")
		return "", fail(ErrNotDIDWeb, "%q is a did:%s, not a did:web; give a did:web DID such as did:web:registry.capisc.io:servers:<server-id>", clip(s), clip(method))
	default:
		return "", fail(ErrNotDIDWeb, "%q is not a DID; give a did:web such as did:web:registry.capisc.io:servers:<server-id>", clip(s))
	}
}

// checkIDChars applies DID Core's idchar rule (ALPHA / DIGIT / "." / "-" /
// "_" / pct-encoded) to one segment.
func checkIDChars(s, seg string) error {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case isIDChar(c):
		case c == '%':
			if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
				return fail(ErrSyntax, "%q has a %% that does not start a percent-escape of two hex digits (such as %%3A for a port's colon)", clip(s))
			}
			i += 2
		case c == '#' || c == '?' || c == '/':
			return fail(ErrSyntax, "%q is a DID URL (it has a %q part); give the DID alone, without path, query or fragment", clip(s), string(c))
		default:
			r, _ := utf8.DecodeRuneInString(seg[i:])
			return fail(ErrSyntax, "%q holds %q, which a DID cannot hold; percent-encode it", clip(s), string(r))
		}
	}
	return nil
}

// decodeHost percent-decodes the host segment and checks that the result is
// a host name or IP address (IPv6 in brackets) with an optional port.
func decodeHost(s, seg string) (string, error) {
	host, err := url.PathUnescape(seg)
	if err != nil {
		return "", fail(ErrHost, "%q has a host that is not validly percent-encoded", clip(s))
	}
	name := host
	if i := strings.LastIndex(host, ":"); i > strings.LastIndex(host, "]") {
		h, port, err := net.SplitHostPort(host)
		if err != nil {
			return "", fail(ErrHost, "%q has a host with a stray colon; write a port as %%3A (did:web:localhost%%3A8080) and an IPv6 address in brackets", clip(s))
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "0") {
			return "", fail(ErrHost, "%q has an invalid port %q; it must be a number from 1 to 65535", clip(s), clip(port))
		}
		name = h
	} else if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		name = name[1 : len(name)-1]
		if ip := net.ParseIP(name); ip == nil || ip.To4() != nil {
			return "", fail(ErrHost, "%q has brackets around %q, which is not an IPv6 address", clip(s), clip(name))
		}
	}
	if name == "" {
		return "", fail(ErrHost, "%q has an empty host; give it as did:web:<host>[:<path>...]", clip(s))
	}
	if net.ParseIP(name) == nil && !isHostname(name) {
		return "", fail(ErrHost, "%q does not name a host: %q is not a host name or IP address", clip(s), clip(host))
	}
	return host, nil
}

// hostname is host without its port and IPv6 brackets.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

func isHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// isIDChar is DID Core's idchar without pct-encoded: ALPHA / DIGIT / "." /
// "-" / "_".
func isIDChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// clip shortens s for an error message.
func clip(s string) string {
	const n = 120
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// didError is a failure with a complete message and the sentinel it belongs to.
type didError struct {
	msg  string
	kind error
}

func (e *didError) Error() string { return e.msg }
func (e *didError) Unwrap() error { return e.kind }

func fail(kind error, format string, args ...any) error {
	return &didError{msg: fmt.Sprintf(format, args...), kind: kind}
}
