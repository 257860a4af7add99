// engine_pool: one engine per core, each on an io_context of its own run by
// one thread, behind one async_fetch; 64 fetches spread over them, placed so
// that connections are reused.
//
//   engine_pool [URL]    fetches URL (default https://example.org/) 64 times

//[readme_engine_pool
#include <curlasio/curlasio.hpp>
#include <curlasio/engine_pool.hpp>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    // An io_context per thread: each engine's libcurl calls stay on one
    // thread, and no strand is needed.
    std::vector<std::unique_ptr<boost::asio::io_context>> ios;
    std::vector<curlasio::engine_pool::executor_type> executors;
    for (unsigned i = 0; i < cores; ++i) {
        ios.push_back(std::make_unique<boost::asio::io_context>(1));
        executors.push_back(ios.back()->get_executor());
    }
    // One engine (one CURLM) per executor; DNS and TLS sessions shared.
    curlasio::engine_pool pool(executors);

    std::atomic<int> ok = 0;
    for (int i = 0; i < 64; ++i)
        curlasio::async_fetch(pool, curlasio::request(argc > 1 ? argv[1] : "https://example.org/"),
                              [&ok](boost::system::error_code ec, curlasio::response r) {
                                  // On the thread of the engine that ran it.
                                  ok += !ec && r.status == 200;
                              });

    std::vector<std::thread> threads;
    for (auto& io : ios)
        threads.emplace_back([&io] { io->run(); }); // returns when its engine is idle
    for (auto& t : threads)
        t.join();
    std::cout << ok << " of 64 fetches ok over " << pool.size() << " engines\n";
}
//]
