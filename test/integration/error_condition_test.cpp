// Real failures on loopback, tested the way a caller who does not know
// libcurl's codes tests them: `ec == CURLE_...` (CURLcode as an error-code
// enum), `ec == curlasio::condition::...` and curlasio::is_retryable.

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/errc.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

namespace asio = boost::asio;
using namespace curlasio;
using namespace std::chrono_literals;
using curlasio::test::fetch_sync;

namespace {

// A loopback port nobody listens on: bound, then closed again.
unsigned short closed_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(error_conditions, curlasio::test::engine_fixture)

BOOST_AUTO_TEST_CASE(refused_connect_is_couldnt_connect_and_connect_failed) {
    const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
    auto out = fetch_sync(io, eng, request(url));
    BOOST_TEST_REQUIRE(out.calls == 1);
    BOOST_TEST((out.ec == CURLE_COULDNT_CONNECT), out.ec.message());
    BOOST_TEST((out.ec == condition::connect_failed));
    BOOST_TEST((out.ec == condition::transient));
    BOOST_TEST(is_retryable(out.ec));
    BOOST_TEST((out.ec != condition::dns));
    BOOST_TEST((out.ec != condition::tls));
    BOOST_TEST((out.ec != condition::timed_out));
    BOOST_TEST(!out.res.error_message.empty());
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(deadline_is_timed_out_and_transient) {
    request req(server.url(curlasio::test::never_answered));
    req.options.timeout = 200ms;
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST_REQUIRE(out.calls == 1);
    BOOST_TEST((out.ec == CURLE_OPERATION_TIMEDOUT), out.ec.message());
    BOOST_TEST((out.ec == condition::timed_out));
    BOOST_TEST((out.ec == boost::system::errc::timed_out));
    BOOST_TEST(is_retryable(out.ec));
    BOOST_TEST((out.ec != condition::connect_failed));
}

BOOST_AUTO_TEST_CASE(unresolvable_is_dns_and_not_retryable) {
    auto out = fetch_sync(io, eng, request("http://no-such-host.invalid/"));
    BOOST_TEST_REQUIRE(out.calls == 1);
    BOOST_TEST((out.ec == CURLE_COULDNT_RESOLVE_HOST), out.ec.message());
    BOOST_TEST((out.ec == condition::dns));
    BOOST_TEST(!is_retryable(out.ec));
}

// TLS spoken to a plain HTTP server: the handshake fails.
BOOST_AUTO_TEST_CASE(tls_to_a_plain_server_is_tls_and_not_retryable) {
    std::string url = server.url("/hello");
    url.replace(0, 4, "https");
    auto out = fetch_sync(io, eng, request(url));
    BOOST_TEST_REQUIRE(out.calls == 1);
    BOOST_TEST((out.ec == condition::tls), out.ec.message() << " (" << out.ec.value() << ")");
    BOOST_TEST(!is_retryable(out.ec));
    expect_fetch_works();
}

BOOST_AUTO_TEST_SUITE_END()
