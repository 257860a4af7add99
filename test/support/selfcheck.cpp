// Checks the test support code against the curl command line tool and an
// in-process Beast client. Prints each failure; exit status 0 when all pass.
#include <toolkit/fds.hpp>
#include <support/test_pki.hpp>
#include <support/test_server.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace curlasio::test;
using namespace std::chrono_literals;

namespace {

int failures = 0;

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            ++failures;                                                                                      \
            std::cerr << __FILE__ << ':' << __LINE__ << ": FAILED: " #cond << std::endl;                     \
        }                                                                                                    \
    } while (0)

struct run_result {
    int status = -1;
    std::string out;
    double seconds = 0;
};

// Runs a shell command, capturing stdout (stderr is discarded).
run_result run(const std::string& cmd) {
    run_result r;
    const auto t0 = std::chrono::steady_clock::now();
    FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
    if (!p)
        return r;
    char buf[65536];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
        r.out.append(buf, n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + i % 26);
    return s;
}

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

// Splits "head\r\n\r\nbody" as printed by curl -i (last head block wins).
std::pair<std::string, std::string> split_response(const std::string& out) {
    std::size_t start = 0;
    for (;;) {
        const auto end = out.find("\r\n\r\n", start);
        if (end == std::string::npos)
            return {out, {}};
        // An interim or redirect head is followed by another head.
        if (out.compare(end + 4, 5, "HTTP/") == 0) {
            start = end + 4;
            continue;
        }
        return {out.substr(start, end + 4 - start), out.substr(end + 4)};
    }
}

void check_plain_routes(test_server& srv) {
    const std::string curl = "curl -s --max-time 20 ";

    auto r = run(curl + "-i " + quote(srv.url("/hello")));
    CHECK(r.status == 0);
    auto [head, body] = split_response(r.out);
    CHECK(body == "hello world");
    CHECK(contains(head, "HTTP/1.1 200"));
    CHECK(contains(head, "Server: curlasio-test"));
    CHECK(contains(head, "Content-Type: text/plain"));

    r = run(curl + "-i -H 'X-Foo: one' -H 'X-Foo: two' -H 'X-Bar: three' --data-binary payload " +
            quote(srv.url("/echo")));
    std::tie(head, body) = split_response(r.out);
    CHECK(r.status == 0);
    CHECK(body == "payload");
    CHECK(contains(head, "X-Method: POST\r\n"));
    CHECK(contains(head, "X-Body-Size: 7\r\n"));
    CHECK(contains(head, "X-Echo-X-Foo: one\r\nX-Echo-X-Foo: two\r\nX-Echo-X-Bar: three\r\n"));
    CHECK(contains(head, "X-Echo-Host: 127.0.0.1:"));

    r = run(curl + "-i -X PUT " + quote(srv.url("/echo")));
    std::tie(head, body) = split_response(r.out);
    CHECK(contains(head, "X-Method: PUT\r\n"));
    CHECK(contains(head, "X-Body-Size: 0\r\n"));

    r = run(curl + "-L -w '|%{num_redirects}' " + quote(srv.url("/redirect/2")));
    CHECK(r.out == "redirected|2");
    r = run(curl + "-i " + quote(srv.url("/redirect/1")));
    CHECK(contains(r.out, "HTTP/1.1 302") && contains(r.out, "Location: /redirect/0\r\n"));
    r = run(curl + "-L --max-redirs 5 " + quote(srv.url("/redirect-loop")));
    CHECK(r.status == 47); // CURLE_TOO_MANY_REDIRECTS
    const std::string enc = "http%3A%2F%2F127.0.0.1%3A" + std::to_string(srv.port()) + "%2Fhello";
    r = run(curl + "-L " + quote(srv.url("/redirect-to?url=" + enc)));
    CHECK(r.out == "hello world");
    r = run(curl + "-i " + quote(srv.url("/redirect-to?x=1&url=%2Fa%20b")));
    CHECK(contains(r.out, "Location: /a b\r\n"));

    r = run(curl + "-w '|%{http_code}' " + quote(srv.url("/status/418")));
    CHECK(r.out == "status 418|418");
    r = run(curl + "-w '|%{http_code}' " + quote(srv.url("/status/503")));
    CHECK(r.out == "status 503|503");
    r = run(curl + "-w '|%{http_code}' " + quote(srv.url("/status/204")));
    CHECK(r.out == "|204");
    r = run(curl + "-w '|%{http_code}' " + quote(srv.url("/nowhere")));
    CHECK(r.out == "not found|404");

    r = run(curl + quote(srv.url("/delay/300")));
    CHECK(r.out == "delayed");
    CHECK(r.seconds >= 0.3);

    r = run(curl + "-i " + quote(srv.url("/bytes/100000")));
    std::tie(head, body) = split_response(r.out);
    CHECK(contains(head, "Content-Length: 100000\r\n"));
    CHECK(body == pattern(100000));
    r = run(curl + quote(srv.url("/bytes/0")));
    CHECK(r.status == 0 && r.out.empty());
    r = run(curl + quote(srv.url("/bytes/10000000")));
    CHECK(r.out == pattern(10000000));

    r = run(curl + "-i " + quote(srv.url("/chunked/100000")));
    std::tie(head, body) = split_response(r.out);
    CHECK(contains(head, "Transfer-Encoding: chunked\r\n"));
    CHECK(!contains(head, "Content-Length"));
    CHECK(body == pattern(100000));
    // The framing itself: the first chunk is 16 KiB.
    r = run(curl + "--raw " + quote(srv.url("/chunked/100000")));
    CHECK(r.out.rfind("4000\r\n", 0) == 0);
    CHECK(r.out.size() > 100000 && r.out.ends_with("0\r\n\r\n"));

    r = run(curl + "-i " + quote(srv.url("/slow-body/3/100")));
    std::tie(head, body) = split_response(r.out);
    CHECK(contains(head, "Transfer-Encoding: chunked\r\n"));
    CHECK(body == std::string(3072, 'x'));
    CHECK(r.seconds >= 0.3);

    r = run("curl -s --max-time 1 " + quote(srv.url("/stall")));
    CHECK(r.status == 28); // CURLE_OPERATION_TIMEDOUT
    CHECK(r.out == pattern(10));

    r = run(curl + "-i " + quote(srv.url("/headers/5")));
    CHECK(contains(r.out, "X-Header-1: value-1\r\n") && contains(r.out, "X-Header-5: value-5\r\n"));
    CHECK(!contains(r.out, "X-Header-6"));
    r = run(curl + "-i " + quote(srv.url("/headers/2000")));
    CHECK(contains(r.out, "X-Header-2000: value-2000\r\n"));

    std::string text;
    for (int i = 0; i < 100; ++i)
        text += "hello gzip world";
    r = run(curl + "--compressed " + quote(srv.url("/gzip")));
    CHECK(r.out == text);
    r = run(curl + "-i " + quote(srv.url("/gzip")));
    std::tie(head, body) = split_response(r.out);
    CHECK(contains(head, "Content-Encoding: gzip\r\n"));
    CHECK(body.size() >= 2 && body[0] == '\x1f' && body[1] == '\x8b' && body.size() < text.size());

    r = run(curl + "-i " + quote(srv.url("/cookie")));
    CHECK(contains(r.out, "Set-Cookie: a=1") && contains(r.out, "Set-Cookie: b=2"));

    r = run(curl + "-I " + quote(srv.url("/bytes/100")));
    CHECK(r.status == 0 && contains(r.out, "Content-Length: 100\r\n"));
    r = run(curl + "-I " + quote(srv.url("/hello")));
    CHECK(r.status == 0 && contains(r.out, "Content-Length: 11\r\n"));
}

void check_keep_alive_and_expect(test_server& srv) {
    const auto conns = srv.connections_accepted();
    const auto reqs = srv.requests_seen();
    auto r = run("curl -s " + quote(srv.url("/hello")) + " " + quote(srv.url("/bytes/5")) + " " +
                 quote(srv.url("/chunked/5")));
    CHECK(r.out == "hello worldabcdeabcde");
    CHECK(srv.connections_accepted() == conns + 1);
    CHECK(srv.requests_seen() == reqs + 3);

    // A 2 MB upload with Expect: 100-continue must not wait for curl's 1 s fallback.
    char dir[] = "/tmp/curlasio-selfcheck-XXXXXX";
    CHECK(::mkdtemp(dir) != nullptr);
    const std::string file = std::string(dir) + "/upload";
    std::ofstream(file, std::ios::binary) << pattern(2000000);
    r = run("curl -s -i -H 'Expect: 100-continue' --data-binary @" + file + " " + quote(srv.url("/echo")));
    auto [head, body] = split_response(r.out);
    CHECK(contains(r.out, "HTTP/1.1 100 Continue"));
    CHECK(contains(head, "X-Body-Size: 2000000\r\n"));
    CHECK(body == pattern(2000000));
    CHECK(r.seconds < 0.9);
    // Chunked upload.
    r = run("curl -s -i -H 'Transfer-Encoding: chunked' --data-binary @" + file + " " +
            quote(srv.url("/echo")));
    std::tie(head, body) = split_response(r.out);
    CHECK(contains(head, "X-Body-Size: 2000000\r\n"));
    CHECK(contains(head, "X-Echo-Transfer-Encoding: chunked\r\n"));
    CHECK(body == pattern(2000000));
    std::remove(file.c_str());
    ::rmdir(dir);
}

void check_hook(test_server& srv) {
    std::mutex m;
    std::vector<std::string> seen;
    srv.on_request([&](const std::string& method, const std::string& target) {
        std::lock_guard lock{m};
        seen.push_back(method + " " + target);
    });
    run("curl -s -X DELETE " + quote(srv.url("/hello?x=1")));
    srv.on_request({});
    run("curl -s " + quote(srv.url("/hello")));
    std::lock_guard lock{m};
    CHECK(seen.size() == 1 && seen[0] == "DELETE /hello?x=1");
}

void check_tls(const pki& p) {
    test_server srv{{.tls = true, .cert_file = p.cert_file, .key_file = p.key_file}};
    CHECK(srv.base_url() == "https://127.0.0.1:" + std::to_string(srv.port()));
    const std::string curl = "curl -s --max-time 20 --cacert " + quote(p.ca_file) + " ";

    auto r = run(curl + quote(srv.url("/hello")));
    CHECK(r.status == 0 && r.out == "hello world");
    const std::string port = std::to_string(srv.port());
    r = run(curl + "--resolve localhost:" + port + ":127.0.0.1 https://localhost:" + port + "/hello");
    CHECK(r.status == 0 && r.out == "hello world");
    r = run(curl + "-i -H 'X-Foo: one' -d abc " + quote(srv.url("/echo")));
    CHECK(contains(r.out, "X-Echo-X-Foo: one\r\n") && r.out.ends_with("\r\n\r\nabc"));
    r = run(curl + quote(srv.url("/chunked/100000")));
    CHECK(r.out == pattern(100000));
    r = run(curl + "-L " + quote(srv.url("/redirect/2")));
    CHECK(r.out == "redirected");
    r = run(curl + "--compressed " + quote(srv.url("/gzip")));
    CHECK(r.out.size() == 1600);
    const auto conns = srv.connections_accepted();
    r = run(curl + quote(srv.url("/hello")) + " " + quote(srv.url("/hello")));
    CHECK(r.out == "hello worldhello world");
    CHECK(srv.connections_accepted() == conns + 1);
    r = run(curl + "-H 'Connection: close' " + quote(srv.url("/hello")));
    CHECK(r.status == 0 && r.out == "hello world");

    r = run("curl -s " + quote(srv.url("/hello"))); // system trust store does not know our CA
    CHECK(r.status == 60);

    auto expect_rejected = [&](const std::string& cert, const char* what) {
        test_server bad{{.tls = true, .cert_file = cert, .key_file = p.key_file}};
        auto rr = run(curl + quote(bad.url("/hello")));
        if (rr.status != 60)
            std::cerr << what << ": curl exit " << rr.status << '\n';
        CHECK(rr.status == 60);                            // CURLE_PEER_FAILED_VERIFICATION
        rr = run(curl + "-k " + quote(bad.url("/hello"))); // the server itself is fine
        CHECK(rr.status == 0 && rr.out == "hello world");
    };
    expect_rejected(p.expired_cert_file, "expired");
    expect_rejected(p.wrong_host_cert_file, "wrong host");
    expect_rejected(p.self_signed_cert_file, "self-signed");

    auto details = run("openssl x509 -noout -text -in " + quote(p.cert_file));
    CHECK(contains(details.out, "IP Address:127.0.0.1") &&
          contains(details.out, "IP Address:0:0:0:0:0:0:0:1") && contains(details.out, "DNS:localhost"));
    auto verify = run("openssl verify -CAfile " + quote(p.ca_file) + " " + quote(p.cert_file));
    CHECK(verify.status == 0);
}

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// One connection: `requests` keep-alive GETs of /hello, then holds the
// connection open until `release` is set.
template <class Stream>
asio::awaitable<void> client(Stream& stream, tcp::endpoint ep, int requests, std::atomic<int>& ok,
                             std::atomic<int>& connected, const std::atomic<bool>& release) {
    auto& sock = [&]() -> tcp::socket& {
        if constexpr (std::is_same_v<Stream, tcp::socket>)
            return stream;
        else
            return stream.next_layer();
    }();
    auto [ec] = co_await sock.async_connect(ep, nothrow);
    if (ec)
        co_return;
    if constexpr (!std::is_same_v<Stream, tcp::socket>) {
        auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, nothrow);
        if (hec)
            co_return;
    }
    beast::flat_buffer buf;
    for (int i = 0; i < requests; ++i) {
        http::request<http::empty_body> req{http::verb::get, "/hello", 11};
        req.set(http::field::host, "127.0.0.1");
        auto [wec, wn] = co_await http::async_write(stream, req, nothrow);
        if (wec)
            co_return;
        http::response<http::string_body> res;
        auto [rec, rn] = co_await http::async_read(stream, buf, res, nothrow);
        if (rec || res.body() != "hello world")
            co_return;
    }
    ++ok;
    ++connected;
    asio::steady_timer t{stream.get_executor()};
    while (!release) {
        t.expires_after(10ms);
        co_await t.async_wait(nothrow);
    }
}

template <class Stream, class Make>
void check_many_connections(test_server& srv, int n, Make make_stream) {
    const auto accepted0 = srv.connections_accepted();
    asio::io_context io;
    std::vector<std::unique_ptr<Stream>> streams;
    std::atomic<int> ok{0}, connected{0};
    std::atomic<bool> release{false};
    const tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), srv.port()};
    for (int i = 0; i < n; ++i) {
        streams.push_back(make_stream(io));
        asio::co_spawn(io, client(*streams.back(), ep, 3, ok, connected, release), asio::detached);
    }
    std::size_t peak = 0;
    std::thread watcher([&] {
        const auto deadline = std::chrono::steady_clock::now() + 50s;
        while (connected < n && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(20ms);
        // Everybody is connected and idle now: the server must see them all.
        std::this_thread::sleep_for(50ms);
        peak = srv.open_connections();
        release = true;
    });
    io.run_for(60s);
    watcher.join();
    release = true;
    CHECK(ok == n);
    CHECK(peak == static_cast<std::size_t>(n));
    CHECK(srv.connections_accepted() == accepted0 + n);
    streams.clear(); // closes every client socket
    for (int i = 0; i < 500 && srv.open_connections() != 0; ++i)
        std::this_thread::sleep_for(10ms);
    CHECK(srv.open_connections() == 0);
}

// Destroying the server with clients in every stage of a request must be quick.
void check_shutdown_under_load(const pki& p) {
    for (bool tls : {false, true}) {
        std::optional<test_server> srv;
        if (tls)
            srv.emplace(server_options{.tls = true, .cert_file = p.cert_file, .key_file = p.key_file});
        else
            srv.emplace();
        const std::string k = tls ? "-k " : "";
        const std::string curl = "curl -s --max-time 30 " + k;
        std::vector<std::thread> clients;
        std::atomic<int> finished{0};
        for (const char* path : {"/delay/60000", "/stall", "/slow-body/1000/1000", "/hello"}) {
            // After /hello, curl waits on a kept-alive connection.
            std::string cmd = curl + quote(srv->url(path));
            if (std::string_view(path) == "/hello")
                cmd += " " + quote(srv->url("/delay/60000"));
            clients.emplace_back([cmd, &finished] {
                run(cmd);
                ++finished;
            });
        }
        // Plus idle connections, one half-sent request and, for TLS, no handshake.
        asio::io_context io;
        std::vector<tcp::socket> raw;
        for (int i = 0; i < 20; ++i) {
            raw.emplace_back(io);
            raw.back().connect({asio::ip::make_address("127.0.0.1"), srv->port()});
        }
        if (!tls) {
            const std::string partial = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab";
            asio::write(raw[0], asio::buffer(partial));
        }
        for (int i = 0; i < 200 && srv->open_connections() < 24; ++i)
            std::this_thread::sleep_for(10ms);
        std::this_thread::sleep_for(300ms);
        CHECK(srv->open_connections() == 24);
        const auto t0 = std::chrono::steady_clock::now();
        srv.reset();
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        CHECK(secs < 1.0);
        for (auto& t : clients)
            t.join();
        CHECK(finished == 4);
        // The clients saw the connections end instead of running into --max-time.
        const double all = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        CHECK(all < 10.0);
        for (auto& s : raw) {
            char c;
            boost::system::error_code ec;
            s.read_some(asio::buffer(&c, 1), ec);
            CHECK(ec == asio::error::eof || ec == asio::error::connection_reset);
        }
    }
}

} // namespace

int main() {
    const std::size_t fds_before = open_fd_count();
    CHECK(fds_before > 0);
    {
        pki p = make_test_pki();
        std::string dir = p.dir;
        {
            pki moved = std::move(p);
            CHECK(p.dir.empty() && moved.dir == dir);
            p = std::move(moved);
        }
        CHECK(std::ifstream(p.ca_file).good()); // the moved-from destructor left it alone

        {
            test_server srv;
            CHECK(srv.port() != 0);
            CHECK(srv.base_url() == "http://127.0.0.1:" + std::to_string(srv.port()));
            CHECK(srv.url("/x") == srv.base_url() + "/x");
            check_plain_routes(srv);
            check_keep_alive_and_expect(srv);
            check_hook(srv);
            check_many_connections<tcp::socket>(
                srv, 2000, [](asio::io_context& io) { return std::make_unique<tcp::socket>(io); });
        }
        check_tls(p);
        {
            test_server srv{{.tls = true, .cert_file = p.cert_file, .key_file = p.key_file}};
            ssl::context ctx{ssl::context::tls_client};
            ctx.load_verify_file(p.ca_file);
            ctx.set_verify_mode(ssl::verify_peer);
            check_many_connections<ssl::stream<tcp::socket>>(srv, 300, [&](asio::io_context& io) {
                return std::make_unique<ssl::stream<tcp::socket>>(io, ctx);
            });
        }
        check_shutdown_under_load(p);

        std::string test_dir = p.dir;
        { pki gone = std::move(p); }
        CHECK(!std::ifstream(test_dir + "/ca.pem").good());
    }
    const std::size_t fds_after = open_fd_count();
    if (fds_after != fds_before)
        std::cerr << "fds before " << fds_before << ", after " << fds_after << '\n';
    CHECK(fds_after == fds_before);

    std::cout << (failures ? "selfcheck FAILED: " + std::to_string(failures) + " check(s)\n"
                           : std::string("selfcheck passed\n"));
    return failures ? 1 : 0;
}
