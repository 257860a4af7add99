// A throwaway PKI minted at test time: a CA, a valid server certificate and
// deliberately broken variants, written as PEM files into a temp directory.
#pragma once

#include <string>

namespace curlasio::test {

// Movable, not copyable; the destructor removes `dir` and everything in it.
// All leaf certificates share `key_file`. Leaves carry the SANs
// IP:127.0.0.1, IP:::1, DNS:localhost unless noted otherwise.
struct pki {
    std::string dir;
    std::string ca_file;               // the test CA (what clients trust)
    std::string cert_file;             // valid leaf signed by the CA
    std::string key_file;              // private key of every leaf
    std::string expired_cert_file;     // signed by the CA, notAfter in the past
    std::string wrong_host_cert_file;  // signed by the CA, SAN DNS:wrong.example only
    std::string self_signed_cert_file; // right SANs, self-signed, not from the CA
    std::string ca_dir;                // the CA as <subject hash>.0 (CURLOPT_CAPATH)
    std::string client_cert_file;      // client (EKU clientAuth) signed by the CA
    std::string client_key_file;       // its key, PEM encrypted with client_key_password
    std::string client_key_password;
    std::string self_signed_client_cert_file; // same key, self-signed, not from the CA

    pki() = default;
    pki(pki&& other) noexcept;
    pki& operator=(pki&& other) noexcept;
    pki(const pki&) = delete;
    pki& operator=(const pki&) = delete;
    ~pki();
};

// Creates a fresh directory under /tmp and fills it. Throws std::runtime_error
// on any failure (nothing is left behind on disk in that case).
pki make_test_pki();

// "sha256//<base64>" of the public key of the PEM certificate in `cert_file`,
// as CURLOPT_PINNEDPUBLICKEY takes it. Throws std::runtime_error on failure.
std::string public_key_pin(const std::string& cert_file);

} // namespace curlasio::test
