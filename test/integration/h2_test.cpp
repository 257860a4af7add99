// HTTP/2 over TLS against a real peer: Debian's nghttpd (nghttp2-server),
// started for each case on a loopback port with a certificate of the test
// PKI, verified as any client would. Without nghttpd the cases are skipped,
// and say so.

#include <toolkit/toolkit.hpp>
#include "peer_process.hpp"

#include <support/test_pki.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using namespace curlasio::test;

namespace {

constexpr const char* nghttpd_path = "/usr/sbin/nghttpd";
constexpr std::size_t big_size = 16u << 20;

struct fixture {
    pki certs = make_test_pki();
    std::string docroot = certs.dir;
    asio::io_context io;
    engine eng{io};

    fixture() {
        std::ofstream(docroot + "/hello") << "hello world";
        std::ofstream(docroot + "/big") << pattern(big_size);
    }
    // nghttpd serving the document root over TLS, at most 100 streams a connection.
    peer_process nghttpd() const {
        return peer_process(nghttpd_path, [&](unsigned short port) {
            return std::vector<std::string>{"-a",  "127.0.0.1",          "-d",           docroot,        "-m",
                                            "100", std::to_string(port), certs.key_file, certs.cert_file};
        });
    }
    static std::string url(const peer_process& server, const std::string& path) {
        return "https://127.0.0.1:" + std::to_string(server.port()) + path;
    }
    request h2(const std::string& url) const {
        request req(url);
        req.options.version = http_version::http2_tls;
        req.options.tls.ca_file = certs.ca_file;
        return req;
    }
};

#define REQUIRE_NGHTTPD(server)                                                                              \
    peer_process server = nghttpd();                                                                         \
    CURLASIO_REQUIRE_PEER(server, "nghttp2-server")

// Starts `n` fetches of `req` at once and runs them all to completion.
std::vector<probe> fetch_all(asio::io_context& io, engine& eng, const request& req, int n) {
    std::vector<probe> probes(static_cast<std::size_t>(n));
    for (auto& p : probes)
        async_fetch(eng, req, probe_handler(p));
    BOOST_TEST(run_until(io, [&] {
        for (auto& p : probes)
            if (p.calls == 0)
                return false;
        return true;
    }));
    return probes;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(http2, fixture)

BOOST_AUTO_TEST_CASE(concurrent_streams_share_one_connection_when_waiting_for_multiplex) {
    REQUIRE_NGHTTPD(server);
    request req = h2(url(server, "/hello"));
    req.options.connection.wait_for_multiplex = true;
    for (const probe& p : fetch_all(io, eng, req, 20)) {
        BOOST_TEST(p.calls == 1);
        BOOST_TEST(!p.ec, p.ec.message() << ": " << p.res.error_message);
        BOOST_TEST(p.res.status == 200);
        BOOST_TEST(p.res.version == 20);
        BOOST_TEST(p.res.body == "hello world");
    }
    BOOST_TEST(connections_to(server.port()) == 1u);
}

// What wait_for_multiplex changes: without it, transfers started before the
// first connection has negotiated HTTP/2 each open their own.
BOOST_AUTO_TEST_CASE(without_waiting_early_streams_open_connections_of_their_own) {
    REQUIRE_NGHTTPD(server);
    for (const probe& p : fetch_all(io, eng, h2(url(server, "/hello")), 20)) {
        BOOST_TEST(!p.ec, p.ec.message() << ": " << p.res.error_message);
        BOOST_TEST(p.res.version == 20);
    }
    BOOST_TEST(connections_to(server.port()) > 1u);
}

BOOST_AUTO_TEST_CASE(cancelling_one_stream_leaves_the_others_and_the_connection) {
    REQUIRE_NGHTTPD(server);
    request req = h2(url(server, "/big"));
    req.options.connection.wait_for_multiplex = true;
    // The first stream is cancelled from its own first body bytes: far from
    // its end (the file is 16 MiB), with the other streams under way.
    request first = req;
    asio::cancellation_signal cancel;
    std::size_t first_bytes = 0;
    first.on_body = [&](std::string_view chunk) {
        if (first_bytes == 0)
            cancel.emit(asio::cancellation_type::terminal);
        first_bytes += chunk.size();
    };
    std::vector<probe> probes(4);
    async_fetch(eng, first, asio::bind_cancellation_slot(cancel.slot(), probe_handler(probes[0])));
    for (std::size_t i = 1; i < probes.size(); ++i)
        async_fetch(eng, req, probe_handler(probes[i]));
    BOOST_TEST(run_until(io, [&] {
        for (auto& p : probes)
            if (p.calls == 0)
                return false;
        return true;
    }));
    BOOST_TEST(probes[0].ec == asio::error::operation_aborted);
    BOOST_TEST(first_bytes > 0u);
    BOOST_TEST(first_bytes < big_size);
    for (std::size_t i = 1; i < probes.size(); ++i) {
        BOOST_TEST(!probes[i].ec, probes[i].ec.message() << ": " << probes[i].res.error_message);
        BOOST_TEST((probes[i].res.body == pattern(big_size)));
    }
    BOOST_TEST(connections_to(server.port()) == 1u);

    // The connection still carries new streams.
    auto again = fetch_all(io, eng, h2(url(server, "/hello")), 1);
    BOOST_TEST(!again[0].ec);
    BOOST_TEST(again[0].res.version == 20);
    BOOST_TEST(connections_to(server.port()) == 1u);
}

BOOST_AUTO_TEST_CASE(a_refused_certificate_fails_every_stream) {
    REQUIRE_NGHTTPD(server);
    request req = h2(url(server, "/hello"));
    req.options.tls.ca_file.clear(); // the system store does not know the test CA
    req.options.connection.wait_for_multiplex = true;
    for (const probe& p : fetch_all(io, eng, req, 5)) {
        BOOST_TEST(p.calls == 1);
        BOOST_TEST(p.ec == make_error_code(CURLE_PEER_FAILED_VERIFICATION));
    }
    BOOST_TEST(connections_to(server.port()) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
