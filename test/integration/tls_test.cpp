// HTTPS against the in-process server with certificates minted at test time.

#include <toolkit/toolkit.hpp>

#include <support/test_pki.hpp>
#include <support/test_server.hpp>

#include <boost/test/unit_test.hpp>

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
};

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
        async_fetch(eng, trusting(server.url("/bytes/1024")), [&](error_code ec, response r) {
            ok += !ec && r.body.size() == 1024;
        });
    io.run_for(std::chrono::seconds(60));
    BOOST_TEST(ok == 200);
    // Later fetches reuse the cached TLS connections: no new handshake.
    const std::size_t accepted = server.connections_accepted();
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(!fetch_sync(io, eng, trusting(server.url("/hello"))).ec);
    BOOST_TEST(server.connections_accepted() == accepted);
}

BOOST_AUTO_TEST_SUITE_END()
