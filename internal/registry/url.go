package registry

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DefaultBaseURL is the hosted CapiscIO registry.
const DefaultBaseURL = "https://registry.capisc.io"

// NormalizeBaseURL checks that s is a usable registry base URL and returns it
// without a trailing "/". The rules (INTERFACE.md): absolute http(s) URL, no
// query, fragment or user info; plain http only for a loopback host.
func NormalizeBaseURL(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", errors.New("the registry URL is empty")
	}
	if strings.TrimSpace(s) != s {
		return "", errors.New("the registry URL has leading or trailing spaces")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("the registry URL does not parse: %s", strings.TrimPrefix(err.Error(), "parse \""+s+"\": "))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("the registry URL must start with https:// (or http:// for a loopback host), not %q", u.Scheme+":")
	case u.Host == "" || u.Hostname() == "":
		return "", errors.New("the registry URL has no host")
	case u.User != nil:
		return "", errors.New("the registry URL must not carry user info; give the API key in api_key instead")
	case u.RawQuery != "" || u.ForceQuery:
		return "", errors.New("the registry URL must not have a query string")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "", errors.New("the registry URL must not have a fragment")
	case u.Scheme == "http" && !IsLoopbackHost(u.Hostname()):
		return "", fmt.Errorf("plain http is only allowed for a loopback host (localhost, 127.0.0.1, ::1); use https://%s", u.Host+u.Path)
	}
	if p := u.Port(); p != "" {
		if n, err := net.LookupPort("tcp", p); err != nil || n <= 0 || n > 65535 || p[0] == '0' {
			return "", fmt.Errorf("the registry URL has an invalid port %q", p)
		}
	}
	return strings.TrimRight(s, "/"), nil
}

// IsLoopbackHost reports whether host (without port) is localhost or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// DefaultDomain derives the badge domain from a registry URL the way the
// runtime SDK does: the host, plus ":port" when the URL names a port other
// than 80 and 443 (PROTOCOL.md B2.4).
func DefaultDomain(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && p != "80" && p != "443" {
		return host + ":" + p
	}
	return host
}
