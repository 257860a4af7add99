// beast_proxy: a streaming HTTP/1.1 reverse proxy. A Beast server forwards
// every request it receives to UPSTREAM_URL + its target through one
// curlasio::engine.
//
//   beast_proxy LISTEN_ADDRESS LISTEN_PORT UPSTREAM_URL [DEADLINE_SECONDS]
//   beast_proxy 127.0.0.1 8080 http://127.0.0.1:9000
//
// Port 0 picks a free port; once listening it prints "listening on
// ADDRESS:PORT" on stdout. SIGINT or SIGTERM stop it: it stops accepting,
// closes idle connections, lets the requests in flight finish (within their
// deadline) and exits with 0.
//
// Neither body is ever held whole. The client's request body goes up as it
// arrives: an upload_source whose reads are reads of the Beast parser
// (request_parser<buffer_body>) into libcurl's buffer, with Content-Length
// when the client gave one, chunked otherwise. The answer comes back as it
// arrives: a download_stream, opened at the upstream's head and read piece by
// piece into response_serializer<buffer_body>. While the client reads slowly
// the stream pauses the upstream transfer; while the upstream does not ask
// for the body, nothing more is read from the client. Each request has a
// deadline (DEADLINE_SECONDS, 60 by default), and its upstream transfer ends
// as soon as the client goes away. One thread runs everything.
//
// Framing is the proxy's own on each side: the answer goes with the
// upstream's Content-Length only when that framed its body (never beside
// Transfer-Encoding), chunked otherwise. A client body that does not parse is
// answered 400 and the connection closed (the client's fault, not the
// upstream's); an upstream that fails before its head, or sends one Beast
// cannot hold (a field over 64 KiB), is a 502 (504 on the deadline); a failure
// once the head went out is told by a close.

#include <curlasio/curlasio.hpp>
#include <curlasio/download_stream.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <iostream>
#include <stdexcept>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr auto idle_timeout = 30s; // a kept-alive connection waits this long for a request
constexpr std::size_t piece_size = 64 * 1024;

// [hop-by-hop]
// Fields about one connection only (RFC 9110 7.6.1), never forwarded in either
// direction: these, and every field the message's Connection field names.
bool hop_by_hop(std::string_view name, std::string_view connection) {
    for (std::string_view f : {"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"})
        if (beast::iequals(name, f))
            return true;
    if (name.size() > 6 && beast::iequals(name.substr(0, 6), "proxy-"))
        return true;
    for (auto token : http::token_list(connection))
        if (beast::iequals(name, token))
            return true;
    return false;
}
// [hop-by-hop]

struct client {
    explicit client(tcp::socket s) : socket(std::move(s)), body_read(socket.get_executor()) {}
    tcp::socket socket;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::buffer_body>> parser; // the request in progress
    asio::steady_timer body_read; // cancelled once the request body is read whole
    bool busy = false;            // a request is in progress
    error_code body_error;        // the request body could not be read: the client's fault
};

struct proxy {
    curlasio::engine& eng;
    std::string upstream;
    std::chrono::seconds deadline;
    std::vector<std::weak_ptr<client>> clients;
    bool stopping = false;
};

asio::awaitable<void> wait(asio::steady_timer& timer) { co_await timer.async_wait(nothrow); }

// [read-body]
// The upload source's read: the next piece of the request body, parsed
// straight into libcurl's buffer; eof once the body is complete. The client is
// shared: the read may outlive the request that started it.
void read_body(std::shared_ptr<client> c, asio::mutable_buffer into,
               asio::any_completion_handler<void(error_code, std::size_t)> done) {
    if (c->parser->is_done())
        return asio::post(c->socket.get_executor(),
                          asio::append(std::move(done), asio::error::eof, std::size_t(0)));
    c->parser->get().body().data = into.data();
    c->parser->get().body().size = into.size();
    auto slot = asio::get_associated_cancellation_slot(done); // the transfer's end cancels it
    http::async_read_some(c->socket, c->buffer, *c->parser,
                          asio::bind_cancellation_slot(
                              slot, [c, into, done = std::move(done)](error_code ec, std::size_t) mutable {
                                  if (ec == http::error::need_buffer)
                                      ec = {}; // the piece is full
                                  if (ec && ec != asio::error::operation_aborted)
                                      c->body_error = ec; // malformed, or the client left
                                  if (c->parser->is_done())
                                      c->body_read.cancel();
                                  std::move(done)(ec, into.size() - c->parser->get().body().size);
                              }));
}
// [read-body]

// An answer of the proxy's own, when nothing of the upstream's was sent.
asio::awaitable<bool> answer(std::shared_ptr<client> c, http::status status, std::string text) {
    http::response<http::string_body> res{status, 11};
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(c->parser->is_done() && c->parser->get().keep_alive());
    res.body() = std::move(text);
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(c->socket, res, nothrow);
    co_return !ec && res.keep_alive();
}

// Forwards the request whose head c->parser holds and streams the answer
// back; true when the connection may carry another request.
asio::awaitable<bool> forward(std::shared_ptr<client> c, proxy& p) {
    auto& in = c->parser->get();
    if (!in.target().starts_with('/'))
        co_return co_await answer(c, http::status::bad_request, std::string("origin-form targets only\n"));
    // [request]
    curlasio::request req(p.upstream + std::string(in.target()),
                          curlasio::method(std::string(in.method_string()))); // Beast parsed it: a token
    std::string connection;
    for (auto& f : in)
        if (f.name() == http::field::connection)
            connection.append(f.value()).append(",");
    // libcurl writes Host (the upstream's), Content-Length and Transfer-Encoding itself;
    // Expect is answered here.
    for (auto& f : in)
        if (!hop_by_hop(f.name_string(), connection) && f.name() != http::field::host &&
            f.name() != http::field::content_length && f.name() != http::field::expect)
            req.add_header(std::string(f.name_string()), std::string(f.value()));
    req.add_header("Via", "1.1 beast_proxy");
    req.options.timeout = p.deadline;
    req.options.user_agent.clear(); // the client's, if any, is forwarded
    // The bytes pass through as they are, with their Content-Encoding: a body
    // libcurl decoded would no longer match the Content-Length forwarded with it.
    req.options.decompress = false;
    if (!c->parser->is_done()) { // a body follows: stream it up as it comes
        if (beast::iequals(in[http::field::expect], "100-continue")) {
            auto [ec, n] = co_await asio::async_write(
                c->socket, asio::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")), nothrow);
            if (ec)
                co_return false;
        }
        std::optional<std::uint64_t> size; // none: chunked
        if (auto n = c->parser->content_length())
            size = *n;
        req.upload = curlasio::upload_source::from_function(
            c->socket.get_executor(),
            [c](asio::mutable_buffer into, auto done) { read_body(c, into, std::move(done)); }, size);
    }
    // [request]
    const bool head_request = in.method() == http::verb::head;
    const unsigned version = in.version();
    bool keep_alive = in.keep_alive();

    // [response]
    curlasio::download_stream up(p.eng); // destroyed: the transfer ends, whatever its state
    auto [ec, head] = co_await up.async_open(std::move(req), nothrow);
    if (ec == asio::error::operation_aborted)
        co_return false;
    if (ec && c->body_error) { // the client's body broke the transfer, not the upstream: 400 and a close
        co_return co_await answer(c, http::status::bad_request,
                                  "request body: " + c->body_error.message() + "\n");
    }
    if (ec) {
        const auto status =
            ec == boost::system::errc::timed_out ? http::status::gateway_timeout : http::status::bad_gateway;
        // (Built before the co_await: GCC 12 destroys a conditional's temporaries twice in one.)
        std::string text =
            "upstream: " + (head.error_message.empty() ? ec.message() : head.error_message) + "\n";
        co_return co_await answer(c, status, std::move(text));
    }
    http::response<http::buffer_body> res{static_cast<http::status>(head.status), version};
    // The body is re-framed here: Content-Length only when it is what framed
    // the upstream's (with Transfer-Encoding it did not: RFC 9112 6.3; the
    // library already drops it then), chunked or a close otherwise.
    const bool chunked_upstream = head.headers.contains("transfer-encoding");
    std::string unforwardable;
    try {
        res.reason(head.reason);
        connection.clear();
        for (auto value : head.headers.find_all("connection"))
            connection.append(value).append(",");
        for (auto [name, value] : head.headers)
            if (!hop_by_hop(name, connection) &&
                !(chunked_upstream && beast::iequals(name, "content-length")))
                res.insert(name, value);
    } catch (const std::length_error& e) { // a field over Beast's 64 KiB
        unforwardable = e.what();
    }
    if (!unforwardable.empty()) // nothing of the upstream's answer went out yet
        co_return co_await answer(c, http::status::bad_gateway,
                                  "upstream: a response head beast_proxy cannot forward (" + unforwardable +
                                      ")\n");
    const bool bodiless = head_request || head.status / 100 == 1 || head.status == 204 || head.status == 304;
    if (!bodiless && (chunked_upstream || !res.has_content_length())) {
        if (version >= 11)
            res.chunked(true); // as it comes, of a length nobody knows yet
        else
            keep_alive = false; // HTTP/1.0: the end of the body is the close
    }
    res.keep_alive(keep_alive);
    http::response_serializer<http::buffer_body> sr{res};
    if (auto [wec, n] = co_await http::async_write_header(c->socket, sr, nothrow); wec)
        co_return false;
    std::vector<char> piece(piece_size);
    for (;;) {
        auto [rec, n] = co_await up.async_read_some(asio::buffer(piece), nothrow);
        if (rec && rec != asio::error::eof) { // cut mid-body: only a close can tell the client
            std::cerr << "beast_proxy: " << up.result().effective_url << ": " << rec.message() << "\n";
            co_return false;
        }
        if (bodiless) {
            if (rec)
                break;
            continue;
        }
        res.body().data = n ? piece.data() : nullptr;
        res.body().size = n;
        res.body().more = !rec;
        if (auto [wec, wn] = co_await http::async_write(c->socket, sr, nothrow);
            wec && wec != http::error::need_buffer)
            co_return false;
        if (rec)
            break; // eof: the last chunk went out
    }
    // [response]
    co_return keep_alive && c->parser->is_done();
}

// While the answer streams, a read of the client's socket notices the client
// leaving; returning ends the race in session(), which aborts the upstream
// transfer. What it reads (a pipelined request) stays in the buffer. It starts
// once the request body is in: until then the body's own reads notice.
asio::awaitable<void> watch(std::shared_ptr<client> c) {
    if (!c->parser->is_done()) {
        c->body_read.expires_at(asio::steady_timer::time_point::max());
        co_await wait(c->body_read);
        if (!c->parser->is_done())
            co_return; // cancelled: the race is over
    }
    while (c->buffer.size() < piece_size) {
        auto [ec, n] =
            co_await c->socket.async_read_some(c->buffer.prepare(piece_size - c->buffer.size()), nothrow);
        c->buffer.commit(n);
        if (ec)
            co_return;
    }
    asio::steady_timer never(c->socket.get_executor(), asio::steady_timer::time_point::max());
    co_await wait(never); // enough pipelined: hold it until the race ends
}

asio::awaitable<void> session(std::shared_ptr<client> c, proxy& p) {
    asio::steady_timer timer(c->socket.get_executor());
    for (bool again = true; again && !p.stopping;) {
        c->parser.emplace();
        c->parser->body_limit(boost::none); // bodies stream: any size
        timer.expires_after(idle_timeout);
        auto head =
            co_await (http::async_read_header(c->socket, c->buffer, *c->parser, nothrow) || wait(timer));
        if (head.index() != 0 || std::get<0>(std::get<0>(head)))
            break;
        c->busy = true;
        // libcurl's own timeout (the same deadline) ends the transfer first; this
        // one ends the request of a client that reads or sends too slowly.
        timer.expires_after(p.deadline + 1s);
        auto done = co_await (forward(c, p) || watch(c) || wait(timer));
        c->busy = false;
        again = done.index() == 0 && std::get<0>(done);
    }
    error_code ignored;
    c->socket.shutdown(tcp::socket::shutdown_send, ignored);
    c->socket.close(ignored);
}

void report(std::exception_ptr e) {
    try {
        if (e)
            std::rethrow_exception(e);
    } catch (const std::exception& x) {
        std::cerr << "beast_proxy: " << x.what() << "\n";
    }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, proxy& p) {
    asio::steady_timer pause(acceptor.get_executor());
    while (acceptor.is_open()) {
        auto [ec, socket] = co_await acceptor.async_accept(nothrow);
        if (ec == asio::error::operation_aborted)
            break;
        if (ec) { // out of descriptors, most likely: let some close first
            pause.expires_after(50ms);
            co_await wait(pause);
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        auto c = std::make_shared<client>(std::move(socket));
        std::erase_if(p.clients, [](const auto& w) { return w.expired(); });
        p.clients.push_back(c);
        asio::co_spawn(acceptor.get_executor(), session(std::move(c), p), report);
    }
}

} // namespace

int main(int argc, char* argv[]) {
    if (argc != 4 && argc != 5) {
        std::cerr << "usage: beast_proxy LISTEN_ADDRESS LISTEN_PORT UPSTREAM_URL [DEADLINE_SECONDS]\n";
        return 2;
    }
    try {
        asio::io_context io(1);
        curlasio::engine eng(io);
        proxy p{eng, argv[3], std::chrono::seconds(argc == 5 ? std::stoul(argv[4]) : 60), {}};
        while (p.upstream.ends_with('/'))
            p.upstream.pop_back();
        tcp::acceptor acceptor(
            io, {asio::ip::make_address(argv[1]), static_cast<unsigned short>(std::stoul(argv[2]))});

        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](error_code, int) {
            p.stopping = true;
            acceptor.close();
            for (auto& w : p.clients)
                if (auto c = w.lock(); c && !c->busy)
                    c->socket.close(); // idle: wakes its session, which ends
        });
        asio::co_spawn(io, listen(acceptor, p), report);
        std::cout << "listening on " << acceptor.local_endpoint() << std::endl;
        io.run();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "beast_proxy: " << e.what() << "\n";
        return 1;
    }
}
