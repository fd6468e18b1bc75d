package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// TestBadgeRevokeAction_RevokeAndRepeat revokes a badge a running server
// holds: the public status says revoked with the reason given, and a second
// call changes nothing (the first reason stays).
func TestBadgeRevokeAction_RevokeAndRepeat(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	k := newTestKey(t)
	server := registryCreate(t, reg, "revoke", k.DIDKey, k.PEM)
	badge := issueBadgeOutOfBand(t, reg, reg.APIKey, server.ID)

	got := invokeAction(t, reg, reg.APIKey, NewBadgeRevokeAction, map[string]string{"jti": badge.JTI, "reason": "leaked in a CI log"})
	wantInvoked(t, got, nil, "Revoking badge "+badge.JTI+" of "+server.DID, "is revoked", `reason "leaked in a CI log"`)
	if strings.Contains(got.text(), badge.Badge) {
		t.Error("the invocation printed the badge")
	}
	st := badgeStatusOf(t, reg, badge.JTI)
	if !st.Revoked || st.Reason != "leaked in a CI log" || st.RevokedAt == nil {
		t.Fatalf("badge status after the action = %+v, want revoked with the reason given", st)
	}

	again := invokeAction(t, reg, reg.APIKey, NewBadgeRevokeAction, map[string]string{"jti": badge.JTI, "reason": "another reason"})
	wantInvoked(t, again, nil, "was already revoked; nothing to do", `reason "leaked in a CI log"`)
	if st2 := badgeStatusOf(t, reg, badge.JTI); st2.Reason != st.Reason || !st2.RevokedAt.Equal(*st.RevokedAt) {
		t.Errorf("a second revocation changed the status: %+v, was %+v", st2, st)
	}
}

// TestBadgeRevokeAction_Errors checks what the action says when it cannot
// revoke, and that a badge it could not revoke stays valid.
func TestBadgeRevokeAction_Errors(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	other := registryCreateWithKey(t, reg, reg.SecondOrgKey(t))
	otherBadge := issueBadgeOutOfBand(t, reg, reg.SecondOrgKey(t), other.ID)
	k := newTestKey(t)
	ours := issueBadgeOutOfBand(t, reg, reg.APIKey, registryCreate(t, reg, "ours", k.DIDKey, k.PEM).ID)
	cases := map[string]struct {
		apiKey, jti string
		errors      []string
		says        []string
	}{
		"no such badge": {
			apiKey: reg.APIKey, jti: uuid.NewString(),
			errors: []string{"Badge Not Found"}, says: []string{"knows no badge with jti", "registry_url"},
		},
		"another organisation's badge": {
			apiKey: reg.APIKey, jti: otherBadge.JTI,
			errors: []string{"Badge Belongs to Another Organisation"}, says: []string{otherBadge.JTI, EnvAPIKey},
		},
		"no API key": {
			apiKey: "", jti: ours.JTI,
			errors: []string{"Missing CapiscIO API Key"}, says: []string{"Revoking badge " + ours.JTI},
		},
	}
	for name, c := range cases {
		got := invokeAction(t, reg, c.apiKey, NewBadgeRevokeAction, map[string]string{"jti": c.jti})
		wantInvoked(t, got, c.errors, c.says...)
		if t.Failed() {
			t.Fatalf("case %q", name)
		}
	}
	for _, jti := range []string{otherBadge.JTI, ours.JTI} {
		if st := badgeStatusOf(t, reg, jti); st.Revoked {
			t.Errorf("badge %s was revoked by a failed call", jti)
		}
	}
}

// TestBadgeRevokeAction_ExpiredBadge revokes a badge that expired already:
// it is revoked all the same (a copy may still be replayed against a
// verifier with a skewed clock) and the action says it had expired.
func TestBadgeRevokeAction_ExpiredBadge(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t, registrytest.WithNow(func() time.Time { return time.Now().Add(-time.Hour) }))
	k := newTestKey(t)
	badge := issueBadgeOutOfBand(t, reg, reg.APIKey, registryCreate(t, reg, "expired", k.DIDKey, k.PEM).ID)
	got := invokeAction(t, reg, reg.APIKey, NewBadgeRevokeAction, map[string]string{"jti": badge.JTI})
	wantInvoked(t, got, nil, "is revoked", `reason "revoked"`, "It had expired at")
}

// TestBadgeRevokeAction_Validators checks the plan-time checks of jti and
// reason, and that a token given as jti is never quoted back.
func TestBadgeRevokeAction_Validators(t *testing.T) {
	t.Parallel()
	token := "eyJhbGciOiJFZERTQSJ9.eyJqdGkiOiJ4In0.c2lnbmF0dXJlc2VjcmV0"
	cases := map[string]struct {
		v       validator.String
		value   string
		wantErr string // "" = valid
	}{
		"jti":                      {jtiValidator(), "550e8400-e29b-41d4-a716-446655440000", ""},
		"jti not a UUID":           {jtiValidator(), "badge-1", "is not a badge jti"},
		"jti UUID in braces":       {jtiValidator(), "{550e8400-e29b-41d4-a716-446655440000}", "is not a badge jti"},
		"a token instead of a jti": {jtiValidator(), token, "is a badge token, not its jti"},
		"reason":                   {revokeReasonValidator(), "key leaked in build 1234", ""},
		"reason of 200 characters": {revokeReasonValidator(), strings.Repeat("é", protocol.MaxReasonRunes), ""},
		"reason too long":          {revokeReasonValidator(), strings.Repeat("x", protocol.MaxReasonRunes+1), "at most 200"},
		"reason on two lines":      {revokeReasonValidator(), "leaked\nagain", "without control characters"},
	}
	for name, c := range cases {
		var resp validator.StringResponse
		c.v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("x"), ConfigValue: types.StringValue(c.value)}, &resp)
		got := ""
		if resp.Diagnostics.HasError() {
			got = resp.Diagnostics.Errors()[0].Detail()
		}
		switch {
		case c.wantErr == "" && got != "":
			t.Errorf("%s: unexpected error %q", name, got)
		case c.wantErr != "" && !strings.Contains(got, c.wantErr):
			t.Errorf("%s: error %q, want one saying %q", name, got, c.wantErr)
		case strings.Contains(got, "c2lnbmF0dXJl"):
			t.Errorf("%s: the error quotes the token", name)
		}
	}
}
