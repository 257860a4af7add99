// admission: many short requests to one host through an engine with an
// admission limit, compiled here so that doc/pool_and_admission.md's snippet cannot rot.
//
//   admission [URL] [COUNT]   fetches URL (default https://example.org/)
//                             COUNT times (default 200), at most 16 inside
//                             libcurl at once, and prints how they ended

#include <curlasio/curlasio.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

namespace asio = boost::asio;

//[admission
// Fetches `url` `count` times, at most 16 inside libcurl at once: the rest
// wait in the engine's queue (no socket, no easy handle), and the 16
// connections are reused by the fetches that waited.
std::map<std::string, int> fetch_many(const std::string& url, int count) {
    asio::io_context io;
    curlasio::engine_options options;
    options.max_running_transfers = 16;  // the admission limit
    options.max_queued_transfers = 1000; // beyond it: errc::queue_full at once
    curlasio::engine eng(io, options);

    std::map<std::string, int> outcomes; // "200", "the engine's admission queue is full", ...
    for (int i = 0; i < count; ++i)
        curlasio::async_fetch(eng, curlasio::request(url),
                              [&](boost::system::error_code ec, curlasio::response r) {
                                  ++outcomes[ec ? ec.message() : std::to_string(r.status)];
                              });
    io.run();
    return outcomes;
}
//]

int main(int argc, char** argv) {
    const std::string url = argc > 1 ? argv[1] : "https://example.org/";
    const int count = argc > 2 ? std::atoi(argv[2]) : 200;
    for (const auto& [outcome, n] : fetch_many(url, count))
        std::cout << n << " x " << outcome << '\n';
    return 0;
}
