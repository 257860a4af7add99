// libFuzzer target: random server bytes through a real transfer, no network.
//
// Input: bytes 0 and 1 pick knobs (see knobs below): the request's method,
// HTTP version, decompression, redirects, size cap; a second fetch on the
// same engine; cancelling the first fetch or destroying the engine after so
// many handlers. The rest is what the "server" sends on the first connection
// before it shuts its side down.
//
// How the bytes reach libcurl: the request connects to an abstract-namespace
// Unix socket (CURLOPT_ABSTRACT_UNIX_SOCKET), so nothing is resolved and no
// IP socket is made, for redirects to any host as well. The engine's
// open_socket hook makes every socket (and can refuse one); the listener is
// polled between handlers, and the first connection of an input gets the
// input, later ones (a redirect or second fetch that cannot reuse it) get EOF.
//
// Why not a pre-connected socketpair with CURL_SOCKOPT_ALREADY_CONNECTED:
// libcurl 7.88.0 and 7.88.1 ignore that answer and connect() anyway, which
// fails on a connected AF_UNIX socket ("Immediate connect fail: Invalid
// argument"); curl issue #10626, fixed in 8.0.0.
//
// Checked per input: each handler runs exactly once, the engine leaves no
// work behind once destroyed, no socket other than AF_UNIX is ever asked
// for, and the process holds exactly the descriptors it held before.

#include <curlasio/async_fetch.hpp>
#include <curlasio/engine.hpp>
#include <curlasio/error.hpp>
#include <curlasio/request.hpp>
#include <curlasio/response.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>

#include <curl/curl.h>

#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Fits a Unix socket's send buffer in one go, so the server never blocks.
constexpr std::size_t max_server_bytes = 64 * 1024;

// The seed whose outcome is checked exactly: the plumbing must carry a
// plain response to a 200 with body "hello".
constexpr std::string_view hello_response = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "transfer_fuzz: %s\n", what);
    __builtin_trap();
}

// Entries of /proc/self/fd, minus the one opendir holds while listing.
std::size_t open_fd_count() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir)
        fail("cannot list /proc/self/fd");
    std::size_t n = 0;
    while (const dirent* e = ::readdir(dir))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
            ++n;
    ::closedir(dir);
    return n - 1;
}

// The listening socket every transfer connects to, for the whole process.
// Abstract namespace: no file to clean up; the pid keeps parallel runs apart.
struct listener {
    int fd = -1;
    std::string name; // without the leading NUL, as libcurl wants it

    listener() {
        name = "curlasio-transfer-fuzz-" + std::to_string(::getpid());
        fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            fail("socket(AF_UNIX) failed");
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path + 1, name.data(), name.size());
        const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
        if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0 || ::listen(fd, 64) != 0)
            fail("cannot listen on the abstract Unix socket");
    }
};

listener& server() {
    static listener l;
    return l;
}

asio::io_context& io() {
    static asio::io_context ctx;
    return ctx;
}

// What the first two input bytes select.
struct knobs {
    // Byte 0: the request.
    int method;            // bits 0-1: GET, HEAD, POST, PUT
    bool decompress;       // bit 2
    bool follow;           // bit 3
    int version;           // bits 4-5: 1.1, any, h2c upgrade, h2 prior knowledge
    bool refuse_reconnect; // bit 6: a second socket is refused (CURL_SOCKET_BAD)
    bool small_limit;      // bit 7: max_response_size 64 rather than 1 MiB
    // Byte 1: what else happens on the engine.
    int second;          // bits 0-1: no second fetch, one after the first, one alongside
    int interrupt_after; // bits 2-5: after this many handlers (0: never) ...
    bool destroy;        // bit 6: ... destroy the engine, rather than cancel the first fetch

    knobs(std::uint8_t b0, std::uint8_t b1)
        : method(b0 & 3), decompress(b0 & 4), follow(b0 & 8), version((b0 >> 4) & 3),
          refuse_reconnect(b0 & 64), small_limit(b0 & 128), second(b1 & 3), interrupt_after((b1 >> 2) & 15),
          destroy(b1 & 64) {}

    bool plain() const { return second == 0 && interrupt_after == 0; }
};

curlasio::request make_request(const knobs& k) {
    static constexpr curlasio::verb methods[] = {curlasio::verb::get, curlasio::verb::head,
                                                 curlasio::verb::post, curlasio::verb::put};
    static constexpr curlasio::http_version versions[] = {
        curlasio::http_version::http1_1, curlasio::http_version::any, curlasio::http_version::http2,
        curlasio::http_version::http2_prior_knowledge};
    // A numeric host: even if the Unix socket were ignored, nothing is resolved.
    curlasio::request req("http://127.0.0.1:1/x", methods[k.method]);
    if (k.method >= 2)
        req.body = "a=b";
    req.options.timeout = 2s;
    req.options.connect_timeout = 2s;
    req.options.decompress = k.decompress;
    req.options.redirects.follow = k.follow;
    req.options.redirects.max = 3; // each hop may cost a connection: keep inputs cheap
    req.options.version = versions[k.version];
    req.options.limits.max_response_size = k.small_limit ? 64 : 1024 * 1024;
    req.set_option(CURLOPT_ABSTRACT_UNIX_SOCKET, server().name);
    // TRANSFER_FUZZ_VERBOSE=1: libcurl's trace on stderr, to study one input.
    static const bool verbose = std::getenv("TRANSFER_FUZZ_VERBOSE") != nullptr;
    if (verbose)
        req.set_option(CURLOPT_VERBOSE, 1L);
    return req;
}

struct result {
    bool started = false;
    int calls = 0;
    curlasio::error_code ec;
    curlasio::response r;
};
using results = std::array<result, 2>;

// The server side of one input: the connections accepted so far.
struct session {
    explicit session(std::string_view first) : bytes(first) {}
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    std::string_view bytes; // for the first connection
    bool served = false;
    int sockets_opened = 0;
    std::vector<int> peers;

    // Accepts whatever libcurl connected since the last call. Called between
    // handlers: libcurl connects and writes its request inside one, then
    // waits for the reply.
    void accept_pending() {
        for (;;) {
            const int fd = ::accept4(server().fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return;
                fail("accept4 failed");
            }
            peers.push_back(fd);
            std::string_view out = served ? std::string_view{} : bytes;
            served = true;
            while (!out.empty()) {
                const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    fail("could not write the input to the connection");
                out.remove_prefix(static_cast<std::size_t>(n));
            }
            // EOF after the bytes; the socket stays open, so that a request
            // libcurl writes later finds a reader rather than EPIPE.
            ::shutdown(fd, SHUT_WR);
        }
    }

    ~session() {
        for (int fd : peers)
            ::close(fd);
    }
};

results run_one(const knobs& k, std::string_view server_bytes) {
    session s(server_bytes);

    curlasio::engine_options options;
    options.open_socket = [&](curlsocktype purpose, const curl_sockaddr& a) -> curl_socket_t {
        if (purpose != CURLSOCKTYPE_IPCXN || a.family != AF_UNIX)
            fail("libcurl asked for a socket other than the Unix one: would touch the network");
        // A redirect, or the second fetch, that cannot reuse the connection.
        if (s.sockets_opened++ > 0 && k.refuse_reconnect)
            return CURL_SOCKET_BAD;
        return ::socket(AF_UNIX, a.socktype | SOCK_CLOEXEC, a.protocol);
    };

    results res;
    std::optional<curlasio::engine> eng(std::in_place, io(), options);
    asio::cancellation_signal cancel_first;
    auto start = [&](std::size_t i) {
        res[i].started = true;
        auto handler = [&res, i](curlasio::error_code ec, curlasio::response r) {
            ++res[i].calls;
            res[i].ec = ec;
            res[i].r = std::move(r);
        };
        if (i == 0)
            curlasio::async_fetch(*eng, make_request(k),
                                  asio::bind_cancellation_slot(cancel_first.slot(), handler));
        else
            curlasio::async_fetch(*eng, make_request(k), handler);
        io().restart(); // it may have run out of work after the first fetch
    };
    auto all_done = [&] {
        return std::all_of(res.begin(), res.end(), [](const result& r) { return !r.started || r.calls > 0; });
    };

    start(0);
    if (k.second == 2)
        start(1);
    // The requests' own 2 s timeout ends every transfer; far beyond it the
    // engine is stuck.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    int handlers = 0;
    bool interrupted = false;
    while (std::chrono::steady_clock::now() < deadline) {
        if (all_done()) {
            if (k.second != 1 || res[1].started || !eng)
                break;
            start(1);
        }
        handlers += static_cast<int>(io().run_one_for(100ms));
        s.accept_pending();
        if (k.interrupt_after && handlers >= k.interrupt_after && !interrupted) {
            interrupted = true;
            if (k.destroy)
                eng.reset(); // every pending handler still runs, with operation_aborted
            else
                cancel_first.emit(asio::cancellation_type::terminal);
        }
    }
    if (!all_done())
        fail("a handler did not run within 20 s");

    // The destroyed engine closes its cached connections and cancels its
    // waits: afterwards the context must run out of work on its own.
    eng.reset();
    io().restart();
    const auto drained_by = std::chrono::steady_clock::now() + 20s;
    while (!io().stopped() && std::chrono::steady_clock::now() < drained_by)
        io().run_for(100ms);
    if (!io().stopped())
        fail("work left in the io_context after the engine was destroyed");
    for (const result& r : res)
        if (r.calls != (r.started ? 1 : 0))
            fail("a handler did not run exactly once");
    s.accept_pending(); // a connection libcurl made but never used: close it too
    return res;
}

// libcurl is not instrumented, so coverage alone cannot tell a new outcome
// from an old one. These counters (libFuzzer clears them before each input
// and counts any new one as new coverage) make distinct outcomes worth keeping.
__attribute__((used, section("__libfuzzer_extra_counters"))) std::uint8_t outcome_counters[512];

void note(std::size_t i) {
    std::uint8_t& c = outcome_counters[i % sizeof outcome_counters];
    if (c < 255)
        ++c;
}

std::size_t bucket(std::size_t n) { // 0, 1, 2-3, 4-7, ... up to 15
    std::size_t b = 0;
    while (n && b < 15) {
        n >>= 1;
        ++b;
    }
    return b;
}

void note_outcome(const knobs& k, const result& res, std::size_t which) {
    std::size_t code = 0; // 0: success
    if (res.ec) {
        const auto& cat = res.ec.category();
        const auto v = static_cast<std::size_t>(res.ec.value()) % 100;
        code = &cat == &curlasio::curl_easy_category()    ? 1 + v
               : &cat == &curlasio::curlasio_category()   ? 101 + v % 10
               : &cat == &curlasio::curl_multi_category() ? 111 + v % 10
                                                          : 121;
    }
    note(code + 128 * which);                                        // 0..249
    note(256 + code % 32 * 4 + static_cast<std::size_t>(k.version)); // error by protocol
    note(384 + static_cast<std::size_t>(std::min(res.r.status / 100, 7)));
    note(392 + static_cast<std::size_t>(res.r.version / 10 % 8));
    note(400 + static_cast<std::size_t>(std::min(res.r.redirect_count, 7L)));
    note(408 + bucket(res.r.body.size()));
    note(424 + bucket(res.r.headers.size()));
    note(440 + bucket(res.r.error_message.size() / 8));
}

// A clean run of the hello response, under knobs that should not change it.
void check_hello(const knobs& k, const result& res) {
    if (!k.plain() || k.method == 1 || k.version == 3)
        return; // HEAD reads no body; h2 prior knowledge parses frames
    if (res.ec) {
        std::fprintf(stderr, "transfer_fuzz: hello failed: %s (%s)\n", res.ec.message().c_str(),
                     res.r.error_message.c_str());
        fail("the hello response must succeed");
    }
    if (res.r.status != 200 || res.r.body != "hello")
        fail("the hello response must give 200 and \"hello\"");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    std::signal(SIGPIPE, SIG_IGN);
    // Also makes the listener, the lazily created reactor and libcurl's
    // global state, so that inputs compare descriptor counts against a
    // settled process.
    const knobs k(0, 0);
    check_hello(k, run_one(k, hello_response)[0]);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return 0;
    const knobs k(data[0], data[1]);
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 2,
                                 std::min(size - 2, max_server_bytes));
    const std::size_t fds_before = open_fd_count();
    const results res = run_one(k, bytes);
    if (open_fd_count() != fds_before)
        fail("the descriptor count changed across one input");
    if (bytes == hello_response)
        check_hello(k, res[0]);
    // TRANSFER_FUZZ_REPORT=1: one line per fetch, to check what seeds do.
    static const bool report = std::getenv("TRANSFER_FUZZ_REPORT") != nullptr;
    for (std::size_t i = 0; i < res.size(); ++i) {
        if (!res[i].started)
            continue;
        note_outcome(k, res[i], i);
        if (report)
            std::fprintf(stderr,
                         "transfer_fuzz: knobs %02x %02x, fetch %zu: %s, status %d, %zu headers, "
                         "%zu body bytes%s%s\n",
                         data[0], data[1], i, res[i].ec ? res[i].ec.message().c_str() : "ok", res[i].r.status,
                         res[i].r.headers.size(), res[i].r.body.size(),
                         res[i].r.error_message.empty() ? "" : ": ", res[i].r.error_message.c_str());
    }
    return 0;
}
