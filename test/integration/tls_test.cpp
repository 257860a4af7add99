// HTTPS against the in-process server with certificates minted at test time.

#include <toolkit/toolkit.hpp>

#include <support/test_pki.hpp>
#include <support/test_server.hpp>

#include <boost/test/unit_test.hpp>

#include <openssl/ssl.h>

#include <filesystem>
#include <string>

namespace asio = boost::asio;
using namespace curlasio;
using curlasio::test::fetch_sync;

namespace {

struct fixture {
    curlasio::test::pki pki = curlasio::test::make_test_pki();
    asio::io_context io;
    engine eng{io};

    curlasio::test::server_options with_cert(const std::string& cert) const {
        curlasio::test::server_options o;
        o.tls = true;
        o.cert_file = cert;
        o.key_file = pki.key_file;
        return o;
    }
    request trusting(const std::string& url) const {
        request req(url);
        req.options.tls.ca_file = pki.ca_file;
        return req;
    }
    request with_client_cert(const std::string& url) const {
        request req = trusting(url);
        req.options.tls.client_cert_file = pki.client_cert_file;
        req.options.tls.client_key_file = pki.client_key_file;
        req.options.tls.client_key_password = pki.client_key_password;
        return req;
    }
};

// Evaluates its argument once (it may be a fetch).
#define REQUIRE_OK(outcome_expr)                                                                             \
    do {                                                                                                     \
        const auto& required_ = (outcome_expr);                                                              \
        BOOST_TEST_REQUIRE(!required_.ec, required_.ec.message() << ": " << required_.res.error_message);    \
    } while (false)

} // namespace

BOOST_FIXTURE_TEST_SUITE(tls, fixture)

BOOST_AUTO_TEST_CASE(verified_with_the_right_ca) {
    curlasio::test::test_server server(with_cert(pki.cert_file));
    auto out = fetch_sync(io, eng, trusting(server.url("/hello")));
    BOOST_TEST(!out.ec);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.body == "hello world");
    BOOST_TEST(out.res.times.tls_handshake.count() > 0);
    BOOST_TEST(out.res.times.tls_handshake >= out.res.times.connect);
    // by name too: the certificate carries DNS:localhost
    request by_name = trusting("https://localhost:" + std::to_string(server.port()) + "/hello");
    BOOST_TEST(!fetch_sync(io, eng, by_name).ec);
}

BOOST_AUTO_TEST_CASE(refused_without_the_ca) {
    curlasio::test::test_server server(with_cert(pki.cert_file));
    auto out = fetch_sync(io, eng, request(server.url("/hello")));
    BOOST_TEST(out.ec == make_error_code(CURLE_PEER_FAILED_VERIFICATION));
    BOOST_TEST(!out.res.error_message.empty());
    BOOST_TEST(server.requests_seen() == 0u);
}

BOOST_AUTO_TEST_CASE(bad_certificates_are_refused) {
    for (const std::string* cert :
         {&pki.expired_cert_file, &pki.wrong_host_cert_file, &pki.self_signed_cert_file}) {
        BOOST_TEST_CONTEXT(*cert) {
            curlasio::test::test_server server(with_cert(*cert));
            auto out = fetch_sync(io, eng, trusting(server.url("/hello")));
            BOOST_TEST(out.ec == make_error_code(CURLE_PEER_FAILED_VERIFICATION));
            BOOST_TEST(server.requests_seen() == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(verification_off_is_explicit) {
    curlasio::test::test_server server(with_cert(pki.self_signed_cert_file));
    request req(server.url("/hello"));
    req.options.tls.verify_peer = false;
    req.options.tls.verify_host = false;
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(!out.ec);
    BOOST_TEST(out.res.status == 200);
}

BOOST_AUTO_TEST_CASE(many_https_transfers_share_connections) {
    curlasio::test::test_server server(with_cert(pki.cert_file));
    int ok = 0;
    for (int i = 0; i < 200; ++i)
        async_fetch(eng, trusting(server.url("/bytes/1024")),
                    [&](error_code ec, response r) { ok += !ec && r.body.size() == 1024; });
    io.run_for(std::chrono::seconds(60));
    BOOST_TEST(ok == 200);
    // Later fetches reuse the cached TLS connections: no new handshake.
    const std::size_t accepted = server.connections_accepted();
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(!fetch_sync(io, eng, trusting(server.url("/hello"))).ec);
    BOOST_TEST(server.connections_accepted() == accepted);
}

BOOST_AUTO_TEST_CASE(a_client_certificate_is_presented_when_required) {
    auto opts = with_cert(pki.cert_file);
    opts.client_ca_file = pki.ca_file;
    curlasio::test::test_server server(opts);

    // The key is encrypted: with its passphrase the certificate is accepted.
    auto out = fetch_sync(io, eng, with_client_cert(server.url("/client-cert")));
    REQUIRE_OK(out);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.body == "curlasio test client");

    // Without one the server refuses the handshake. (libcurl keeps
    // connections made with a client certificate for requests with the same
    // one: this is a new connection, not the one above.)
    const std::size_t seen = server.requests_seen();
    // Over TLS 1.3 the refusal comes after the client's side of the
    // handshake, as an alert when reading: CURLE_RECV_ERROR.
    auto without = fetch_sync(io, eng, trusting(server.url("/client-cert")));
    BOOST_TEST(without.ec == make_error_code(CURLE_RECV_ERROR), without.ec.message() << without.res.body);
    BOOST_TEST(without.res.error_message.find("certificate required") != std::string::npos,
               without.res.error_message);
    BOOST_TEST(without.res.status == 0);
    BOOST_TEST(server.requests_seen() == seen);

    // One the server's CA did not sign is refused too.
    request untrusted = with_client_cert(server.url("/client-cert"));
    untrusted.options.tls.client_cert_file = pki.self_signed_client_cert_file;
    auto refused = fetch_sync(io, eng, untrusted);
    BOOST_TEST(refused.ec == make_error_code(CURLE_RECV_ERROR), refused.ec.message() << refused.res.body);
    BOOST_TEST(server.requests_seen() == seen);

    // A wrong passphrase fails before the handshake, as libcurl's own error.
    // On an engine of its own: libcurl matches connections on the
    // certificate, not the key or its passphrase, and would reuse the first
    // connection for it.
    request wrong_pass = with_client_cert(server.url("/client-cert"));
    wrong_pass.options.tls.client_key_password = "not the passphrase";
    engine fresh(io);
    auto bad_key = fetch_sync(io, fresh, wrong_pass);
    BOOST_TEST(bad_key.ec == make_error_code(CURLE_SSL_CERTPROBLEM), bad_key.ec.message());
    BOOST_TEST(server.requests_seen() == seen);

    // The engine goes on, and the first connection is still good.
    auto again = fetch_sync(io, eng, with_client_cert(server.url("/client-cert")));
    REQUIRE_OK(again);
    BOOST_TEST(again.res.body == "curlasio test client");
}

BOOST_AUTO_TEST_CASE(a_client_certificate_is_harmless_when_not_asked_for) {
    curlasio::test::test_server server(with_cert(pki.cert_file));
    auto out = fetch_sync(io, eng, with_client_cert(server.url("/client-cert")));
    REQUIRE_OK(out);
    BOOST_TEST(out.res.body == "none");
}

BOOST_AUTO_TEST_CASE(the_pinned_public_key_must_match) {
    curlasio::test::test_server server(with_cert(pki.cert_file));
    const std::string right = curlasio::test::public_key_pin(pki.cert_file);
    const std::string wrong = curlasio::test::public_key_pin(pki.ca_file); // another key
    BOOST_TEST_REQUIRE(right != wrong);

    request pinned = trusting(server.url("/hello"));
    pinned.options.tls.pinned_public_key = right;
    auto out = fetch_sync(io, eng, pinned);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.body == "hello world");

    // A pin that does not match refuses the server although its chain
    // verifies; libcurl does not reuse the connection above for it.
    request mispinned = trusting(server.url("/hello"));
    mispinned.options.tls.pinned_public_key = wrong;
    const std::size_t seen = server.requests_seen();
    auto refused = fetch_sync(io, eng, mispinned);
    BOOST_TEST(refused.ec == make_error_code(CURLE_SSL_PINNEDPUBKEYNOTMATCH), refused.ec.message());
    BOOST_TEST(server.requests_seen() == seen);

    // Several pins: one matching is enough (a key rotation in progress).
    request either = trusting(server.url("/hello"));
    either.options.tls.pinned_public_key = wrong + ";" + right;
    REQUIRE_OK(fetch_sync(io, eng, either));

    // A pin is checked in addition to verification, not instead of it.
    curlasio::test::test_server self_signed(with_cert(pki.self_signed_cert_file));
    request pin_only = trusting(self_signed.url("/hello"));
    pin_only.options.tls.pinned_public_key = right; // the same key
    auto unverified = fetch_sync(io, eng, pin_only);
    BOOST_TEST(unverified.ec == make_error_code(CURLE_PEER_FAILED_VERIFICATION));
}

BOOST_AUTO_TEST_CASE(a_ca_directory_is_trusted) {
    curlasio::test::test_server server(with_cert(pki.cert_file));
    const std::string empty_dir = pki.dir + "/empty.d";
    std::filesystem::create_directory(empty_dir);
    request nothing_there(server.url("/hello"));
    nothing_there.options.tls.ca_dir = empty_dir;
    BOOST_TEST(fetch_sync(io, eng, nothing_there).ec == make_error_code(CURLE_PEER_FAILED_VERIFICATION));

    request req(server.url("/hello"));
    req.options.tls.ca_dir = pki.ca_dir;
    auto out = fetch_sync(io, eng, req);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.body == "hello world");
}

BOOST_AUTO_TEST_CASE(tls_1_2_is_refused_when_1_3_is_the_minimum) {
    auto opts = with_cert(pki.cert_file);
    opts.tls1_2_only = true;
    curlasio::test::test_server server(opts);

    request tls12 = trusting(server.url("/hello"));
    tls12.options.tls.min_version = tls_version::tls1_2;
    REQUIRE_OK(fetch_sync(io, eng, tls12));

    request tls13 = trusting(server.url("/hello"));
    tls13.options.tls.min_version = tls_version::tls1_3;
    auto refused = fetch_sync(io, eng, tls13);
    BOOST_TEST(refused.ec == make_error_code(CURLE_SSL_CONNECT_ERROR), refused.ec.message());
    BOOST_TEST(server.requests_seen() == 1u);

    // A server that speaks 1.3 is fine with that minimum.
    curlasio::test::test_server modern(with_cert(pki.cert_file));
    request to_modern = trusting(modern.url("/hello"));
    to_modern.options.tls.min_version = tls_version::tls1_3;
    REQUIRE_OK(fetch_sync(io, eng, to_modern));
}

BOOST_AUTO_TEST_CASE(cipher_lists_limit_the_handshake) {
    // TLS 1.2: the server's key is ECDSA, so RSA suites have nothing in common with it.
    auto opts12 = with_cert(pki.cert_file);
    opts12.tls1_2_only = true;
    curlasio::test::test_server tls12(opts12);
    request rsa_only = trusting(tls12.url("/hello"));
    rsa_only.options.tls.ciphers = "ECDHE-RSA-AES128-GCM-SHA256";
    BOOST_TEST(fetch_sync(io, eng, rsa_only).ec == make_error_code(CURLE_SSL_CONNECT_ERROR));
    request ecdsa = trusting(tls12.url("/hello"));
    ecdsa.options.tls.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";
    REQUIRE_OK(fetch_sync(io, eng, ecdsa));

    // TLS 1.3 suites are a list of their own.
    auto opts13 = with_cert(pki.cert_file);
    opts13.tls13_ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
    curlasio::test::test_server tls13(opts13);
    request aes = trusting(tls13.url("/hello"));
    aes.options.tls.tls13_ciphers = "TLS_AES_128_GCM_SHA256";
    BOOST_TEST(fetch_sync(io, eng, aes).ec == make_error_code(CURLE_SSL_CONNECT_ERROR));
    request chacha = trusting(tls13.url("/hello"));
    chacha.options.tls.tls13_ciphers = "TLS_CHACHA20_POLY1305_SHA256";
    REQUIRE_OK(fetch_sync(io, eng, chacha));
}

BOOST_AUTO_TEST_CASE(the_ssl_ctx_hook_can_make_verification_pass) {
    curlasio::test::test_server server(with_cert(pki.cert_file));
    int calls = 0;
    // As a service would apply its asio::ssl::context's trust: load the CA
    // into the SSL_CTX libcurl is about to use (no tls.ca_file).
    auto trust_test_ca = [&](SSL_CTX* ctx) -> error_code {
        ++calls;
        if (SSL_CTX_load_verify_locations(ctx, pki.ca_file.c_str(), nullptr) != 1)
            return make_error_code(boost::system::errc::io_error);
        return {};
    };
    request hooked(server.url("/hello"));
    hooked.options.tls.ssl_ctx_hook = trust_test_ca;
    auto out = fetch_sync(io, eng, hooked);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.body == "hello world");
    BOOST_TEST(calls == 1);

    // What the hook did stays with its request: without it, the same server
    // is refused (no connection, TLS session or CA store of the hooked
    // request is reused).
    // (It likely got the hooked request's easy handle, reset: the hook is
    // not called for it.)
    auto plain = fetch_sync(io, eng, request(server.url("/hello")));
    BOOST_TEST(plain.ec == make_error_code(CURLE_PEER_FAILED_VERIFICATION));
    BOOST_TEST(calls == 1);

    // By default each hooked request has a connection of its own.
    const std::size_t accepted = server.connections_accepted();
    REQUIRE_OK(fetch_sync(io, eng, hooked));
    REQUIRE_OK(fetch_sync(io, eng, hooked));
    BOOST_TEST(calls == 3);
    BOOST_TEST(server.connections_accepted() == accepted + 2);
}

BOOST_AUTO_TEST_CASE(hooked_connections_are_reused_when_asked_to) {
    curlasio::test::test_server server(with_cert(pki.cert_file));
    int calls = 0;
    request hooked(server.url("/hello"));
    hooked.options.tls.reuse_hooked_connections = true;
    hooked.options.tls.ssl_ctx_hook = [&](SSL_CTX* ctx) -> error_code {
        ++calls;
        SSL_CTX_load_verify_locations(ctx, pki.ca_file.c_str(), nullptr);
        return {};
    };
    for (int i = 0; i < 3; ++i)
        REQUIRE_OK(fetch_sync(io, eng, hooked));
    BOOST_TEST(calls == 1); // a reused connection runs no hook
    BOOST_TEST(server.connections_accepted() == 1u);

    // Elsewhere, without the hook, the test CA is still unknown.
    curlasio::test::test_server other(with_cert(pki.cert_file));
    auto plain = fetch_sync(io, eng, request(other.url("/hello")));
    BOOST_TEST(plain.ec == make_error_code(CURLE_PEER_FAILED_VERIFICATION));
}

BOOST_AUTO_TEST_CASE(what_the_hook_loads_stays_out_of_libcurls_ca_cache) {
    // libcurl 7.87+ keeps one X509_STORE per multi handle for the transfers
    // that trust only a CA file; a hook adding a CA to the store would add it
    // for them all. Debian's libcurl also has a default CA directory, which
    // turns that cache off, so it is turned back on here by unsetting it.
    curlasio::test::test_server server(with_cert(pki.cert_file));
    curlasio::test::test_server other(with_cert(pki.cert_file));
    auto without_ca_dir = [](request r) {
        r.set_option(CURLOPT_CAPATH, nullptr);
        return r;
    };
    request hooked = without_ca_dir(request(server.url("/hello")));
    hooked.options.tls.reuse_hooked_connections = true;
    hooked.options.tls.ssl_ctx_hook = [&](SSL_CTX* ctx) -> error_code {
        SSL_CTX_load_verify_locations(ctx, pki.ca_file.c_str(), nullptr);
        return {};
    };
    REQUIRE_OK(fetch_sync(io, eng, hooked));
    auto plain = fetch_sync(io, eng, without_ca_dir(request(other.url("/hello"))));
    BOOST_TEST(plain.ec == make_error_code(CURLE_PEER_FAILED_VERIFICATION));
}

BOOST_AUTO_TEST_CASE(a_failing_ssl_ctx_hook_fails_the_fetch) {
    curlasio::test::test_server server(with_cert(pki.cert_file));
    request refusing = trusting(server.url("/hello"));
    refusing.options.tls.ssl_ctx_hook = [](SSL_CTX*) -> error_code {
        return make_error_code(boost::system::errc::permission_denied);
    };
    auto out = fetch_sync(io, eng, refusing);
    BOOST_TEST(out.ec == make_error_code(boost::system::errc::permission_denied));
    BOOST_TEST(out.res.error_message.find("ssl_ctx_hook") != std::string::npos, out.res.error_message);
    BOOST_TEST(server.requests_seen() == 0u);

    request throwing = trusting(server.url("/hello"));
    throwing.options.tls.ssl_ctx_hook = [](SSL_CTX*) -> error_code {
        throw std::runtime_error("no context");
    };
    auto threw = fetch_sync(io, eng, throwing);
    BOOST_TEST(threw.ec == make_error_code(errc::callback_threw));
    BOOST_TEST(static_cast<bool>(threw.res.callback_exception));
    BOOST_TEST(threw.res.error_message.find("no context") != std::string::npos, threw.res.error_message);

    // And the engine goes on.
    REQUIRE_OK(fetch_sync(io, eng, trusting(server.url("/hello"))));
}

BOOST_AUTO_TEST_SUITE_END()
