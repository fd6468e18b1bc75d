package registry_test

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// TestPublishedKey reads what the real local registry's DID documents
// publish: the key a record was created with, the new key after a rotation
// (and only that one), the key of a disabled record (the document says
// nothing about status), and not found for a deleted record or an id that
// never existed.
func TestPublishedKey(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	c := newClient(t, reg)
	ctx := context.Background()
	create := func() (*protocol.Server, keys.Material) {
		m := newMaterial(t)
		s, err := c.CreateServer(ctx, protocol.CreateServerRequest{Name: "published", DID: m.DIDKey, PublicKey: m.PEM}, "")
		if err != nil {
			t.Fatal(err)
		}
		return s, m
	}
	kept, keptKey := create()

	rotated, _ := create()
	rotatedKey := newMaterial(t)
	if _, err := c.RegisterKey(ctx, rotated.ID, protocol.RegisterKeyRequest{DID: rotatedKey.DIDKey, PublicKey: rotatedKey.PEM}); err != nil {
		t.Fatal(err)
	}
	disabled, disabledKey := create()
	if _, err := c.DisableServer(ctx, disabled.ID); err != nil {
		t.Fatal(err)
	}
	deleted, _ := create()
	if err := c.DeleteServer(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}

	cases := map[string]struct {
		server       *protocol.Server // the record, or nil with id
		id           string
		want         ed25519.PublicKey
		wantNotFound bool
	}{
		"registered key":  {server: kept, want: keptKey.Key},
		"rotated key":     {server: rotated, want: rotatedKey.Key},
		"disabled record": {server: disabled, want: disabledKey.Key},
		"deleted record":  {id: deleted.ID, wantNotFound: true},
		"never existed":   {id: "0b6a3f2e-1c4d-4e5f-9a8b-7c6d5e4f3a2b", wantNotFound: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			id := tc.id
			if tc.server != nil {
				id = tc.server.ID
			}
			if got, want := c.DIDDocumentURL(id), reg.URL+"/servers/"+id+"/did.json"; got != want {
				t.Errorf("DIDDocumentURL = %q, want %q", got, want)
			}
			got, err := c.PublishedKey(ctx, id)
			if tc.wantNotFound {
				if !registry.IsNotFound(err) {
					t.Fatalf("PublishedKey = %v, %v; want not found", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("PublishedKey: %v", err)
			}
			if got.DID != tc.server.DID || got.MethodID != tc.server.DID+"#key-1" {
				t.Errorf("document %q, method %q; want %q and %q", got.DID, got.MethodID, tc.server.DID, tc.server.DID+"#key-1")
			}
			if !got.Key.Equal(tc.want) {
				t.Errorf("published key %x, want %x", []byte(got.Key), []byte(tc.want))
			}
		})
	}
}

func newMaterial(t *testing.T) keys.Material {
	t.Helper()
	m, err := keys.NewMaterial(nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
