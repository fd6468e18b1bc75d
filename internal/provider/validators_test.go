package provider

import (
	"strings"
	"testing"
)

func TestValidateDomain(t *testing.T) {
	t.Parallel()
	good := []string{"mcp.example.com", "localhost:8080", "127.0.0.1", "[::1]:9000", "a-b.c"}
	bad := []string{"https://x.io", "x.io/p", "a b", "x.io:http", "x..io", ":80", "x.io:", "x.io:123456", "exa_mple.com", "[::1]:x"}
	for _, s := range good {
		if err := validateDomain(s); err != nil {
			t.Errorf("validateDomain(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		if err := validateDomain(s); err == nil {
			t.Errorf("validateDomain(%q) = nil, want an error", s)
		}
	}
}

func FuzzValidateDomain(f *testing.F) {
	for _, s := range []string{"mcp.example.com", "localhost:8080", "[::1]:9000", "a b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := validateDomain(s); err == nil && strings.ContainsAny(s, " /?#@\n") {
			t.Fatalf("validateDomain accepted %q", s)
		}
	})
}

func FuzzValidateServerID(f *testing.F) {
	for _, s := range []string{"550e8400-e29b-41d4-a716-446655440000", "", "x", "{550e8400-e29b-41d4-a716-446655440000}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := validateServerID(s); err == nil && len(s) != 36 {
			t.Fatalf("validateServerID accepted %q", s)
		}
	})
}
