package identity

// Source is what proved an attribute of an account. Every attribute records
// its source; only proven ones are given to features and applications.
type Source string

const (
	// SourceNone: the account has no such attribute.
	SourceNone Source = ""
	// SourceSelf: typed by the person into a form: a claim, proven by
	// nothing.
	SourceSelf Source = "self"
	// SourceEmailLink: an address shown to work by a link sent to it.
	SourceEmailLink Source = "email_link"
	// SourceCNS: read from a CNS/CRS smart card (or the CIE used as a card)
	// whose certificate civico verified, at a login with its PIN.
	SourceCNS Source = "cns"
	// SourceSPID: asserted by a SPID identity provider in a response
	// civico validated (signed assertion, for a request it made), which
	// checked the person's identity when it issued the SPID identity.
	SourceSPID Source = "spid"
	// SourceCIE: asserted by the CIE ID provider (OpenID Connect
	// federation) in a userinfo civico decrypted and verified, for a login
	// it asked for, the provider's trust chain verified to the configured
	// trust anchor.
	SourceCIE Source = "cie"
	// SourceUpstream: asserted by the upstream OpenID Connect provider the
	// town configured (a regional or vendor SPID/CIE proxy, package
	// upstream) in an ID token civico verified against the provider's
	// keys, for a login it asked for.
	SourceUpstream Source = "upstream"
	// SourceEIDAS: asserted by the Italian eIDAS node (FICEP), a SAML
	// provider under SPID's rules, for a European whose own country's
	// notified eID scheme identified them (substantial or high), in a
	// response civico validated: the eIDAS person identifier, the names,
	// the birth date, and a fiscal number when the person has one.
	SourceEIDAS Source = "eidas"
	// SourceFiscalCode: derived from a proven fiscal code (sex and birth
	// date are written into it).
	SourceFiscalCode Source = "fiscal_code"
	// SourceRegister: the town's population register (civico residents
	// import), for a person whose fiscal code is proven.
	SourceRegister Source = "register"
	// SourceAdmin: written by an administrator (an operator's fiscal code,
	// so that their card opens their operator account).
	SourceAdmin Source = "admin"
)

// Proven reports whether the source proves the attribute: a typed claim
// does not.
func (s Source) Proven() bool {
	switch s {
	case SourceEmailLink, SourceCNS, SourceSPID, SourceCIE, SourceUpstream, SourceEIDAS, SourceFiscalCode, SourceRegister, SourceAdmin:
		return true
	}
	return false
}
