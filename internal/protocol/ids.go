package protocol

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Identifiers. Each has one rule, here, used by the provider's validators,
// the registry client, the local registry and the load test alike: what the
// provider accepts at plan time is exactly what the registry accepts.

// Text limits, in characters.
const (
	MaxNameRunes    = 200
	MaxReasonRunes  = 200
	MaxDomainLength = 253
)

// exampleUUID shows the canonical form in messages.
const exampleUUID = "550e8400-e29b-41d4-a716-446655440000"

// CheckServerID checks that s is a server id in the form the registry
// assigns and answers to: a lowercase, hyphenated UUID. The registry answers
// 404 to any other spelling of the same UUID, so an uppercase id is refused
// here with the spelling to use instead.
func CheckServerID(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("the server id is empty; give the UUID of the server record shown in the CapiscIO dashboard")
	}
	return checkCanonicalUUID(s, "a server id")
}

// CheckJTI checks that s is a badge id (a badge's jti claim): a lowercase,
// hyphenated UUID, as the registry issues them.
func CheckJTI(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("the badge jti is empty; give the jti claim of the badge")
	}
	return checkCanonicalUUID(s, "a badge jti")
}

func checkCanonicalUUID(s, what string) error {
	u, err := uuid.Parse(s)
	switch {
	case err != nil || len(s) != len(exampleUUID):
		return fmt.Errorf("%q is not %s: it must be a UUID in the form %s", clip(s, 48), what, exampleUUID)
	case u.String() != s:
		return fmt.Errorf("%q is not %s in the registry's form: write it in lower case, %s", clip(s, 48), what, u.String())
	}
	return nil
}

// CanonicalDomain checks a badge domain and returns its canonical form. A
// domain is a host with an optional port, without scheme or path: a DNS name
// (letters, digits and hyphens in dot-separated labels of at most 63
// characters, none starting or ending with a hyphen), an IPv4 address, or an
// IPv6 address in brackets; the port a number from 1 to 65535. The canonical
// form is lower case. Errors quote the value (a domain is public).
func CanonicalDomain(s string) (string, error) {
	if strings.Contains(s, "://") || strings.ContainsAny(s, "/?#@ \t\r\n") {
		return "", fmt.Errorf("%q is not a domain: give a host name with an optional port, such as mcp.example.com or localhost:8080, without scheme or path", clip(s, 48))
	}
	if len(s) > MaxDomainLength {
		return "", fmt.Errorf("the domain is %d characters long; at most %d are allowed", len(s), MaxDomainLength)
	}
	host, port := splitHostPort(s)
	if port != nil {
		if err := checkPort(*port); err != nil {
			return "", fmt.Errorf("%q has an invalid port: %w", clip(s, 48), err)
		}
	}
	if err := checkHost(host); err != nil {
		return "", fmt.Errorf("%q %w", clip(s, 48), err)
	}
	return strings.ToLower(s), nil
}

// splitHostPort splits "host:port", "[v6]:port", "[v6]" or "host"; port is
// nil when there is none.
func splitHostPort(s string) (host string, port *string) {
	i := strings.LastIndex(s, ":")
	if i < 0 || strings.HasSuffix(s, "]") || (!strings.HasPrefix(s, "[") && strings.Count(s, ":") > 1) {
		return s, nil
	}
	p := s[i+1:]
	return s[:i], &p
}

// checkPort checks a port number: digits, 1 to 65535, no leading zero.
func checkPort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '0' || strings.Trim(p, "0123456789") != "" {
		return errors.New("a port is a number from 1 to 65535")
	}
	return nil
}

// checkHost checks a DNS name, an IPv4 address or a bracketed IPv6 address.
func checkHost(host string) error {
	if strings.HasPrefix(host, "[") || strings.HasSuffix(host, "]") {
		inner := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if ip := net.ParseIP(inner); ip == nil || ip.To4() != nil || !strings.HasPrefix(host, "[") || !strings.HasSuffix(host, "]") {
			return errors.New("has brackets around something that is not an IPv6 address")
		}
		return nil
	}
	if strings.Contains(host, ":") {
		return errors.New("looks like an IPv6 address without brackets; write it as [address] or [address]:port")
	}
	if host == "" {
		return errors.New("has no host name")
	}
	for _, label := range strings.Split(host, ".") {
		switch {
		case label == "" || len(label) > 63:
			return errors.New("is not a valid host name (an empty or over-long label)")
		case strings.Trim(strings.ToLower(label), "abcdefghijklmnopqrstuvwxyz0123456789-") != "":
			return errors.New("holds characters a host name cannot have (letters, digits, hyphens and dots only)")
		case label[0] == '-' || label[len(label)-1] == '-':
			return errors.New("has a label that starts or ends with a hyphen")
		}
	}
	return nil
}

// CheckText checks a name or a revocation reason: valid UTF-8 on one line,
// without control characters, of at most limit characters. what names it in
// the error ("the name").
func CheckText(s, what string, limit int) error {
	switch {
	case !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%s must be printable text on one line, without control characters", what)
	case utf8.RuneCountInString(s) > limit:
		return fmt.Errorf("%s has %d characters; at most %d are allowed", what, utf8.RuneCountInString(s), limit)
	}
	return nil
}
