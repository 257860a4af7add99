// A program as a user of curlasio writes it, built by scripts/consumer_test.sh
// three ways: against an installed curlasio through find_package (test/
// cmake_install), through add_subdirectory (test/cmake_subdir), and with
// plain g++ and pkg-config. It serves HTTP on 127.0.0.1 itself, fetches from
// it with a callback and from a coroutine, checks the bodies, and checks
// that a refused connect compares equal to CURLE_COULDNT_CONNECT and to
// curlasio::condition::connect_failed. It also calls io_context::post,
// deprecated but present in Boost 1.81: curlasio's own
// BOOST_ASIO_NO_DEPRECATED must not reach its users.

#include <curlasio/curlasio.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
    failures += !ok;
}

// Answers each request with "<method> <body>", then closes the connection.
class echo_session : public std::enable_shared_from_this<echo_session> {
public:
    explicit echo_session(tcp::socket s) : socket_(std::move(s)) {}

    void start() {
        asio::async_read_until(socket_, asio::dynamic_buffer(in_), "\r\n\r\n",
                               [self = shared_from_this()](boost::system::error_code ec, std::size_t head) {
                                   if (!ec)
                                       self->read_body(head);
                               });
    }

private:
    void read_body(std::size_t head) {
        std::size_t length = 0;
        const auto at = in_.find("Content-Length: ");
        if (at != std::string::npos && at < head)
            length = std::stoul(in_.substr(at + 16));
        const std::size_t have = in_.size() - head;
        asio::async_read(
            socket_, asio::dynamic_buffer(in_), asio::transfer_exactly(length > have ? length - have : 0),
            [self = shared_from_this(), head, length](boost::system::error_code ec, std::size_t) {
                if (!ec)
                    self->answer(head, length);
            });
    }

    void answer(std::size_t head, std::size_t length) {
        const std::string body = in_.substr(0, in_.find(' ')) + " " + in_.substr(head, length);
        out_ = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
               "Content-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this()](boost::system::error_code, std::size_t) {
                              boost::system::error_code ignored;
                              self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                          });
    }

    tcp::socket socket_;
    std::string in_, out_;
};

void accept(tcp::acceptor& acceptor) {
    acceptor.async_accept([&acceptor](boost::system::error_code ec, tcp::socket s) {
        if (ec)
            return;
        std::make_shared<echo_session>(std::move(s))->start();
        accept(acceptor);
    });
}

unsigned short closed_port(asio::io_context& io) {
    tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

} // namespace

int main() {
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    accept(acceptor);
    const std::string url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/";
    const std::string refused = "http://127.0.0.1:" + std::to_string(closed_port(io)) + "/";

    curlasio::engine eng(io);
    int pending = 3;
    asio::steady_timer deadline(io, std::chrono::seconds(30));
    auto done = [&] {
        if (--pending == 0) {
            acceptor.close();
            deadline.cancel();
        }
    };
    deadline.async_wait([&](boost::system::error_code ec) {
        if (ec)
            return;
        check(false, "all fetches completed within 30 s");
        io.stop();
    });

    // A callback, started through the deprecated io_context::post.
    io.post([&] {
        curlasio::async_fetch(eng, curlasio::request(url),
                              [&](boost::system::error_code ec, curlasio::response r) {
                                  check(!ec, "GET completed: " + ec.message());
                                  check(r.status == 200 && r.body == "GET ", "GET body: " + r.body);
                                  done();
                              });
    });

    // A coroutine, keeping libcurl's error text with as_tuple.
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            curlasio::request req(url, curlasio::verb::post);
            req.add_header("Content-Type", "text/plain");
            req.body = "ping";
            auto [ec, r] = co_await curlasio::async_fetch(eng, req, asio::as_tuple(asio::use_awaitable));
            check(!ec, "POST completed: " + ec.message() + " " + r.error_message);
            check(r.status == 200 && r.body == "POST ping", "POST body: " + r.body);
            done();

            auto [refused_ec, refused_r] = co_await curlasio::async_fetch(
                eng, curlasio::request(refused), asio::as_tuple(asio::use_awaitable));
            check(refused_ec == CURLE_COULDNT_CONNECT,
                  "refused is CURLE_COULDNT_CONNECT: " + refused_ec.message());
            check(refused_ec == curlasio::condition::connect_failed, "refused is condition::connect_failed");
            check(curlasio::is_retryable(refused_ec), "refused is retryable");
            check(!refused_r.error_message.empty(), "error_message kept: " + refused_r.error_message);
            done();
        },
        asio::detached);

    io.run();
    std::printf("consumer: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
