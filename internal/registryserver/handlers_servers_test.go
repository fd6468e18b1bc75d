package registryserver_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

func TestCreateServer(t *testing.T) {
	t.Parallel()
	reg := start(t)
	cases := map[string]struct {
		name     string
		wantName func(id string) string
	}{
		"named":        {name: "Filesystem", wantName: func(string) string { return "Filesystem" }},
		"trimmed":      {name: "  Padded  ", wantName: func(string) string { return "Padded" }},
		"default name": {name: "", wantName: func(id string) string { return "MCP Server " + id[:8] }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			key := newKey(t)
			before := time.Now().Add(-time.Second)
			resp, raw := reg.Do(t, http.MethodPost, protocol.PathServers, key.createBody(tc.name))
			wantStatus(t, resp, raw, http.StatusCreated)
			got := decodeData[protocol.Server](t, raw)

			if _, err := uuid.Parse(got.ID); err != nil {
				t.Errorf("id %q is not a UUID", got.ID)
			}
			if want := tc.wantName(got.ID); got.Name != want {
				t.Errorf("name = %q, want %q", got.Name, want)
			}
			wantDID := "did:web:" + strings.ReplaceAll(strings.TrimPrefix(reg.URL, "http://"), ":", "%3A") + ":servers:" + got.ID
			if got.DID != wantDID {
				t.Errorf("did = %q, want %q", got.DID, wantDID)
			}
			if got.DIDKey != key.did || got.PublicKey != key.pem {
				t.Errorf("didKey/publicKey = %q/%q, want the registered key", got.DIDKey, got.PublicKey)
			}
			if got.Status != protocol.StatusActive || got.TrustLevel != "1" || got.Domain != "" {
				t.Errorf("status/trustLevel/domain = %q/%q/%q, want active/1/empty", got.Status, got.TrustLevel, got.Domain)
			}
			if got.CreatedAt.Before(before) || !got.UpdatedAt.Equal(got.CreatedAt) || !got.KeyUpdatedAt.Equal(got.CreatedAt) {
				t.Errorf("timestamps created/updated/keyUpdated = %v/%v/%v", got.CreatedAt, got.UpdatedAt, got.KeyUpdatedAt)
			}
			if loc := resp.Header.Get("Location"); loc != pathOf(protocol.PathServer, got.ID) {
				t.Errorf("Location = %q", loc)
			}
		})
	}
}

func TestCreateServer_Idempotency(t *testing.T) {
	t.Parallel()
	reg := start(t)
	key, other := newKey(t), newKey(t)
	post := func(t *testing.T, apiKey, idem string, body any) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, reg.URL+protocol.PathServers, strings.NewReader(mustJSON(t, body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(protocol.HeaderAPIKey, apiKey)
		req.Header.Set(protocol.HeaderIdempotencyKey, idem)
		return send(t, reg.HTTP.Client(), req)
	}
	first, raw := post(t, reg.APIKey, "create-1", key.createBody("a"))
	wantStatus(t, first, raw, http.StatusCreated)
	created := decodeData[protocol.Server](t, raw)

	cases := map[string]struct {
		apiKey     string
		idem       string
		body       any
		wantStatus int
		wantSameID bool
		wantCode   string
	}{
		"same key same body replays":      {apiKey: reg.APIKey, idem: "create-1", body: key.createBody("a"), wantStatus: http.StatusOK, wantSameID: true},
		"same key other body conflicts":   {apiKey: reg.APIKey, idem: "create-1", body: other.createBody("a"), wantStatus: http.StatusConflict, wantCode: protocol.CodeConflict},
		"same key other name conflicts":   {apiKey: reg.APIKey, idem: "create-1", body: key.createBody("b"), wantStatus: http.StatusConflict, wantCode: protocol.CodeConflict},
		"new key creates another":         {apiKey: reg.APIKey, idem: "create-2", body: key.createBody("a"), wantStatus: http.StatusCreated},
		"other org same key is separate":  {apiKey: reg.SecondOrgKey(t), idem: "create-1", body: key.createBody("a"), wantStatus: http.StatusCreated},
		"oversized key is rejected":       {apiKey: reg.APIKey, idem: strings.Repeat("k", 256), body: key.createBody("a"), wantStatus: http.StatusBadRequest, wantCode: protocol.CodeBadRequest},
		"control characters are rejected": {apiKey: reg.APIKey, idem: "a\tb", body: key.createBody("a"), wantStatus: http.StatusBadRequest, wantCode: protocol.CodeBadRequest},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, raw := post(t, tc.apiKey, tc.idem, tc.body)
			wantStatus(t, resp, raw, tc.wantStatus)
			if tc.wantCode != "" {
				if got := decode[protocol.ErrorBody](t, raw); got.Error != tc.wantCode || got.Success {
					t.Errorf("error = %+v, want code %q", got, tc.wantCode)
				}
				return
			}
			got := decodeData[protocol.Server](t, raw)
			if (got.ID == created.ID) != tc.wantSameID {
				t.Errorf("id %s vs first %s, want same = %v", got.ID, created.ID, tc.wantSameID)
			}
			if tc.wantSameID && resp.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("Idempotent-Replayed header missing on a replay")
			}
		})
	}
}

func TestCreateServer_IdempotencyAfterDelete(t *testing.T) {
	t.Parallel()
	reg := start(t)
	key := newKey(t)
	req := func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, reg.URL+protocol.PathServers, strings.NewReader(mustJSON(t, key.createBody("x"))))
		r.Header.Set(protocol.HeaderAPIKey, reg.APIKey)
		r.Header.Set(protocol.HeaderIdempotencyKey, "gone")
		return r
	}
	resp, raw := send(t, reg.HTTP.Client(), req())
	wantStatus(t, resp, raw, http.StatusCreated)
	id := decodeData[protocol.Server](t, raw).ID
	resp, raw = reg.Do(t, http.MethodDelete, pathOf(protocol.PathServer, id), nil)
	wantStatus(t, resp, raw, http.StatusOK)

	resp, raw = send(t, reg.HTTP.Client(), req())
	wantStatus(t, resp, raw, http.StatusConflict)
}

func TestListServers_Paging(t *testing.T) {
	t.Parallel()
	reg := start(t)
	key := newKey(t)
	var want []string
	for i := range 7 {
		want = append(want, createServer(t, reg, reg.APIKey, key, fmt.Sprintf("s%d", i)).ID)
	}
	createServer(t, reg, reg.SecondOrgKey(t), key, "not listed")

	cases := map[string]struct {
		limit     string
		wantPages []int
	}{
		"default limit": {limit: "", wantPages: []int{7}},
		"limit 3":       {limit: "3", wantPages: []int{3, 3, 1}},
		"limit 7":       {limit: "7", wantPages: []int{7}},
		"limit 1000":    {limit: "1000", wantPages: []int{7}},
		"limit 1":       {limit: "1", wantPages: []int{1, 1, 1, 1, 1, 1, 1}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got []string
			var pages []int
			cursor := ""
			for {
				path := protocol.PathServers + "?limit=" + tc.limit + "&cursor=" + cursor
				resp, raw := reg.Do(t, http.MethodGet, path, nil)
				wantStatus(t, resp, raw, http.StatusOK)
				env := decode[protocol.Envelope[[]protocol.Server]](t, raw)
				pages = append(pages, len(env.Data))
				for _, s := range env.Data {
					got = append(got, s.ID)
				}
				if env.NextCursor == "" {
					break
				}
				cursor = env.NextCursor
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("ids = %v, want %v (creation order, own org only)", got, want)
			}
			if fmt.Sprint(pages) != fmt.Sprint(tc.wantPages) {
				t.Errorf("page sizes = %v, want %v", pages, tc.wantPages)
			}
		})
	}
}

func TestListServers_EmptyIsArray(t *testing.T) {
	t.Parallel()
	reg := start(t)
	resp, raw := reg.Do(t, http.MethodGet, protocol.PathServers, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if !strings.Contains(string(raw), `"data":[]`) {
		t.Errorf("body %s, want data: []", raw)
	}
}

func TestGetServer(t *testing.T) {
	t.Parallel()
	reg := start(t)
	created := createServer(t, reg, reg.APIKey, newKey(t), "get me")
	resp, raw := reg.Do(t, http.MethodGet, pathOf(protocol.PathServer, created.ID), nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if got := decodeData[protocol.Server](t, raw); got != created {
		t.Errorf("GET = %+v, want %+v", got, created)
	}
}

func TestRegisterKey(t *testing.T) {
	t.Parallel()
	reg := start(t)
	cases := map[string]struct {
		newKey      bool
		name        string
		wantName    string
		wantRotated bool
		wantRevoked bool
		wantUpdated bool
	}{
		"same key is a no-op":      {newKey: false, wantName: "orig"},
		"same key same name no-op": {newKey: false, name: "orig", wantName: "orig"},
		"same key renames":         {newKey: false, name: "renamed", wantName: "renamed", wantUpdated: true},
		"new key rotates":          {newKey: true, wantName: "orig", wantRotated: true, wantRevoked: true, wantUpdated: true},
		"new key and name":         {newKey: true, name: "both", wantName: "both", wantRotated: true, wantRevoked: true, wantUpdated: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			oldKey := newKey(t)
			created := createServer(t, reg, reg.APIKey, oldKey, "orig")
			badge := issueBadge(t, reg, created.ID, map[string]string{})
			key := oldKey
			if tc.newKey {
				key = newKey(t)
			}
			time.Sleep(2 * time.Millisecond) // let timestamps move
			body := key.registerBody()
			body.Name = tc.name
			resp, raw := reg.Do(t, http.MethodPut, pathOf(protocol.PathServer, created.ID), body)
			wantStatus(t, resp, raw, http.StatusOK)
			got := decodeData[protocol.Server](t, raw)

			if got.ID != created.ID || got.DID != created.DID || !got.CreatedAt.Equal(created.CreatedAt) {
				t.Errorf("identity changed: %+v -> %+v", created, got)
			}
			if got.Name != tc.wantName {
				t.Errorf("name = %q, want %q", got.Name, tc.wantName)
			}
			if got.PublicKey != key.pem || got.DIDKey != key.did {
				t.Errorf("key = %q, want %q", got.DIDKey, key.did)
			}
			if rotated := !got.KeyUpdatedAt.Equal(created.KeyUpdatedAt); rotated != tc.wantRotated {
				t.Errorf("keyUpdatedAt moved = %v, want %v", rotated, tc.wantRotated)
			}
			if updated := !got.UpdatedAt.Equal(created.UpdatedAt); updated != tc.wantUpdated {
				t.Errorf("updatedAt moved = %v, want %v", updated, tc.wantUpdated)
			}
			status := badgeStatus(t, reg, badge.JTI)
			if status.Revoked != tc.wantRevoked {
				t.Errorf("old badge revoked = %v, want %v", status.Revoked, tc.wantRevoked)
			}
			if tc.wantRevoked && status.Reason != protocol.ReasonKeyRotated {
				t.Errorf("old badge reason = %q, want %q", status.Reason, protocol.ReasonKeyRotated)
			}
		})
	}
}

func TestRegisterKey_DIDDocumentListsOnlyNewKey(t *testing.T) {
	t.Parallel()
	reg := start(t)
	created := createServer(t, reg, reg.APIKey, newKey(t), "rotating")
	next := newKey(t)
	rotate(t, reg, created.ID, next)
	resp, raw := reg.DoWithKey(t, "", http.MethodGet, pathOf(protocol.PathDIDDocument, created.ID), nil)
	wantStatus(t, resp, raw, http.StatusOK)
	doc := decode[protocol.DIDDocument](t, raw)
	if len(doc.VerificationMethod) != 1 || "did:key:"+doc.VerificationMethod[0].PublicKeyMultibase != next.did {
		t.Errorf("verificationMethod = %+v, want only the new key %s", doc.VerificationMethod, next.did)
	}
}

func TestDeleteServer(t *testing.T) {
	t.Parallel()
	reg := start(t)
	created := createServer(t, reg, reg.APIKey, newKey(t), "doomed")
	badge := issueBadge(t, reg, created.ID, nil)

	resp, raw := reg.Do(t, http.MethodDelete, pathOf(protocol.PathServer, created.ID), nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if got := decodeData[protocol.Server](t, raw); got.ID != created.ID {
		t.Errorf("deleted server id = %q, want %q", got.ID, created.ID)
	}
	for _, path := range []string{
		pathOf(protocol.PathServer, created.ID),
		pathOf(protocol.PathServerStatus, created.ID),
		pathOf(protocol.PathDIDDocument, created.ID),
	} {
		resp, raw := reg.Do(t, http.MethodGet, path, nil)
		wantStatus(t, resp, raw, http.StatusNotFound)
	}
	resp, raw = reg.Do(t, http.MethodDelete, pathOf(protocol.PathServer, created.ID), nil)
	wantStatus(t, resp, raw, http.StatusNotFound)

	status := badgeStatus(t, reg, badge.JTI)
	if !status.Revoked || status.Reason != protocol.ReasonServerDeleted {
		t.Errorf("badge status after delete = %+v, want revoked with reason %q", status, protocol.ReasonServerDeleted)
	}
}

func TestDisableEnable(t *testing.T) {
	t.Parallel()
	reg := start(t)
	created := createServer(t, reg, reg.APIKey, newKey(t), "toggle")

	resp, raw := reg.Do(t, http.MethodPost, pathOf(protocol.PathServerDisable, created.ID), nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if got := decodeData[protocol.Server](t, raw); got.Status != protocol.StatusDisabled {
		t.Errorf("status after disable = %q", got.Status)
	}
	status := decode[protocol.ServerStatus](t, mustGet(t, reg, pathOf(protocol.PathServerStatus, created.ID)))
	if status.Status != protocol.StatusDisabled || status.DisabledAt == nil {
		t.Errorf("public status = %+v, want disabled with disabledAt", status)
	}
	resp, raw = reg.Do(t, http.MethodPost, pathOf(protocol.PathServerBadge, created.ID), nil)
	wantStatus(t, resp, raw, http.StatusForbidden)
	if got := decode[protocol.ErrorBody](t, raw); got.Error != protocol.CodeServerDisabled {
		t.Errorf("badge on a disabled server: error %q, want %q", got.Error, protocol.CodeServerDisabled)
	}

	resp, raw = reg.Do(t, http.MethodPost, pathOf(protocol.PathServerEnable, created.ID), nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if got := decodeData[protocol.Server](t, raw); got.Status != protocol.StatusActive {
		t.Errorf("status after enable = %q", got.Status)
	}
	status = decode[protocol.ServerStatus](t, mustGet(t, reg, pathOf(protocol.PathServerStatus, created.ID)))
	if status.Status != protocol.StatusActive || status.DisabledAt != nil {
		t.Errorf("public status = %+v, want active", status)
	}
	issueBadge(t, reg, created.ID, nil)
}
