package protocol

import (
	"crypto/ed25519"
	"encoding/json"

	"github.com/go-jose/go-jose/v4"
)

// DecodeKeySet decodes the registry's published signing keys, served at
// PathJWKS: a JWK set ({"keys":[...]}) or, as some registries serve it, one
// bare JWK. Every key must be a public Ed25519 key: badges are signed with
// EdDSA, and a set that holds anything else is not this protocol's.
func DecodeKeySet(body []byte) (*jose.JSONWebKeySet, error) {
	var members map[string]json.RawMessage
	if err := DecodeReply(body, &members); err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	switch {
	case nonNull(members["keys"]) != nil:
		if json.Unmarshal(members["keys"], &set.Keys) != nil {
			return nil, InvalidReply("the key set's keys is not an array of JWKs")
		}
	case nonNull(members["kty"]) != nil:
		var one jose.JSONWebKey
		if DecodeReply(body, &one) != nil {
			return nil, InvalidReply("the reply is not a JWK")
		}
		set.Keys = []jose.JSONWebKey{one}
	default:
		return nil, InvalidReply("the reply is neither a JWK set nor a JWK")
	}
	for _, k := range set.Keys {
		if _, ok := k.Key.(ed25519.PublicKey); !ok || !k.IsPublic() {
			return nil, InvalidReply("the key set holds a key that is not a public Ed25519 key")
		}
	}
	return &set, nil
}
