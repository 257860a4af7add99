// timeouts: doc/tokens_and_cancellation.md's timeout and cancellation
// example, compiled here so that it cannot rot.
//
//   timeouts [URL]   fetches URL (default https://example.org/) three ways:
//                    with a deadline of its own, raced against a timer, and
//                    cancelled through a signal by the caller

#include <curlasio/curlasio.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace asio = boost::asio;
using namespace std::chrono_literals;

//[timeouts
// 1. A deadline of the request's own: libcurl ends the transfer, and the
//    error is CURLE_OPERATION_TIMEDOUT, which compares equal to
//    condition::timed_out (and to boost::system::errc::timed_out).
asio::awaitable<void> with_deadline(curlasio::engine& eng, std::string url) {
    curlasio::request req(url);
    req.options.timeout = 5s;         // the whole transfer
    req.options.connect_timeout = 2s; // resolve, connect and TLS handshake
    auto [ec, r] = co_await curlasio::async_fetch(eng, req, asio::as_tuple(asio::use_awaitable));
    if (ec == curlasio::condition::timed_out)
        std::cout << "deadline: timed out (" << r.error_message << ")\n";
    else
        std::cout << "deadline: " << (ec ? ec.message() : std::to_string(r.status)) << '\n';
}

// 2. Raced against a timer: the loser of `||` is cancelled through its
//    cancellation slot, which aborts the transfer (and frees its connection).
asio::awaitable<void> raced(curlasio::engine& eng, std::string url) {
    using namespace asio::experimental::awaitable_operators;
    constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
    asio::steady_timer timer(co_await asio::this_coro::executor, 3s);
    auto result =
        co_await (curlasio::async_fetch(eng, curlasio::request(url), nothrow) || timer.async_wait(nothrow));
    if (result.index() == 1)
        std::cout << "race: the timer won, the fetch was cancelled\n";
    else if (auto& [ec, r] = std::get<0>(result); ec)
        std::cout << "race: failed first: " << r.error_message << '\n';
    else
        std::cout << "race: " << r.status << " before the timer\n";
}

// 3. Cancelled by the caller, from a callback: emit on the slot the handler
//    is bound to. The handler runs once, with asio::error::operation_aborted
//    unless the fetch had already completed.
void cancelled_by_caller(curlasio::engine& eng, std::string url, asio::cancellation_signal& stop) {
    curlasio::async_fetch(
        eng, curlasio::request(url),
        asio::bind_cancellation_slot(stop.slot(), [](boost::system::error_code ec, curlasio::response r) {
            if (ec == asio::error::operation_aborted)
                std::cout << "signal: cancelled\n";
            else
                std::cout << "signal: " << (ec ? ec.message() : std::to_string(r.status)) << '\n';
        }));
    stop.emit(asio::cancellation_type::terminal); // e.g. the client went away
}
//]

int main(int argc, char** argv) {
    asio::io_context io;
    curlasio::engine eng(io);
    const std::string url = argc > 1 ? argv[1] : "https://example.org/";
    asio::co_spawn(io, with_deadline(eng, url), asio::detached);
    asio::co_spawn(io, raced(eng, url), asio::detached);
    asio::cancellation_signal stop;
    cancelled_by_caller(eng, url, stop);
    io.run();
}
