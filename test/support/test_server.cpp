#include <support/test_server.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <exception>
#include <iostream>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

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
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + i % pattern_period);
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
  if (rc != Z_STREAM_END) throw std::runtime_error("test_server: deflate failed");
  return out;
}

std::optional<std::uint64_t> to_number(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
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
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

bool body_forbidden(unsigned status) { return status < 200 || status == 204 || status == 304; }

struct server_state;

// What the server needs from a session to shut it down from the outside.
class session_base {
public:
  explicit session_base(server_state& server);
  virtual ~session_base();
  session_base(const session_base&) = delete;
  session_base& operator=(const session_base&) = delete;

  // Abort everything in flight; pending operations complete with errors and
  // the session ends. Server thread only.
  virtual void close() = 0;

protected:
  server_state& server_;

private:
  std::list<session_base*>::iterator registration_;
};

struct server_state {
  std::atomic<std::size_t> requests{0};
  std::atomic<std::size_t> accepted{0};
  std::atomic<std::size_t> open{0};

  std::mutex hook_mutex;
  std::shared_ptr<const hook_fn> hook;

  std::string gzip_body;

  // Server thread only (and the owner's thread after the join).
  std::list<session_base*> sessions;
  bool stopping = false;

  void notify(const std::string& method, const std::string& target) {
    std::shared_ptr<const hook_fn> h;
    {
      std::lock_guard lock{hook_mutex};
      h = hook;
    }
    if (h && *h) (*h)(method, target);
  }
};

session_base::session_base(server_state& server) : server_(server) {
  registration_ = server_.sessions.insert(server_.sessions.end(), this);
  server_.open.fetch_add(1, std::memory_order_relaxed);
}

session_base::~session_base() {
  server_.sessions.erase(registration_);
  server_.open.fetch_sub(1, std::memory_order_relaxed);
}

using request_t = http::request<http::string_body>;
using response_t = http::response<http::string_body>;

template <class Stream>
class session final : public session_base, public std::enable_shared_from_this<session<Stream>> {
public:
  static constexpr bool is_tls = !std::is_same_v<Stream, tcp::socket>;

  session(server_state& server, Stream stream)
      : session_base(server), stream_(std::move(stream)), timer_(stream_.get_executor()) {}

  void start() {
    asio::co_spawn(timer_.get_executor(), run(this->shared_from_this()), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "test_server: session failed: " << ex.what() << '\n';
      }
    });
  }

  void close() override {
    closed_ = true;
    error_code ignored;
    // shutdown, not just close: it ends the connection even if a forked child
    // holds a copy of the descriptor.
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
    timer_.cancel();
  }

private:
  tcp::socket& socket() {
    if constexpr (is_tls) return stream_.next_layer();
    else return stream_;
  }

  // The coroutine owns `self`, which keeps the session alive while it runs.
  static asio::awaitable<void> run(std::shared_ptr<session> self) { co_await self->serve(); }

  asio::awaitable<void> serve() {
    if (closed_) co_return;
    if constexpr (is_tls) {
      auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server, nothrow);
      if (ec) co_return;
    }
    bool keep_alive = true;
    while (keep_alive && !closed_) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(1024 * 1024);
      parser.body_limit(std::uint64_t{1} << 32);
      auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, nothrow);
      if (ec) co_return;  // peer closed, or garbage: either way, done
      server_.requests.fetch_add(1, std::memory_order_relaxed);

      // Without this, libcurl waits a second before sending a large body.
      if (!parser.is_done() && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, parser.get().version()};
        auto [wec, wn] = co_await http::async_write(stream_, cont, nothrow);
        if (wec) co_return;
      }
      if (!parser.is_done()) {
        auto [rec, rn] = co_await http::async_read(stream_, buffer_, parser, nothrow);
        if (rec) co_return;
      }
      request_t req = parser.release();
      server_.notify(std::string(req.method_string()), std::string(req.target()));
      keep_alive = co_await handle(req);
    }
    if (is_tls && !closed_) co_await tls_goodbye();
  }

  // Sends close_notify, but never waits long for the peer's half.
  asio::awaitable<void> tls_goodbye() {
    if constexpr (is_tls) {
      timer_.expires_after(std::chrono::seconds(1));
      timer_.async_wait([self = this->shared_from_this()](error_code ec) {
        if (!ec) self->close();
      });
      co_await stream_.async_shutdown(nothrow);
      timer_.cancel();
    }
  }

  // Pauses the session; false if it was closed meanwhile.
  asio::awaitable<bool> sleep(std::chrono::milliseconds d) {
    if (closed_) co_return false;
    timer_.expires_after(d);
    auto [ec] = co_await timer_.async_wait(nothrow);
    co_return !ec && !closed_;
  }

  response_t make_response(const request_t& req, http::status status, std::string body,
                           std::string_view content_type = "text/plain") {
    response_t res{status, req.version()};
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "curlasio-test");
    if (!body.empty()) res.set(http::field::content_type, content_type);
    res.body() = std::move(body);
    return res;
  }

  // Writes a complete response; returns whether the connection stays open.
  asio::awaitable<bool> send(const request_t& req, response_t& res) {
    if (!body_forbidden(res.result_int())) res.prepare_payload();
    error_code ec;
    if (req.method() == http::verb::head) {
      http::response_serializer<http::string_body> sr{res};
      std::tie(ec, std::ignore) = co_await http::async_write_header(stream_, sr, nothrow);
    } else {
      std::tie(ec, std::ignore) = co_await http::async_write(stream_, res, nothrow);
    }
    co_return !ec && res.keep_alive();
  }

  // Writes only a head; the caller streams the body itself. False on failure.
  asio::awaitable<bool> send_head(http::response<http::empty_body>& head) {
    http::response_serializer<http::empty_body> sr{head};
    auto [ec, n] = co_await http::async_write_header(stream_, sr, nothrow);
    co_return !ec;
  }

  http::response<http::empty_body> make_head(const request_t& req) {
    http::response<http::empty_body> head{http::status::ok, req.version()};
    head.keep_alive(req.keep_alive());
    head.set(http::field::server, "curlasio-test");
    head.set(http::field::content_type, "application/octet-stream");
    return head;
  }

  asio::awaitable<bool> write_chunk(asio::const_buffer data) {
    auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk(data), nothrow);
    co_return !ec;
  }

  asio::awaitable<bool> write_last_chunk() {
    auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk_last(), nothrow);
    co_return !ec;
  }

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

    if (path == "/echo") {
      auto res = make_response(req, http::status::ok, {}, {});
      res.set("X-Method", req.method_string());
      res.set("X-Body-Size", std::to_string(req.body().size()));
      for (const auto& f : req) {
        std::string name = "X-Echo-";
        name += f.name_string();
        res.insert(name, f.value());
      }
      res.set(http::field::content_type, "application/octet-stream");
      res.body() = std::move(req.body());
      co_return co_await send(req, res);
    }

    if (seg.size() == 2 && seg[0] == "status") {
      const auto code = to_number(seg[1]);
      if (!code || *code < 100 || *code > 999) {
        auto res = bad_request();
        co_return co_await send(req, res);
      }
      const auto c = static_cast<unsigned>(*code);
      auto res = make_response(req, http::status::ok, body_forbidden(c) ? "" : "status " + std::string(seg[1]));
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
      if (!co_await sleep(std::chrono::milliseconds(*ms))) co_return false;
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
      if (!co_await send_head(head)) co_return false;
      if (head_only) co_return head.keep_alive();
      for (std::uint64_t sent = 0; sent < *n;) {
        const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(pattern_span, *n - sent));
        auto [ec, w] = co_await asio::async_write(stream_, pattern_slice(sent, len), nothrow);
        if (ec) co_return false;
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
      if (!co_await send_head(head)) co_return false;
      if (head_only) co_return head.keep_alive();
      for (std::uint64_t sent = 0; sent < *n;) {
        const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, *n - sent));
        if (!co_await write_chunk(pattern_slice(sent, len))) co_return false;
        sent += len;
      }
      if (!co_await write_last_chunk()) co_return false;
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
      if (!co_await send_head(head)) co_return false;
      if (head_only) co_return head.keep_alive();
      static const std::string kib(1024, 'x');
      for (std::uint64_t i = 0; i < *chunks; ++i) {
        if (!co_await sleep(std::chrono::milliseconds(*ms))) co_return false;
        if (!co_await write_chunk(asio::buffer(kib))) co_return false;
      }
      if (!co_await write_last_chunk()) co_return false;
      co_return head.keep_alive();
    }

    if (path == "/stall") {
      auto head = make_head(req);
      head.content_length(1000000);
      if (!co_await send_head(head)) co_return false;
      if (head_only) co_return head.keep_alive();
      auto [ec, w] = co_await asio::async_write(stream_, pattern_slice(0, 10), nothrow);
      if (ec) co_return false;
      // Hold the connection until the peer gives up or the server stops;
      // reading is what notices the peer going away.
      char sink[512];
      for (;;) {
        auto [rec, r] = co_await stream_.async_read_some(asio::buffer(sink), nothrow);
        if (rec || closed_) co_return false;
      }
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

    if (path == "/cookie") {
      auto res = make_response(req, http::status::ok, "cookies");
      res.insert(http::field::set_cookie, "a=1; Path=/");
      res.insert(http::field::set_cookie, "b=2; Path=/");
      co_return co_await send(req, res);
    }

    auto res = make_response(req, http::status::not_found, "not found");
    co_return co_await send(req, res);
  }

  Stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  bool closed_ = false;
};

}  // namespace

struct test_server::impl : server_state {
  // Declared before io_ so they outlive whatever the io_context still holds.
  std::optional<ssl::context> ssl_ctx;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  unsigned short port = 0;
  bool tls = false;
  std::thread thread;

  explicit impl(const server_options& opts) : tls(opts.tls) {
    std::string text;
    for (int i = 0; i < 100; ++i) text += "hello gzip world";
    gzip_body = gzip(text);

    if (tls) {
      if (opts.cert_file.empty() || opts.key_file.empty())
        throw std::invalid_argument("test_server: tls needs cert_file and key_file");
      ssl_ctx.emplace(ssl::context::tls_server);
      ssl_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      ssl_ctx->use_certificate_chain_file(opts.cert_file);
      ssl_ctx->use_private_key_file(opts.key_file, ssl::context::pem);
    }

    const tcp::endpoint ep{asio::ip::make_address_v4("127.0.0.1"), 0};
    acceptor.open(ep.protocol());
    set_cloexec(acceptor.native_handle());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
    port = acceptor.local_endpoint().port();

    asio::co_spawn(io, accept_loop(), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "test_server: accept loop failed: " << ex.what() << '\n';
      }
    });
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
    if (acceptor.is_open()) ::shutdown(acceptor.native_handle(), SHUT_RDWR);
    acceptor.close(ignored);
    // close() never unregisters synchronously, so iterating is safe.
    for (session_base* s : sessions) s->close();
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(nothrow);
      if (stopping || !acceptor.is_open()) co_return;
      if (ec) {
        // Transient (EMFILE, ECONNABORTED): back off briefly instead of spinning.
        asio::steady_timer pause{io, std::chrono::milliseconds(5)};
        co_await pause.async_wait(nothrow);
        if (stopping) co_return;
        continue;
      }
      accepted.fetch_add(1, std::memory_order_relaxed);
      set_cloexec(sock.native_handle());
      error_code ignored;
      sock.set_option(tcp::no_delay(true), ignored);
      if (tls) {
        std::make_shared<session<ssl::stream<tcp::socket>>>(
            *this, ssl::stream<tcp::socket>(std::move(sock), *ssl_ctx))
            ->start();
      } else {
        std::make_shared<session<tcp::socket>>(*this, std::move(sock))->start();
      }
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

}  // namespace curlasio::test
