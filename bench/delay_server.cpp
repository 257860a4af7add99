// A loopback HTTP/1.1 server (Beast, one thread) that answers every request
// after a fixed delay, so that many transfers stay in flight at once. It
// stops by itself after --max-seconds.

#include "bench.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace bench {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct server_config {
    std::chrono::milliseconds delay{100};
    std::string body;
};

asio::awaitable<void> serve(tcp::socket sock, const server_config& cfg) {
    boost::beast::flat_buffer buffer;
    asio::steady_timer timer(sock.get_executor());
    try {
        for (;;) {
            http::request<http::empty_body> req;
            co_await http::async_read(sock, buffer, req, asio::use_awaitable);
            timer.expires_after(cfg.delay);
            co_await timer.async_wait(asio::use_awaitable);
            http::response<http::string_body> res(http::status::ok, req.version());
            res.set(http::field::content_type, "application/octet-stream");
            res.keep_alive(req.keep_alive());
            res.body() = cfg.body;
            res.prepare_payload();
            co_await http::async_write(sock, res, asio::use_awaitable);
            if (!req.keep_alive())
                break;
        }
    } catch (const boost::system::system_error&) {
        // peer went away: normal at the end of a run
    }
    boost::system::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const server_config& cfg) {
    for (;;) {
        boost::system::error_code ec;
        tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted)
            co_return;
        if (ec)
            continue; // e.g. EMFILE: keep serving the others
        sock.set_option(tcp::no_delay(true), ec);
        asio::co_spawn(acceptor.get_executor(), serve(std::move(sock), cfg), asio::detached);
    }
}

} // namespace

int run_delay_server(int argc, char** argv) {
    unsigned short port = 0;
    double max_seconds = 60;
    long body_bytes = 1024;
    server_config cfg;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        std::string v = argv[i + 1];
        if (a == "--port")
            port = static_cast<unsigned short>(std::stoi(v));
        else if (a == "--delay-ms")
            cfg.delay = std::chrono::milliseconds(std::stol(v));
        else if (a == "--body-bytes")
            body_bytes = std::stol(v);
        else if (a == "--max-seconds")
            max_seconds = std::stod(v);
        else {
            std::fprintf(stderr, "delay-server: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    cfg.body.assign(static_cast<std::size_t>(body_bytes), 'x');

    asio::io_context io(1);
    tcp::acceptor acceptor(io);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor.open(ep.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(8192);
    std::printf("PORT %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);

    asio::steady_timer stop(io, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(max_seconds)));
    stop.async_wait([&](boost::system::error_code) { io.stop(); });
    asio::co_spawn(io, accept_loop(acceptor, cfg), asio::detached);
    io.run();
    return 0;
}

} // namespace bench
