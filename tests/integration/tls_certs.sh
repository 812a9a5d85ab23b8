#!/bin/sh
# Makes throwaway TLS material for the tests in directory $1 (created if
# needed): a CA, a server certificate for localhost and 127.0.0.1, a client
# certificate, a client certificate from another CA, and an RSA server
# certificate (for the TLS 1.2 cipher suite policy: plain RSA key exchange
# needs an RSA key). Keys are P-256 (RSA 2048) and never leave the test's
# temporary directory.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # name subject
	key "$1.key"
	openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "$2" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
}
leaf() { # name subject ca extensions
	key "$1.key"
	openssl req -new -key "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
	printf '%s\n' "$4" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
		-out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}
ca ca "/CN=ringbus test CA"
ca other-ca "/CN=ringbus other CA"
leaf server "/CN=localhost" ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf client "/CN=ringbus test client" ca "extendedKeyUsage=clientAuth"
key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }
leaf server-rsa "/CN=localhost" ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf other-client "/CN=ringbus stranger" other-ca "extendedKeyUsage=clientAuth"
# Route and leaf node certificates: a server dials and accepts, so it
# presents the same certificate as a TLS client and as a TLS server.
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
leaf node "/CN=localhost" ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth"
leaf other-node "/CN=localhost" other-ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth"
