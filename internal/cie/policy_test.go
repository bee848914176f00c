package cie

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestApplyPolicies: each operator, the anchor's policy applied before
// the intermediate's, and the policies a metadata cannot meet.
func TestApplyPolicies(t *testing.T) {
	md := json.RawMessage(`{"acr_values_supported":["L1","L2","L3"],"token_endpoint_auth_methods_supported":["private_key_jwt"],"scopes":["openid"]}`)
	for _, c := range []struct {
		name     string
		policies []string // immediate superior first, anchor last
		want     string   // a fragment of the result, or of the error
		err      bool
	}{
		{name: "subset_of", policies: []string{`{"acr_values_supported":{"subset_of":["L2","L3","L4"]}}`}, want: `"acr_values_supported":["L2","L3"]`},
		{name: "add", policies: []string{`{"scopes":{"add":["profile"]}}`}, want: `"scopes":["openid","profile"]`},
		{name: "default when absent", policies: []string{`{"x":{"default":"d"}}`}, want: `"x":"d"`},
		{name: "a lower value undoing the anchor's add conflicts", policies: []string{`{"scopes":{"value":["openid"]}}`, `{"scopes":{"add":["email"]}}`}, want: "conflicting", err: true},
		{name: "a lower add undoing the anchor's value conflicts", policies: []string{`{"scopes":{"add":["b"]}}`, `{"scopes":{"value":["a"]}}`}, want: "conflicting", err: true},
		{name: "a lower value escaping the anchor's one_of conflicts (review L2)", policies: []string{`{"id_token_signing_alg":{"value":"none"}}`, `{"id_token_signing_alg":{"one_of":["RS256","ES256"]}}`}, want: "conflicting", err: true},
		{name: "a lower default beside the anchor's subset_of", policies: []string{`{"acr_values_supported":{"default":["L9"]}}`, `{"acr_values_supported":{"subset_of":["L2","L3"]}}`}, want: `"acr_values_supported":["L2","L3"]`},
		{name: "two subset_of narrow together", policies: []string{`{"acr_values_supported":{"subset_of":["L3"]}}`, `{"acr_values_supported":{"subset_of":["L2","L3"]}}`}, want: `"acr_values_supported":["L3"]`},
		{name: "value and add that agree", policies: []string{`{"scopes":{"add":["openid"]}}`, `{"scopes":{"value":["openid","profile"]}}`}, want: `"scopes":["openid","profile"]`},
		{name: "superset_of unmet", policies: []string{`{"token_endpoint_auth_methods_supported":{"superset_of":["private_key_jwt","tls_client_auth"]}}`}, want: "superset", err: true},
		{name: "one_of unmet", policies: []string{`{"scopes":{"one_of":["x"]}}`}, want: "one of", err: true},
		{name: "essential absent", policies: []string{`{"userinfo_endpoint":{"essential":true}}`}, want: "essential", err: true},
		{name: "unknown operator", policies: []string{`{"scopes":{"regexp":"x"}}`}, want: "unknown operator", err: true},
	} {
		var pols []json.RawMessage
		for _, p := range c.policies {
			pols = append(pols, json.RawMessage(p))
		}
		out, err := applyPolicies(md, pols)
		if c.err {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: %s %v", c.name, out, err)
		}
	}
}
