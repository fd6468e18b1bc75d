package did

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testID = "550e8400-e29b-41d4-a716-446655440000"

// errIs compares errors by the sentinel they wrap.
var errIs = cmpopts.EquateErrors()

func TestDocumentURL(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		did     string
		want    string
		wantErr error
		msg     string // a part of the error message
	}{
		// The runtime SDK's rule (capiscio-core DID.DocumentURL).
		"registry server":    {did: "did:web:registry.capisc.io:servers:" + testID, want: "https://registry.capisc.io/servers/" + testID + "/did.json"},
		"localhost port":     {did: "did:web:localhost%3A8080:servers:abc", want: "http://localhost:8080/servers/abc/did.json"},
		"lower-case escape":  {did: "did:web:localhost%3a8080:servers:abc", want: "http://localhost:8080/servers/abc/did.json"},
		"loopback ip port":   {did: "did:web:127.0.0.1%3A41234:servers:" + testID, want: "http://127.0.0.1:41234/servers/" + testID + "/did.json"},
		"loopback ip":        {did: "did:web:127.0.0.1:x", want: "http://127.0.0.1/x/did.json"},
		"localhost no port":  {did: "did:web:localhost", want: "http://localhost/.well-known/did.json"},
		"other port is tls":  {did: "did:web:example.com%3A3000:user:alice", want: "https://example.com:3000/user/alice/did.json"},
		"ipv6 loopback tls":  {did: "did:web:%5B%3A%3A1%5D%3A8443:a", want: "https://[::1]:8443/a/did.json"},
		"ipv6 no port":       {did: "did:web:%5B%3A%3A1%5D", want: "https://[::1]/.well-known/did.json"},
		"localhost-like tls": {did: "did:web:localhost.example.com", want: "https://localhost.example.com/.well-known/did.json"},
		// did:web spec §3.2 examples.
		"spec no path":  {did: "did:web:w3c-ccg.github.io", want: "https://w3c-ccg.github.io/.well-known/did.json"},
		"spec path":     {did: "did:web:w3c-ccg.github.io:user:alice", want: "https://w3c-ccg.github.io/user/alice/did.json"},
		"agent did":     {did: "did:web:registry.capisc.io:agents:a1", want: "https://registry.capisc.io/agents/a1/did.json"},
		"escaped path":  {did: "did:web:example.com:a%20b", want: "https://example.com/a%20b/did.json"},
		"underscore ok": {did: "did:web:example.com:my_server", want: "https://example.com/my_server/did.json"},

		"empty":           {did: "", wantErr: ErrNotDIDWeb, msg: "empty"},
		"not a did":       {did: "https://example.com", wantErr: ErrNotDIDWeb, msg: "not a DID"},
		"did:key":         {did: "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw", wantErr: ErrNotDIDWeb, msg: "is a did:key, not a did:web"},
		"upper-case":      {did: "DID:WEB:example.com", wantErr: ErrNotDIDWeb, msg: "lower case"},
		"no host":         {did: "did:web:", wantErr: ErrHost, msg: "no host"},
		"no colon":        {did: "did:web", wantErr: ErrHost, msg: "no host"},
		"empty host":      {did: "did:web::servers:x", wantErr: ErrSyntax, msg: "empty host"},
		"empty segment":   {did: "did:web:example.com::x", wantErr: ErrSyntax, msg: "empty path segment"},
		"trailing colon":  {did: "did:web:example.com:", wantErr: ErrSyntax, msg: "colon at the end"},
		"whitespace":      {did: " did:web:example.com", wantErr: ErrSyntax, msg: "whitespace"},
		"newline":         {did: "did:web:example.com\n", wantErr: ErrSyntax, msg: "whitespace"},
		"fragment":        {did: "did:web:example.com#key-1", wantErr: ErrSyntax, msg: "DID URL"},
		"slash path":      {did: "did:web:example.com/servers/x", wantErr: ErrSyntax, msg: "DID URL"},
		"query":           {did: "did:web:example.com?x=1", wantErr: ErrSyntax, msg: "DID URL"},
		"bad char":        {did: "did:web:exa mple.com", wantErr: ErrSyntax, msg: "cannot hold"},
		"non-ascii":       {did: "did:web:exämple.com", wantErr: ErrSyntax, msg: `"ä"`},
		"bad escape":      {did: "did:web:localhost%3:x", wantErr: ErrSyntax, msg: "percent-escape"},
		"bad escape hex":  {did: "did:web:localhost%zz", wantErr: ErrSyntax, msg: "percent-escape"},
		"escape at end":   {did: "did:web:localhost%", wantErr: ErrSyntax, msg: "percent-escape"},
		"escaped empty":   {did: "did:web:%3A8080", wantErr: ErrHost, msg: "empty host"},
		"escaped slash":   {did: "did:web:evil.com%2Fx", wantErr: ErrHost, msg: "not a host name"},
		"escaped at":      {did: "did:web:user%40evil.com", wantErr: ErrHost, msg: "not a host name"},
		"port zero":       {did: "did:web:localhost%3A0", wantErr: ErrHost, msg: "invalid port"},
		"port too big":    {did: "did:web:localhost%3A65536", wantErr: ErrHost, msg: "invalid port"},
		"port empty":      {did: "did:web:localhost%3A", wantErr: ErrHost, msg: "invalid port"},
		"port not number": {did: "did:web:localhost%3Ahttp", wantErr: ErrHost, msg: "invalid port"},
		"two colons":      {did: "did:web:a%3A1%3A2", wantErr: ErrHost, msg: "stray colon"},
		"bare ipv6":       {did: "did:web:%3A%3A1", wantErr: ErrHost, msg: "stray colon"},
		"bracketed name":  {did: "did:web:%5Bexample.com%5D", wantErr: ErrHost, msg: "not an IPv6 address"},
		"label dash":      {did: "did:web:-example.com", wantErr: ErrHost, msg: "not a host name"},
		"empty label":     {did: "did:web:example..com", wantErr: ErrHost, msg: "not a host name"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := DocumentURL(tc.did)
			if diff := cmp.Diff(tc.wantErr, err, errIs); diff != "" {
				t.Fatalf("DocumentURL(%q) error (-want +got):\n%s", tc.did, diff)
			}
			if err != nil && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("DocumentURL(%q) error %q does not mention %q", tc.did, err, tc.msg)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("DocumentURL(%q) (-want +got):\n%s", tc.did, diff)
			}
		})
	}
}

func TestParseServerDID(t *testing.T) {
	t.Parallel()
	type result struct{ Host, ID string }
	cases := map[string]struct {
		did     string
		want    result
		wantErr error
	}{
		"hosted":         {did: "did:web:registry.capisc.io:servers:" + testID, want: result{"registry.capisc.io", testID}},
		"local port":     {did: "did:web:127.0.0.1%3A8080:servers:" + testID, want: result{"127.0.0.1:8080", testID}},
		"agent":          {did: "did:web:registry.capisc.io:agents:" + testID, wantErr: ErrNotServerDID},
		"no id":          {did: "did:web:registry.capisc.io:servers", wantErr: ErrNotServerDID},
		"extra segment":  {did: "did:web:registry.capisc.io:servers:" + testID + ":x", wantErr: ErrNotServerDID},
		"prefix segment": {did: "did:web:registry.capisc.io:x:servers:" + testID, wantErr: ErrNotServerDID},
		"name not uuid":  {did: "did:web:mcp.example.com:servers:filesystem", wantErr: ErrNotServerDID},
		"uuid no dashes": {did: "did:web:registry.capisc.io:servers:550e8400e29b41d4a716446655440000", wantErr: ErrNotServerDID},
		"no path":        {did: "did:web:registry.capisc.io", wantErr: ErrNotServerDID},
		"did:key":        {did: "did:key:z6Mk", wantErr: ErrNotDIDWeb},
		"bad host":       {did: "did:web:localhost%3Ax:servers:" + testID, wantErr: ErrHost},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			host, id, err := ParseServerDID(tc.did)
			if diff := cmp.Diff(tc.wantErr, err, errIs); diff != "" {
				t.Fatalf("ParseServerDID(%q) error (-want +got):\n%s", tc.did, diff)
			}
			if diff := cmp.Diff(tc.want, result{host, id}); diff != "" {
				t.Errorf("ParseServerDID(%q) (-want +got):\n%s", tc.did, diff)
			}
		})
	}
}

// TestErrorsQuoteShortly checks that a huge value is clipped in messages.
func TestErrorsQuoteShortly(t *testing.T) {
	t.Parallel()
	_, err := DocumentURL("did:web:" + strings.Repeat("a", 10000) + " ")
	if err == nil || len(err.Error()) > 400 {
		t.Fatalf("error is %d bytes long: %v", len(err.Error()), err)
	}
}

func FuzzDocumentURL(f *testing.F) {
	for _, s := range []string{"did:web:localhost%3A8080:servers:abc", "did:web:example.com", "did:web:%5B%3A%3A1%5D", "did:web:a%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := DocumentURL(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") || !strings.HasSuffix(u, "/did.json") {
			t.Fatalf("DocumentURL(%q) = %q", s, u)
		}
	})
}
