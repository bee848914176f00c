package crs

import (
	"crypto/tls"
	"fmt"
)

// TLSConfig is the configuration of the portal's TLS listener, with the
// server certificate and key from the given PEM files.
//
// It asks the browser for a card (tls.RequestClientCert) but neither
// requires nor verifies one: the handshake succeeds with any certificate
// or none, and the application verifies it with Verifier.Verify. A card
// refused during the handshake would leave the resident with the
// browser's cryptic connection error; refused by the application, it gets
// a page saying why (expired, revoked, not a CNS...) and what to do. The
// handshake still proves that the client holds the certificate's private
// key (its CertificateVerify message is checked against the certificate
// in every case), so a copied certificate without the card is useless.
//
// Set ClientCAs to Verifier.ClientCAs() so that the browser offers only
// certificates issued by the trusted CAs.
//
// TLS 1.2 is the minimum; for TLS 1.2 only forward-secret AEAD suites are
// offered (TLS 1.3's suites are all modern and not configurable).
func TLSConfig(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("crs: TLS certificate: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		ClientAuth: tls.RequestClientCert,
	}, nil
}
