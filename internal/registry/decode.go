package registry

import (
	"bytes"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Replies are decoded by the protocol package, whose wire types decode
// themselves tolerantly (the shapes other registries send) and whose JSON
// tags the local registry encodes with: one definition for both sides.

// maxReplyBytes caps every reply body the client reads.
const maxReplyBytes = 1 << 20

// decodeAs decodes the payload of a reply into a new T.
func decodeAs[T any](body []byte) (*T, error) {
	var v T
	if err := protocol.DecodeReply(body, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// carriesServer reports whether a reply carries a server object: a data
// member, or a bare object with an id or a did. An empty body or an envelope
// without data does not.
func carriesServer(body []byte) bool {
	if len(bytes.TrimSpace(body)) == 0 {
		return false
	}
	var members map[string]any
	if protocol.DecodeReply(body, &members) != nil {
		return true // let the decoder say what is wrong with it
	}
	_, hasID := members["id"]
	_, hasDID := members["did"]
	return hasID || hasDID
}
