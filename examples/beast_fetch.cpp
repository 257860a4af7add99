// A Beast request fetched through curlasio with co_await, its answer a Beast
// response: beast_fetch BASE_URL [TARGET], e.g.
//   beast_fetch https://example.org /index.html
#include <curlasio/beast.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <iostream>
#include <string>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

//[beast_fetch
asio::awaitable<void> show(curlasio::engine& eng, std::string base_url, std::string target) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::accept, "text/html, */*");
    req.insert("X-Trace", "1"); // fields go out in order, repeats kept

    curlasio::beast_fetch_options opts;
    opts.base_url = base_url;   // the target goes under it (Boost.URL)
    opts.options.timeout = 10s; // any curlasio::request_options
    opts.options.redirects.follow = true;
    http::response<http::string_body> res;
    auto [ec, info] =
        co_await curlasio::async_fetch(eng, req, res, opts, asio::as_tuple(asio::use_awaitable));
    if (ec) {
        std::cerr << ec.message() << ": " << info.error_message << "\n";
        co_return;
    }
    std::cout << res.base() << res.body().size() << " bytes from " << info.effective_url << " in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(info.times.total).count() << " ms\n";
}
//]

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: beast_fetch BASE_URL [TARGET]\n";
        return 2;
    }
    asio::io_context io;
    curlasio::engine eng(io);
    asio::co_spawn(io, show(eng, argv[1], argc > 2 ? argv[2] : "/"), asio::detached);
    io.run();
}
