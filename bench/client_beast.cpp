// Baseline: a Beast client, HTTP/1.1 only, N coroutines on one thread, each
// with its own keep-alive connection, one request after another.

#include "bench.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <stdexcept>
#include <string>

namespace bench {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct shared_state {
    const client_options& o;
    tcp::resolver::results_type endpoints;
    http::request<http::empty_body> req;
    client_result& result;
    std::chrono::steady_clock::time_point start;
    long started = 0;
};

asio::awaitable<void> connection_loop(shared_state& s) {
    auto ex = co_await asio::this_coro::executor;
    tcp::socket sock(ex);
    boost::beast::flat_buffer buffer;
    bool connected = false;
    while (s.started < s.o.requests && !out_of_time(s.start, s.o.max_seconds)) {
        ++s.started;
        try {
            if (!connected) {
                co_await asio::async_connect(sock, s.endpoints, asio::use_awaitable);
                sock.set_option(tcp::no_delay(true));
                connected = true;
            }
            co_await http::async_write(sock, s.req, asio::use_awaitable);
            unsigned status = 0;
            long size = 0;
            bool keep_alive = true;
            if (s.o.discard_body) {
                http::response_parser<http::buffer_body> parser;
                parser.body_limit(boost::none);
                co_await http::async_read_header(sock, buffer, parser, asio::use_awaitable);
                static char chunk[16384];
                while (!parser.is_done()) {
                    parser.get().body().data = chunk;
                    parser.get().body().size = sizeof chunk;
                    boost::system::error_code ec;
                    co_await http::async_read(sock, buffer, parser,
                                              asio::redirect_error(asio::use_awaitable, ec));
                    if (ec && ec != http::error::need_buffer)
                        throw boost::system::system_error(ec);
                    size += static_cast<long>(sizeof chunk - parser.get().body().size);
                }
                status = parser.get().result_int();
                keep_alive = parser.get().keep_alive();
            } else {
                http::response_parser<http::string_body> parser;
                parser.body_limit(boost::none);
                co_await http::async_read(sock, buffer, parser, asio::use_awaitable);
                status = parser.get().result_int();
                size = static_cast<long>(parser.get().body().size());
                keep_alive = parser.get().keep_alive();
            }
            bool ok = status == 200 && (s.o.expect_bytes < 0 || size == s.o.expect_bytes);
            record(s.result, ok,
                   ok ? std::string()
                      : "status " + std::to_string(status) + ", " + std::to_string(size) + " bytes");
            if (!keep_alive) {
                boost::system::error_code ignored;
                sock.close(ignored);
                connected = false;
            }
        } catch (const boost::system::system_error& e) {
            record(s.result, false, e.what());
            boost::system::error_code ignored;
            sock.close(ignored);
            connected = false;
        }
    }
    boost::system::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
}

} // namespace

client_result run_beast(const client_options& o) {
    if (o.http2)
        throw std::runtime_error("the Beast client speaks HTTP/1.1 only");
    asio::io_context io(1);
    url_parts u = split_url(o.url);
    client_result result;
    shared_state s{
        o, tcp::resolver(io).resolve(u.host, u.port), {}, result, std::chrono::steady_clock::now()};
    s.req.method(http::verb::get);
    s.req.target(u.target);
    s.req.version(11);
    s.req.set(http::field::host, u.host + ":" + u.port);
    s.req.set(http::field::accept, "*/*");
    s.req.keep_alive(true);
    for (long i = 0; i < o.concurrency; ++i)
        asio::co_spawn(io, connection_loop(s), asio::detached);
    io.run();
    return result;
}

} // namespace bench
