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
		{name: "value overrides", policies: []string{`{"scopes":{"value":["openid"]}}`, `{"scopes":{"add":["email"]}}`}, want: `"scopes":["openid"]`},
		{name: "anchor first", policies: []string{`{"scopes":{"add":["b"]}}`, `{"scopes":{"value":["a"]}}`}, want: `"scopes":["a","b"]`},
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
