#include <support/test_pki.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace curlasio::test {
namespace {

struct pkey_free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
    void operator()(X509* p) const { X509_free(p); }
};
struct bio_free {
    void operator()(BIO* p) const { BIO_free_all(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

[[noreturn]] void fail(const std::string& what) {
    // Drain the whole queue so a later, unrelated OpenSSL user sees a clean one.
    std::string detail;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        detail += detail.empty() ? ": " : "; ";
        detail += buf;
    }
    throw std::runtime_error("make_test_pki: " + what + detail);
}

void check(int ok, const char* what) {
    if (ok <= 0)
        fail(what);
}

pkey_ptr make_key() {
    pkey_ptr key{EVP_EC_gen("P-256")};
    if (!key)
        fail("EVP_EC_gen");
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext)
        fail(std::string("extension ") + OBJ_nid2sn(nid));
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    check(ok, "X509_add_ext");
}

struct validity {
    long not_before; // seconds relative to now
    long not_after;
};

// Builds a certificate for `key`. With no issuer it is self-signed.
x509_ptr make_cert(const char* common_name, EVP_PKEY* key, bool is_ca, const char* san, validity valid,
                   X509* issuer, EVP_PKEY* issuer_key, const char* extended_usage = "serverAuth") {
    x509_ptr cert{X509_new()};
    if (!cert)
        fail("X509_new");
    check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

    // Random positive 63-bit serial: reissuing never collides in a client's cache.
    unsigned char rnd[8];
    check(RAND_bytes(rnd, sizeof rnd), "RAND_bytes");
    rnd[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(rnd, sizeof rnd, nullptr);
    if (!bn)
        fail("BN_bin2bn");
    const bool serial_ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr;
    BN_free(bn);
    if (!serial_ok)
        fail("serial");

    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), valid.not_before) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert.get()), valid.not_after))
        fail("validity");

    X509_NAME* name = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("curlasio test"), -1, -1, 0),
          "subject O");
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0),
          "subject CN");
    check(X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name),
          "X509_set_issuer_name");
    check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");

    X509* ext_issuer = issuer ? issuer : cert.get();
    if (is_ca) {
        add_ext(cert.get(), ext_issuer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), ext_issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(cert.get(), ext_issuer, NID_subject_key_identifier, "hash");
    } else {
        add_ext(cert.get(), ext_issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), ext_issuer, NID_key_usage, "critical,digitalSignature");
        add_ext(cert.get(), ext_issuer, NID_ext_key_usage, extended_usage);
        add_ext(cert.get(), ext_issuer, NID_subject_key_identifier, "hash");
        if (issuer)
            add_ext(cert.get(), ext_issuer, NID_authority_key_identifier, "keyid:always");
        add_ext(cert.get(), ext_issuer, NID_subject_alt_name, san);
    }

    check(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()), "X509_sign");
    return cert;
}

void write_cert(const std::string& path, X509* cert) {
    bio_ptr bio{BIO_new_file(path.c_str(), "w")};
    if (!bio)
        fail("open " + path);
    check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
}

// With a passphrase, the key is written encrypted (AES-256-CBC).
void write_key(const std::string& path, EVP_PKEY* key, const std::string& passphrase = {}) {
    bio_ptr bio{BIO_new_file(path.c_str(), "w")};
    if (!bio)
        fail("open " + path);
    const EVP_CIPHER* cipher = passphrase.empty() ? nullptr : EVP_aes_256_cbc();
    auto* pass = reinterpret_cast<unsigned char*>(const_cast<char*>(passphrase.data()));
    check(PEM_write_bio_PrivateKey(bio.get(), key, cipher, passphrase.empty() ? nullptr : pass,
                                   static_cast<int>(passphrase.size()), nullptr, nullptr),
          "PEM_write_bio_PrivateKey");
}

void remove_dir(const std::string& dir) noexcept {
    if (dir.empty())
        return;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec); // best effort: a destructor must not throw
}

} // namespace

pki::pki(pki&& other) noexcept
    : dir(std::exchange(other.dir, {})), ca_file(std::move(other.ca_file)),
      cert_file(std::move(other.cert_file)), key_file(std::move(other.key_file)),
      expired_cert_file(std::move(other.expired_cert_file)),
      wrong_host_cert_file(std::move(other.wrong_host_cert_file)),
      self_signed_cert_file(std::move(other.self_signed_cert_file)), ca_dir(std::move(other.ca_dir)),
      client_cert_file(std::move(other.client_cert_file)), client_key_file(std::move(other.client_key_file)),
      client_key_password(std::move(other.client_key_password)),
      self_signed_client_cert_file(std::move(other.self_signed_client_cert_file)) {}

pki& pki::operator=(pki&& other) noexcept {
    if (this != &other) {
        remove_dir(dir);
        dir = std::exchange(other.dir, {});
        ca_file = std::move(other.ca_file);
        cert_file = std::move(other.cert_file);
        key_file = std::move(other.key_file);
        expired_cert_file = std::move(other.expired_cert_file);
        wrong_host_cert_file = std::move(other.wrong_host_cert_file);
        self_signed_cert_file = std::move(other.self_signed_cert_file);
        ca_dir = std::move(other.ca_dir);
        client_cert_file = std::move(other.client_cert_file);
        client_key_file = std::move(other.client_key_file);
        client_key_password = std::move(other.client_key_password);
        self_signed_client_cert_file = std::move(other.self_signed_client_cert_file);
    }
    return *this;
}

pki::~pki() { remove_dir(dir); }

pki make_test_pki() {
    char tmpl[] = "/tmp/curlasio-pki-XXXXXX";
    if (!::mkdtemp(tmpl))
        throw std::runtime_error("make_test_pki: mkdtemp failed");
    pki p;
    p.dir = tmpl; // from here on, p's destructor cleans up if anything throws

    constexpr long hour = 3600, day = 24 * hour;
    constexpr const char* good_san = "IP:127.0.0.1,IP:::1,DNS:localhost";
    // Start an hour back so small clock differences never make a cert "not yet valid".
    constexpr validity current{-hour, 30 * day};
    constexpr validity expired{-2 * day, -day};

    pkey_ptr ca_key = make_key();
    pkey_ptr leaf_key = make_key();
    x509_ptr ca = make_cert("curlasio test CA", ca_key.get(), true, nullptr, current, nullptr, nullptr);
    x509_ptr leaf = make_cert("localhost", leaf_key.get(), false, good_san, current, ca.get(), ca_key.get());
    x509_ptr old = make_cert("localhost", leaf_key.get(), false, good_san, expired, ca.get(), ca_key.get());
    x509_ptr wrong = make_cert("wrong.example", leaf_key.get(), false, "DNS:wrong.example", current, ca.get(),
                               ca_key.get());
    x509_ptr self = make_cert("localhost", leaf_key.get(), false, good_san, current, nullptr, nullptr);

    p.ca_file = p.dir + "/ca.pem";
    p.cert_file = p.dir + "/server.pem";
    p.key_file = p.dir + "/server-key.pem";
    p.expired_cert_file = p.dir + "/expired.pem";
    p.wrong_host_cert_file = p.dir + "/wrong-host.pem";
    p.self_signed_cert_file = p.dir + "/self-signed.pem";
    write_cert(p.ca_file, ca.get());
    write_cert(p.cert_file, leaf.get());
    write_key(p.key_file, leaf_key.get());
    write_cert(p.expired_cert_file, old.get());
    write_cert(p.wrong_host_cert_file, wrong.get());
    write_cert(p.self_signed_cert_file, self.get());

    // The CA again, as a directory in OpenSSL's hashed layout (CURLOPT_CAPATH).
    p.ca_dir = p.dir + "/ca.d";
    std::filesystem::create_directory(p.ca_dir);
    char hashed[16];
    std::snprintf(hashed, sizeof hashed, "%08lx.0", X509_subject_name_hash(ca.get()));
    write_cert(p.ca_dir + "/" + hashed, ca.get());

    // A client: its certificate from the CA, its key encrypted.
    pkey_ptr client_key = make_key();
    x509_ptr client = make_cert("curlasio test client", client_key.get(), false, "DNS:client.example",
                                current, ca.get(), ca_key.get(), "clientAuth");
    x509_ptr client_self = make_cert("curlasio test client", client_key.get(), false, "DNS:client.example",
                                     current, nullptr, nullptr, "clientAuth");
    p.client_cert_file = p.dir + "/client.pem";
    p.client_key_file = p.dir + "/client-key.pem";
    p.client_key_password = "curlasio test passphrase";
    p.self_signed_client_cert_file = p.dir + "/client-self-signed.pem";
    write_cert(p.client_cert_file, client.get());
    write_key(p.client_key_file, client_key.get(), p.client_key_password);
    write_cert(p.self_signed_client_cert_file, client_self.get());
    return p;
}

std::string public_key_pin(const std::string& cert_file) {
    bio_ptr bio{BIO_new_file(cert_file.c_str(), "r")};
    if (!bio)
        fail("open " + cert_file);
    x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
    if (!cert)
        fail("PEM_read_bio_X509 " + cert_file);
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &der);
    if (len <= 0)
        fail("i2d_PUBKEY");
    unsigned char digest[32];
    unsigned int digest_len = 0;
    const int ok = EVP_Digest(der, static_cast<std::size_t>(len), digest, &digest_len, EVP_sha256(), nullptr);
    OPENSSL_free(der);
    check(ok, "EVP_Digest");
    unsigned char b64[64];
    const int b64_len = EVP_EncodeBlock(b64, digest, static_cast<int>(digest_len));
    return "sha256//" + std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(b64_len));
}

} // namespace curlasio::test
