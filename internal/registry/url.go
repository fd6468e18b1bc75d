package registry

import (
	"fmt"
	"net/url"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// NormalizeBaseURL checks that s is a registry base URL the client may use
// and returns its canonical form (protocol.ParseBaseURL): plain http is
// allowed only for a loopback host, where no one else can read the API key.
func NormalizeBaseURL(s string) (string, error) {
	canonical, err := protocol.ParseBaseURL(s)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(canonical)
	if err != nil {
		return "", err
	}
	if u.Scheme == "http" && !protocol.IsLoopbackHost(u.Hostname()) {
		return "", fmt.Errorf("plain http is only allowed for a loopback host (localhost, 127.0.0.1, ::1); use https://%s", u.Host+u.Path)
	}
	return canonical, nil
}
