// HTTP/2 over TLS against a real peer: Debian's nghttpd (nghttp2-server),
// started for each case on a loopback port with a certificate of the test
// PKI, verified as any client would. Without nghttpd the cases are skipped,
// and say so.

#include "common.hpp"
#include "probe.hpp"

#include <support/test_pki.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using namespace curlasio::test;

namespace {

constexpr const char* nghttpd_path = "/usr/sbin/nghttpd";
constexpr std::size_t big_size = 16u << 20;

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + i % 26);
    return s;
}

// A port that was free a moment ago (nghttpd cannot report the one it got).
unsigned short free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool accepts_connections(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// nghttpd serving a document root, stopped (SIGTERM, reaped) on destruction.
class nghttpd {
public:
    nghttpd(const pki& certs, const std::string& docroot) {
        for (int attempt = 0; attempt < 3 && !port_; ++attempt) {
            const unsigned short port = free_port();
            const std::string port_arg = std::to_string(port);
            pid_ = ::fork();
            if (pid_ == 0) {
                ::execl(nghttpd_path, "nghttpd", "-a", "127.0.0.1", "-d", docroot.c_str(), "-m", "100",
                        port_arg.c_str(), certs.key_file.c_str(), certs.cert_file.c_str(),
                        static_cast<char*>(nullptr));
                ::_exit(127);
            }
            for (int i = 0; i < 500 && !port_; ++i) { // up to 5 s
                int status = 0;
                if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                    pid_ = -1; // exited: the port was taken in the meantime
                    break;
                }
                if (accepts_connections(port))
                    port_ = port;
                else
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        }
    }
    ~nghttpd() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    nghttpd(const nghttpd&) = delete;
    nghttpd& operator=(const nghttpd&) = delete;

    unsigned short port() const { return port_; }
    std::string url(const std::string& path) const {
        return "https://127.0.0.1:" + std::to_string(port_) + path;
    }

private:
    pid_t pid_ = -1;
    unsigned short port_ = 0;
};

struct fixture {
    pki certs = make_test_pki();
    std::string docroot = certs.dir;
    asio::io_context io;
    engine eng{io};

    fixture() {
        std::ofstream(docroot + "/hello") << "hello world";
        std::ofstream(docroot + "/big") << pattern(big_size);
    }
    request h2(const std::string& url) const {
        request req(url);
        req.version = http_version::http2_tls;
        req.ca_file = certs.ca_file;
        return req;
    }
};

// Skips the case, saying why, unless nghttpd is installed and started.
#define REQUIRE_NGHTTPD(server)                                                                   \
    if (::access(nghttpd_path, X_OK) != 0) {                                                      \
        BOOST_TEST_MESSAGE("skipped: " << nghttpd_path << " not installed (Debian nghttp2-server)"); \
        return;                                                                                   \
    }                                                                                             \
    nghttpd server(certs, docroot);                                                               \
    BOOST_TEST_REQUIRE(server.port() != 0, "nghttpd did not start")

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
    request req = h2(server.url("/hello"));
    req.wait_for_multiplex = true;
    for (const probe& p : fetch_all(io, eng, req, 20)) {
        BOOST_TEST(p.calls == 1);
        BOOST_TEST(!p.ec, p.ec.message() << ": " << p.res.error_message);
        BOOST_TEST(p.res.status == 200);
        BOOST_TEST(p.res.http_version == 20);
        BOOST_TEST(p.res.body == "hello world");
    }
    BOOST_TEST(connections_to(server.port()) == 1u);
}

// What wait_for_multiplex changes: without it, transfers started before the
// first connection has negotiated HTTP/2 each open their own.
BOOST_AUTO_TEST_CASE(without_waiting_early_streams_open_connections_of_their_own) {
    REQUIRE_NGHTTPD(server);
    for (const probe& p : fetch_all(io, eng, h2(server.url("/hello")), 20)) {
        BOOST_TEST(!p.ec, p.ec.message() << ": " << p.res.error_message);
        BOOST_TEST(p.res.http_version == 20);
    }
    BOOST_TEST(connections_to(server.port()) > 1u);
}

BOOST_AUTO_TEST_CASE(cancelling_one_stream_leaves_the_others_and_the_connection) {
    REQUIRE_NGHTTPD(server);
    request req = h2(server.url("/big"));
    req.wait_for_multiplex = true;
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
    auto again = fetch_all(io, eng, h2(server.url("/hello")), 1);
    BOOST_TEST(!again[0].ec);
    BOOST_TEST(again[0].res.http_version == 20);
    BOOST_TEST(connections_to(server.port()) == 1u);
}

BOOST_AUTO_TEST_CASE(a_refused_certificate_fails_every_stream) {
    REQUIRE_NGHTTPD(server);
    request req = h2(server.url("/hello"));
    req.ca_file.clear(); // the system store does not know the test CA
    req.wait_for_multiplex = true;
    for (const probe& p : fetch_all(io, eng, req, 5)) {
        BOOST_TEST(p.calls == 1);
        BOOST_TEST(p.ec == make_error_code(CURLE_PEER_FAILED_VERIFICATION));
    }
    BOOST_TEST(connections_to(server.port()) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
