// retry: a GET sent again on connection failures and 502/503/504, with
// exponential backoff, Retry-After honoured and a total time budget.
//
//   retry [URL]    fetches URL (default https://example.org/)

//[readme_retry
#include <curlasio/curlasio.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <iostream>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    boost::asio::io_context io;
    curlasio::engine eng(io);

    curlasio::request req(argc > 1 ? argv[1] : "https://example.org/");
    // Up to 4 attempts; waits of 200 ms, 400 ms, 800 ms (full jitter: up to
    // each), or what Retry-After says; 10 s for everything, waits included.
    req.options.retry = {.max_attempts = 4, .initial_backoff = 200ms, .budget = 10s};
    req.options.retry.on_retry = [](const curlasio::retry_event& e) {
        std::cout << "attempt " << e.attempt << ": " << (e.ec ? e.ec.message() : std::to_string(e.status))
                  << ", again in " << e.delay.count() << " ms\n";
    };

    curlasio::async_fetch(eng, req, [](boost::system::error_code ec, curlasio::response r) {
        std::cout << (ec ? ec.message() : std::to_string(r.status)) << " after " << r.attempts
                  << " attempt(s)\n";
    });
    io.run();
}
//]
