// Through a real HTTP proxy: Debian's tinyproxy, started for each case on a
// loopback port, in front of the in-process Beast server (plain and TLS).
// Without tinyproxy the cases are skipped, and say so.

#include <toolkit/toolkit.hpp>
#include "peer_process.hpp"

#include <support/test_pki.hpp>
#include <support/test_server.hpp>

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using namespace curlasio::test;

namespace {

struct fixture {
    pki certs = make_test_pki();
    test_server plain;
    test_server tls{server_options{true, certs.cert_file, certs.key_file}};
    asio::io_context io;
    engine eng{io};

    // Its configuration beside the certificates.
    peer_process tinyproxy() const { return curlasio::test::tinyproxy(certs.dir); }
    static std::string proxy_url(const peer_process& proxy) {
        return "http://127.0.0.1:" + std::to_string(proxy.port());
    }
};

#define REQUIRE_TINYPROXY(proxy)                                                                             \
    peer_process proxy = tinyproxy();                                                                        \
    CURLASIO_REQUIRE_PEER(proxy, "tinyproxy")

} // namespace

BOOST_FIXTURE_TEST_SUITE(proxy, fixture)

BOOST_AUTO_TEST_CASE(plain_http_goes_through_the_proxy) {
    REQUIRE_TINYPROXY(proxy);
    request req(plain.url("/echo"));
    req.options.proxy = proxy_url(proxy);
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(!out.ec, out.ec.message() << ": " << out.res.error_message);
    BOOST_TEST(out.res.status == 200);
    // The proxy stamped the request on its way, and the connection was to it.
    BOOST_TEST(std::string(out.res.headers.find("X-Echo-Via").value_or("")).find("curlasio-test-proxy") !=
               std::string::npos);
    BOOST_TEST(out.res.remote_port == proxy.port());

    // Without the proxy the same request arrives unstamped.
    auto direct = fetch_sync(io, eng, request(plain.url("/echo")));
    BOOST_TEST(!direct.ec);
    BOOST_TEST(!direct.res.headers.contains("X-Echo-Via"));
}

BOOST_AUTO_TEST_CASE(https_tunnels_through_connect_and_is_verified_end_to_end) {
    REQUIRE_TINYPROXY(proxy);
    request req(tls.url("/hello"));
    req.options.proxy = proxy_url(proxy);
    req.options.tls.ca_file = certs.ca_file;
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(!out.ec, out.ec.message() << ": " << out.res.error_message);
    BOOST_TEST(out.res.body == "hello world");
    BOOST_TEST(out.res.remote_port == proxy.port());
    BOOST_TEST(out.res.times.tls_handshake.count() > 0);

    // The tunnel carries TLS unchanged: an untrusted certificate is still refused.
    request untrusted(tls.url("/hello"));
    untrusted.options.proxy = proxy_url(proxy);
    auto refused = fetch_sync(io, eng, untrusted);
    BOOST_TEST(refused.ec == make_error_code(CURLE_PEER_FAILED_VERIFICATION));
}

BOOST_AUTO_TEST_CASE(a_tunnel_the_proxy_cannot_open_is_an_error) {
    REQUIRE_TINYPROXY(proxy);
    request req("https://127.0.0.1:" + std::to_string(free_loopback_port()) + "/");
    req.options.proxy = proxy_url(proxy);
    auto out = fetch_sync(io, eng, req);
    // libcurl 7.88: the proxy's error answer to CONNECT is a receive error.
    BOOST_TEST(out.ec == make_error_code(CURLE_RECV_ERROR));
    BOOST_TEST(out.res.error_message.find("CONNECT") != std::string::npos, out.res.error_message);

    // And the engine goes on: the next fetch through the same proxy works.
    request ok(plain.url("/hello"));
    ok.options.proxy = proxy_url(proxy);
    BOOST_TEST(!fetch_sync(io, eng, ok).ec);
}

BOOST_AUTO_TEST_CASE(a_proxy_that_is_not_there_is_a_connect_error) {
    request req(plain.url("/hello"));
    req.options.proxy = "http://127.0.0.1:" + std::to_string(free_loopback_port());
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(out.ec == make_error_code(CURLE_COULDNT_CONNECT));
    BOOST_TEST(plain.requests_seen() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
