// fetch: a command-line HTTP fetcher built on curlasio.
//
//   fetch [-n PARALLEL] [-c COUNT] [-k] [URL...]
//
//   -n PARALLEL  transfers in flight at most (default 8)
//   -c COUNT     transfers in total, cycling through the URLs (default: each
//                URL once; 100 without URLs)
//   -k           do not verify TLS certificates or host names (insecure)
//
// Prints one line per transfer (status, body size, time, URL, or the error)
// and a summary. When stdout is a terminal, a live progress bar per transfer
// in flight (bytes, rate, ETA when the size is known) stays below the lines. Exit status: 0 when every
// transfer completed, 1 when any failed, 2 on a usage error. An HTTP 4xx/5xx is a completed transfer: it is
// reported, not counted as a failure.
//
// Without a URL, fetch starts a small HTTP/1.1 server (Boost.Beast) on
// 127.0.0.1 in a thread of its own, runs the batch against it, and stops it:
// a self-contained demo that never leaves the machine.
//
// The client side is the usual shape of a curlasio program: one engine on
// the io_context, a fixed pool of coroutines that each co_await
// curlasio::async_fetch in a loop, and transfer errors as error_code values.

#include <curlasio/curlasio.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <exception>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

std::optional<std::size_t> to_size(std::string_view s) {
    std::size_t value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size())
        return std::nullopt;
    return value;
}

// ---- the embedded demo server ----------------------------------------------

namespace demo {

// Routes: /  greeting | /json | /bytes/<n>  n bytes | /redirect  302 to /
http::response<http::string_body> handle(const http::request<http::string_body>& req) {
    constexpr std::size_t max_bytes = 16 * 1024 * 1024;
    const std::string_view target(req.target().data(), req.target().size());

    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "curlasio-fetch-demo");
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(req.keep_alive());

    if (target == "/") {
        res.body() = "Hello from the curlasio demo server\n";
    } else if (target == "/json") {
        res.set(http::field::content_type, "application/json");
        res.body() = R"({"library":"curlasio","ok":true})";
    } else if (target == "/redirect") {
        res.result(http::status::found);
        res.set(http::field::location, "/");
    } else if (auto n = target.starts_with("/bytes/") ? to_size(target.substr(7)) : std::nullopt;
               n && *n <= max_bytes) {
        res.set(http::field::content_type, "application/octet-stream");
        res.body().assign(*n, 'x');
    } else {
        res.result(http::status::not_found);
        res.body() = "not found\n";
    }
    res.prepare_payload();
    return res;
}

// One connection: answers requests in order until the client closes it. The
// idle deadline is a backstop, so a forgotten connection cannot keep the
// server (and stop()) waiting forever.
asio::awaitable<void> session(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> req;
        stream.expires_after(10s);
        auto [read_ec, read_n] =
            co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
        if (read_ec) // http::error::end_of_stream: the client closed, the usual end
            break;
        auto res = handle(req);
        auto [write_ec, write_n] =
            co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        if (write_ec || !res.keep_alive())
            break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// An HTTP/1.1 server on 127.0.0.1 (ephemeral port) with its own io_context
// and thread, so it shares nothing with the client it serves.
class server {
public:
    server() {
        asio::co_spawn(io_, listen(), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~server() { stop(); }
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    std::string url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }

    // Stops accepting and waits for the open connections to end: call it
    // after the client has closed its connections (destroyed its engine).
    void stop() {
        if (!thread_.joinable())
            return;
        asio::post(io_, [this] { acceptor_.close(); });
        thread_.join();
    }

private:
    asio::awaitable<void> listen() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) // operation_aborted from stop(), or a real failure: stop accepting
                co_return;
            asio::co_spawn(io_, session(beast::tcp_stream(std::move(socket))), asio::detached);
        }
    }

    asio::io_context io_;
    tcp::acceptor acceptor_{io_, {asio::ip::address_v4::loopback(), 0}};
    unsigned short port_ = acceptor_.local_endpoint().port();
    std::thread thread_;
};

} // namespace demo

// ---- the client ----------------------------------------------------------------

struct options {
    std::size_t parallel = 8;
    std::optional<std::size_t> count;
    bool insecure = false;
    std::vector<std::string> urls;
};

std::optional<options> parse_args(int argc, char* argv[]) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-k") {
            o.insecure = true;
        } else if (arg == "-n" || arg == "-c") {
            auto v = i + 1 < argc ? to_size(argv[++i]) : std::nullopt;
            if (!v || *v == 0)
                return std::nullopt;
            if (arg == "-n")
                o.parallel = *v;
            else
                o.count = *v;
        } else if (arg.starts_with('-')) {
            return std::nullopt;
        } else {
            o.urls.emplace_back(arg);
        }
    }
    return o;
}

// Live progress, one line per worker, redrawn below the result lines (ANSI
// cursor movement; only when stdout is a terminal). Redrawn at most every
// 100 ms, which is also how often curlasio reports progress by default.
class progress_board {
public:
    explicit progress_board(std::size_t slots) : slots_(slots), enabled_(::isatty(STDOUT_FILENO) == 1) {}

    void start(std::size_t slot, const std::string& url) {
        slots_[slot] = {url, {}, std::chrono::steady_clock::now(), true};
    }
    void update(std::size_t slot, const curlasio::transfer_progress& p) {
        slots_[slot].progress = p;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_draw_ >= 100ms)
            redraw();
    }
    void finish(std::size_t slot) { slots_[slot].active = false; }

    // Prints `line` above the board.
    template <typename Print>
    void print_above(Print print) {
        clear();
        print();
        redraw();
    }
    void clear() {
        if (enabled_ && drawn_ > 0)
            std::cout << "\x1b[" << drawn_ << "A\x1b[J";
        drawn_ = 0;
    }

private:
    struct slot {
        std::string url;
        curlasio::transfer_progress progress;
        std::chrono::steady_clock::time_point started;
        bool active = false;
    };

    static std::string human(double bytes) {
        const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (bytes >= 1024 && u < 4) {
            bytes /= 1024;
            ++u;
        }
        std::ostringstream out;
        out << std::fixed << std::setprecision(u ? 1 : 0) << bytes << ' ' << units[u];
        return out.str();
    }

    void redraw() {
        if (!enabled_)
            return;
        clear();
        const auto now = std::chrono::steady_clock::now();
        last_draw_ = now;
        for (const slot& s : slots_) {
            if (!s.active)
                continue;
            const double got = static_cast<double>(s.progress.downloaded);
            const double total = static_cast<double>(s.progress.download_total);
            const double secs = std::chrono::duration<double>(now - s.started).count();
            const double rate = secs > 0 ? got / secs : 0;
            constexpr int width = 24;
            const int filled = total > 0 ? static_cast<int>(width * std::min(1.0, got / total)) : 0;
            std::cout << '[' << std::string(static_cast<std::size_t>(filled), '#')
                      << std::string(static_cast<std::size_t>(width - filled), total > 0 ? '.' : '?') << "] "
                      << std::setw(10) << human(got) << "  " << std::setw(10) << human(rate) << "/s";
            if (total > 0 && rate > 0)
                std::cout << "  ETA " << std::setw(4) << static_cast<long>((total - got) / rate) << " s";
            std::cout << "  " << s.url.substr(0, 60) << '\n';
            ++drawn_;
        }
        std::cout.flush();
    }

    std::vector<slot> slots_;
    bool enabled_;
    std::size_t drawn_ = 0;
    std::chrono::steady_clock::time_point last_draw_{};
};

// The work and the tally, shared by the workers. They all run on the one
// thread of the io_context, so plain members need no lock.
struct batch {
    std::vector<std::string> urls;
    std::size_t count = 0; // transfers in total
    bool insecure = false;

    std::size_t started = 0;
    std::size_t completed = 0;   // a response arrived, whatever its status
    std::size_t http_errors = 0; // ... of which with a 4xx/5xx status
    std::size_t failed = 0;      // transport failure: no complete response
    std::optional<progress_board> board;

    void record(const std::string& url, const curlasio::error_code& ec, const curlasio::response& res,
                std::uint64_t body_bytes) {
        board->print_above([&] { print(url, ec, res, body_bytes); });
    }

    void print(const std::string& url, const curlasio::error_code& ec, const curlasio::response& res,
               std::uint64_t body_bytes) {
        std::cout << std::fixed << std::setprecision(1);
        if (ec) {
            ++failed;
            // ec.message() names the error class; libcurl's own text says what happened.
            std::cout << "ERR " << ec.message();
            if (!res.error_message.empty() && res.error_message != ec.message())
                std::cout << " (" << res.error_message << ')';
            std::cout << "  " << url << '\n';
            return;
        }
        ++completed;
        if (res.status >= 400)
            ++http_errors;
        const std::chrono::duration<double, std::milli> ms = res.times.total;
        std::cout << res.status << ' ' << std::setw(9) << body_bytes << " B " << std::setw(8) << ms.count()
                  << " ms  " << url;
        if (res.redirect_count > 0)
            std::cout << " -> " << res.effective_url;
        std::cout << '\n';
    }
};

// One worker of the pool: takes the next URL until the batch is exhausted.
// `parallel` workers therefore keep at most `parallel` transfers in flight.
asio::awaitable<void> worker(curlasio::engine& eng, batch& b, std::size_t slot) {
    while (b.started < b.count) {
        const std::string& url = b.urls[b.started++ % b.urls.size()];
        curlasio::request req(url);
        req.options.redirects.follow = true;
        b.board->start(slot, url);
        req.on_progress = [&b, slot](const curlasio::transfer_progress& p) { b.board->update(slot, p); };
        // Counted as it arrives, not kept: a fetcher of large files holds none.
        std::uint64_t body_bytes = 0;
        req.on_body = [&body_bytes](std::string_view chunk) { body_bytes += chunk.size(); };
        if (b.insecure) {
            req.options.tls.verify_peer = false;
            req.options.tls.verify_host = false;
        }
        // as_tuple: a failed transfer is a result to report, not an exception.
        auto [ec, res] =
            co_await curlasio::async_fetch(eng, std::move(req), asio::as_tuple(asio::use_awaitable));
        b.board->finish(slot);
        b.record(url, ec, res, body_bytes);
    }
}

// Runs the batch to its end. The engine lives exactly as long as the batch:
// destroying it closes the connections libcurl keeps for reuse, so the
// io_context then runs out of work and run() returns.
asio::awaitable<void> run_batch(batch& b, std::size_t parallel) {
    auto ex = co_await asio::this_coro::executor;
    curlasio::engine eng(ex);

    using worker_op = decltype(asio::co_spawn(ex, worker(eng, b, 0), asio::deferred));
    std::vector<worker_op> workers;
    const std::size_t n = std::min(parallel, b.count);
    b.board.emplace(n);
    for (std::size_t i = 0; i < n; ++i)
        workers.push_back(asio::co_spawn(ex, worker(eng, b, i), asio::deferred));

    auto [order, exceptions] = co_await asio::experimental::make_parallel_group(std::move(workers))
                                   .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (const std::exception_ptr& e : exceptions)
        if (e)
            std::rethrow_exception(e);
}

} // namespace

int main(int argc, char* argv[]) {
    const std::optional<options> opts = parse_args(argc, argv);
    if (!opts) {
        std::cerr << "usage: fetch [-n PARALLEL] [-c COUNT] [-k] [URL...]\n";
        return 2;
    }
    try {
        batch b;
        b.insecure = opts->insecure;
        std::optional<demo::server> server;
        if (opts->urls.empty()) {
            server.emplace();
            for (std::string_view path : {"/", "/json", "/bytes/1024", "/bytes/65536", "/redirect"})
                b.urls.push_back(server->url(path));
            b.count = opts->count.value_or(100);
        } else {
            b.urls = opts->urls;
            b.count = opts->count.value_or(b.urls.size());
        }
        if (b.insecure)
            std::cerr << "warning: -k: TLS certificates and host names are NOT verified\n";

        asio::io_context io;
        const auto start = std::chrono::steady_clock::now();
        asio::co_spawn(io, run_batch(b, opts->parallel), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e); // out of io.run(), into the catch below
        });
        io.run();
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        if (server)
            server->stop();

        std::cout << std::fixed << std::setprecision(1) << "total " << b.count << ", succeeded "
                  << b.completed << " (HTTP 4xx/5xx: " << b.http_errors << "), failed " << b.failed
                  << ", elapsed " << elapsed.count() * 1000 << " ms, "
                  << static_cast<double>(b.count) / elapsed.count() << " requests/s\n";
        return b.failed == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "fetch: " << e.what() << '\n';
        return 1;
    }
}
