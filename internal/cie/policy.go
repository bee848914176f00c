package cie

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
)

// applyPolicies applies the superiors' metadata_policy for one entity
// type to metadata (JSON), from the trust anchor's down to the immediate
// superior's, as OpenID Federation 1.0 describes the standard operators:
// value, add, default, one_of, subset_of, superset_of, essential. An
// operator civico does not know, or a policy the metadata cannot meet,
// makes the chain invalid.
func applyPolicies(metadata json.RawMessage, policies []json.RawMessage) (json.RawMessage, error) {
	var md map[string]any
	if err := json.Unmarshal(metadata, &md); err != nil {
		return nil, err
	}
	for i := len(policies) - 1; i >= 0; i-- {
		var pol map[string]map[string]any
		if err := json.Unmarshal(policies[i], &pol); err != nil {
			return nil, fmt.Errorf("metadata_policy: %w", err)
		}
		claims := make([]string, 0, len(pol))
		for c := range pol {
			claims = append(claims, c)
		}
		sort.Strings(claims)
		for _, claim := range claims {
			if err := applyOperators(md, claim, pol[claim]); err != nil {
				return nil, fmt.Errorf("metadata_policy %s: %w", claim, err)
			}
		}
	}
	// Applied in turn, a lower policy's value, add or default could undo
	// a higher one's restriction. OpenID Federation merges the policies
	// first and refuses those that conflict; the same outcome here: the
	// final metadata must still meet every superior's every operator, or
	// the policies conflict and the chain is invalid.
	for i, raw := range policies {
		var pol map[string]map[string]any
		if err := json.Unmarshal(raw, &pol); err != nil {
			return nil, fmt.Errorf("metadata_policy: %w", err)
		}
		for claim, ops := range pol {
			if err := stillMet(md, claim, ops); err != nil {
				return nil, fmt.Errorf("metadata_policy %s: conflicting policies (superior %d): %w", claim, i, err)
			}
		}
	}
	return json.Marshal(md)
}

// stillMet checks that the final metadata meets one superior's operators
// for claim.
func stillMet(md map[string]any, claim string, ops map[string]any) error {
	cur, present := md[claim]
	for _, op := range order {
		arg, ok := ops[op]
		if !ok {
			continue
		}
		switch op {
		case "value":
			if arg == nil && present || arg != nil && !reflect.DeepEqual(asList(cur), asList(arg)) {
				return fmt.Errorf("value %v is now %v", arg, cur)
			}
		case "add":
			for _, v := range asList(arg) {
				if !containsValue(asList(cur), v) {
					return fmt.Errorf("%v lacks the added %v", cur, v)
				}
			}
		case "one_of":
			if present && !containsValue(asList(arg), cur) {
				return fmt.Errorf("%v is not one of %v", cur, arg)
			}
		case "subset_of":
			for _, v := range asList(cur) {
				if present && !containsValue(asList(arg), v) {
					return fmt.Errorf("%v is not a subset of %v", cur, arg)
				}
			}
		case "superset_of":
			for _, v := range asList(arg) {
				if present && !containsValue(asList(cur), v) {
					return fmt.Errorf("%v is not a superset of %v", cur, arg)
				}
			}
		case "essential":
			if b, _ := arg.(bool); b && !present {
				return fmt.Errorf("essential, and absent")
			}
		}
	}
	return nil
}

// order is the operators' order of application.
var order = []string{"value", "add", "default", "one_of", "subset_of", "superset_of", "essential"}

func applyOperators(md map[string]any, claim string, ops map[string]any) error {
	for op := range ops {
		if !slices.Contains(order, op) {
			return fmt.Errorf("unknown operator %q", op)
		}
	}
	for _, op := range order {
		arg, ok := ops[op]
		if !ok {
			continue
		}
		cur, present := md[claim]
		switch op {
		case "value":
			if arg == nil {
				delete(md, claim)
			} else {
				md[claim] = arg
			}
		case "add":
			list := asList(cur)
			for _, v := range asList(arg) {
				if !containsValue(list, v) {
					list = append(list, v)
				}
			}
			md[claim] = list
		case "default":
			if !present {
				md[claim] = arg
			}
		case "one_of":
			if present && !containsValue(asList(arg), cur) {
				return fmt.Errorf("%v is not one of %v", cur, arg)
			}
		case "subset_of":
			if present {
				var kept []any
				for _, v := range asList(cur) {
					if containsValue(asList(arg), v) {
						kept = append(kept, v)
					}
				}
				if len(kept) == 0 {
					delete(md, claim)
				} else {
					md[claim] = kept
				}
			}
		case "superset_of":
			if present {
				for _, v := range asList(arg) {
					if !containsValue(asList(cur), v) {
						return fmt.Errorf("%v is not a superset of %v", cur, arg)
					}
				}
			}
		case "essential":
			if b, _ := arg.(bool); b {
				if _, ok := md[claim]; !ok {
					return fmt.Errorf("essential, and absent")
				}
			}
		}
	}
	return nil
}

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return slices.Clone(x)
	default:
		return []any{x}
	}
}

func containsValue(list []any, v any) bool {
	for _, x := range list {
		if reflect.DeepEqual(x, v) {
			return true
		}
	}
	return false
}
