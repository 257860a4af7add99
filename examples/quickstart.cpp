// quickstart: the README's first example, compiled here so that it cannot
// rot (the test doc_snippets checks that the README holds the text
// between the markers verbatim).
//
//   quickstart [URL]    fetches URL (default https://example.org/) twice:
//                       a GET from a coroutine, a JSON POST with a callback

//[readme_quickstart
#include <curlasio/curlasio.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace asio = boost::asio;

// A coroutine. as_tuple(use_awaitable) completes with the error_code and the
// response, so libcurl's detailed error text (response::error_message) is
// kept; with plain use_awaitable a failure throws boost::system::system_error
// and the response is lost with it.
asio::awaitable<void> get(curlasio::engine& eng, std::string url) {
    auto [ec, r] =
        co_await curlasio::async_fetch(eng, curlasio::request(url), asio::as_tuple(asio::use_awaitable));
    if (ec)
        std::cout << "GET failed: " << ec.message() << " (" << r.error_message << ")\n";
    else
        std::cout << "GET " << r.status << ", " << r.body.size() << " bytes\n";
}

int main(int argc, char** argv) {
    asio::io_context io;
    curlasio::engine eng(io); // or an executor / strand
    const std::string url = argc > 1 ? argv[1] : "https://example.org/";

    asio::co_spawn(io, get(eng, url), asio::detached);

    // A callback. The method is a verb (or curlasio::method("PROPFIND")); a
    // body without a Content-Type would go out as
    // application/x-www-form-urlencoded, libcurl's default.
    curlasio::request post(url, curlasio::verb::post);
    post.add_header("Content-Type", "application/json");
    post.body = R"({"k":1})";
    curlasio::async_fetch(eng, std::move(post), [](boost::system::error_code ec, curlasio::response r) {
        if (ec == curlasio::condition::timed_out)
            std::cout << "POST timed out\n";
        else if (ec)
            std::cout << "POST failed: " << r.error_message << '\n';
        else
            std::cout << "POST " << r.status << '\n';
    });
    io.run();
}
//]
