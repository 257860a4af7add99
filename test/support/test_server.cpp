#include <support/test_server.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <exception>
#include <iostream>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <zlib.h>

namespace curlasio::test {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Every asynchronous step reports errors as values: a closed connection is
// the normal way a session ends, not an exceptional one.
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

using hook_fn = std::function<void(const std::string&, const std::string&)>;

constexpr std::size_t chunk_size = 16 * 1024;
constexpr std::size_t pattern_period = 26;
// A multiple of the period, so consecutive slices continue the pattern.
constexpr std::size_t pattern_span = pattern_period * 2048;

// "abc...zabc..." long enough to slice pattern_span bytes from any phase.
const std::string& pattern() {
    static const std::string p = [] {
        std::string s(pattern_span + pattern_period, '\0');
        for (std::size_t i = 0; i < s.size(); ++i)
            s[i] = static_cast<char>('a' + i % pattern_period);
        return s;
    }();
    return p;
}

// The bytes [offset, offset + len) of the infinite pattern; len <= pattern_span.
asio::const_buffer pattern_slice(std::uint64_t offset, std::size_t len) {
    return asio::buffer(pattern().data() + offset % pattern_period, len);
}

std::string gzip(const std::string& in) {
    z_stream zs{};
    // windowBits 15 + 16 selects the gzip wrapper rather than raw zlib.
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("test_server: deflateInit2 failed");
    std::string out(deflateBound(&zs, in.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END)
        throw std::runtime_error("test_server: deflate failed");
    return out;
}

std::optional<std::uint64_t> to_number(std::string_view s) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
        return std::nullopt;
    return v;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// Value of `key` in an a=1&b=2 query string, percent-decoded.
std::optional<std::string> query_param(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == key)
            return percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    }
    return std::nullopt;
}

// The /multipart route's report of a multipart/form-data body: one line per
// part, "name=<n> filename=<f> type=<t> size=<bytes> fnv=<fnv1a-64 hex>
// headers=<other fields, "Name: value" joined by '|'>", or nullopt when
// the body is not well formed (no boundary, a part without its head, no
// closing delimiter). Disposition parameters are read as quoted strings
// with no escapes (libcurl's %22 for '"').
std::optional<std::string> describe_multipart(std::string_view content_type, std::string_view body) {
    const auto b = content_type.find("boundary=");
    if (b == std::string_view::npos)
        return std::nullopt;
    std::string_view boundary = content_type.substr(b + 9);
    boundary = boundary.substr(0, boundary.find(';'));
    if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"')
        boundary = boundary.substr(1, boundary.size() - 2);
    const std::string delim = "--" + std::string(boundary);
    const std::string next_delim = "\r\n" + delim;
    auto param = [](std::string_view disposition, std::string_view key) {
        const std::string k = "; " + std::string(key) + "=\"";
        const auto at = disposition.find(k);
        if (at == std::string_view::npos)
            return std::string_view{};
        const auto from = at + k.size();
        return disposition.substr(from, disposition.find('"', from) - from);
    };
    std::size_t pos = body.find(delim);
    if (pos != 0)
        return std::nullopt;
    std::string out;
    for (;;) {
        pos += delim.size();
        if (body.substr(pos, 2) == "--")
            return out;
        if (body.substr(pos, 2) != "\r\n")
            return std::nullopt;
        pos += 2;
        const auto head_end = body.find("\r\n\r\n", pos);
        if (head_end == std::string_view::npos)
            return std::nullopt;
        std::string_view head = body.substr(pos, head_end + 2 - pos);
        const auto content_start = head_end + 4;
        const auto end = body.find(next_delim, content_start);
        if (end == std::string_view::npos)
            return std::nullopt;
        const std::string_view content = body.substr(content_start, end - content_start);
        std::string_view name, filename, type;
        std::string others;
        while (!head.empty()) {
            const auto eol = head.find("\r\n");
            const std::string_view line = head.substr(0, eol);
            head.remove_prefix(eol + 2);
            const auto colon = line.find(':');
            if (colon == std::string_view::npos)
                return std::nullopt;
            const std::string_view field = line.substr(0, colon);
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.remove_prefix(1);
            if (beast::iequals(field, "Content-Disposition")) {
                name = param(value, "name");
                filename = param(value, "filename");
            } else if (beast::iequals(field, "Content-Type")) {
                type = value;
            } else {
                if (!others.empty())
                    others += '|';
                others.append(line);
            }
        }
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx",
                      static_cast<unsigned long long>(fnv1a(fnv1a_offset, content)));
        out += "name=" + std::string(name) + " filename=" + std::string(filename) +
               " type=" + std::string(type) + " size=" + std::to_string(content.size()) + " fnv=" + hex +
               " headers=" + others + "\n";
        pos = end + 2;
    }
}

// Splits "/a/b/c" into {"a", "b", "c"}.
std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    }
    return out;
}

// Asio does not open sockets close-on-exec. Without it, a child process the
// test spawns (curl, nginx, a proxy) inherits the listener and keeps the port
// accepting after the server is gone.
void set_cloexec(int fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0)
        ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

// Completion of a detached coroutine: nothing should throw, but if something
// does (bad_alloc, a throwing on_request hook) say so instead of vanishing.
auto log_failure(const char* what) {
    return [what](std::exception_ptr e) {
        if (!e)
            return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            std::cerr << "test_server: " << what << " failed: " << ex.what() << '\n';
        }
    };
}

constexpr char status_200[] = "HTTP/1.1 200 OK\r\n";
constexpr char length_2[] = "Content-Length: 2\r\n";

// Appends "X-Fill-<i>: aaa...\r\n", exactly `len` bytes long (len >= 30).
void append_field_line(std::string& out, std::size_t i, std::size_t len) {
    const std::string name = "X-Fill-" + std::to_string(i) + ": ";
    out += name;
    out.append(len - name.size() - 2, 'a');
    out += "\r\n";
}

bool body_forbidden(unsigned status) { return status < 200 || status == 204 || status == 304; }

class session;

struct server_state {
    std::atomic<std::size_t> requests{0};
    std::atomic<std::size_t> accepted{0};
    std::atomic<std::size_t> open{0};

    std::mutex hook_mutex;
    std::shared_ptr<const hook_fn> hook;

    std::string gzip_body;

    // Server thread only (and the owner's thread after the join).
    std::list<session*> sessions;
    std::map<std::string, std::uint64_t, std::less<>> flaky_counts; // the /flaky route's keys
    bool stopping = false;

    void notify(const std::string& method, const std::string& target) {
        std::shared_ptr<const hook_fn> h;
        {
            std::lock_guard lock{hook_mutex};
            h = hook;
        }
        if (h && *h)
            (*h)(method, target);
    }
};

// A byte stream behind virtual calls: Beast's HTTP algorithms and the session
// coroutines are compiled once instead of once per transport, which halves
// the build time of this file. One read and one write at a time.
class any_stream {
public:
    using executor_type = asio::any_io_executor;
    using io_handler = asio::any_completion_handler<void(error_code, std::size_t)>;
    using done_handler = asio::any_completion_handler<void(error_code)>;

    any_stream() = default;
    any_stream(const any_stream&) = delete;
    any_stream& operator=(const any_stream&) = delete;
    virtual ~any_stream() = default;

    virtual tcp::socket& socket() = 0;
    virtual bool is_tls() const = 0;
    // The common name of the peer's certificate; empty without one.
    virtual std::string peer_common_name() { return {}; }
    executor_type get_executor() { return socket().get_executor(); }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        asio::mutable_buffer first;
        for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
            first = *it;
            if (first.size() != 0)
                break;
        }
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, asio::mutable_buffer b) { do_read(b, std::move(handler)); }, token, first);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        // A write may be partial, so keeping only the first few buffers is fine.
        write_count_ = 0;
        for (auto it = asio::buffer_sequence_begin(buffers);
             it != asio::buffer_sequence_end(buffers) && write_count_ < write_bufs_.size(); ++it) {
            const asio::const_buffer b = *it;
            if (b.size() != 0)
                write_bufs_[write_count_++] = b;
        }
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler) {
                do_write(std::span<const asio::const_buffer>(write_bufs_.data(), write_count_),
                         std::move(handler));
            },
            token);
    }

    template <class Token>
    auto async_handshake(Token&& token) {
        return asio::async_initiate<Token, void(error_code)>(
            [this](auto handler) { do_handshake(std::move(handler)); }, token);
    }

    template <class Token>
    auto async_shutdown(Token&& token) {
        return asio::async_initiate<Token, void(error_code)>(
            [this](auto handler) { do_shutdown(std::move(handler)); }, token);
    }

protected:
    virtual void do_read(asio::mutable_buffer b, io_handler h) = 0;
    virtual void do_write(std::span<const asio::const_buffer> b, io_handler h) = 0;
    virtual void do_handshake(done_handler h) = 0;
    virtual void do_shutdown(done_handler h) = 0;

private:
    std::array<asio::const_buffer, 16> write_bufs_;
    std::size_t write_count_ = 0;
};

class plain_stream final : public any_stream {
public:
    explicit plain_stream(tcp::socket s) : s_(std::move(s)) {}
    tcp::socket& socket() override { return s_; }
    bool is_tls() const override { return false; }

private:
    void do_read(asio::mutable_buffer b, io_handler h) override { s_.async_read_some(b, std::move(h)); }
    void do_write(std::span<const asio::const_buffer> b, io_handler h) override {
        s_.async_write_some(b, std::move(h));
    }
    // Nothing to negotiate; still complete asynchronously, as Asio requires.
    void do_handshake(done_handler h) override {
        asio::post(s_.get_executor(), asio::append(std::move(h), error_code{}));
    }
    void do_shutdown(done_handler h) override {
        asio::post(s_.get_executor(), asio::append(std::move(h), error_code{}));
    }

    tcp::socket s_;
};

class tls_stream final : public any_stream {
public:
    tls_stream(tcp::socket s, ssl::context& ctx) : s_(std::move(s), ctx) {}
    tcp::socket& socket() override { return s_.next_layer(); }
    bool is_tls() const override { return true; }
    std::string peer_common_name() override {
        X509* cert = SSL_get0_peer_certificate(s_.native_handle());
        if (!cert)
            return {};
        char cn[256] = {};
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) < 0)
            return {};
        return cn;
    }

private:
    void do_read(asio::mutable_buffer b, io_handler h) override { s_.async_read_some(b, std::move(h)); }
    void do_write(std::span<const asio::const_buffer> b, io_handler h) override {
        s_.async_write_some(b, std::move(h));
    }
    void do_handshake(done_handler h) override { s_.async_handshake(ssl::stream_base::server, std::move(h)); }
    void do_shutdown(done_handler h) override { s_.async_shutdown(std::move(h)); }

    ssl::stream<tcp::socket> s_;
};

using request_t = http::request<http::string_body>;
using response_t = http::response<http::string_body>;

class session final : public std::enable_shared_from_this<session> {
public:
    session(server_state& server, std::unique_ptr<any_stream> stream)
        : server_(server), stream_(std::move(stream)), timer_(stream_->get_executor()) {
        registration_ = server_.sessions.insert(server_.sessions.end(), this);
        server_.open.fetch_add(1, std::memory_order_relaxed);
    }

    ~session() {
        server_.sessions.erase(registration_);
        server_.open.fetch_sub(1, std::memory_order_relaxed);
    }

    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void start() { asio::co_spawn(timer_.get_executor(), run(shared_from_this()), log_failure("session")); }

    // Aborts everything in flight: pending operations complete with errors and
    // the session ends. Server thread only.
    void close() {
        closed_ = true;
        error_code ignored;
        // shutdown, not just close: it ends the connection even if a forked child
        // holds a copy of the descriptor.
        stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_->socket().close(ignored);
        timer_.cancel();
    }

private:
    // The coroutine owns `self`, which keeps the session alive while it runs.
    static asio::awaitable<void> run(std::shared_ptr<session> self) { co_await self->serve(); }

    asio::awaitable<void> serve() {
        if (closed_)
            co_return;
        if (stream_->is_tls()) {
            auto [ec] = co_await stream_->async_handshake(nothrow);
            if (ec)
                co_return;
        }
        bool keep_alive = true;
        while (keep_alive && !closed_) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(1024 * 1024);
            // No bound while reading the head: /sink takes any Content-Length
            // (Beast checks it against the limit with the head).
            parser.body_limit(boost::none);
            auto [ec, n] = co_await http::async_read_header(*stream_, buffer_, parser, nothrow);
            if (ec)
                co_return; // peer closed, or garbage: either way, done
            server_.requests.fetch_add(1, std::memory_order_relaxed);

            // Without this, libcurl waits a second before sending a large body.
            if (!parser.is_done() && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
                if (!co_await write_raw(asio::buffer("HTTP/1.1 100 Continue\r\n\r\n", 25)))
                    co_return;
            }
            if (parser.get().target() == "/sink") {
                // Read as it comes, never held: large uploads cost the server no memory.
                if (!co_await sink_body(parser))
                    co_return;
                continue;
            }
            if (!parser.is_done()) {
                parser.body_limit(std::uint64_t{1} << 32); // the other routes hold the body
                auto [rec, rn] = co_await http::async_read(*stream_, buffer_, parser, nothrow);
                if (rec)
                    co_return;
            }
            request_t req = parser.release();
            server_.notify(std::string(req.method_string()), std::string(req.target()));
            keep_alive = co_await handle(req);
        }
        if (stream_->is_tls() && !closed_)
            co_await tls_goodbye();
    }

    // The /sink route: the body read in pieces, answered with its size, its
    // FNV-1a 64 checksum and how it was framed.
    asio::awaitable<bool> sink_body(http::request_parser<http::string_body>& header_parser) {
        http::request_parser<http::buffer_body> parser(std::move(header_parser));
        parser.body_limit(boost::none);
        const bool chunked = parser.get().chunked();
        std::uint64_t size = 0;
        std::uint64_t hash = fnv1a_offset;
        std::vector<char> piece(64 * 1024);
        while (!parser.is_done()) {
            parser.get().body().data = piece.data();
            parser.get().body().size = piece.size();
            auto [ec, n] = co_await http::async_read_some(*stream_, buffer_, parser, nothrow);
            if (ec == http::error::need_buffer)
                ec = {};
            if (ec)
                co_return false;
            const std::size_t got = piece.size() - parser.get().body().size;
            hash = fnv1a(hash, std::string_view(piece.data(), got));
            size += got;
        }
        server_.notify(std::string(parser.get().method_string()), "/sink");
        http::response<http::string_body> res{http::status::ok, parser.get().version()};
        res.set(http::field::server, "curlasio-test");
        res.set("X-Method", parser.get().method_string());
        res.keep_alive(parser.get().keep_alive());
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
        res.body() = std::to_string(size) + " " + hex + (chunked ? " chunked" : " length");
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(*stream_, res, nothrow);
        co_return !wec && res.keep_alive();
    }

    // Sends close_notify, but never waits long for the peer's half.
    asio::awaitable<void> tls_goodbye() {
        timer_.expires_after(std::chrono::seconds(1));
        timer_.async_wait([self = shared_from_this()](error_code ec) {
            if (!ec)
                self->close();
        });
        co_await stream_->async_shutdown(nothrow);
        timer_.cancel();
    }

    // Pauses the session; false if it was closed meanwhile.
    asio::awaitable<bool> sleep(std::chrono::milliseconds d) {
        if (closed_)
            co_return false;
        timer_.expires_after(d);
        auto [ec] = co_await timer_.async_wait(nothrow);
        co_return !ec && !closed_;
    }

    response_t make_response(const request_t& req, http::status status, std::string body,
                             std::string_view content_type = "text/plain") {
        response_t res{status, req.version()};
        res.keep_alive(req.keep_alive());
        res.set(http::field::server, "curlasio-test");
        if (!body.empty())
            res.set(http::field::content_type, content_type);
        res.body() = std::move(body);
        return res;
    }

    // Writes a complete response; returns whether the connection stays open.
    asio::awaitable<bool> send(const request_t& req, response_t& res) {
        if (!body_forbidden(res.result_int()))
            res.prepare_payload();
        if (req.method() == http::verb::head) {
            http::response<http::empty_body> head{res.base()};
            co_return co_await send_head(head) && res.keep_alive();
        }
        auto [ec, n] = co_await http::async_write(*stream_, res, nothrow);
        co_return !ec && res.keep_alive();
    }

    // Writes only a head; the caller streams the body itself. False on failure.
    asio::awaitable<bool> send_head(http::response<http::empty_body>& head) {
        http::response_serializer<http::empty_body> sr{head};
        auto [ec, n] = co_await http::async_write_header(*stream_, sr, nothrow);
        co_return !ec;
    }

    http::response<http::empty_body> make_head(const request_t& req) {
        http::response<http::empty_body> head{http::status::ok, req.version()};
        head.keep_alive(req.keep_alive());
        head.set(http::field::server, "curlasio-test");
        head.set(http::field::content_type, "application/octet-stream");
        return head;
    }

    // Every raw write goes through here: one instantiation of async_write.
    // (Plain parameters: g++ 12 miscompiles array temporaries in co_await.)
    asio::awaitable<bool> write_raw(asio::const_buffer a, asio::const_buffer b = {},
                                    asio::const_buffer c = {}) {
        const std::array<asio::const_buffer, 3> bufs{a, b, c};
        auto [ec, n] = co_await asio::async_write(*stream_, bufs, nothrow);
        co_return !ec;
    }

    asio::awaitable<bool> write_chunk(asio::const_buffer data) {
        std::string size_line(16, '\0');
        const auto end =
            std::to_chars(size_line.data(), size_line.data() + size_line.size(), data.size(), 16).ptr;
        size_line.resize(static_cast<std::size_t>(end - size_line.data()));
        size_line += "\r\n";
        co_return co_await write_raw(asio::buffer(size_line), data, asio::buffer("\r\n", 2));
    }

    asio::awaitable<bool> write_last_chunk() { co_return co_await write_raw(asio::buffer("0\r\n\r\n", 5)); }

    asio::awaitable<bool> handle(request_t& req) {
        const std::string_view target = req.target();
        const auto qmark = target.find('?');
        const std::string_view path = target.substr(0, qmark);
        const std::string_view query =
            qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);
        const std::vector<std::string_view> seg = segments(path);
        const bool head_only = req.method() == http::verb::head;
        auto bad_request = [&] { return make_response(req, http::status::bad_request, "bad request"); };

        if (path == "/hello") {
            auto res = make_response(req, http::status::ok, "hello world");
            co_return co_await send(req, res);
        }

        if (path == "/echo" || path.starts_with("/echo/")) {
            auto res = make_response(req, http::status::ok, {}, {});
            res.set("X-Method", req.method_string());
            res.set("X-Body-Size", std::to_string(req.body().size()));
            res.set("X-Target", req.target());
            for (const auto& f : req) {
                std::string name = "X-Echo-";
                name += f.name_string();
                res.insert(name, f.value());
            }
            res.set(http::field::content_type, "application/octet-stream");
            res.body() = std::move(req.body());
            co_return co_await send(req, res);
        }

        if (path == "/multipart") {
            const auto report = describe_multipart(req[http::field::content_type], req.body());
            if (!report) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            auto res = make_response(req, http::status::ok, *report);
            res.set("X-Method", req.method_string());
            co_return co_await send(req, res);
        }

        if (seg.size() == 2 && seg[0] == "status") {
            const auto code = to_number(seg[1]);
            if (!code || *code < 100 || *code > 999) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            const auto c = static_cast<unsigned>(*code);
            auto res = make_response(req, http::status::ok,
                                     body_forbidden(c) ? "" : "status " + std::string(seg[1]));
            res.result(c);
            co_return co_await send(req, res);
        }

        if (seg.size() == 2 && seg[0] == "redirect") {
            const auto n = to_number(seg[1]);
            if (!n) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            if (*n == 0) {
                auto res = make_response(req, http::status::ok, "redirected");
                co_return co_await send(req, res);
            }
            auto res = make_response(req, http::status::found, "redirect");
            res.set(http::field::location, "/redirect/" + std::to_string(*n - 1));
            co_return co_await send(req, res);
        }

        if (path == "/redirect-loop") {
            auto res = make_response(req, http::status::found, "redirect");
            res.set(http::field::location, "/redirect-loop");
            co_return co_await send(req, res);
        }

        if (path == "/redirect-to") {
            const auto to = query_param(query, "url");
            if (!to) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            auto res = make_response(req, http::status::found, "redirect");
            res.set(http::field::location, *to);
            co_return co_await send(req, res);
        }

        if (seg.size() == 2 && seg[0] == "delay") {
            const auto ms = to_number(seg[1]);
            if (!ms || *ms > 24ull * 3600 * 1000) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            if (!co_await sleep(std::chrono::milliseconds(*ms)))
                co_return false;
            auto res = make_response(req, http::status::ok, "delayed");
            co_return co_await send(req, res);
        }

        if (seg.size() == 2 && seg[0] == "bytes") {
            const auto n = to_number(seg[1]);
            if (!n) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            // Streamed from a shared pattern, so huge sizes cost no memory.
            auto head = make_head(req);
            head.content_length(*n);
            if (!co_await send_head(head))
                co_return false;
            if (head_only)
                co_return head.keep_alive();
            for (std::uint64_t sent = 0; sent < *n;) {
                const std::size_t len =
                    static_cast<std::size_t>(std::min<std::uint64_t>(pattern_span, *n - sent));
                if (!co_await write_raw(pattern_slice(sent, len)))
                    co_return false;
                sent += len;
            }
            co_return head.keep_alive();
        }

        if (seg.size() == 2 && seg[0] == "chunked") {
            const auto n = to_number(seg[1]);
            if (!n) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            auto head = make_head(req);
            head.chunked(true);
            if (!co_await send_head(head))
                co_return false;
            if (head_only)
                co_return head.keep_alive();
            for (std::uint64_t sent = 0; sent < *n;) {
                const std::size_t len =
                    static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, *n - sent));
                if (!co_await write_chunk(pattern_slice(sent, len)))
                    co_return false;
                sent += len;
            }
            if (!co_await write_last_chunk())
                co_return false;
            co_return head.keep_alive();
        }

        if (seg.size() == 3 && seg[0] == "slow-body") {
            const auto chunks = to_number(seg[1]);
            const auto ms = to_number(seg[2]);
            if (!chunks || !ms || *ms > 3600 * 1000) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            auto head = make_head(req);
            head.chunked(true);
            if (!co_await send_head(head))
                co_return false;
            if (head_only)
                co_return head.keep_alive();
            static const std::string kib(1024, 'x');
            for (std::uint64_t i = 0; i < *chunks; ++i) {
                if (!co_await sleep(std::chrono::milliseconds(*ms)))
                    co_return false;
                if (!co_await write_chunk(asio::buffer(kib)))
                    co_return false;
            }
            if (!co_await write_last_chunk())
                co_return false;
            co_return head.keep_alive();
        }

        if (path == "/stall") {
            auto head = make_head(req);
            head.content_length(1000000);
            if (!co_await send_head(head))
                co_return false;
            if (head_only)
                co_return head.keep_alive();
            if (!co_await write_raw(pattern_slice(0, 10)))
                co_return false;
            // Hold the connection until the peer gives up or the server stops;
            // reading is what notices the peer going away.
            char sink[512];
            for (;;) {
                auto [rec, r] = co_await stream_->async_read_some(asio::buffer(sink), nothrow);
                if (rec || closed_)
                    co_return false;
            }
        }

        // ---- faults ----------------------------------------------------------------

        if (seg.size() == 2 && seg[0] == "reset-body") {
            const auto n = to_number(seg[1]);
            if (!n || *n > pattern_span) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            auto head = make_head(req);
            head.content_length(2 * *n);
            if (!co_await send_head(head))
                co_return false;
            if (!co_await write_raw(pattern_slice(0, static_cast<std::size_t>(*n))))
                co_return false;
            // Let the bytes be read first: an RST may discard what is still queued.
            if (!co_await sleep(std::chrono::milliseconds(100)))
                co_return false;
            error_code ignored;
            stream_->socket().set_option(asio::socket_base::linger(true, 0), ignored);
            stream_->socket().close(ignored); // SO_LINGER 0: the close sends RST
            co_return false;
        }

        if (path == "/close-early")
            co_return false; // the session's end closes it

        if (seg.size() == 4 && seg[0] == "flaky") {
            const auto n = to_number(seg[2]);
            const auto code = to_number(seg[3]);
            const bool fault = seg[3] == "close" || seg[3] == "reset";
            if (!n || (!fault && (!code || *code < 200 || *code > 999))) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            auto it = server_.flaky_counts.find(seg[1]);
            if (it == server_.flaky_counts.end())
                it = server_.flaky_counts.emplace(std::string(seg[1]), 0).first;
            const std::uint64_t seen = ++it->second;
            if (seen > *n) {
                auto res = make_response(req, http::status::ok, "ok after " + std::to_string(seen - 1));
                res.set("X-Attempt", std::to_string(seen));
                co_return co_await send(req, res);
            }
            if (seg[3] == "close")
                co_return false;
            if (seg[3] == "reset") {
                error_code ignored;
                stream_->socket().set_option(asio::socket_base::linger(true, 0), ignored);
                stream_->socket().close(ignored);
                co_return false;
            }
            auto res = make_response(req, http::status::ok,
                                     body_forbidden(static_cast<unsigned>(*code)) ? "" : "flaky");
            res.result(static_cast<unsigned>(*code));
            res.set("X-Attempt", std::to_string(seen));
            if (const auto ra = query_param(query, "retry-after"))
                res.set(http::field::retry_after, *ra);
            co_return co_await send(req, res);
        }

        if (path == "/raw") {
            const auto bytes = query_param(query, "bytes");
            if (!bytes) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            co_await write_raw(asio::buffer(*bytes));
            co_return false; // then close: the bytes are the whole response
        }

        if (path == "/slowloris") {
            const std::string status = "HTTP/1.1 200 OK\r\n";
            if (!co_await write_raw(asio::buffer(status)))
                co_return false;
            for (std::uint64_t i = 0;; ++i) {
                if (!co_await sleep(std::chrono::milliseconds(500)))
                    co_return false;
                const std::string line = "X-Slow-" + std::to_string(i) + ": x\r\n";
                if (!co_await write_raw(asio::buffer(line)))
                    co_return false;
            }
        }

        if (path == "/endless-headers") {
            std::string batch = "HTTP/1.1 200 OK\r\n";
            for (std::uint64_t i = 0;; ++i) {
                for (int k = 0; k < 64; ++k)
                    batch += "X-Endless-" + std::to_string(i * 64 + k) + ": " + std::string(40, 'h') + "\r\n";
                if (!co_await write_raw(asio::buffer(batch)))
                    co_return false;
                batch.clear();
            }
        }

        if (path == "/chunked-forever") {
            auto head = make_head(req);
            head.chunked(true);
            if (!co_await send_head(head))
                co_return false;
            if (head_only)
                co_return head.keep_alive();
            for (std::uint64_t sent = 0;; sent += chunk_size)
                if (!co_await write_chunk(pattern_slice(sent, chunk_size)))
                    co_return false;
        }

        if (seg.size() == 2 && (seg[0] == "long-header" || seg[0] == "many-headers")) {
            // Written raw: the byte counts are exact, nothing added by a serializer.
            const auto n = to_number(seg[1]);
            constexpr std::size_t fixed = sizeof(status_200) - 1 + sizeof(length_2) - 1 + 2;
            if (!n || *n > (64u << 20) || (seg[0] == "long-header" ? *n < 10 : *n < fixed + 40)) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            std::string head = status_200;
            if (seg[0] == "long-header") {
                head += "X-Long: ";
                head.append(static_cast<std::size_t>(*n) - 10, 'a');
                head += "\r\n";
            } else {
                // Lines of about 1000 bytes, their lengths adding up to what is left.
                const std::size_t filler = static_cast<std::size_t>(*n) - fixed;
                const std::size_t lines = (filler + 999) / 1000;
                for (std::size_t i = 0; i < lines; ++i)
                    append_field_line(head, i, filler / lines + (i < filler % lines ? 1 : 0));
            }
            head += length_2;
            head += "\r\n";
            if (!head_only)
                head += "ok";
            if (!co_await write_raw(asio::buffer(head)))
                co_return false;
            co_return req.keep_alive();
        }

        if (seg.size() == 2 && seg[0] == "headers") {
            const auto n = to_number(seg[1]);
            if (!n || *n > 100000) {
                auto res = bad_request();
                co_return co_await send(req, res);
            }
            auto res = make_response(req, http::status::ok, "headers");
            for (std::uint64_t i = 1; i <= *n; ++i)
                res.insert("X-Header-" + std::to_string(i), "value-" + std::to_string(i));
            co_return co_await send(req, res);
        }

        if (path == "/gzip") {
            auto res = make_response(req, http::status::ok, server_.gzip_body, "text/plain");
            res.set(http::field::content_encoding, "gzip");
            co_return co_await send(req, res);
        }

        if (path == "/client-cert") {
            const std::string cn = stream_->peer_common_name();
            auto res = make_response(req, http::status::ok, cn.empty() ? "none" : cn);
            co_return co_await send(req, res);
        }

        if (path == "/cookie") {
            auto res = make_response(req, http::status::ok, "cookies");
            res.insert(http::field::set_cookie, "a=1; Path=/");
            res.insert(http::field::set_cookie, "b=2; Path=/");
            co_return co_await send(req, res);
        }

        if (path == "/set-cookie") {
            auto res = make_response(req, http::status::ok, "cookies");
            for (std::string_view rest = query; !rest.empty();) {
                const auto amp = rest.find('&');
                res.insert(http::field::set_cookie, percent_decode(rest.substr(0, amp)));
                rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
            }
            co_return co_await send(req, res);
        }

        auto res = make_response(req, http::status::not_found, "not found");
        co_return co_await send(req, res);
    }

    server_state& server_;
    std::list<session*>::iterator registration_;
    std::unique_ptr<any_stream> stream_;
    asio::steady_timer timer_;
    beast::flat_buffer buffer_;
    bool closed_ = false;
};

} // namespace

struct test_server::impl : server_state {
    // Declared before `io` so it outlives anything the io_context still holds.
    std::optional<ssl::context> ssl_ctx;
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    unsigned short port = 0;
    bool tls = false;
    std::thread thread;

    explicit impl(const server_options& opts) : tls(opts.tls) {
        std::string text;
        for (int i = 0; i < 100; ++i)
            text += "hello gzip world";
        gzip_body = gzip(text);

        if (tls) {
            if (opts.cert_file.empty() || opts.key_file.empty())
                throw std::invalid_argument("test_server: tls needs cert_file and key_file");
            ssl_ctx.emplace(ssl::context::tls_server);
            ssl_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                 ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
            ssl_ctx->use_certificate_chain_file(opts.cert_file);
            ssl_ctx->use_private_key_file(opts.key_file, ssl::context::pem);
            if (!opts.client_ca_file.empty()) {
                ssl_ctx->load_verify_file(opts.client_ca_file);
                ssl_ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
            }
            if (opts.tls1_2_only && !SSL_CTX_set_max_proto_version(ssl_ctx->native_handle(), TLS1_2_VERSION))
                throw std::runtime_error("test_server: SSL_CTX_set_max_proto_version failed");
            if (!opts.tls13_ciphersuites.empty() &&
                !SSL_CTX_set_ciphersuites(ssl_ctx->native_handle(), opts.tls13_ciphersuites.c_str()))
                throw std::invalid_argument("test_server: bad tls13_ciphersuites");
        }

        const tcp::endpoint ep{asio::ip::make_address_v4("127.0.0.1"), 0};
        acceptor.open(ep.protocol());
        set_cloexec(acceptor.native_handle());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen(asio::socket_base::max_listen_connections);
        port = acceptor.local_endpoint().port();

        asio::co_spawn(io, accept_loop(), log_failure("accept loop"));
        thread = std::thread([this] { io.run(); });
    }

    ~impl() {
        asio::post(io, [this] { stop(); });
        thread.join();
    }

    void stop() {
        stopping = true;
        error_code ignored;
        // Shutting the listener down stops it even in a child that inherited it
        // before close-on-exec was set (fork racing the server's constructor).
        if (acceptor.is_open())
            ::shutdown(acceptor.native_handle(), SHUT_RDWR);
        acceptor.close(ignored);
        // close() never unregisters synchronously, so iterating is safe.
        for (session* s : sessions)
            s->close();
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, sock] = co_await acceptor.async_accept(nothrow);
            if (stopping || !acceptor.is_open())
                co_return;
            if (ec) {
                // Transient (EMFILE, ECONNABORTED): back off briefly instead of spinning.
                asio::steady_timer pause{io, std::chrono::milliseconds(5)};
                co_await pause.async_wait(nothrow);
                if (stopping)
                    co_return;
                continue;
            }
            accepted.fetch_add(1, std::memory_order_relaxed);
            set_cloexec(sock.native_handle());
            error_code ignored;
            sock.set_option(tcp::no_delay(true), ignored);
            std::unique_ptr<any_stream> stream;
            if (tls)
                stream = std::make_unique<tls_stream>(std::move(sock), *ssl_ctx);
            else
                stream = std::make_unique<plain_stream>(std::move(sock));
            std::make_shared<session>(*this, std::move(stream))->start();
        }
    }
};

test_server::test_server(server_options opts) : impl_(std::make_unique<impl>(opts)) {}

test_server::~test_server() = default;

unsigned short test_server::port() const { return impl_->port; }

std::string test_server::base_url() const {
    return (impl_->tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(impl_->port);
}

std::string test_server::url(std::string_view path) const {
    std::string u = base_url();
    u += path;
    return u;
}

std::size_t test_server::requests_seen() const { return impl_->requests.load(); }

std::size_t test_server::connections_accepted() const { return impl_->accepted.load(); }

std::size_t test_server::open_connections() const { return impl_->open.load(); }

void test_server::on_request(std::function<void(const std::string&, const std::string&)> hook) {
    auto h = std::make_shared<const hook_fn>(std::move(hook));
    std::lock_guard lock{impl_->hook_mutex};
    impl_->hook = std::move(h);
}

} // namespace curlasio::test
