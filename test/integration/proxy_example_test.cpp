// examples/beast_proxy driven by real clients: the curl command-line tool
// (status, header fields, bodies of every framing, a 1 GiB download and a
// 256 MiB upload with checksums and the proxy's peak RSS, clients leaving
// mid-body, deadlines, an unreachable upstream, SIGTERM) and wrk (a bounded
// load run). The upstream is the in-process test server; the proxy is a
// child process, its descriptors counted through /proc/<pid>/fd.

#include "peer_process.hpp"

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <cstdlib>
#include <string>
#include <thread>
#include <atomic>
#include <mutex>

using namespace curlasio::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t mib = 1024 * 1024;
// BEAST_PROXY_UNDER_TEST runs the cases against another build of the example
// (an older one, to see a regression test fail before its fix).
const std::string proxy_program =
    std::getenv("BEAST_PROXY_UNDER_TEST") ? std::getenv("BEAST_PROXY_UNDER_TEST") : CURLASIO_BEAST_PROXY;

bool have(const char* program) { return ::access(program, X_OK) == 0; }

#define REQUIRE_PROGRAM(path, package)                                                                       \
    if (!have(path)) {                                                                                       \
        BOOST_TEST_MESSAGE("skipped: " path " not installed (Debian package " package ")");                  \
        return;                                                                                              \
    }

struct command_result {
    int status = -1; // exit status, or -1 when it did not exit normally
    std::string out;
};

// Runs a shell command line; its stdout, and its exit status.
command_result run(const std::string& command) {
    command_result r;
    FILE* f = ::popen(command.c_str(), "r");
    BOOST_TEST_REQUIRE(f != nullptr);
    char buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
        r.out.append(buf, n);
    const int status = ::pclose(f);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

struct hashed {
    int status = -1;
    std::uint64_t bytes = 0;
    std::uint64_t hash = fnv1a_offset;
};

// Runs a command and hashes its stdout as it comes (never held).
hashed hash_output(const std::string& command) {
    hashed h;
    FILE* f = ::popen(command.c_str(), "r");
    BOOST_TEST_REQUIRE(f != nullptr);
    std::vector<char> buf(1 << 20);
    for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), f)) > 0;) {
        h.bytes += n;
        h.hash = fnv1a(h.hash, std::string_view(buf.data(), n));
    }
    const int status = ::pclose(f);
    h.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return h;
}

// FNV-1a of the test server's pattern bytes [0, n), as /sink would report it.
// A /proc/<pid>/status field in KiB (VmHWM: peak RSS).
std::size_t status_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(field + ":"))
            return std::stoul(line.substr(field.size() + 1));
    return 0;
}

// The proxy's descriptors: all of them, the connections accepted from
// clients, and those to the upstream (its libcurl connections and the
// engine's duplicates of them).
struct descriptors {
    std::size_t total = 0, clients = 0, upstream = 0;
    std::size_t others() const { return total - upstream; }
};

descriptors descriptors_of(pid_t pid, unsigned short proxy_port, unsigned short upstream_port) {
    // inode -> (local port, remote port) of every IPv4 TCP socket
    std::map<std::string, std::pair<unsigned, unsigned>> tcp;
    std::ifstream net("/proc/net/tcp");
    std::string line;
    std::getline(net, line);
    while (std::getline(net, line)) {
        std::istringstream fields(line);
        std::string sl, local, remote, state, queues, timer, retransmit, uid, timeout, inode;
        fields >> sl >> local >> remote >> state >> queues >> timer >> retransmit >> uid >> timeout >> inode;
        auto port = [](const std::string& a) { return std::stoul(a.substr(a.find(':') + 1), nullptr, 16); };
        if (state != "0A") // listening sockets count as "others"
            tcp[inode] = {static_cast<unsigned>(port(local)), static_cast<unsigned>(port(remote))};
    }
    descriptors d;
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        ++d.total;
        std::error_code ec;
        const std::string target = std::filesystem::read_symlink(e.path(), ec).string();
        if (!target.starts_with("socket:["))
            continue;
        const auto it = tcp.find(target.substr(8, target.size() - 9));
        if (it == tcp.end())
            continue;
        if (it->second.first == proxy_port)
            ++d.clients;
        else if (it->second.second == upstream_port)
            ++d.upstream;
    }
    return d;
}

// A raw client socket on 127.0.0.1:port.
int connect_to(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    BOOST_TEST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
}

void send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        BOOST_TEST_REQUIRE(n > 0);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

// Reads until `at_least` bytes came (or the peer closed); returns them.
std::string receive(int fd, std::size_t at_least) {
    std::string got;
    char buf[65536];
    while (got.size() < at_least) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
}

namespace http = boost::beast::http;

// Sends `request` (one or several, pipelined) on a new connection and reads
// until the proxy closes it (or 10 s pass): every byte the client got.
std::string exchange(unsigned short port, std::string_view request) {
    const int fd = connect_to(port);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    send_all(fd, request);
    std::string got = receive(fd, std::string::npos);
    ::close(fd);
    return got;
}

// The responses in `bytes`, parsed as a client would, and what follows the
// last whole one (bytes outside any message's framing, or an error).
struct parsed_responses {
    std::vector<http::response<http::string_body>> responses;
    std::string rest;
    boost::system::error_code ec; // of the first message that did not parse
};

parsed_responses parse_responses(std::string_view in) {
    parsed_responses out;
    while (!in.empty()) {
        http::response_parser<http::string_body> p;
        p.eager(true);
        p.body_limit(boost::none);
        p.header_limit(1 << 20);
        boost::system::error_code ec;
        std::string_view at = in;
        while (!p.is_done()) {
            const std::size_t n = p.put(boost::asio::buffer(in.data(), in.size()), ec);
            in.remove_prefix(n);
            if (ec == http::error::need_more) {
                ec = {};
                if (n == 0) { // all that came: the close ends it, or it is cut
                    p.put_eof(ec);
                    break;
                }
                continue;
            }
            if (ec)
                break;
        }
        if (ec || !p.is_done()) {
            out.ec = ec;
            out.rest = std::string(at);
            return out;
        }
        out.responses.push_back(p.release());
    }
    return out;
}

std::string request_line(const std::string& target, const std::string& extra = {}) {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

struct proxy_fixture {
    test_server server;
    std::unique_ptr<peer_process> proxy;
    descriptors baseline;

    proxy_fixture() { start(server.base_url()); }

    void start(const std::string& upstream, const char* deadline = nullptr) {
        proxy.reset();
        std::vector<std::string> args{"127.0.0.1", "0", upstream};
        if (deadline)
            args.push_back(deadline);
        proxy = std::make_unique<peer_process>(proxy_program, args, peer_process::printed_port);
        BOOST_TEST_REQUIRE(proxy->installed(), proxy_program << " was not built");
        BOOST_TEST_REQUIRE(proxy->port() != 0, "beast_proxy did not start");
        baseline = fds();
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(proxy->port()) + path;
    }
    descriptors fds() const { return descriptors_of(proxy->pid(), proxy->port(), server.port()); }
    // Back to where it started: no client connection, nothing but upstream
    // connections (which libcurl keeps for reuse) beyond the baseline.
    bool settled() const {
        const descriptors now = fds();
        return now.clients == 0 && now.others() == baseline.others();
    }
    std::string describe() const {
        const descriptors now = fds();
        return "proxy descriptors: " + std::to_string(now.total) + " (baseline " +
               std::to_string(baseline.total) + "), " + std::to_string(now.clients) + " to clients, " +
               std::to_string(now.upstream) + " upstream\n" +
               run("ls -l /proc/" + std::to_string(proxy->pid()) + "/fd; cat /proc/net/tcp").out;
    }
};

std::string curl(const std::string& args) { return "/usr/bin/curl -sS --max-time 120 " + args; }

} // namespace

BOOST_FIXTURE_TEST_SUITE(beast_proxy_example, proxy_fixture)

BOOST_AUTO_TEST_CASE(status_header_fields_and_bodies_pass_through) {
    REQUIRE_PROGRAM("/usr/bin/curl", "curl");
    auto r = run(curl("-i " + url("/status/404")));
    BOOST_TEST(r.out.starts_with("HTTP/1.1 404 Not Found\r\n"), r.out);
    BOOST_TEST(r.out.find("\r\nServer: curlasio-test\r\n") != std::string::npos, r.out);
    BOOST_TEST(r.out.ends_with("\r\n\r\nstatus 404"), r.out);

    // Upward: hop-by-hop fields (and those Connection names) dropped, Host the
    // upstream's, Via added, the rest as sent.
    r = run(curl("-i -H 'Connection: keep-alive, X-Private' -H 'X-Private: secret' -H 'Keep-Alive: 5' "
                 "-H 'Proxy-Authorization: Basic eDp5' -H 'TE: trailers' -H 'X-Kept: one' -H 'X-Kept: two' " +
                 url("/echo")));
    BOOST_TEST(r.out.starts_with("HTTP/1.1 200"), r.out);
    BOOST_TEST(r.out.find("X-Echo-X-Kept: one\r\nX-Echo-X-Kept: two\r\n") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("X-Echo-Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n") !=
                   std::string::npos,
               r.out);
    BOOST_TEST(r.out.find("X-Echo-Via: 1.1 beast_proxy\r\n") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("X-Echo-User-Agent: curl/") != std::string::npos, r.out);
    for (const char* dropped : {"X-Echo-X-Private", "X-Echo-Keep-Alive", "X-Echo-Proxy-Authorization",
                                "X-Echo-TE", "X-Echo-Connection: keep-alive, X-Private"})
        BOOST_TEST(r.out.find(dropped) == std::string::npos, dropped << " in " << r.out);

    // Downward: the same, and a length-delimited body kept as it is.
    const std::string raw =
        "HTTP/1.1 201 Made\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
        "Proxy-Authenticate: Basic\r\nX-End: 2\r\nContent-Length: 2\r\n\r\nok";
    r = run(curl("-i '" + url("/raw?bytes=" + encode(raw)) + "'"));
    BOOST_TEST(r.out.starts_with("HTTP/1.1 201 Made\r\n"), r.out);
    BOOST_TEST(r.out.find("X-End: 2\r\n") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("Content-Length: 2\r\n") != std::string::npos, r.out);
    for (const char* dropped : {"X-Hop", "Keep-Alive", "Proxy-Authenticate", "close"})
        BOOST_TEST(r.out.find(dropped) == std::string::npos, dropped << " in " << r.out);
    BOOST_TEST(r.out.ends_with("\r\n\r\nok"), r.out);

    // A request body, its Content-Length set by libcurl; an empty one.
    r = run(curl("-i --data-binary 'hello proxy' " + url("/echo")));
    BOOST_TEST(r.out.find("X-Method: POST\r\n") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("X-Echo-Content-Length: 11\r\n") != std::string::npos, r.out);
    BOOST_TEST(r.out.ends_with("\r\n\r\nhello proxy"), r.out);
    r = run(curl("-i -X POST " + url("/echo")));
    BOOST_TEST(r.out.find("X-Body-Size: 0\r\n") != std::string::npos, r.out);

    // A compressed body passes as it is, with its Content-Encoding and length.
    r = run(curl("-i " + url("/gzip")));
    BOOST_TEST(r.out.find("Content-Encoding: gzip\r\n") != std::string::npos, r.out);
    const auto body_at = r.out.find("\r\n\r\n") + 4;
    std::smatch m;
    BOOST_TEST_REQUIRE(std::regex_search(r.out, m, std::regex("Content-Length: (\\d+)\r\n")));
    BOOST_TEST(r.out.size() - body_at == std::stoul(m[1]));
    BOOST_TEST(r.out.substr(body_at, 2) == "\x1f\x8b");
    BOOST_TEST(run(curl("--compressed " + url("/gzip"))).out ==
               run(curl("--compressed " + server.url("/gzip"))).out);

    // Chunked upstream: chunked to the client.
    r = run(curl("-i " + url("/chunked/100000")));
    BOOST_TEST(r.out.find("Transfer-Encoding: chunked\r\n") != std::string::npos, r.out.substr(0, 300));
    BOOST_TEST(r.out.substr(r.out.find("\r\n\r\n") + 4) == pattern(100000));

    // HEAD: the length, no body; then the connection carries the next request.
    r = run(curl("-I " + url("/bytes/100")));
    BOOST_TEST(r.out.find("Content-Length: 100\r\n") != std::string::npos, r.out);
    BOOST_TEST(r.out.ends_with("\r\n\r\n"), r.out);
    r = run(curl("-v " + url("/bytes/100") + " " + url("/hello") + " 2>&1"));
    // curl's own words: "Re-using existing connection" (libcurl 7.88),
    // "Re-using existing http: connection with host ..." (8.14.1).
    BOOST_TEST(r.out.find("Re-using existing ") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("hello world") != std::string::npos, r.out);
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

// The engine once retired the upstream connection here: a readiness edge left
// over from the body's last bytes, reported after the transfer let go of its
// socket, was taken for stray bytes on an idle connection (it shut the
// connection down, leaving libcurl a dead one to reuse: CURLE_PARTIAL_FILE
// on the next download). The engine now peeks first.
BOOST_AUTO_TEST_CASE(a_large_download_streams_through_in_flat_memory) {
    REQUIRE_PROGRAM("/usr/bin/curl", "curl");
    const std::uint64_t size = sanitized ? 256 * mib : 1024 * mib;
    run(curl("-o /dev/null " + url("/hello")));
    const std::size_t before = status_kib(proxy->pid(), "VmHWM");
    const auto h = hash_output(curl(url("/bytes/" + std::to_string(size))));
    const std::size_t peak = status_kib(proxy->pid(), "VmHWM");
    BOOST_TEST(h.status == 0);
    BOOST_TEST(h.bytes == size);
    BOOST_TEST(h.hash == pattern_hash(size));
    BOOST_TEST_MESSAGE("download of " << size / mib << " MiB through beast_proxy: its peak RSS "
                                      << peak / 1024.0 << " MiB (" << before / 1024.0 << " MiB before)");
    if (!sanitized)
        BOOST_TEST(peak - before < 16 * 1024, "peak RSS grew by " << (peak - before) << " KiB");
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

BOOST_AUTO_TEST_CASE(a_large_upload_streams_through_in_flat_memory) {
    REQUIRE_PROGRAM("/usr/bin/curl", "curl");
    const std::uint64_t size = sanitized ? 64 * mib : 256 * mib;
    const auto dir =
        std::filesystem::temp_directory_path() / ("beast_proxy_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string file = (dir / "body").string();
    {
        std::ofstream out(file, std::ios::binary);
        const std::string block = pattern(26 * 40960);
        for (std::uint64_t at = 0; at < size; at += block.size())
            out.write(block.data(),
                      static_cast<std::streamsize>(std::min<std::uint64_t>(block.size(), size - at)));
    }
    run(curl("-o /dev/null " + url("/hello")));
    const std::size_t before = status_kib(proxy->pid(), "VmHWM");
    // With its length (curl sends Expect: 100-continue, which the proxy answers) ...
    auto r = run(curl("-T " + file + " " + url("/sink")));
    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.out == sink_answer(size, "length"));
    // ... and chunked, from a pipe.
    r = run("cat " + file + " | " + curl("-T - " + url("/sink")));
    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.out == sink_answer(size, "chunked"));
    const std::size_t peak = status_kib(proxy->pid(), "VmHWM");
    std::filesystem::remove_all(dir);
    BOOST_TEST_MESSAGE("uploads of " << size / mib << " MiB through beast_proxy: its peak RSS "
                                     << peak / 1024.0 << " MiB (" << before / 1024.0 << " MiB before)");
    if (!sanitized)
        BOOST_TEST(peak - before < 16 * 1024, "peak RSS grew by " << (peak - before) << " KiB");
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

BOOST_AUTO_TEST_CASE(a_client_leaving_mid_body_ends_the_upstream_transfer) {
    const auto upstream_gone = [&](const char* what) {
        BOOST_TEST(eventually([&] { return server.open_connections() == 0; }, 1000ms),
                   what << ": " << server.open_connections() << " upstream connections after 1 s");
        BOOST_TEST(eventually([&] { return settled(); }, 1000ms), what << ": " << describe());
    };
    // A body that never ends, read a little, then the socket closed: the write fails.
    int fd = connect_to(proxy->port());
    send_all(fd, "GET /bytes/1099511627776 HTTP/1.1\r\nHost: x\r\n\r\n");
    BOOST_TEST(receive(fd, 1 << 20).size() >= (1u << 20));
    ::close(fd);
    upstream_gone("closed mid-download");

    // A stalled body: no write would notice, the proxy's read of the client does.
    fd = connect_to(proxy->port());
    send_all(fd, "GET /stall HTTP/1.1\r\nHost: x\r\n\r\n");
    BOOST_TEST(receive(fd, 1).size() > 0u);
    BOOST_TEST(eventually([&] { return server.open_connections() == 1; }));
    std::this_thread::sleep_for(200ms);
    ::close(fd);
    upstream_gone("closed while the upstream stalls");

    // Mid-upload: the body's own reads notice.
    fd = connect_to(proxy->port());
    send_all(fd, "PUT /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 1099511627776\r\n\r\n");
    send_all(fd, pattern(4 << 20));
    BOOST_TEST(eventually([&] { return server.open_connections() == 1; }));
    ::close(fd);
    upstream_gone("closed mid-upload");

    // A real client killed mid-body.
    if (have("/usr/bin/curl")) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
            ::dup2(null, STDOUT_FILENO);
            const std::string u = url("/bytes/1099511627776");
            ::execl("/usr/bin/curl", "curl", "-s", "--limit-rate", "10M", u.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        BOOST_TEST(eventually([&] { return server.open_connections() == 1; }));
        std::this_thread::sleep_for(300ms);
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        upstream_gone("curl killed mid-download");
    }
}

BOOST_AUTO_TEST_CASE(the_deadline_ends_slow_upstreams) {
    REQUIRE_PROGRAM("/usr/bin/curl", "curl");
    start(server.base_url(), "2");
    const auto began = steady::now();
    auto r = run(curl("-i " + url("/delay/10000")));
    BOOST_TEST(r.out.starts_with("HTTP/1.1 504 Gateway Timeout\r\n"), r.out);
    BOOST_TEST(r.out.find("upstream: ") != std::string::npos, r.out);
    // Head and 10 bytes, then nothing: cut at the deadline, the client told by a close.
    r = run(curl("-o /dev/null -w '%{http_code} %{size_download}' " + url("/stall")));
    BOOST_TEST(r.status == 18); // CURLE_PARTIAL_FILE
    BOOST_TEST(r.out == "200 10");
    BOOST_TEST((steady::now() - began < 8s));
    // (The server's /delay route notices the close only after its sleep: count the proxy's side.)
    BOOST_TEST(eventually([&] { return fds().upstream == 0; }), describe());
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

BOOST_AUTO_TEST_CASE(an_unreachable_upstream_is_a_502) {
    REQUIRE_PROGRAM("/usr/bin/curl", "curl");
    start("http://127.0.0.1:1");
    const auto r = run(curl("-i " + url("/hello")));
    BOOST_TEST(r.out.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), r.out);
    BOOST_TEST(r.out.find("\r\n\r\nupstream: ") != std::string::npos, r.out);
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

BOOST_AUTO_TEST_CASE(a_load_run_with_wrk_has_no_errors_and_leaves_no_descriptor) {
    REQUIRE_PROGRAM("/usr/bin/wrk", "wrk");
    const auto r = run("/usr/bin/wrk -t2 -c32 -d3s " + url("/hello"));
    BOOST_TEST_MESSAGE("wrk -t2 -c32 -d3s through beast_proxy:\n" << r.out);
    BOOST_TEST(r.status == 0);
    std::smatch m;
    BOOST_TEST_REQUIRE(std::regex_search(r.out, m, std::regex("(\\d+) requests in")), r.out);
    BOOST_TEST(std::stoul(m[1]) > 100u);
    BOOST_TEST(r.out.find("Socket errors") == std::string::npos, r.out);
    BOOST_TEST(r.out.find("Non-2xx") == std::string::npos, r.out);
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

BOOST_AUTO_TEST_CASE(sigterm_lets_the_requests_in_flight_finish_then_exits_cleanly) {
    REQUIRE_PROGRAM("/usr/bin/curl", "curl");
    command_result r;
    std::thread client([&] { r = run(curl(url("/delay/1000"))); });
    BOOST_TEST(eventually([&] { return server.open_connections() == 1; }));
    const int idle = connect_to(proxy->port()); // an idle keep-alive connection is closed
    std::this_thread::sleep_for(100ms);
    const int status = proxy->stop();
    client.join();
    BOOST_TEST(r.out == "delayed");
    BOOST_TEST(receive(idle, 1).empty());
    ::close(idle);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "exit status " << status);
}

// Issue 23 (5): the upstream's Content-Length went out beside the chunked
// body the proxy re-frames: the client read 5 bytes of 100, and the other 95
// as the start of the next response on its connection.
BOOST_AUTO_TEST_CASE(a_length_beside_transfer_encoding_never_reaches_the_client) {
    const std::string raw =
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" + pattern(100) +
        "\r\n0\r\n\r\n";
    const std::string got = exchange(proxy->port(), request_line("/raw?bytes=" + encode(raw)) +
                                                        request_line("/hello", "Connection: close\r\n"));
    const auto r = parse_responses(got);
    BOOST_TEST(!r.ec, r.ec.message() << " in " << got);
    BOOST_TEST(r.rest.empty(), r.rest);
    BOOST_TEST_REQUIRE(r.responses.size() == 2u, got);
    BOOST_TEST(r.responses[0].count(http::field::content_length) == 0u);
    BOOST_TEST(r.responses[0].chunked());
    BOOST_TEST(r.responses[0].body() == pattern(100));
    BOOST_TEST(r.responses[1].body() == "hello world");
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

// Issue 23 (6): a malformed chunked body from the client was answered 502
// "upstream: operation aborted by callback".
BOOST_AUTO_TEST_CASE(a_malformed_client_body_is_a_400_and_a_close) {
    std::atomic<int> sinks_done{0};
    server.on_request([&](const std::string&, const std::string& target) {
        if (target == "/sink")
            ++sinks_done; // told once the body ended
    });
    const std::string got =
        exchange(proxy->port(), "POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "5\r\nabcde\r\nZZ\r\nmore\r\n");
    const auto r = parse_responses(got);
    BOOST_TEST_REQUIRE(r.responses.size() == 1u, got);
    BOOST_TEST(r.responses[0].result_int() == 400u, got);
    BOOST_TEST(r.responses[0].body().starts_with("request body: "), r.responses[0].body());
    BOOST_TEST(!r.responses[0].keep_alive()); // and the connection closed: exchange returned
    BOOST_TEST(r.rest.empty(), r.rest);
    BOOST_TEST(sinks_done.load() == 0); // the upstream never saw the body end
    BOOST_TEST(eventually([&] { return server.open_connections() == 0; }));
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

// Issue 23 (7): a field of 70 000 bytes (under libcurl's 100 KiB, over what a
// Beast message holds) closed the client's connection with no answer.
BOOST_AUTO_TEST_CASE(an_upstream_head_too_large_to_forward_is_a_502) {
    const std::string got = exchange(proxy->port(), request_line("/long-header/70000") +
                                                        request_line("/hello", "Connection: close\r\n"));
    const auto r = parse_responses(got);
    BOOST_TEST(!r.ec, r.ec.message() << " in " << got.substr(0, 300));
    BOOST_TEST_REQUIRE(r.responses.size() == 2u, got.substr(0, 300));
    BOOST_TEST(r.responses[0].result_int() == 502u);
    BOOST_TEST(r.responses[0].body().starts_with("upstream: "), r.responses[0].body());
    BOOST_TEST(r.responses[1].body() == "hello world"); // the connection carries on
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

// Issue 23, the attacker's view: whatever a client sends, the upstream gets
// whole messages only, the client gets whole responses only, and nothing
// keeps a descriptor.
BOOST_AUTO_TEST_CASE(pipelined_requests_and_a_body_past_its_length_stay_separate_messages) {
    std::vector<std::string> seen;
    std::mutex m;
    server.on_request([&](const std::string& method, const std::string& target) {
        std::lock_guard lock(m);
        seen.push_back(method + " " + target);
    });
    // Three pipelined, one write; the POST's body is followed at once by
    // bytes that a server reading past Content-Length would take for its body.
    const std::string got =
        exchange(proxy->port(), request_line("/hello") +
                                    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
                                    "GET /status/404 HTTP/1.1\r\nHost: x\r\n\r\n" +
                                    request_line("/bytes/10", "Connection: close\r\n"));
    const auto r = parse_responses(got);
    BOOST_TEST(!r.ec, r.ec.message());
    BOOST_TEST(r.rest.empty(), r.rest);
    BOOST_TEST_REQUIRE(r.responses.size() == 4u, got);
    BOOST_TEST(r.responses[0].body() == "hello world");
    BOOST_TEST(r.responses[1].body() == "abcde");
    BOOST_TEST(r.responses[1]["X-Body-Size"] == "5");
    BOOST_TEST(r.responses[2].result_int() == 404u);
    BOOST_TEST(r.responses[3].body() == pattern(10));
    {
        std::lock_guard lock(m);
        BOOST_TEST((seen == std::vector<std::string>{"GET /hello", "POST /echo", "GET /status/404",
                                                     "GET /bytes/10"}));
    }

    // Garbage past the body is no request: the proxy answers what it framed, then closes.
    const std::string bad =
        exchange(proxy->port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
                                "abcde\x01\x02 garbage\r\n\r\n");
    const auto b = parse_responses(bad);
    BOOST_TEST_REQUIRE(b.responses.size() == 1u, bad);
    BOOST_TEST(b.responses[0].body() == "abcde");
    BOOST_TEST(b.rest.empty(), b.rest);
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

// Content-Length and Transfer-Encoding both (the classic smuggling pair), or
// two lengths: refused, nothing forwarded, least of all the hidden request.
BOOST_AUTO_TEST_CASE(a_request_framed_two_ways_is_never_forwarded) {
    std::vector<std::string> seen;
    std::mutex m;
    server.on_request([&](const std::string& method, const std::string& target) {
        std::lock_guard lock(m);
        seen.push_back(method + " " + target);
    });
    for (const std::string framing : {"Content-Length: 44\r\nTransfer-Encoding: chunked\r\n",
                                      "Transfer-Encoding: chunked\r\nContent-Length: 44\r\n",
                                      "Content-Length: 0\r\nContent-Length: 44\r\n"}) {
        const std::string got =
            exchange(proxy->port(), "POST /echo HTTP/1.1\r\nHost: x\r\n" + framing +
                                        "\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
        const auto r = parse_responses(got);
        BOOST_TEST(r.rest.empty(), r.rest);
        for (const auto& res : r.responses)
            BOOST_TEST(res.result_int() / 100 == 4u, framing << ": " << res.result_int());
    }
    {
        std::lock_guard lock(m);
        // The message is built whatever the outcome: front() only when there is one.
        BOOST_TEST(seen.empty(), seen.size() << " requests reached the upstream, first "
                                             << (seen.empty() ? std::string() : seen.front()));
    }
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

BOOST_AUTO_TEST_CASE(huge_heads_and_slow_clients_cost_the_proxy_nothing_lasting) {
    REQUIRE_PROGRAM("/usr/bin/curl", "curl");
    const std::size_t requests_before = server.requests_seen();
    // A head of 1 MiB: refused (Beast's 8 KiB request head limit), never forwarded.
    std::string huge = "GET /hello HTTP/1.1\r\nHost: x\r\n";
    while (huge.size() < (1u << 20))
        huge += "X-Filler: " + std::string(1000, 'f') + "\r\n";
    huge += "\r\n";
    const int fd = connect_to(proxy->port());
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::send(fd, huge.data(), huge.size(), MSG_NOSIGNAL); // the proxy may close before it is all sent
    const std::string answer = receive(fd, std::string::npos);
    ::close(fd);
    const auto r = parse_responses(answer);
    BOOST_TEST(r.rest.empty(), r.rest);
    for (const auto& res : r.responses)
        BOOST_TEST(res.result_int() / 100 == 4u); // a refusal, if anything
    BOOST_TEST(server.requests_seen() == requests_before);

    // Slowloris: heads sent a byte at a time on several connections, and a
    // request cut after a partial head; others are served meanwhile.
    std::vector<int> slow;
    for (int i = 0; i < 8; ++i)
        slow.push_back(connect_to(proxy->port()));
    const std::string head = request_line("/hello");
    for (std::size_t at = 0; at + 4 < head.size() && at < 20; ++at) {
        for (int s : slow)
            send_all(s, head.substr(at, 1));
        std::this_thread::sleep_for(20ms);
    }
    BOOST_TEST(run(curl(url("/hello"))).out == "hello world");
    BOOST_TEST(eventually([&] { return fds().clients == slow.size(); }), describe());
    for (int s : slow)
        ::close(s);
    BOOST_TEST(server.requests_seen() == requests_before + 1);
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

// A chunked upload cut mid-body (the client half-closes, or leaves): the
// upstream must never see the body end, or a cut body would pass for whole.
BOOST_AUTO_TEST_CASE(a_cut_chunked_upload_never_ends_its_upstream_body) {
    std::atomic<int> sinks_done{0};
    server.on_request([&](const std::string&, const std::string& target) {
        if (target == "/sink")
            ++sinks_done; // told once the body ended
    });
    const std::size_t requests_before = server.requests_seen();
    const int fd = connect_to(proxy->port());
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    send_all(fd, "PUT /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n");
    BOOST_TEST(eventually([&] { return server.requests_seen() == requests_before + 1; })); // its head is up
    ::shutdown(fd, SHUT_WR);
    const std::string got = receive(fd, std::string::npos);
    ::close(fd);
    const auto r = parse_responses(got);
    BOOST_TEST(r.rest.empty(), r.rest);
    for (const auto& res : r.responses)
        BOOST_TEST(res.result_int() != 200u, res.body());
    BOOST_TEST(sinks_done.load() == 0, "the upstream took the cut body for whole");
    BOOST_TEST(eventually([&] { return server.open_connections() == 0; }));
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

// A hostile upstream: more body than its Content-Length, conflicting
// lengths, a bare CR inside a field. The client gets one well-framed
// response each time (or a 502), and its connection carries the next one.
BOOST_AUTO_TEST_CASE(a_hostile_upstream_never_desynchronises_the_client) {
    // Each answer, and the body libcurl frames in it.
    const std::pair<std::string, std::string> answers[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + pattern(100), pattern(5)},
        // libcurl (7.88 and 8) takes the last length: a client taking the first desynchronised.
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 100\r\n\r\n" + pattern(100), pattern(100)},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5, 100\r\n\r\n" + pattern(100), pattern(5)},
        {"HTTP/1.1 200 OK\r\nX-A: a\rContent-Length: 0\r\nContent-Length: 5\r\n\r\nabcde", "abcde"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n" + pattern(50),
         "abcde"},
    };
    for (const auto& [raw, body] : answers) {
        BOOST_TEST_CONTEXT(raw.substr(0, 80)) {
            const std::string got =
                exchange(proxy->port(), request_line("/raw?bytes=" + encode(raw)) +
                                            request_line("/hello", "Connection: close\r\n"));
            const auto r = parse_responses(got);
            BOOST_TEST(!r.ec, r.ec.message() << " in " << got);
            BOOST_TEST(r.rest.empty(), r.rest);
            if (r.responses.size() != 2u) {
                BOOST_TEST(r.responses.size() == 2u, got);
                continue;
            }
            const auto& first = r.responses[0];
            if (first.result_int() == 200u) {
                BOOST_TEST(first.body() == body);
                BOOST_TEST(first.count(http::field::content_length) <= 1u);
                for (const auto& f : first)
                    BOOST_TEST(f.value().find('\r') == std::string_view::npos);
            } else {
                BOOST_TEST(first.result_int() == 502u);
            }
            BOOST_TEST(r.responses[1].body() == "hello world");
        }
    }
    BOOST_TEST(eventually([&] { return settled(); }), describe());
}

BOOST_AUTO_TEST_SUITE_END()
