package protocol

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DefaultBaseURL is the hosted CapiscIO registry.
const DefaultBaseURL = "https://registry.capisc.io"

// ParseBaseURL checks that s is a registry base URL and returns its
// canonical form: an absolute http(s) URL with a host and no query, fragment
// or user info; scheme and host lowercased, a default port (80 for http, 443
// for https) and a trailing "/" dropped, the path kept. Two spellings of one
// address (HTTP://LOCALHOST:80/ and http://localhost) give the same canonical
// form. Which schemes a client may use for which hosts is the client's
// policy, not part of the form.
func ParseBaseURL(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", errors.New("the registry URL is empty")
	}
	if strings.TrimSpace(s) != s {
		return "", errors.New("the registry URL has leading or trailing spaces")
	}
	if hostLike, ok := missingScheme(s); ok {
		return "", fmt.Errorf("the registry URL has no scheme: write https://%s (or http:// for a loopback host such as 127.0.0.1)", hostLike)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("the registry URL does not parse: %s", strings.TrimPrefix(err.Error(), "parse \""+s+"\": "))
	}
	if err := checkURLParts(u, s); err != nil {
		return "", err
	}
	return canonicalURL(u), nil
}

// checkURLParts refuses what a base URL cannot have.
func checkURLParts(u *url.URL, s string) error {
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("the registry URL must start with https:// (or http:// for a loopback host), not %q", u.Scheme+":")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("the registry URL has no host")
	case u.User != nil:
		return errors.New("the registry URL must not carry user info; give the API key in api_key instead")
	case u.RawQuery != "" || u.ForceQuery:
		return errors.New("the registry URL must not have a query string")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("the registry URL must not have a fragment")
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if err := checkHost(host); err != nil {
		return fmt.Errorf("the registry URL's host %w", err)
	}
	if port := u.Port(); port != "" {
		if n, err := net.LookupPort("tcp", port); err != nil || n <= 0 || n > 65535 || port[0] == '0' {
			return fmt.Errorf("the registry URL has an invalid port %q", port)
		}
	}
	return nil
}

// canonicalURL writes u in canonical form (see ParseBaseURL).
func canonicalURL(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" && port != defaultPort[u.Scheme] {
		host += ":" + port
	}
	return u.Scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// defaultPort is the port a scheme implies; a URL naming it is the same URL
// without it.
var defaultPort = map[string]string{"http": "80", "https": "443"}

// missingScheme reports whether s is a host (with an optional port and path)
// written without a scheme, such as "registry.capisc.io" or
// "localhost:8080", which url.Parse reads as a path or as the scheme
// "localhost". It returns the text to put after https://.
func missingScheme(s string) (string, bool) {
	if strings.Contains(s, "://") {
		return "", false
	}
	host, _, _ := strings.Cut(s, "/")
	name, port, hasPort := strings.Cut(host, ":")
	if hasPort && (port == "" || strings.Trim(port, "0123456789") != "") {
		return "", false // "mailto:x" and the like: a scheme, just not ours
	}
	if name == "" || strings.Trim(strings.ToLower(name), "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return "", false
	}
	return s, strings.Contains(name, ".") || strings.EqualFold(name, "localhost") || hasPort
}

// SameRegistryURL reports whether two base URLs name the same registry
// address once canonical. An alias (localhost for 127.0.0.1) is another
// address: only the registry itself can tell that it serves the same records.
func SameRegistryURL(a, b string) bool {
	ca, errA := ParseBaseURL(a)
	cb, errB := ParseBaseURL(b)
	return errA == nil && errB == nil && ca == cb
}

// IsLoopbackHost reports whether host (without port) is localhost or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// DefaultDomain is the badge domain the runtime SDK derives from a registry
// URL when none is configured: the host, plus ":port" when the URL names a
// port other than 80 and 443; an IPv6 host in brackets. It is a valid
// CanonicalDomain for every URL ParseBaseURL accepts.
func DefaultDomain(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && p != "80" && p != "443" {
		return host + ":" + p
	}
	return host
}
